"""Automation under unlucky conditions, in process with a real catalog and real files: a run key a sensor keeps
returning, a sensor asking for an asset that does not exist, an evaluation later than now, a pause while runs
wait, a catalog unavailable under a running daemon, a webhook that never finishes answering."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from assets_core.application.automation import Evaluation, evaluate
from assets_core.application.automation_status import set_paused
from assets_core.application.daemon import Daemon
from assets_core.application.workspace import Options, open_catalog_only, open_workspace
from assets_core.automation.records import FAILED, REQUESTED, SKIPPED, DaemonLease
from assets_core.errors import ProjectError
from assets_core.planning.state import now
from assets_core.running.alerts import ALERT_DEADLINE
from assets_core.running.recovery import HOST
from tests.assets_core.application.test_daemon import at, project

SAME_KEY = """
from assets_core import RunRequest, asset, sensor

@asset
def report() -> dict:
    return {"n": 1}

@sensor("feed", "report", interval_seconds=10)
def feed(context):
    return RunRequest(run_key="batch-1")
"""


def test_a_run_key_used_before_makes_a_skipped_tick_that_says_so_and_is_pruned(tmp_path: Path) -> None:
    workspace = open_workspace(project(tmp_path, SAME_KEY))
    first = evaluate(workspace, at("2026-03-05T00:00Z"))
    assert [t.status for t in first.ticks] == [REQUESTED] and len(first.requests) == 1
    again = evaluate(workspace, at("2026-03-05T00:00:10Z"))
    [tick] = again.ticks
    assert again.requests == () and tick.requests == ()
    assert tick.status == SKIPPED and "run key 'batch-1' was used before" in tick.reason
    assert [(t.status, t.reason, len(t.requests)) for t in workspace.catalog.list_ticks("feed")] == [
        (tick.status, tick.reason, 0), (REQUESTED, first.ticks[0].reason, 1)]
    assert workspace.catalog.prune_ticks(at("2026-03-12T00:00Z")) == 1  # a week later the repeat is pruned


WRONG_ASSET = """
from assets_core import RunRequest, asset, sensor

@asset
def report() -> dict:
    return {"n": 1}

@sensor("feed", "report", interval_seconds=10)
def feed(context):
    context.update_cursor("moved on")
    return [RunRequest(run_key="ok"), RunRequest(selection="reportt", run_key="typo")]
"""


def test_a_sensor_asking_for_an_asset_that_does_not_exist_fails_its_tick_and_keeps_its_cursor(tmp_path: Path) -> None:
    workspace = open_workspace(project(tmp_path, WRONG_ASSET))
    evaluation = evaluate(workspace, at("2026-03-05T00:00Z"))
    [tick] = evaluation.ticks
    assert tick.status == FAILED and evaluation.requests == ()  # not a run that a worker would claim, then fail
    assert "sensor 'feed' (" in (tick.error or "") and "defs.py:" in (tick.error or "")
    assert "'reportt'" in (tick.error or "") and "did you mean 'report'" in (tick.error or "")
    assert workspace.catalog.automation_states()["feed"].cursor is None
    assert workspace.catalog.pending_requests() == []


CLOCKED = """
from assets_core import RunRequest, asset, schedule, sensor

@asset
def report() -> dict:
    return {"n": 1}

hourly = schedule("hourly", "0 * * * *", "report")

@sensor("feed", "report", interval_seconds=10)
def feed(context):
    return None
"""


def test_an_evaluation_at_a_time_later_than_now_does_not_stall_schedules_and_sensors(tmp_path: Path) -> None:
    workspace = open_workspace(project(tmp_path, CLOCKED))
    evaluate(workspace, at("2026-03-10T00:30Z"))
    evaluate(workspace, at("2027-01-01T00:30Z"))  # --now in the future (or a clock set far ahead, then back)
    back = {tick.name: tick for tick in evaluate(workspace, at("2026-03-10T01:30Z")).ticks}
    assert back["feed"].reason == "nothing new"  # evaluated, not left waiting until 2027
    assert back["hourly"].status == SKIPPED and "2027-01-01" in back["hourly"].reason
    resumed = evaluate(workspace, at("2026-03-10T02:30Z"))
    assert [r.run_key for r in resumed.requests] == ["hourly@2026-03-10T02:00:00+00:00"]


def test_pausing_holds_the_requests_it_made_that_have_not_started_and_unpausing_runs_them(tmp_path: Path) -> None:
    options = project(tmp_path, CLOCKED.replace("@sensor", "# @sensor"))
    workspace = open_workspace(options)
    evaluate(workspace, at("2026-03-10T00:30Z"))
    [request] = evaluate(workspace, at("2026-03-10T01:30Z")).requests  # recorded; the daemon was killed then
    set_paused(workspace, "hourly", True)
    lines: list[str] = []
    Daemon(options, say=lines.append).once(at("2026-03-10T01:40Z"))
    assert [r.request_id for r in workspace.catalog.pending_requests()] == [request.request_id]
    assert not [run for run in workspace.catalog.list_runs(10) if run.trigger == "schedule:hourly"]
    assert any("hourly is paused" in line for line in lines)
    set_paused(workspace, "hourly", False)
    Daemon(options, say=lines.append).once(at("2026-03-10T01:50Z"))
    assert workspace.catalog.pending_requests() == []
    assert [run.trigger for run in workspace.catalog.list_runs(10)] == ["schedule:hourly"]


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _stack(thread: threading.Thread) -> str:
    """Where a thread is now, for a failure's message."""
    frame = sys._current_frames().get(thread.ident or -1)
    return "".join(traceback.format_stack(frame)) if frame is not None else "(not running)"


