"""OpenLineage out: a run subscriber that sends each node's START, then COMPLETE or FAIL, to a lineage server.

Off unless ``[tool.assets.openlineage]`` or the client's own environment (``OPENLINEAGE_URL``,
``OPENLINEAGE_CONFIG``, ``OPENLINEAGE__TRANSPORT__TYPE``) asks for it; until then the client is never imported.
Sending never holds a run up: the scheduling thread only queues plain data (a bounded queue), and one background
thread makes the events (:mod:`assets_core.lineage.openlineage`) and sends them. When the run ends the subscriber
waits at most :attr:`OpenLineageSettings.timeout` seconds for the rest, then gives them up and says how many
were dropped, as a warning in the run's log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assets_core.imports import late_import
from assets_core.planning.state import MaterializationRecord, now, split_node
from assets_core.running.events import RunEvent, RunEventKind

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

TRANSPORTS = ("http", "file", "console")
ENVIRONMENT = ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE__TRANSPORT__TYPE")  # any of them turns it on
QUEUE_LIMIT = 10_000  # events waiting to be sent; more are dropped (and counted)
HTTP_RETRY = {"total": 0}  # an event a lineage server does not take is dropped (and counted), not retried
SENDING_THREAD = "openlineage"  # the name of a run's thread that sends its events
STATES = {RunEventKind.STARTED: "START", RunEventKind.MATERIALIZED: "COMPLETE", RunEventKind.FAILED: "FAIL",
          RunEventKind.CHECK_FAILED: "FAIL"}


@dataclass(frozen=True)
class OpenLineageSettings:
    """Where a project's OpenLineage events go (``[tool.assets.openlineage]``)."""

    transport: str | None = None  # http | file | console; None: the client's own configuration (its environment)
    url: str = ""  # http: the lineage server, e.g. http://localhost:5000
    endpoint: str = "api/v1/lineage"  # http: where on the server
    path: str = ""  # file: the file the events are appended to, one JSON object per line
    namespace: str = ""  # of jobs and datasets (default: assets://<project>)
    timeout: float = 5.0  # seconds a request may take, and the run's end waits for events still unsent

    def client_config(self) -> dict[str, Any] | None:
        """The ``config`` the OpenLineage client is made with (None: it reads its own environment).

        >>> OpenLineageSettings("file", path="/tmp/events.jsonl").client_config()
        {'transport': {'type': 'file', 'log_file_path': '/tmp/events.jsonl', 'append': True}}
        """
        if self.transport == "http":
            return {"transport": {"type": "http", "url": self.url, "endpoint": self.endpoint,
                                  "timeout": self.timeout, "retry": dict(HTTP_RETRY)}}
        if self.transport == "file":
            return {"transport": {"type": "file", "log_file_path": self.path, "append": True}}
        if self.transport == "console":
            return {"transport": {"type": "console"}}
        return None

    @property
    def where(self) -> str:
        """Where the events go, for a message."""
        if self.transport == "http":
            return self.url
        if self.transport == "file":
            return self.path
        return "the OpenLineage client's configured transport" if self.transport is None else "the console"


def openlineage_settings(table: OpenLineageSettings | None, environ: Mapping[str, str],
                         root: Path) -> OpenLineageSettings | None:
    """The project's OpenLineage settings: its table (a file's path made absolute), else the client's own
    environment when it names a transport; None (off) otherwise, or when ``OPENLINEAGE_DISABLED`` is true.

    >>> openlineage_settings(None, {}, Path("/p")) is None
    True
    >>> openlineage_settings(None, {"OPENLINEAGE_URL": "http://marquez:5000"}, Path("/p"))
    OpenLineageSettings(transport=None, url='', endpoint='api/v1/lineage', path='', namespace='', timeout=5.0)
    >>> openlineage_settings(OpenLineageSettings("file", path="lineage.jsonl"), {}, Path("/p")).path
    '/p/lineage.jsonl'
    """
    if environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return None
    if table is not None:
        return replace(table, path=str(root / table.path)) if table.path else table
    return OpenLineageSettings() if any(environ.get(name) for name in ENVIRONMENT) else None


@dataclass(frozen=True)
class ProjectColumns:
    """What the project knows of its columns when a run starts: each asset's column names (None: unknown),
    and each SQL asset's column lineage."""

    schemas: Mapping[str, Sequence[str] | None]
    lineages: Mapping[str, TableLineage]


@dataclass(frozen=True)
class _Happened:
    """What the scheduling thread queues: plain data, made into an event by the sending thread."""

    state: str
    node: str
    at: datetime
    inputs: tuple[tuple[str, MaterializationRecord | None], ...]  # upstream node, its materialization
    record: MaterializationRecord | None = None
    message: str = ""


