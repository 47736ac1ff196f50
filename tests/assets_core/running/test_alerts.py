"""Alerts on failures, blocking checks and anomalies: a callable hook and a webhook on a real local server."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from assets_core.application.project import Project
from assets_core.declaring.checks import row_count
from assets_core.declaring.definitions import asset, source_asset
from assets_core.errors import ProjectError
from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.state import MaterializationRecord
from assets_core.running import alerts
from assets_core.running.alerts import Alert, alert, webhook
from assets_core.running.anomalies import odd_rows, slow_run
from assets_core.running.events import RunEvent, RunEventKind
from assets_core.running.storage import Storage
from assets_core.running.subscribers import AlertSender


class Receiver:
    """A real HTTP server on 127.0.0.1 that keeps the JSON bodies POSTed to it."""

    def __init__(self, status: int = 200):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _project(tmp_path, *definitions, catalog=None) -> Project:
    return Project(definitions, tmp_path, Storage(tmp_path / "storage"), catalog or MemoryCatalog())


@asset
def broken():
    raise RuntimeError("the CRM is down")


@asset
def tiny():
    return [1]


def test_webhook_receives_a_failure_as_slack_compatible_json(tmp_path):
    with Receiver() as receiver:
        result = _project(tmp_path, broken, webhook(receiver.url)).materialize()
    assert result.failed == ["broken"]
    assert len(receiver.received) == 1
    body = receiver.received[0]
    assert body["kind"] == "failure" and body["asset"] == "broken" and body["run_id"] == result.run_id
    assert "asset broken failed" in body["text"] and "RuntimeError: the CRM is down" in body["text"]


def test_blocking_check_failure_alerts_with_its_message(tmp_path):
    seen: list[Alert] = []

    @alert(on=["check"])
    def collect(item):
        seen.append(item)

    result = _project(tmp_path, tiny, row_count(tiny, min=5), collect).materialize()
    assert result.failed == ["tiny"]
    assert [(a.kind, a.asset) for a in seen] == [("check", "tiny")]
    assert "1 row(s), fewer than the minimum 5" in seen[0].message


def test_a_blocking_check_failing_on_a_source_alerts_once(tmp_path):
    seen: list[Alert] = []

    @alert(on=["check"])
    def collect(item):
        seen.append(item)

    (tmp_path / "raw.csv").write_text("id\n1\n")
    raw = source_asset("raw", str(tmp_path / "raw.csv"))

    @asset
    def reads(raw):
        return raw

    result = _project(tmp_path, raw, reads, row_count(raw, min=5), collect).materialize()
    assert (result.failed, result.skipped) == (["raw"], ["reads"])
    assert [(a.kind, a.asset) for a in seen] == [("check", "raw")]
    assert "1 row(s), fewer than the minimum 5" in seen[0].message


def test_a_failing_webhook_is_logged_and_never_breaks_the_run(tmp_path):
    catalog = MemoryCatalog()
    with Receiver(status=500) as receiver:
        result = _project(tmp_path, broken, tiny, webhook(receiver.url), catalog=catalog).materialize()
    assert result.materialized == ["tiny"] and result.failed == ["broken"]
    problems = [e.message for e in catalog.events if e.kind == "alert"]
    assert len(problems) == 1 and "could not deliver" in problems[0] and "500" in problems[0]


def test_a_raising_callable_hook_is_logged(tmp_path):
    @alert
    def careless(item):
        raise ValueError("oops")

    catalog = MemoryCatalog()
    _project(tmp_path, broken, careless, catalog=catalog).materialize()
    assert [e.message for e in catalog.events if e.kind == "alert"] == \
        ["alert hook 'careless' raised ValueError: oops"]


def test_hooks_only_receive_the_kinds_they_ask_for(tmp_path):
    seen = []
    hook = alert(on=["anomaly"])(seen.append)
    _project(tmp_path, broken, hook).materialize()
    assert seen == []
    with pytest.raises(ProjectError, match="unknown"):
        alert(on=["failures"])(seen.append)
    with pytest.raises(ProjectError, match="must start with http"):
        webhook("ftp://example")


def test_anomalies_on_a_recorded_history(tmp_path):
    catalog = MemoryCatalog()
    for number in range(6):
        catalog.record_results([MaterializationRecord(
            "orders", f"r{number}", f"v{number}", "c", {}, f"orders@v{number}.json", 1000 + number, None, 10,
            duration=120.0 + number)], [], [])
    durations = [m.duration for m in catalog.asset_history("orders")]
    assert slow_run("orders", 1200, durations) is not None
    assert slow_run("orders", 130, durations) is None
    rows = [m.rows for m in catalog.asset_history("orders")]
    assert odd_rows("orders", 3, rows).message.endswith("the row count collapsed")
    assert odd_rows("orders", 50_000, rows).message.endswith("the row count jumped")
    assert odd_rows("orders", 1500, rows) is None


def test_a_collapsed_row_count_is_flagged_in_the_run_and_alerted(tmp_path):
    size = {"rows": 100}

    @asset
    def events():
        return list(range(size["rows"]))

    seen = []
    catalog = MemoryCatalog()
    for rows in (100, 101, 102, 103, 104, 2):
        size["rows"] = rows
        project = _project(tmp_path, events, alert(on=["anomaly"])(seen.append), catalog=catalog)
        project.materialize(settings=__import__("assets_core.running.execution").running.execution.RunSettings(force=True))
    flagged = [e.message for e in catalog.events if e.kind == "anomaly"]
    assert flagged == ["has 2 rows where it usually has 102 (median of its last 5): the row count collapsed"]
    assert [a.kind for a in seen] == ["anomaly"]


class SlowServer:
    """A real server on 127.0.0.1 that reads a request, then never answers ("hang") or sends its answer one
    byte at a time, forever ("trickle"): a socket timeout never trips on the latter."""

    def __init__(self, behaviour: str):
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.stop = threading.Event()
        self.requests = 0

    def __enter__(self) -> SlowServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1_000_000
            for byte in answer:
                if self.stop.wait(0.2):
                    return
                if self.behaviour == "trickle":
                    try:
                        connection.send(bytes([byte]))
                    except OSError:
                        return


def _failing(count: int):
    def make(number: int):
        @asset(name=f"broken_{number}")
        def fails():
            raise RuntimeError(f"failure {number}")
        return fails
    return [make(number) for number in range(count)]


@pytest.mark.parametrize("behaviour", ["hang", "trickle"])
def test_a_slow_webhook_is_given_up_at_its_deadline_and_logged(tmp_path, monkeypatch, behaviour):
    """A server that never answers held the run 5 s per alert; one that trickles a byte every few seconds kept
    the run from ever ending. Each alert now has a deadline, and the run ends once they have passed."""
    monkeypatch.setattr(alerts, "ALERT_DEADLINE", 1.0)
    catalog = MemoryCatalog()
    with SlowServer(behaviour) as server:
        outcome: list[object] = []
        project = _project(tmp_path, tiny, *_failing(4), webhook(server.url), catalog=catalog)
        running = threading.Thread(target=lambda: outcome.append(project.materialize()), daemon=True)
        running.start()
        running.join(120)  # far longer than the deadlines; the trickling server never ends on its own
        assert not running.is_alive(), "the run never ended"
        assert server.requests == 4
    result = outcome[0]
    assert result.materialized == ["tiny"] and len(result.failed) == 4
    problems = sorted(e.message for e in catalog.events if e.kind == "alert" and e.level == "WARNING")
    assert problems == [f"alert hook 'webhook {server.url}' did not deliver the failure alert about asset "
                        f"'broken_{number}' within 1 s: given up" for number in range(4)]
    assert catalog.runs[result.run_id].status == "failed"


def test_a_stopping_run_waits_for_no_slow_webhook(monkeypatch):
    """Ctrl-C must end the run within seconds, not after a hanging webhook's whole deadline."""
    monkeypatch.setattr(alerts, "ALERT_DEADLINE", 600.0)
    with SlowServer("hang") as server:
        sender = AlertSender([webhook(server.url)])
        sender.notify(RunEvent(RunEventKind.FAILED, "r1", "orders", "ValueError: bad row"))
        sender.hurry(0.2)
        problems = sender.close()
    assert len(problems) == 1
    assert re.fullmatch(f"alert hook 'webhook {re.escape(server.url)}' did not deliver the failure alert about "
                        r"asset 'orders' within 0\.\d+ s: given up", problems[0])


def test_a_partition_far_smaller_than_the_others_is_flagged(tmp_path):
    from assets_core import StaticPartitions

    @asset(partitions=StaticPartitions(["a", "b", "c", "d", "e", "f"]))
    def regional(context):
        return list(range(2 if context.partition == "f" else 100))

    catalog = MemoryCatalog()
    _project(tmp_path, regional, catalog=catalog).materialize(
        settings=__import__("assets_core.running.execution").running.execution.RunSettings(workers=1))
    again = _project(tmp_path, regional, catalog=catalog).materialize(
        settings=__import__("assets_core.running.execution").running.execution.RunSettings(force=True, workers=1))
    flagged = [(e.asset, e.message) for e in catalog.events if e.kind == "anomaly" and e.run_id == again.run_id]
    # judged against the other partitions (how many of this run's are recorded yet varies: "its last N")
    assert [asset for asset, _ in flagged] == ["regional[f]"]
    assert flagged[0][1].startswith("has 2 rows where it usually has 100") and "collapsed" in flagged[0][1]
