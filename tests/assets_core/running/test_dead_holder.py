"""A run waiting for a lease held by a killed process on this machine takes it at once, not after the timeout."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HELD = """
import time
from pathlib import Path
from assets_core.declaring.definitions import asset

@asset
def held():
    while Path("hold").exists():  # the first process stays here until it is killed
        time.sleep(0.05)
    return {"held": 1}
"""


def _start(root: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tui.cli.main", *argv], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _query(root: Path, sql: str) -> list[tuple[object, ...]]:
    path = root / ".assets" / "catalog.db"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path, timeout=30) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the schema is not made yet
        return []


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_run_takes_over_the_lease_of_a_killed_process_at_once(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(HELD)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    (tmp_path / "hold").write_text("")
    first = _start(tmp_path, "materialize")
    try:
        _wait_for(lambda: bool(_query(tmp_path, "select run_id from lease where asset = 'held'")))
        second = _start(tmp_path, "materialize", "--json")
        _wait_for(lambda: bool(_query(tmp_path, "select 1 from event where kind = 'waiting'")))
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=30)
    (tmp_path / "hold").unlink()
    killed_at = time.monotonic()
    out, err = second.communicate(timeout=120)
    waited = time.monotonic() - killed_at
    assert second.returncode == 0, err
    assert json.loads(out)["materialized"] == ["held"]
    assert waited < 15, f"waited {waited:.1f}s for the dead run's lease"  # the lease timeout is 60 s
    statuses = [row[0] for row in _query(tmp_path, "select status from run order by started_at")]
    assert statuses == ["interrupted", "success"]
