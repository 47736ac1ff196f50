"""Reported means recorded: what a run prints as done is in the catalog, even if the process dies right after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from catalog import open_catalog, sqlite_url

QUICK_AND_SLOW = """
import time
from assets_core.declaring.definitions import asset

@asset
def x():
    return {"x": 1}

@asset
def slow():
    time.sleep(60)
    return {"slow": 1}
"""


def _project(root: Path, definitions: str) -> Path:
    (root / "defs.py").write_text(definitions)
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    return root


def _cli(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui.cli.main", *argv], cwd=root, capture_output=True, text=True,
                          timeout=120, check=False)


def _kill_after_line(root: Path, wanted: str) -> list[str]:
    """Start ``assets materialize``, and kill -9 it as soon as a line containing ``wanted`` is printed."""
    process = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "materialize"], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if wanted in line:
                os.kill(process.pid, signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait(timeout=30)
    assert any(wanted in line for line in lines), lines
    return lines


def test_kill_minus_nine_right_after_materialized_line_leaves_the_asset_fresh(tmp_path: Path) -> None:
    root = _project(tmp_path, QUICK_AND_SLOW)
    _kill_after_line(root, "materialized x")
    status = _cli(root, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert {row["asset"]: row["status"] for row in json.loads(status.stdout)}["x"] == "fresh"
    record = open_catalog(sqlite_url(root / ".assets" / "catalog.db")).read_state(["x"])["x"].materialization
    assert record is not None
    stored = sorted(path.name for path in (root / ".assets" / "storage").iterdir() if path.name.startswith("x@"))
    assert stored == [record.location]  # the value on disk is the one recorded: not an orphan
