"""Opening a catalog, and answering the questions every command asks of it, without importing SQLAlchemy.

``assets status`` and a no-op ``assets materialize`` ask the catalog three things: is any run still
recorded as running, what is the recorded state of each asset, and are the stored definitions the ones just
loaded. Importing SQLAlchemy and SQLModel to answer them took longer than answering them (about 0.5 s), so a
SQLite catalog file that exists at the current schema version is opened as a :class:`QuickCatalog`, which
answers those three with the ``sqlite3`` driver and opens the full :class:`~catalog.store.SqlCatalog` the
first time anything else is asked of it. Any other catalog (a new file, an older schema, another database)
is opened as a ``SqlCatalog`` at once, which creates, migrates or refuses it.

The statements here read the columns :mod:`catalog.decode` names, as :mod:`catalog.queries` does, and decode
them with the same functions; tests compare the answers of both. The state of every asset is handed over as
:class:`~catalog.row_states.RowStates`, each materialization decoded from its row only when asked for: a status
reads what it compares of each fresh asset straight from the rows (see :mod:`assets_core.planning.evidence`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from assets_core.application.catalogs import sqlite_path
from assets_core.automation.records import AutomationState, DaemonLease, Moved, RequestRecord, TickRecord
from assets_core.collector import collector_paused
from assets_core.errors import CatalogError
from assets_core.imports import late_import
from assets_core.planning.definition_rows import names_of
from assets_core.planning.recorded import RecordedPartitions
from assets_core.planning.state import (
    AssetState,
    BackfillRecord,
    CheckRecord,
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
)
from catalog.ahead import Answer, ReadAhead
from catalog.decode import (
    FAILURE_FIELDS,
    MATERIALIZATION_FIELDS,
    OBSERVATION_FIELDS,
)
from catalog.messages import BUSY_TIMEOUT_MS, explain
from catalog.observed import SELECT as SELECT_OBSERVED
from catalog.observed import by_source
from catalog.row_states import RowStates
from catalog.version import CATALOG_ID, DEFINITIONS_DIGEST, SCHEMA_VERSION, definitions_digest
from catalog.views import DefinitionView, RunView

if TYPE_CHECKING:
    from assets_core.application.catalogs import WorkspaceCatalog
    from assets_core.lineage.sql import TableLineage
    from catalog.store import SqlCatalog

STATE_BATCH = 900  # names per IN (...) list: below SQLite's oldest limit of 999 bound parameters
AHEAD_FROM = 20_000  # recorded assets from which reading their state ahead, in a helper process, pays


def _columns(alias: str, names: Sequence[str]) -> str:
    return ", ".join(f'{alias}."{name}"' for name in names)


# One statement per kind of record, each returning only the assets that have one: most assets have a
# materialization and few a failure or an observation, so this reads half the columns one outer join would.
STATEMENTS = tuple(
    f'SELECT s.asset, {_columns("r", columns)} FROM asset_state AS s JOIN "{table}" AS r ON r.id = s.{table}_id'
    for table, columns in (("materialization", MATERIALIZATION_FIELDS), ("failure", FAILURE_FIELDS),
                           ("observation", OBSERVATION_FIELDS)))


def open_catalog(url: str) -> WorkspaceCatalog:
    """Open (creating or migrating as needed) the catalog at a SQLAlchemy URL; see :func:`sqlite_url`.

    Raises:
        CatalogError: the database cannot be opened, is not a catalog, or was written by a newer release.
    """
    quick = QuickCatalog.attempt(url)
    if quick is not None:
        return quick
    with late_import():
        from catalog.store import SqlCatalog

    return SqlCatalog(url)


def open_ahead(url: str, folder: str | os.PathLike[str] | None = None) -> QuickCatalog | None:
    """The catalog at ``url`` opened quickly, reading every asset's state ahead in a helper process (see
    :mod:`catalog.ahead`), which then lists ``folder`` (the storage's) if given; None where it is no current
    SQLite catalog file, which :func:`open_catalog` then opens (creates, migrates or refuses). Never writes,
    never raises."""
    quick = QuickCatalog.attempt(url)
    if quick is not None:
        try:
            quick.read_ahead(folder=folder)
        except CatalogError:  # locked, damaged since: opened later, as without reading ahead
            quick.close()
            return None
    return quick


class QuickCatalog:
    """A current SQLite catalog file: three questions answered on the ``sqlite3`` driver, everything else
    by a :class:`~catalog.store.SqlCatalog` opened on first need."""

    def __init__(self, url: str, path: Path, connection: sqlite3.Connection) -> None:
        self.url = url
        self._path = path
        self._connection: sqlite3.Connection | None = connection
        self._full: SqlCatalog | None = None
        self._ahead: ReadAhead | None = None  # a helper reading every asset's state (see read_ahead)
        # One connection, used by one thread at a time: the browser reads statuses in a worker thread while
        # a run, in another, reads what other runs recorded.
        self._lock = threading.RLock()

    @classmethod
    def attempt(cls, url: str) -> QuickCatalog | None:
        """The catalog at ``url`` opened quickly, or None where only the full catalog may open it."""
        path = sqlite_path(url)
        if path is None or not path.is_file():
            return None
        connection = None
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                         check_same_thread=False)
            found = connection.execute("SELECT value FROM catalog_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error:  # not a catalog, damaged, locked, ...: the full catalog says what exactly
            found = None
        if connection is None or found is None or found[0] != str(SCHEMA_VERSION):
            if connection is not None:
                connection.close()
            return None
        return cls(url, path, connection)

    def __repr__(self) -> str:
        return f"QuickCatalog({self.url!r})"

    # The three questions

    def running_runs(self) -> list[RunView]:
        """Every run recorded as running, newest first (read by the full catalog when there is one)."""
        [(count,)] = self._fetch("SELECT COUNT(*) FROM run WHERE status = 'running'")
        return self._open().running_runs() if count else []

    def read_state(self, assets: Iterable[str]) -> Mapping[str, AssetState]:
        """The state of each named asset that has any record, in the order of ``assets``."""
        names = list(dict.fromkeys(assets))
        [(stored,)] = self._fetch("SELECT COUNT(*) FROM asset_state")  # a hint: may change meanwhile
        batches: list[list[str] | None] = [None]  # None: every asset, one pass over the table
        if 2 * len(names) < stored:  # few of them: look each one up
            batches = [names[start:start + STATE_BATCH] for start in range(0, len(names), STATE_BATCH)]
        with self._lock, collector_paused():
            answer = self._answer_ahead(every=batches == [None])
            if answer is not None and len(answer.rows) == len(STATEMENTS):
                made, failed, observed = answer.rows
                return RowStates(names, made, failed, observed, listing=answer.listing)
            with self._snapshot():  # the three reads see one commit of the catalog
                made, failed, observed = ([row for batch in batches for row in self._rows(sql, batch)]
                                          for sql in STATEMENTS)
            return RowStates(names, made, failed, observed)

    def read_ahead(self, least: int = AHEAD_FROM, folder: str | os.PathLike[str] | None = None) -> None:
        """Start reading the state of every asset in a helper process (see :mod:`catalog.ahead`) when at least
        ``least`` assets have one, for the next :meth:`read_state` to take while this process does other work;
        the helper then lists ``folder`` (the storage's), handed over with the state (see ``RowStates.listing``)."""
        with self._lock:
            [(stored,)] = self._fetch("SELECT COUNT(*) FROM asset_state")
            if self._ahead is None and stored >= least:
                self._ahead = ReadAhead.start(self._path, self._connect(), list(STATEMENTS),
                                              BUSY_TIMEOUT_MS / 1000, folder)

    def _answer_ahead(self, every: bool) -> Answer | None:
        """What a helper read ahead, if one did and its rows are the catalog's now (and ``every`` asset's are
        wanted); the helper is done with either way."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if not every:
            ahead.cancel()
            return None
        return ahead.answer(self._connection)

    def read_observed(self, assets: Iterable[str]) -> dict[str, RecordedPartitions]:
        """The last observation of every observed partition of the named sources, by source."""
        names = list(dict.fromkeys(assets))
        if not names:
            return {}
        with self._lock, collector_paused():
            return by_source(self._fetch(SELECT_OBSERVED.format(marks=", ".join("?" * len(names))), names))

    def save_definitions(self, definitions: Sequence[DefinitionView]) -> bool:
        """Store the definitions unless they are the ones already stored; return whether it wrote."""
        found = self._fetch("SELECT value FROM catalog_meta WHERE key = ?", [DEFINITIONS_DIGEST])
        if found and found[0][0] == definitions_digest(definitions) \
                and len(set(names_of(definitions))) == len(definitions):
            return False
        return self._open().save_definitions(definitions)

    def catalog_id(self) -> str | None:
        """This catalog's id (made by the full catalog, the first time it is asked for)."""
        found = self._fetch("SELECT value FROM catalog_meta WHERE key = ?", [CATALOG_ID])
        return str(found[0][0]) if found else self._open().catalog_id()

    # Everything else, by the full catalog

    def full(self) -> SqlCatalog:
        """The full catalog behind this one (opened now if it is not yet)."""
        return self._open()

    def asset_history(self, asset: str, limit: int = 50) -> list[MaterializationRecord]:
        return self._open().asset_history(asset, limit)

    def begin_run(self, run: RunRecord) -> None:
        self._open().begin_run(run)

    def record_events(self, events: Sequence[Event]) -> None:
        self._open().record_events(events)

    def record_results(self, materializations: Sequence[MaterializationRecord], failures: Sequence[FailureRecord],
                       events: Sequence[Event], checks: Sequence[CheckRecord] = ()) -> None:
        self._open().record_results(materializations, failures, events, checks)

    def record_observations(self, records: Sequence[ObservationRecord]) -> None:
        self._open().record_observations(records)

    def acquire_leases(self, run_id: str, assets: Sequence[str]) -> dict[str, str]:
        return self._open().acquire_leases(run_id, assets)

    def heartbeat(self, run_id: str) -> None:
        self._open().heartbeat(run_id)

    def end_run(self, run_id: str, status: str) -> None:
        self._open().end_run(run_id, status)

    def list_runs(self, limit: int = 50) -> list[RunView]:
        return self._open().list_runs(limit)

    def dynamic_partitions(self) -> dict[str, list[str]]:
        return self._open().dynamic_partitions()

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> list[str]:
        return self._open().add_dynamic_partitions(name, keys)

    def begin_backfill(self, record: BackfillRecord) -> None:
        self._open().begin_backfill(record)

    def end_backfill(self, backfill_id: str, status: str) -> None:
        self._open().end_backfill(backfill_id, status)

    def list_backfills(self, limit: int = 50) -> list[BackfillRecord]:
        return self._open().list_backfills(limit)

    def find_backfill(self, prefix: str) -> BackfillRecord:
        return self._open().find_backfill(prefix)

    def find_run(self, run_id_or_prefix: str) -> RunView:
        return self._open().find_run(run_id_or_prefix)

    def run_events(self, run_id: str, asset: str | None = None,
                   levels: Collection[str] | None = None) -> list[Event]:
        return self._open().run_events(run_id, asset, levels)

    def latest_checks(self, asset: str | None = None) -> dict[str, list[CheckRecord]]:
        return self._open().latest_checks(asset)

    def load_column_lineage(self) -> dict[str, TableLineage]:
        return self._open().load_column_lineage()

    def save_column_lineage(self, lineages: Mapping[str, TableLineage]) -> bool:
        return self._open().save_column_lineage(lineages)

    def automation_states(self) -> dict[str, AutomationState]:
        return self._open().automation_states()

    def record_tick(self, tick: TickRecord, moved: Moved | None = None) -> list[RequestRecord]:
        return self._open().record_tick(tick, moved)

    def prune_ticks(self, before: datetime) -> int:
        return self._open().prune_ticks(before)

    def set_paused(self, name: str, kind: str, paused: bool) -> None:
        self._open().set_paused(name, kind, paused)

    def list_ticks(self, name: str | None = None, limit: int = 50) -> list[TickRecord]:
        return self._open().list_ticks(name, limit)

    def pending_requests(self) -> list[RequestRecord]:
        return self._open().pending_requests()

    def claim_request(self, request_id: str, run_id: str) -> bool:
        return self._open().claim_request(request_id, run_id)

    def request_runs(self, request_ids: Sequence[str]) -> dict[str, str | None]:
        return self._open().request_runs(request_ids)

    def acquire_daemon_lease(self, holder: str, pid: int, host: str, at: datetime, stale_after: timedelta) -> bool:
        return self._open().acquire_daemon_lease(holder, pid, host, at, stale_after)

    def release_daemon_lease(self, holder: str) -> None:
        self._open().release_daemon_lease(holder)

    def daemon_lease(self) -> DaemonLease | None:
        return self._open().daemon_lease()

    def close(self) -> None:
        """Close every connection; the catalog reconnects if used again."""
        with self._lock:
            if self._ahead is not None:
                self._ahead.cancel()
                self._ahead = None
            if self._connection is not None:
                self._connection.close()
                self._connection = None
        if self._full is not None:
            self._full.close()

    def __enter__(self) -> QuickCatalog:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _open(self) -> SqlCatalog:
        with self._lock:  # two threads asking at once open it once
            if self._full is None:
                with late_import():
                    from catalog.store import SqlCatalog

                self._full = SqlCatalog(self.url)
            return self._full

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """A read transaction: every read inside sees the catalog as one commit left it (SQLite's WAL keeps
        that view while other processes write)."""
        self._fetch("BEGIN")
        try:
            yield
        finally:
            self._fetch("COMMIT")

    def _rows(self, sql: str, names: list[str] | None) -> list[Any]:
        if names is None:
            return self._fetch(sql)
        if not names:
            return []
        marks = ", ".join("?" * len(names))
        return self._fetch(f"{sql} WHERE s.asset IN ({marks})", names)

    def _fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Every row of one statement, read whole while holding the connection."""
        with self._lock:
            try:
                return self._connect().execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise CatalogError(explain(str(error), str(self._path))) from error

    def _connect(self) -> sqlite3.Connection:
        with self._lock:
            if self._connection is None:
                self._connection = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_MS / 1000,
                                                   isolation_level=None, check_same_thread=False)
            return self._connection