def test_the_daemon_outlives_its_catalog_being_unavailable_a_while_and_leads_again(tmp_path: Path) -> None:
    options = project(tmp_path, CLOCKED)
    # The catalog's path is a link, swapped at once for one to a file that is no database, and back. (Renaming the
    # catalog away, then writing that file, left a moment without a catalog there: a daemon opening it then made a
    # new one, and wrote to it while the file was being written, so it never found a catalog unavailable.)
    catalog, kept, broken = tmp_path / ".assets" / "catalog.db", tmp_path / "kept.db", tmp_path / "broken.db"
    assert lease(options) is None  # made, and closed (no write-ahead log left beside it)
    catalog.rename(kept)
    catalog.symlink_to(kept)
    broken.write_bytes(b"not a database" * 100)  # as a catalog unreachable, or busy past its timeout
    lines: list[str] = []
    daemon = Daemon(options, interval=0.3, say=lines.append)
    serving = threading.Thread(target=daemon.serve)
    serving.start()
    try:
        assert wait_for(lambda: daemon.leading)
        _link(catalog, broken)
        assert wait_for(lambda: any("catalog unavailable" in line for line in lines) or not serving.is_alive()), \
            (lines, _stack(serving))  # what the daemon said, and where it was
        _link(catalog, kept)
        back = now()
        assert wait_for(lambda: not serving.is_alive() or ((found := lease(options)) is not None and
                                                           found.holder == daemon.holder and found.heartbeat_at > back))
        assert serving.is_alive() and [line for line in lines if "catalog unavailable" in line][:2] == [
            f"catalog unavailable: {catalog} is not a SQLite database, so it cannot be the catalog; move the file "
            "away, or point --catalog / ASSETS_CATALOG at another file; trying again every 0.15 s"]
    finally:
        daemon.stop.set()
        serving.join(60)
    assert lease(options) is None  # given up when stopped


def _link(path: Path, target: Path) -> None:
    """Point the link ``path`` at ``target`` in one step: whoever opens it finds one or the other."""
    swap = path.with_name(path.name + ".swap")
    swap.symlink_to(target)
    os.replace(swap, path)


def lease(options: Options) -> DaemonLease | None:
    catalog = open_catalog_only(options)
    try:
        return catalog.daemon_lease()
    finally:
        catalog.close()


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan"), float("inf"), 1e300])
def test_an_interval_the_daemon_cannot_wait_is_refused_with_what_to_give(tmp_path: Path, interval: float) -> None:
    with pytest.raises(ProjectError, match=r"an interval above 0 s and at most 86400 s .*got --interval"):
        Daemon(project(tmp_path, CLOCKED), interval=interval)


TRICKLED = """
from assets_core import asset, sensor, webhook

hook = webhook("http://127.0.0.1:{port}/hook")

@asset
def report() -> dict:
    return {{"n": 1}}

@sensor("feed", "report", interval_seconds=10)
def feed(context):
    raise RuntimeError("the API is down")

@sensor("other_feed", "report", interval_seconds=10)
def other_feed(context):
    raise RuntimeError("the other API is down")
"""


def _trickling_server() -> tuple[socket.socket, list[socket.socket]]:
    """A webhook server on 127.0.0.1 that answers 200 and then sends its body a byte every half second, for
    ever: no socket timeout ever trips on it."""
    server = socket.create_server(("127.0.0.1", 0))
    clients: list[socket.socket] = []

    def trickle(client: socket.socket) -> None:
        try:
            client.recv(65536)
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while True:
                client.sendall(b"x")
                time.sleep(0.5)
        except OSError:
            pass

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            clients.append(client)
            threading.Thread(target=trickle, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server, clients


def test_a_webhook_that_trickles_its_answer_holds_a_tick_up_ten_seconds_at_most(tmp_path: Path) -> None:
    server, clients = _trickling_server()
    try:
        workspace = open_workspace(project(tmp_path, TRICKLED.format(port=server.getsockname()[1])))
        done: list[Evaluation] = []
        evaluating = threading.Thread(target=lambda: done.append(evaluate(workspace, at("2026-03-05T00:00Z"))),
                                      daemon=True)
        started = time.monotonic()
        evaluating.start()
        evaluating.join(ALERT_DEADLINE + 8)  # both sensors' alerts are given up together, not one after the other
        assert done, f"the tick was still delivering alerts after {time.monotonic() - started:.0f} s"
        assert sorted(done[0].problems) == [
            f"alert hook 'webhook http://127.0.0.1:{server.getsockname()[1]}/hook' did not deliver the sensor "
            f"alert about sensor '{name}' within 10 s: given up" for name in ("feed", "other_feed")]
        assert {tick.name: tick.status for tick in done[0].ticks} == {"feed": FAILED, "other_feed": FAILED}
    finally:
        server.close()
        for client in clients:
            client.close()


def test_once_beside_an_active_daemon_refuses_without_calling_itself_its_standby(tmp_path: Path) -> None:
    options = project(tmp_path, CLOCKED)
    catalog = open_catalog_only(options)
    try:  # a daemon of this very process (alive) holds the lease
        assert catalog.acquire_daemon_lease("another", os.getpid(), HOST, now(), timedelta(seconds=45))
    finally:
        catalog.close()
    lines: list[str] = []
    with pytest.raises(ProjectError, match=rf"a daemon \(pid {os.getpid()} on .*\) is active on this catalog"):
        Daemon(options, say=lines.append).once()
    assert lines == []  # not 'standby: ... taking over if its process ends': --once takes nothing over
