"""Alerts on failures, blocking checks and anomalies: a callable hook and a webhook on a real local server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from assets_core.running.alerts import Alert, alert, webhook
from assets_core.running.anomalies import odd_rows, slow_run
from assets_core.declaring.checks import row_count
from assets_core.declaring.definitions import asset
from assets_core.errors import ProjectError
from assets_core.application.project import Project
from assets_core.planning.state import MaterializationRecord, MemoryCatalog
from assets_core.running.storage import Storage


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
