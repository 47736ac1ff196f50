"""The command's first moment: a look at a project with very many source files stats them from the start."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from assets_core.application import project as project_module
from assets_core.declaring import file_stats
from tui.cli import start
from tui.cli.main import main

DEFINITIONS = """
from assets_core import DailyPartitions, asset, source_asset

DAYS = DailyPartitions("2026-01-01", end="{end}")
hits = source_asset("hits", "data/{{date}}.txt", partitions=DAYS)

@asset(partitions=DAYS, deps=["hits"])
def daily(context) -> int:
    return 1
"""


@pytest.fixture
def hourly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose source has a file per day, each day's file stat'ed by a helper (as 20,000 would be)."""
    (tmp_path / "defs.py").write_text(textwrap.dedent(DEFINITIONS.format(end="2026-01-11")))
    (tmp_path / "data").mkdir()
    for day in range(1, 11):
        (tmp_path / "data" / f"2026-01-{day:02d}.txt").write_text(str(day))
    monkeypatch.setattr(file_stats, "HELPER_FROM", 1)
    assert main(["materialize", "--project", str(tmp_path), "-f", "defs.py", "--json"]) == 0
    return tmp_path


def _status(root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, bool]:
    """The JSON status of the project, as the command begins it, and whether its stats came from the helper
    begun at its first moment."""
    taken: list[file_stats.PendingStats] = []

    def watched(paths: list[str]) -> file_stats.PendingStats:
        taken.append(file_stats.stat_files(paths))
        return taken[-1]

    monkeypatch.setattr(project_module, "stat_files", watched)
    argv = ["status", "--project", str(root), "-f", "defs.py", "--json"]
    capsys.readouterr()
    start.begin(argv)
    assert main(argv) == 0
    [pending] = taken
    return json.loads(capsys.readouterr().out), pending.early


def test_a_status_stats_from_its_first_moment_the_files_the_last_look_stated(
        hourly: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    kept = file_stats.recall(hourly / ".assets")
    assert kept == "\0".join(str(hourly / "data" / f"2026-01-{d:02d}.txt") for d in range(1, 11)).encode()
    first, early = _status(hourly, capsys, monkeypatch)
    assert early and [s["status"] for s in first] == ["fresh", "fresh"]
    (hourly / "data" / "2026-01-03.txt").write_text("changed")  # seen, though stat'ed before the project loads
    changed, early = _status(hourly, capsys, monkeypatch)
    assert early and changed[0]["status"] == "stale" and changed[0]["partitions"]["stale"] == 1


def test_other_files_than_the_last_look_stated_are_stated_afresh(
        hourly: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (hourly / "defs.py").write_text(textwrap.dedent(DEFINITIONS.format(end="2026-01-12")))  # one more day
    (hourly / "data" / "2026-01-11.txt").write_text("11")
    found, early = _status(hourly, capsys, monkeypatch)
    assert not early and found[0]["partitions"]["total"] == 11
    assert file_stats.recall(hourly / ".assets").endswith(b"2026-01-11.txt")  # kept for the next look
    again, early = _status(hourly, capsys, monkeypatch)
    assert early and again == found


def test_only_looks_begin_early(hourly: Path) -> None:
    assert not start.begin(["materialize", "--project", str(hourly)])
    assert not start.begin(["status", "--project", str(hourly), "--home", "elsewhere"])  # nothing kept there
    assert start.begin(["status", "--project", str(hourly)])
    file_stats._drop_early()
