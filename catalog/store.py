"""``SqlCatalog``: the :class:`~assets_core.planning.state.Catalog` protocol, plus what the front end reads, on SQL.

Every write is one short transaction (see :mod:`catalog.transactions`), which on SQLite begins with
``BEGIN IMMEDIATE``, so several processes can share one catalog file without "database is locked" errors.
Reads go through SQLAlchemy Core and return frozen values (:mod:`catalog.queries`). A current SQLite file
is usually opened as a :class:`~catalog.quick.QuickCatalog`, which answers the reads every command makes
without SQLAlchemy and opens this class for everything else.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from assets_core.collector import collector_paused

# Importing SQLAlchemy, SQLModel and the tables makes some 50,000 objects that live as long as the process,
# none of them garbage. Left to the cyclic collector, they set it off again and again, each full pass walking
# every object of the process (a sixth of the time of a command's first write to the catalog): the collector is
# paused while they are made, and they are then frozen, out of every later pass.
with collector_paused():
    from sqlalchemy import Connection, select

    from assets_core.errors import CatalogError
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
        is_live,
        now,
    )
    from assets_core.running.recovery import is_dead
    from catalog import identity, observed, partitions, queries
    from catalog.automation import AutomationRecords
    from catalog.decode import maybe_time_from, time_from, to_utc
    from catalog.engine import WRITE, create_catalog_engine, describe, parse_url, translated_errors
    from catalog.models import (
        ASSET,
        ASSET_STATE,
        BACKFILL,
        CHECK_RESULT,
        COLUMN_EDGE,
        COLUMN_LINEAGE,
        EVENT,
        FAILURE,
        LEASE,
        LINEAGE_EDGE,
        MATERIALIZATION,
        META,
        OBSERVATION,
        RUN,
    )
    from catalog.records import (
        check_values,
        column_edge_values,
        column_lineage_values,
        definition_values,
        event_values,
        failure_values,
        materialization_values,
        observation_values,
        run_values,
    )
    from catalog.schema import ensure_schema
    from catalog.transactions import WriteTransaction, transactions
    from catalog.version import DEFINITIONS_DIGEST, definitions_digest
    from catalog.views import DefinitionView, RunView

    gc.freeze()  # before the collector is on again: a freeze also clears the young generation's count

if TYPE_CHECKING:  # the lineage module (sqlglot's optimizer) is imported only where lineage is read
    from assets_core.lineage.sql import TableLineage


class SqlCatalog(AutomationRecords):
    """A catalog in any database SQLAlchemy reaches; SQLite files are the usual case. Its automation records
    (state, ticks, requested runs, the daemon's lease) are :class:`~catalog.automation.AutomationRecords`'.

    Opening it creates the database if needed, migrates one an older release wrote, and refuses one it
    cannot read. Methods are called from one thread at a time; several processes may share one database.

    Raises:
        CatalogError: the database cannot be opened, is not a catalog, or was written by a newer release.
    """

    def __init__(self, url: str) -> None:
        self._url = parse_url(url)
        self.url = self._url.render_as_string(hide_password=True)
        self._engine = create_catalog_engine(self._url)
        self._transactions = transactions(self._engine)
        try:
            with translated_errors(self._url), self._engine.execution_options(**WRITE).begin() as connection:
                ensure_schema(connection, self._url)
        except BaseException:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SqlCatalog({self.url!r})"

    def close(self) -> None:
        """Close every connection; the catalog reconnects if used again."""
        self._transactions.close()
        self._engine.dispose()

    def __enter__(self) -> SqlCatalog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[WriteTransaction]:
        with translated_errors(self._url), self._transactions.begin() as transaction:
            yield transaction

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with translated_errors(self._url), self._engine.begin() as connection:
            yield connection

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction through SQLAlchemy Core, for statements :class:`WriteTransaction` has not."""
        with translated_errors(self._url), self._engine.execution_options(**WRITE).begin() as connection:
            yield connection

    def catalog_id(self) -> str | None:
        """This catalog's id, made once, when first asked for: what its storage's owner mark names (None: in memory)."""
        return identity.catalog_id(self._read, self._write)

    # StateReader

    def read_state(self, assets: Iterable[str]) -> dict[str, AssetState]:
        """The state of each named asset that has any record (assets with no record are left out)."""
        names = list(dict.fromkeys(assets))
        with self._read() as connection:
            return queries.read_state(connection, names)

    def read_observed(self, assets: Iterable[str]) -> dict[str, RecordedPartitions]:
        """The last observation of every observed partition of the named sources, by source."""
        with self._read() as connection:
            return queries.read_observed(connection, list(dict.fromkeys(assets)))

    # Recorder

    def begin_run(self, run: RunRecord) -> None:
        """Record a run as begun; recording a run id again replaces the earlier record."""
        values = run_values(run, heartbeat_at=now())
        with self._transaction() as transaction:
            if transaction.update(RUN, "run_id", run.run_id, values) == 0:
                transaction.insert(RUN, values)

    def record_events(self, events: Sequence[Event]) -> None:
        """Record events, in order."""
        if events:
            with self._transaction() as transaction:
                transaction.insert_many(EVENT, event_values(events))

    def record_results(self, materializations: Sequence[MaterializationRecord], failures: Sequence[FailureRecord],
                       events: Sequence[Event], checks: Sequence[CheckRecord] = ()) -> None:
        """Store finished materializations, failed attempts, check results and events in one transaction, and
        release the recording run's leases on those assets.

        A materialization clears its asset's latest failure; a failure leaves the latest materialization.
        """
        with self._transaction() as transaction:
            transaction.insert_many(CHECK_RESULT, check_values(checks))
            by_run: dict[str, list[str]] = {}
            for asset, run_id in [(r.node, r.run_id) for r in materializations] + \
                    [(r.node, r.run_id) for r in failures]:
                by_run.setdefault(run_id, []).append(asset)
            for run_id, assets in by_run.items():
                transaction.delete_in(LEASE, {"run_id": run_id}, "asset", assets)
            found = transaction.insert_returning_ids(MATERIALIZATION,
                                                     [materialization_values(r) for r in materializations])
            _point(transaction, {record.node: {"materialization_id": row, "failure_id": None}
                                 for record, row in zip(materializations, found, strict=True)})
            found = transaction.insert_returning_ids(FAILURE, [failure_values(failure) for failure in failures])
            _point(transaction, {failure.node: {"failure_id": row}
                                 for failure, row in zip(failures, found, strict=True)})
            transaction.insert_many(EVENT, event_values(events))

    def record_observations(self, records: Sequence[ObservationRecord]) -> None:
        """Store observations of source assets (or of their partitions), in one transaction."""
        if not records:
            return
        with self._transaction() as transaction:
            found = transaction.insert_returning_ids(OBSERVATION, [observation_values(record) for record in records])
            _point(transaction, {record.node: {"observation_id": row}
                                 for record, row in zip(records, found, strict=True)})
            observed.record(transaction, records)

    def end_run(self, run_id: str, status: str) -> None:
        """Record the run's final status and end time, and release every lease it still holds.

        Raises:
            CatalogError: no run has this id.
        """
        self._update_run(run_id, {"status": status, "ended_at": now()}, release=True)

    def acquire_leases(self, run_id: str, assets: Sequence[str]) -> dict[str, str]:
        """Take the lease of each asset no other live run holds, in one transaction; return
        ``{asset: holding run}`` for the assets another live run holds.

        A holder whose heartbeat is older than ``LEASE_TIMEOUT`` is not live; neither is one that ran on this
        machine and whose process is gone, which is marked ``interrupted`` at once.
        """
        if not assets:
            return {}
        moment = now()
        with self._transaction() as transaction:
            holders = dict(transaction.select_in(LEASE, ["asset", "run_id"], "asset", list(assets)))
            others = sorted({holder for holder in holders.values() if holder != run_id})
            runs = [_liveness(row) for row in transaction.select_in(RUN, LIVENESS_COLUMNS, "run_id", others)]
            dead = [run.run_id for run in runs if is_dead(run, moment)]
            for dead_run in dead:
                transaction.update(RUN, "run_id", dead_run, {"status": "interrupted", "ended_at": to_utc(moment)})
            live = {run.run_id for run in runs if is_live(run, moment) and run.run_id not in dead}
            held = {asset: holder for asset, holder in holders.items() if holder != run_id and holder in live}
            for asset, holder in holders.items():
                if asset not in held and holder != run_id:
                    transaction.delete_where(LEASE, {"asset": asset})
            transaction.insert_many(LEASE, [{"asset": asset, "run_id": run_id, "acquired_at": to_utc(moment)}
                                            for asset in dict.fromkeys(assets)
                                            if asset not in held and holders.get(asset) != run_id])
        return held

    def latest_checks(self, asset: str | None = None) -> dict[str, list[CheckRecord]]:
        """The check results of each asset's latest checked value (of one asset, if given)."""
        with self._read() as connection:
            return queries.latest_checks(connection, asset)

    def heartbeat(self, run_id: str) -> None:
        """Record that the run's process is still alive.

        Raises:
            CatalogError: no run has this id.
        """
        self._update_run(run_id, {"heartbeat_at": now()})

    def _update_run(self, run_id: str, values: dict[str, Any], release: bool = False) -> None:
        with self._transaction() as transaction:
            changed = transaction.update(RUN, "run_id", run_id, values)
            if release:
                transaction.delete_where(LEASE, {"run_id": run_id})
        if changed == 0:
            raise CatalogError(f"no run '{run_id}' in the catalog {describe(self._url)}; begin the run first")

    # Partitions and backfills

    def dynamic_partitions(self) -> dict[str, list[str]]:
        """The keys of every set of dynamic partitions, in the order they were added."""
        with self._read() as connection:
            return partitions.dynamic_partitions(connection)

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> list[str]:
        """Add keys to a set of dynamic partitions (those it has are left); return the keys added."""
        with self._transaction() as transaction:
            return partitions.add_dynamic_partitions(transaction, name, keys)

    def begin_backfill(self, record: BackfillRecord) -> None:
        """Record a backfill (again: replace its record)."""
        with self._transaction() as transaction:
            values = partitions.backfill_values(record)
            if transaction.update(BACKFILL, "backfill_id", record.backfill_id, values) == 0:
                transaction.insert(BACKFILL, values)

    def end_backfill(self, backfill_id: str, status: str) -> None:
        """Record a backfill's status (done, failed, interrupted) and end time."""
        with self._transaction() as transaction:
            transaction.update(BACKFILL, "backfill_id", backfill_id, {"status": status, "ended_at": to_utc(now())})

    def list_backfills(self, limit: int = 50) -> list[BackfillRecord]:
        """The latest backfills, newest first."""
        with self._read() as connection:
            return partitions.list_backfills(connection, limit)

    def find_backfill(self, prefix: str) -> BackfillRecord:
        """The backfill whose id is or starts with ``prefix`` (raises SelectionError when not one matches)."""
        with self._read() as connection:
            return partitions.find_backfill(connection, prefix)

    # Definitions

    def save_definitions(self, definitions: Sequence[DefinitionView]) -> bool:
        """Replace the stored asset definitions and lineage edges with these, in one transaction; write
        nothing when they are the ones already stored (compared by a digest). Return whether it wrote.

        Raises:
            CatalogError: two definitions share a name.
        """
        duplicates = sorted(name for name, count in Counter(names_of(definitions)).items() if count > 1)
        if duplicates:
            named = ", ".join(f"'{name}'" for name in duplicates)
            raise CatalogError(f"cannot save the asset definitions: more than one is named {named}")
        digest = definitions_digest(definitions)
        with self._read() as connection:
            stored = connection.execute(select(META.c.value).where(META.c.key == DEFINITIONS_DIGEST)).scalar()
        if stored == digest:
            return False
        saved_at, views = now(), list(definitions)  # made once (rows make a view at each reading)
        rows = [definition_values(definition, saved_at) for definition in views]
        edges = sorted({(up, d.name) for d in views for up in d.upstream})
        with self._transaction() as transaction:
            transaction.delete_all(LINEAGE_EDGE)
            transaction.delete_all(ASSET)
            transaction.insert_many(ASSET, rows)
            transaction.insert_many(LINEAGE_EDGE, [{"upstream": up, "downstream": down} for up, down in edges])
            transaction.delete_where(META, {"key": DEFINITIONS_DIGEST})
            transaction.insert(META, {"key": DEFINITIONS_DIGEST, "value": digest})
        return True

    # Column lineage

    def save_column_lineage(self, lineages: Mapping[str, TableLineage]) -> bool:
        """Replace the stored column lineage of SQL assets with ``lineages``, in one transaction.

        Nothing is written when the stored lineages have the same assets with the same cache keys (a lineage
        is a function of its key). Returns whether anything was written.
        """
        with self._read() as connection:
            if queries.column_lineage_keys(connection) == {name: lineage.key for name, lineage in lineages.items()}:
                return False
        rows = [column_lineage_values(lineage) for _, lineage in sorted(lineages.items())]
        edges = [edge for _, lineage in sorted(lineages.items()) for edge in column_edge_values(lineage)]
        with self._transaction() as transaction:
            transaction.delete_all(COLUMN_EDGE)
            transaction.delete_all(COLUMN_LINEAGE)
            transaction.insert_many(COLUMN_LINEAGE, rows)
            transaction.insert_many(COLUMN_EDGE, edges)
        return True

    def load_column_lineage(self) -> dict[str, TableLineage]:
        """The column lineage of every SQL asset as last saved, by asset (a cache for ``Project.lineage``)."""
        with self._read() as connection:
            return queries.column_lineage(connection)

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


def _point(transaction: WriteTransaction, pointers: dict[str, dict[str, Any]]) -> None:
    """Point each asset's state at its newest records (only the pointers given change; every asset is given
    the same ones)."""
    transaction.upsert_many(ASSET_STATE, "asset", [{"asset": asset, **given} for asset, given in pointers.items()])


LIVENESS_COLUMNS = ["run_id", "status", "started_at", "heartbeat_at", "pid", "host"]


def _liveness(row: Sequence[Any]) -> RunRecord:
    """Enough of a run row (``LIVENESS_COLUMNS``, read raw inside a write transaction) to judge whether the run
    is alive."""
    run_id, status, started_at, heartbeat_at, pid, host = row
    return RunRecord(run_id, "", (), status, time_from(started_at), heartbeat_at=maybe_time_from(heartbeat_at),
                     pid=pid, host=host or "")