class OpenLineageSender:
    """Sends a run's OpenLineage events from a background thread, started with the first event.

    ``upstream`` gives a node's upstream nodes; ``recorded`` the materialization a node had when the run began;
    ``columns``, asked once (from the sending thread), the project's columns and column lineage.
    """

    def __init__(self, settings: OpenLineageSettings, project: str, run_id: str,
                 upstream: Callable[[str], Sequence[str]], recorded: Callable[[str], MaterializationRecord | None],
                 columns: Callable[[], ProjectColumns] | None = None) -> None:
        self.settings, self.project, self.run_id = settings, project, run_id
        self.upstream, self.recorded, self.columns = upstream, recorded, columns
        self.made: dict[str, MaterializationRecord] = {}  # node -> what this run made of it
        self.started: dict[str, None] = {}  # nodes started and not yet finished, in order
        self.queued = self.sent = self.refused = self.failed = 0
        self.failure = ""  # why the first send that failed failed
        self.unusable = ""  # why the client could not be made (nothing was sent)
        self.lineage_problem = ""  # why the column lineage could not be told (the events go without it)
        self._queue: queue.Queue[_Happened | None] = queue.Queue(QUEUE_LIMIT + 1)  # + the end of the run
        self._thread: threading.Thread | None = None
        self._abandoned = threading.Event()
        self._wait = settings.timeout  # the longest the run's end waits for the events still unsent
        self.problem = _missing_client()  # checked (and the client imported) before the run's threads start

    def notify(self, event: RunEvent) -> list[RunEvent]:
        """Queue the OpenLineage event of a node starting, materializing or failing."""
        state = STATES.get(event.kind)
        if state is None or self.problem:
            return []
        if event.kind == RunEventKind.STARTED:
            self.started[event.asset] = None
        else:
            self.started.pop(event.asset, None)
        if event.record is not None:
            self.made[event.asset] = event.record
        self._put(_Happened(state, event.asset, now(), self._inputs(event.asset), event.record, event.message))
        return []

    def hurry(self, seconds: float) -> None:
        """The run is stopping (Ctrl-C): its end waits at most ``seconds`` for the events still unsent."""
        self._wait = min(self._wait, seconds)

    def close(self) -> list[str]:
        """Send ABORT for the nodes that never finished (a stopped run), wait for the events still queued, at
        most the settings' timeout; return a line saying how many were dropped, if any were."""
        if self.problem:
            return [self.problem]
        for node in list(self.started):
            self._put(_Happened("ABORT", node, now(), self._inputs(node), message="the run stopped first"))
        if self._thread is None:
            return []
        self._queue.put(None)  # never full: one place is kept for it
        self._thread.join(self._wait)
        self._abandoned.set()  # a thread still sending gives the rest up once its current request ends
        return self._report()

    def _inputs(self, node: str) -> tuple[tuple[str, MaterializationRecord | None], ...]:
        return tuple((up, self.made.get(up) or self.recorded(up)) for up in self.upstream(node))

    def _put(self, happened: _Happened) -> None:
        self.queued += 1
        if self._queue.qsize() >= QUEUE_LIMIT:  # only this thread puts: the place for the end stays free
            self.refused += 1
            return
        self._queue.put(happened)
        if self._thread is None:
            self._thread = threading.Thread(target=self._send_all, name=SENDING_THREAD, daemon=True)
            self._thread.start()

    def _send_all(self) -> None:
        """The sending thread: make each event and send it, until the run's end (or until given up)."""
        with late_import():  # imported when the sender was made; the lock is the rule for late imports
            from openlineage.client import OpenLineageClient

            from assets_core.lineage.openlineage import AssetRun, Names, run_event, schema_of

        names = Names(self.settings.namespace or f"assets://{self.project}", self.project)
        client_log = logging.getLogger("openlineage")
        if client_log.level == logging.NOTSET:  # its INFO lines would show as stray output of the run
            client_log.setLevel(logging.WARNING)
        _one_line_errors(logging.getLogger("openlineage.client.client"))
        _quiet_retries(logging.getLogger("urllib3.connectionpool"))
        try:
            client = OpenLineageClient(config=self.settings.client_config())
        except Exception as error:  # a bad configuration drops the events; the run goes on
            self.unusable = f"the OpenLineage client cannot be made ({type(error).__name__}: {error})"
            return
        self.unusable = _no_transport(client)
        if self.unusable:
            return
        columns: ProjectColumns | None = None
        while (happened := self._queue.get()) is not None and not self._abandoned.is_set():
            try:
                columns = columns or self._project_columns()
                asset, _ = split_node(happened.node)
                inputs = tuple((up, schema_of(record, columns.schemas, up)) for up, record in happened.inputs)
                output = schema_of(happened.record, {}, happened.node)
                item = AssetRun(happened.state, self.run_id, happened.node, happened.at, inputs, output,
                                happened.record, happened.message)
                lineage = columns.lineages.get(asset) if happened.state == "COMPLETE" else None
                client.emit(run_event(item, names, lineage))
                self.sent += 1
            except Exception as error:  # a server out of reach, or one that refuses: the run goes on
                self.failed += 1
                self.failure = self.failure or f"{type(error).__name__}: {error}"
        with contextlib.suppress(Exception):
            client.close(0)

    def _project_columns(self) -> ProjectColumns:
        """The project's columns and column lineage, or none when they cannot be told."""
        try:
            return self.columns() if self.columns is not None else ProjectColumns({}, {})
        except Exception as error:  # lineage is a facet: the events go without it
            self.lineage_problem = (f"OpenLineage: the events carry no column lineage, which could not be told: "
                                    f"{type(error).__name__}: {error}")
            return ProjectColumns({}, {})

    def _report(self) -> list[str]:
        """The problems to record in the run's log: the events dropped, and why."""
        problems = [self.lineage_problem] if self.lineage_problem else []
        dropped = self.queued - self.sent
        if not dropped:
            return problems
        if self.unusable:
            why = [self.unusable]
        else:
            why = [f"{self.failed} could not be sent ({self.failure})"] if self.failed else []
            if self.refused:
                why.append(f"{self.refused} found the queue full")
            if dropped - self.failed - self.refused > 0:
                why.append(f"{dropped - self.failed - self.refused} were still unsent after {self._wait:g} s")
        summary = (f"OpenLineage: {dropped} of {self.queued} event(s) dropped, not delivered to "
                   f"{self.settings.where}: {'; '.join(why)}")
        return [*problems, summary]


