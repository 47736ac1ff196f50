"""The daemon killed with kill -9 at random moments, and the standby that takes over: real processes, a real
catalog. No run may start twice, and with catch-up no tick may be missed; stopped (SIGTERM, Ctrl-C), it ends
within seconds and its runs interrupted."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from catalog import open_catalog, sqlite_url

HOURLY = """
from assets_core import asset, schedule

@asset
def counted() -> dict:
    return {"ok": 1}

hourly = schedule("hourly", "0 * * * *", "counted", catchup=True)
"""
START = datetime(2026, 3, 10, 0, 30, tzinfo=timezone.utc)
KILLS = int(os.environ.get("DAEMON_KILLS", "15"))  # daemons killed, one per hour of schedule (a soak runs more)


def _project(root: Path) -> None:
    (root / "defs.py").write_text(HOURLY)
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')


def _daemon(root: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tui.cli.main", "daemon", *argv], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_killed_at_random_moments_it_starts_no_run_twice_and_misses_no_tick(tmp_path: Path) -> None:
    _project(tmp_path)
    chance = random.Random(int(os.environ.get("CRASH_SEED", "11")))
    assert _daemon(tmp_path, "--once", "--now", START.isoformat()).wait(120) == 0  # the schedule's first evaluation
    moment = START
    for _ in range(KILLS):
        moment += timedelta(hours=1)
        daemon = _daemon(tmp_path, "--once", "--now", moment.isoformat())
        time.sleep(chance.uniform(0.15, 0.9))  # before, during or after its tick, its launches, its runs
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(60)
    final = _daemon(tmp_path, "--once", "--now", (moment + timedelta(minutes=10)).isoformat())
    out, _ = final.communicate(timeout=300)
    assert final.returncode == 0, out
    deadline = time.monotonic() + 120  # workers of killed daemons run on by themselves: let them finish
    with open_catalog(sqlite_url(tmp_path / ".assets" / "catalog.db")) as catalog:
        while catalog.pending_requests() and time.monotonic() < deadline:
            time.sleep(0.2)
        ticks = [tick for tick in catalog.list_ticks("hourly", limit=1000) if tick.requests]
        requests = [request for tick in ticks for request in tick.requests]
        expected = [START + timedelta(minutes=30 + 60 * hour) for hour in range(KILLS)]
        assert sorted(tick.scheduled_for for tick in ticks) == expected  # each tick once: none missed, none twice
        assert len({request.run_key for request in requests}) == len(requests) == KILLS
        assert catalog.pending_requests() == []
        claimed = [request.run_id for request in catalog.list_ticks("hourly", limit=1000)[0].requests] + [
            request.run_id for tick in ticks for request in tick.requests]
        assert all(claimed)
        runs = catalog.request_runs([request.request_id for request in requests])
        assert len(set(runs.values())) == KILLS  # each request claimed by a run id of its own
        recorded = [run for run in catalog.list_runs(500) if run.trigger == "schedule:hourly"]
        assert {run.run_id for run in recorded} <= set(runs.values())  # every run started came from one claim


def test_a_standby_takes_over_within_two_intervals_of_the_leader_dying(tmp_path: Path) -> None:
    _project(tmp_path)
    interval = 2.0
    leader = _daemon(tmp_path, "--interval", str(interval))
    catalog_path = tmp_path / ".assets" / "catalog.db"
    _wait_for(lambda: _holder(catalog_path) == leader.pid, "the first daemon to take the lease")
    standby = _daemon(tmp_path, "--interval", str(interval))
    said: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [said.put(line) for line in standby.stdout or ()], daemon=True)
    reader.start()
    try:
        # The standby has started (on a busy machine that takes a while) and seen the leader's lease:
        lines = [said.get(timeout=120)]
        while "standby" not in lines[-1]:
            lines.append(said.get(timeout=120))
        time.sleep(2 * interval)
        assert _holder(catalog_path) == leader.pid  # the standby waits while the leader renews its lease
        leader.send_signal(signal.SIGKILL)
        leader.wait(30)
        killed = datetime.now(timezone.utc)
        _wait_for(lambda: _holder(catalog_path) == standby.pid, "the standby to take over")
        with open_catalog(sqlite_url(catalog_path)) as catalog:
            lease = catalog.daemon_lease()
        assert lease is not None and (lease.started_at - killed).total_seconds() <= 2 * interval
        standby.send_signal(signal.SIGTERM)  # stops cleanly, and gives the lease up
        standby.wait(60)
        reader.join(60)
        out = "".join(lines) + "".join(said.get() for _ in range(said.qsize()))
        assert standby.returncode == 0, out
        assert "standby" in out and "stopping: SIGTERM" in out
        assert f"active: the daemon of pid {leader.pid} stopped; this one runs the ticks now" in out
        assert _holder(catalog_path) is None
    finally:
        for process in (leader, standby):
            if process.poll() is None:
                process.kill()


def _holder(path: Path) -> int | None:
    if not path.exists():
        return None
    with open_catalog(sqlite_url(path)) as catalog:
        lease = catalog.daemon_lease()
    return lease.pid if lease is not None else None


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_definitions_broken_while_it_runs_fail_a_tick_not_the_daemon(tmp_path: Path) -> None:
    _project(tmp_path)
    daemon = _daemon(tmp_path, "--interval", "0.5")
    try:
        _wait_for(lambda: _holder(tmp_path / ".assets" / "catalog.db") == daemon.pid, "the daemon to start")
        (tmp_path / "defs.py").write_text(HOURLY + "\ndef broken(:\n")
        time.sleep(2)
        assert daemon.poll() is None  # still running
        (tmp_path / "defs.py").write_text(HOURLY)
        time.sleep(1)
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=60)
        assert daemon.returncode == 0
        assert "tick failed:" in out and "syntax error" in out
    finally:
        if daemon.poll() is None:
            daemon.kill()


SLOW = """
import time
from pathlib import Path
from assets_core import RunRequest, asset, sensor

@asset
def slow() -> dict:
    Path(__file__).with_name("started").touch()
    time.sleep(300)
    return {"ok": 1}

@sensor("go", "slow", interval_seconds=1)
def go(context):
    return RunRequest(run_key="once")
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGTERM, Ctrl-C ignored (nohup ... &)", "Ctrl-C twice at its terminal"])
def test_stopped_while_an_asset_runs_on_it_ends_within_seconds_and_its_run_interrupted(tmp_path: Path,
                                                                                         how: str) -> None:
    (tmp_path / "defs.py").write_text(SLOW)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    ignored = "ignored" in how  # a shell starts a background job with Ctrl-C ignored, and its children inherit it
    daemon = subprocess.Popen(
        [sys.executable, "-m", "tui.cli.main", "daemon", "--interval", "0.5"], cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignored else None)
    try:
        _wait_for(lambda: (tmp_path / "started").exists(), "the slow asset to start", timeout=120)
        stopped = time.monotonic()
        if how.startswith("Ctrl-C"):  # the terminal signals the daemon and its workers alike
            os.killpg(daemon.pid, signal.SIGINT)
            time.sleep(0.3)
            os.killpg(daemon.pid, signal.SIGINT)
        else:
            daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=90)
        _wait_for(lambda: not _group_alive(daemon.pid), "the daemon's workers to end", timeout=90)
        took = time.monotonic() - stopped
        assert took < 15, (took, out)  # not the daemon's minute of grace, nor the asset's five
        assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
        with open_catalog(sqlite_url(tmp_path / ".assets" / "catalog.db")) as catalog:
            assert [run.status for run in catalog.list_runs(10)] == ["interrupted"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
