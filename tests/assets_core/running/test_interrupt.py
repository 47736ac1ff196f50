"""Ctrl-C with real processes and real SIGINT: a run stops within seconds, records what finished and ends
interrupted, whatever its assets are doing; a soak sends SIGINT at random moments."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.assets_core.running.test_recovery import check_consistent, cli, pipeline, stored_total, write_source
from tests.commands import in_process

__all__ = ["pipeline"]  # the fixture, used by the soak

STUBBORN = """
import time
from assets_core.declaring.definitions import asset

@asset
def quick():
    return [1]

@asset
def after_quick(quick):
    time.sleep(0.3)
    return quick

@asset
def slow():
    time.sleep(30)
    return [2]

@asset
def endless():
    while True:
        time.sleep(0.05)

@asset
def after_slow(slow):
    return slow
"""


def _start(root: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tui.cli.main", "materialize", "-j", "4", *argv], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(process: subprocess.Popen[str], text: str) -> list[str]:
    seen = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the run ended without printing {text!r}: {seen}")


def _runs(root: Path) -> dict[str, str]:
    """Every recorded run's status; none when Ctrl-C came while the catalog was being created (its schema is
    made in one transaction, so the file then holds no table at all, as check_consistent accepts)."""
    with sqlite3.connect(root / ".assets" / "catalog.db", timeout=30) as connection:
        tables = {name for (name,) in connection.execute("select name from sqlite_master where type = 'table'")}
        return dict(connection.execute("select run_id, status from run")) if "run" in tables else {}


def _recorded(root: Path) -> set[str]:
    with sqlite3.connect(root / ".assets" / "catalog.db", timeout=30) as connection:
        return {row[0] for row in connection.execute("select asset from materialization")}


@pytest.fixture
def stubborn(tmp_path: Path) -> Path:
    (tmp_path / "defs.py").write_text(STUBBORN)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    return tmp_path


def test_ctrl_c_stops_a_run_whose_assets_will_not_stop_and_records_what_finished(stubborn):
    """SIGINT while one asset sleeps 30 s and another never returns: the command waited for the first and
    never ended for the second, and recorded nothing that had finished before."""
    process = _start(stubborn)
    _wait_for_line(process, "materialized after_quick")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)  # far less than the 30 s asset; the endless one never ends
    assert process.returncode == 130, out + err
    assert "abandoned 2 asset(s) still running: endless, slow" in err
    assert "interrupted: no asset starts now" in err and "--resume" in err
    assert "interrupted" in out
    check_consistent(stubborn)
    assert list(_runs(stubborn).values()) == ["interrupted"]
    assert _recorded(stubborn) == {"quick", "after_quick"}


def test_a_second_ctrl_c_exits_at_once_and_the_next_command_ends_the_run(stubborn):
    process = _start(stubborn)
    _wait_for_line(process, "materialized quick")
    process.send_signal(signal.SIGINT)
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, out + err
    assert "interrupted again: exiting at once" in err
    check_consistent(stubborn)
    assert cli(stubborn, "runs", timeout=60, check=True).returncode == 0  # which marks a dead run interrupted
    assert list(_runs(stubborn).values()) == ["interrupted"]
    assert "quick" in _recorded(stubborn)


def _interrupt_and_finish(root: Path, rng: random.Random, round_number: int) -> None:
    expected = write_source(root, round_number)
    process = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "materialize"], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(rng.uniform(0.3, 1.6))  # start-up takes about 0.8 s: SIGINT lands before, during and after the run
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode in (0, 130, 1) or process.returncode < 0, err
    check_consistent(root)
    if (root / ".assets" / "catalog.db").exists():
        assert "running" not in _runs(root).values(), err  # the interrupted process ended its own run
    finished = in_process("materialize", "--json", cwd=root)  # the next command (its start-up is not the point)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    check_consistent(root)
    assert json.loads(finished.stdout)["status"] == "success"
    assert stored_total(root) == expected
    assert "running" not in _runs(root).values()
    looked = in_process("status", "--json", cwd=root)
    assert looked.returncode == 0, looked.stderr
    statuses = json.loads(looked.stdout)
    assert {status["status"] for status in statuses} == {"fresh"}


SLOW_ONLY = """
import pathlib
import time
from assets_core.declaring.definitions import asset

@asset
def slow():
    pathlib.Path("began").write_text("")
    time.sleep(30)
    return [2]
"""


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_ctrl_c_before_any_asset_finished_says_the_run_was_interrupted_not_that_nothing_was_to_do(
        tmp_path: Path, executor: str) -> None:
    (tmp_path / "defs.py").write_text(SLOW_ONLY)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    process = _start(tmp_path, "--executor", executor)
    deadline = time.monotonic() + 60
    while not (tmp_path / "began").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "nothing to do" not in out and "interrupted: 0 materialized, 0 skipped, 0 failed" in out, out
    assert "abandoned 1 asset(s) still running: slow (" in err and "threads" not in err, err
    assert list(_runs(tmp_path).values()) == ["interrupted"]


INTERRUPT_ROUNDS = int(os.environ.get("ASSETS_INTERRUPT_ROUNDS", "4"))


@pytest.mark.parametrize("batch", range(2))
def test_ctrl_c_at_random_moments_leaves_a_consistent_catalog(pipeline, batch):
    """Two batches of rounds (8 interrupts in the suite; ASSETS_INTERRUPT_ROUNDS=N makes each batch longer, as
    benchmarks/interrupt_soak.py does)."""
    rng = random.Random(2000 + batch)
    for round_number in range(2, 2 + INTERRUPT_ROUNDS):
        _interrupt_and_finish(pipeline, rng, round_number + 100 * batch)