class _OneLine(logging.Filter):
    """Shows the client's traceback (a config file that is not YAML) as its last line: its message, no stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            first = (str(error).strip().splitlines() or [""])[0]
            record.msg, record.args = f"{record.getMessage().rstrip(': ')}: {type(error).__name__}: {first}", None
            record.exc_info = record.exc_text = None
        return True


def _one_line_errors(client_log: logging.Logger) -> None:
    if not any(isinstance(found, _OneLine) for found in client_log.filters):
        client_log.addFilter(_OneLine())


class _NoRetries(logging.Filter):
    """Drops the HTTP client's retry warnings of the sending thread: the run's log says how many events were
    dropped and why (a server out of reach gave four lines per event on the terminal)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != SENDING_THREAD


def _quiet_retries(http_log: logging.Logger) -> None:
    if not any(isinstance(found, _NoRetries) for found in http_log.filters):
        http_log.addFilter(_NoRetries())


def _no_transport(client: Any) -> str:
    """Why ``client`` sends nowhere, or "". The client's console transport logs each event at INFO, which the
    run keeps quiet: asked for, its events are let through; fallen back to (its configuration names no
    transport: an OPENLINEAGE_CONFIG that is no file, a file without ``transport``), it is refused."""
    with late_import():
        from openlineage.client.transport.console import ConsoleTransport

    if not isinstance(client.transport, ConsoleTransport):
        return ""
    if (client.config.transport or {}).get("type") == "console":
        events = logging.getLogger("openlineage.client.transport.console")
        if events.level == logging.NOTSET:
            events.setLevel(logging.INFO)
        return ""
    named = os.environ.get("OPENLINEAGE_CONFIG", "")
    readable = os.path.isfile(named) and os.access(named, os.R_OK)
    where = ("its configuration names no transport" if not named
             else f"OPENLINEAGE_CONFIG names {named}, which is not a readable file" if not readable
             else f"OPENLINEAGE_CONFIG's file {named} is not YAML with a 'transport:' that has a 'type'")
    return (f"the OpenLineage client has no transport to send them with ({where}); set OPENLINEAGE_URL, "
            "point OPENLINEAGE_CONFIG at a file with a 'transport' section, or set [tool.assets.openlineage]")


def _missing_client() -> str:
    """Import the client now (before the run's threads start), or say why it cannot be."""
    try:
        with late_import():
            import assets_core.lineage.openlineage  # noqa: F401 - imports the client with it
    except ImportError as error:
        return (f"OpenLineage is configured but its client cannot be imported ({error}): no event was sent; "
                "install it with pip install 'assets[openlineage]' (or openlineage-python)")
    return ""
