"""A command that finds nothing to do records no run, even when a source file was touched."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tui.cli.main import main

DEFINITIONS = """
from assets_core.declaring.definitions import asset, source_asset

raw = source_asset("raw", "raw.csv")

@asset
def doubled(raw):
    return raw
"""


def _runs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["runs", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_touching_a_source_records_no_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "defs.py").write_text(DEFINITIONS)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    source = tmp_path / "raw.csv"
    source.write_text("value\n1\n2\n")
    assert main(["materialize", "--json"]) == 0
    capsys.readouterr()
    before = _runs(capsys)
    later = time.time() + 10
    os.utime(source, (later, later))  # a touch: a new modification time, the same bytes
    assert main(["materialize", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] is None
    assert _runs(capsys) == before
    source.write_text("value\n1\n3\n")  # a real change still makes a run
    assert main(["materialize", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["materialized"] == ["doubled"]
    assert len(_runs(capsys)) == len(before) + 1
