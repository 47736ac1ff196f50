"""``SqlCatalog``: the :class:`~assets_core.state.Catalog` protocol, plus what the front end reads, on SQL.

Every write is one short transaction of Core statements (no ORM session), which on SQLite begins with
``BEGIN IMMEDIATE``, so several processes can share one catalog file without "database is locked" errors.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, update

from assets_core.errors import CatalogError
from assets_core.state import (
    AssetState,
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
    now,
)
from catalog import queries
from catalog.engine import WRITE, create_catalog_engine, describe, parse_url, translated_errors
from catalog.models import ASSET, ASSET_STATE, EVENT, FAILURE, LINEAGE_EDGE, MATERIALIZATION, OBSERVATION, RUN
from catalog.records import (
    event_values,
    failure_values,
    materialization_values,
    observation_values,
    run_values,
    to_utc,
)
from catalog.schema import ensure_schema
from catalog.views import DefinitionView, RunView

_INSERT_MATERIALIZATION = insert(MATERIALIZATION)
_INSERT_FAILURE = insert(FAILURE)
_INSERT_OBSERVATION = insert(OBSERVATION)
_INSERT_EVENT = insert(EVENT)
_INSERT_STATE = insert(ASSET_STATE)


class SqlCatalog:
    """A catalog in any database SQLAlchemy reaches; SQLite files are the usual case.

    Opening it creates the database if needed, migrates one an older release wrote, and refuses one it
    cannot read. Methods are called from one thread at a time; several processes may share one database.

    Raises:
        CatalogError: the database cannot be opened, is not a catalog, or was written by a newer release.
    """

    def __init__(self, url: str) -> None:
        self._url = parse_url(url)
        self.url = self._url.render_as_string(hide_password=True)
        self._engine = create_catalog_engine(self._url)
        self._writer = self._engine.execution_options(**WRITE)
        try:
            with self._write() as connection:
                ensure_schema(connection, self._url)
        except BaseException:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SqlCatalog({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection; the catalog reconnects if used again."""
        self._engine.dispose()

    def __enter__(self) -> SqlCatalog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with translated_errors(self._url), self._writer.begin() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with translated_errors(self._url), self._engine.begin() as connection:
            yield connection

    # StateReader

    def read_state(self, assets: Iterable[str]) -> dict[str, AssetState]:
        """The state of each named asset that has any record (assets with no record are left out)."""
        names = list(dict.fromkeys(assets))
        with self._read() as connection:
            return queries.read_state(connection, names)

    # Recorder

    def begin_run(self, run: RunRecord) -> None:
        """Record a run as begun; recording a run id again replaces the earlier record."""
        values = run_values(run) | {"heartbeat_at": now()}
        with self._write() as connection:
            key = RUN.c.run_id == run.run_id
            if connection.execute(update(RUN).where(key).values(values)).rowcount == 0:
                connection.execute(insert(RUN).values(values))

    def record_events(self, events: Sequence[Event]) -> None:
        """Record events, in order."""
        if not events:
            return
        with self._write() as connection:
            connection.execute(_INSERT_EVENT, event_values(events))

    def record_materialization(self, record: MaterializationRecord, events: Sequence[Event]) -> None:
        """Store the materialization and its events atomically; the asset's latest failure is cleared."""
        with self._write() as connection:
            found = connection.execute(_INSERT_MATERIALIZATION, materialization_values(record))
            if events:
                connection.execute(_INSERT_EVENT, event_values(events))
            pointers = {"materialization_id": found.inserted_primary_key[0], "failure_id": None}
            _point(connection, record.asset, pointers)

    def record_failure(self, record: FailureRecord, events: Sequence[Event]) -> None:
        """Store the failed attempt and its events atomically; the asset's latest materialization stays."""
        with self._write() as connection:
            found = connection.execute(_INSERT_FAILURE, failure_values(record))
            if events:
                connection.execute(_INSERT_EVENT, event_values(events))
            _point(connection, record.asset, {"failure_id": found.inserted_primary_key[0]})

    def record_observation(self, record: ObservationRecord) -> None:
        """Store an observation of a source asset."""
        with self._write() as connection:
            found = connection.execute(_INSERT_OBSERVATION, observation_values(record))
            _point(connection, record.asset, {"observation_id": found.inserted_primary_key[0]})

    def end_run(self, run_id: str, status: str) -> None:
        """Record the run's final status and end time.

        Raises:
            CatalogError: no run has this id.
        """
        self._update_run(run_id, status=status, ended_at=now())

    def heartbeat(self, run_id: str) -> None:
        """Record that the run's process is still alive.

        Raises:
            CatalogError: no run has this id.
        """
        self._update_run(run_id, heartbeat_at=now())

    def _update_run(self, run_id: str, **values: Any) -> None:
        with self._write() as connection:
            changed = connection.execute(update(RUN).where(RUN.c.run_id == run_id).values(values)).rowcount
        if changed == 0:
            raise CatalogError(f"no run '{run_id}' in the catalog {describe(self._url)}; begin the run first")

    # Definitions

    def save_definitions(self, definitions: Sequence[DefinitionView]) -> None:
        """Replace the stored asset definitions and lineage edges with these, in one transaction.

        Raises:
            CatalogError: two definitions share a name.
        """
        names = [definition.name for definition in definitions]
        duplicates = sorted({name for name in names if names.count(name) > 1}) if len(set(names)) < len(names) else []
        if duplicates:
            raise CatalogError(f"cannot save definitions: more than one is named {', '.join(map(repr, duplicates))}")
        saved_at = to_utc(now())
        rows = [_definition_values(definition, saved_at) for definition in definitions]
        edges = sorted({(up, d.name) for d in definitions for up in d.upstream})
        with self._write() as connection:
            connection.execute(delete(LINEAGE_EDGE))
            connection.execute(delete(ASSET))
            if rows:
                connection.execute(insert(ASSET), rows)
            if edges:
                connection.execute(insert(LINEAGE_EDGE), [{"upstream": u, "downstream": d} for u, d in edges])

    def list_definitions(self) -> list[DefinitionView]:
        """Every asset definition as last saved, by name."""
        with self._read() as connection:
            return queries.list_definitions(connection)

    def lineage_edges(self) -> list[tuple[str, str]]:
        """Every (upstream, downstream) edge as last saved, sorted."""
        with self._read() as connection:
            return queries.lineage_edges(connection)

    # Runs, events and history

    def list_runs(self, limit: int = 50) -> list[RunView]:
        """The latest ``limit`` runs, newest first."""
        with self._read() as connection:
            return queries.list_runs(connection, limit)

    def find_run(self, run_id_or_prefix: str) -> RunView:
        """The run with this id, or the only run whose id starts with it.

        Raises:
            CatalogError: no run matches, or several do (they are listed).
        """
        with self._read() as connection:
            return queries.find_run(connection, run_id_or_prefix)

    def last_run(self, status: str | None = None) -> RunView | None:
        """The newest run (of this status, if given), or ``None``."""
        with self._read() as connection:
            runs = queries.list_runs(connection, 1, status)
        return runs[0] if runs else None

    def running_runs(self) -> list[RunView]:
        """The runs recorded as running, newest first (a run whose process died stays so: see its heartbeat)."""
        with self._read() as connection:
            return queries.running_runs(connection)

    def run_events(
        self, run_id: str, asset: str | None = None, levels: Collection[str] | None = None
    ) -> list[Event]:
        """The events of a run in recorded order, optionally only of one asset and of some levels."""
        with self._read() as connection:
            return queries.run_events(connection, run_id, asset, levels)

    def asset_history(self, asset: str, limit: int = 50) -> list[MaterializationRecord]:
        """The latest ``limit`` materializations of an asset, newest first."""
        with self._read() as connection:
            return queries.asset_history(connection, asset, limit)

    def asset_failures(self, asset: str, limit: int = 10) -> list[FailureRecord]:
        """The latest ``limit`` failed attempts of an asset, newest first."""
        with self._read() as connection:
            return queries.asset_failures(connection, asset, limit)


def open_catalog(url: str) -> SqlCatalog:
    """Open (creating or migrating as needed) the catalog at a SQLAlchemy URL; see :func:`sqlite_url`.

    Raises:
        CatalogError: the database cannot be opened, is not a catalog, or was written by a newer release.
    """
    return SqlCatalog(url)


_UPDATE_STATE = update(ASSET_STATE).where(ASSET_STATE.c.asset == bindparam("key"))


def _point(connection: Connection, asset: str, pointers: dict[str, Any]) -> None:
    """Point the asset's state at its newest records (creating its state row on its first record)."""
    # The SET clause is made of the pointers given: only those change.
    if connection.execute(_UPDATE_STATE, {"key": asset, **pointers}).rowcount == 0:
        connection.execute(_INSERT_STATE, {"asset": asset, **pointers})


def _definition_values(definition: DefinitionView, saved_at: Any) -> dict[str, Any]:
    return {
        "name": definition.name,
        "kind": definition.kind,
        "group": definition.group,
        "description": definition.description,
        "code_version": definition.code_version,
        "upstream": list(definition.upstream),
        "tags": list(definition.tags),
        "owners": list(definition.owners),
        "file": definition.file,
        "line": definition.line,
        "updated_at": saved_at,
    }
