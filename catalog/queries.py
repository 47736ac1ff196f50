"""Read-side queries of the catalog: each takes an open connection and returns frozen values, never rows."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select

from assets_core.collector import collector_paused
from assets_core.errors import CatalogError, did_you_mean
from assets_core.imports import late_import
from assets_core.planning.recorded import RecordedPartitions
from assets_core.planning.state import AssetState, CheckRecord, Event, MaterializationRecord
from catalog.decode import failure_from, from_json, materialization_from, maybe_time_from, observation_from, time_from
from catalog.models import (
    ASSET_STATE,
    CHECK_RESULT,
    COLUMN_LINEAGE,
    EVENT,
    FAILURE,
    MATERIALIZATION,
    OBSERVATION,
    OBSERVED_PARTITIONS,
    RUN,
)
from catalog.observed import COLUMNS, by_source
from catalog.quick import STATE_BATCH
from catalog.records import (
    EVENT_COLUMNS,
    FAILURE_COLUMNS,
    MATERIALIZATION_COLUMNS,
    OBSERVATION_COLUMNS,
    RUN_COLUMNS,
    check_from,
    event_from,
    stored,
)
from catalog.views import RunView

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

COUNTED_KINDS = ("materialized", "failed", "skipped")  # kinds of the asset events a RunView counts

_M, _F, _O = len(MATERIALIZATION_COLUMNS), len(FAILURE_COLUMNS), len(OBSERVATION_COLUMNS)
_ALL_STATE = (
    select(
        ASSET_STATE.c.asset,
        ASSET_STATE.c.materialization_id,
        ASSET_STATE.c.failure_id,
        ASSET_STATE.c.observation_id,
        *MATERIALIZATION_COLUMNS,
        *FAILURE_COLUMNS,
        *OBSERVATION_COLUMNS,
    )
    .outerjoin(MATERIALIZATION, MATERIALIZATION.c.id == ASSET_STATE.c.materialization_id)
    .outerjoin(FAILURE, FAILURE.c.id == ASSET_STATE.c.failure_id)
    .outerjoin(OBSERVATION, OBSERVATION.c.id == ASSET_STATE.c.observation_id)
)
_NAMED_STATE = _ALL_STATE.where(ASSET_STATE.c.asset.in_(bindparam("assets", expanding=True)))


def read_state(connection: Connection, names: Sequence[str]) -> dict[str, AssetState]:
    """The state of each named asset that has any record, in the order of ``names``.

    When the names cover most of the catalog, one pass over every state row beats looking each name up.
    """
    with collector_paused():
        return _read_state(connection, names)


def _read_state(connection: Connection, names: Sequence[str]) -> dict[str, AssetState]:
    if len(names) <= STATE_BATCH:
        rows = connection.execute(_NAMED_STATE, {"assets": names}).all()
    elif 2 * len(names) >= (connection.execute(select(func.count()).select_from(ASSET_STATE)).scalar() or 0):
        rows = connection.execute(_ALL_STATE).all()
    else:
        rows = []
        for start in range(0, len(names), STATE_BATCH):
            rows += connection.execute(_NAMED_STATE, {"assets": names[start : start + STATE_BATCH]}).all()
    wanted = set(names)
    found = {row[0]: _state_from(row) for row in rows if row[0] in wanted}
    return {name: found[name] for name in names if name in found}


def read_observed(connection: Connection, names: Sequence[str]) -> dict[str, RecordedPartitions]:
    """The last observation of every observed partition of the named sources, by source."""
    with collector_paused():
        rows = connection.execute(select(OBSERVED_PARTITIONS.c.asset, *(OBSERVED_PARTITIONS.c[c] for c in COLUMNS))
                                  .where(OBSERVED_PARTITIONS.c.asset.in_(names))).all() if names else []
        return by_source(rows)


def _state_from(row: Sequence[Any]) -> AssetState:
    start = 4
    materialization = failure = observation = None
    if row[1] is not None:
        materialization = materialization_from(row[start : start + _M])
    start += _M
    if row[2] is not None:
        failure = failure_from(row[start : start + _F])
    start += _F
    if row[3] is not None:
        observation = observation_from(row[start : start + _O])
    return AssetState(materialization, failure, observation)


def column_lineage_keys(connection: Connection) -> dict[str, str]:
    """The cache key of every stored column lineage, by asset."""
    query = select(COLUMN_LINEAGE.c.asset, COLUMN_LINEAGE.c.key)
    return {asset: key for asset, key in connection.execute(query)}


def column_lineage(connection: Connection) -> dict[str, TableLineage]:
    """Every stored column lineage, by asset."""
    with late_import():  # sqlglot's optimizer only when lineage is read
        from assets_core.lineage.sql import TableLineage

    query = select(*stored(COLUMN_LINEAGE.c.asset, COLUMN_LINEAGE.c.lineage)).order_by(COLUMN_LINEAGE.c.asset)
    return {asset: TableLineage.from_json(asset, from_json(data)) for asset, data in connection.execute(query)}


def _newest_runs() -> Select[Any]:
    return select(*RUN_COLUMNS).order_by(RUN.c.started_at.desc(), RUN.c.run_id.desc())


def list_runs(connection: Connection, limit: int = 50) -> list[RunView]:
    """The latest ``limit`` runs, newest first."""
    query = _newest_runs().limit(limit)
    return _run_views(connection, list(connection.execute(query)))


def find_run(connection: Connection, run_id: str) -> RunView:
    """The run whose id is ``run_id`` or, failing that, the one run whose id starts with it.

    Raises:
        CatalogError: no run, or more than one, matches.
    """
    exact = connection.execute(_newest_runs().where(RUN.c.run_id == run_id)).all()
    if exact:
        return _run_views(connection, exact)[0]
    if run_id:
        shown = 10
        query = _newest_runs().where(RUN.c.run_id.startswith(run_id, autoescape=True)).limit(shown + 1)
        matches = connection.execute(query).all()
        if len(matches) == 1:
            return _run_views(connection, matches)[0]
        if matches:
            count = f"more than {shown}" if len(matches) > shown else str(len(matches))
            candidates = ", ".join(f"{row.run_id} ({row.status})" for row in matches[:shown])
            raise CatalogError(
                f"run id '{run_id}' is ambiguous: it begins {count} run ids ({candidates}); "
                "give more characters of the id"
            )
    raise CatalogError(_no_run_message(connection, run_id))


def _no_run_message(connection: Connection, run_id: str) -> str:
    latest = list(connection.execute(select(RUN.c.run_id).order_by(RUN.c.started_at.desc()).limit(100)).scalars())
    if not latest:
        return f"no run matches '{run_id}': the catalog has no runs yet; materialize something first"
    hint = did_you_mean(run_id, latest) or "; the latest are " + ", ".join(latest[:5])
    return f"no run in the catalog has an id starting with '{run_id}'{hint}"


def running_runs(connection: Connection) -> list[RunView]:
    """Every run recorded as running (including any whose process died without ending it), newest first."""
    query = _newest_runs().where(RUN.c.status == "running")
    return _run_views(connection, list(connection.execute(query)))


def _run_views(connection: Connection, rows: Sequence[Any]) -> list[RunView]:
    counts = _event_counts(connection, [row.run_id for row in rows])
    views = []
    for run_id, trigger, selection, status, started_at, ended_at, pid, heartbeat_at, host, plan in rows:
        counted = counts.get(run_id, {})
        views.append(
            RunView(
                run_id=run_id,
                trigger=trigger,
                selection=tuple(from_json(selection)),
                status=status,
                started_at=time_from(started_at),
                ended_at=maybe_time_from(ended_at),
                pid=pid,
                heartbeat_at=maybe_time_from(heartbeat_at),
                host=host or "",
                plan=tuple(from_json(plan) or ()),
                materialized=counted.get("materialized", 0),
                failed=counted.get("failed", 0),
                skipped=counted.get("skipped", 0),
            )
        )
    return views


_EVENT_COUNTS = (
    select(EVENT.c.run_id, EVENT.c.kind, func.count())
    .where(
        EVENT.c.run_id.in_(bindparam("run_ids", expanding=True)),
        EVENT.c.kind.in_(COUNTED_KINDS),
        EVENT.c.asset.is_not(None),
    )
    .group_by(EVENT.c.run_id, EVENT.c.kind)
)


def _event_counts(connection: Connection, run_ids: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for start in range(0, len(run_ids), STATE_BATCH):
        batch = run_ids[start : start + STATE_BATCH]
        for run_id, kind, count in connection.execute(_EVENT_COUNTS, {"run_ids": batch}):
            counts.setdefault(run_id, {})[kind] = count
    return counts


def run_events(
    connection: Connection, run_id: str, asset: str | None = None, levels: Collection[str] | None = None
) -> list[Event]:
    """The events of a run in the order they were recorded, optionally of one asset (with its partitions'
    events, ``asset[key]``, unless one partition is named) and some levels only."""
    query = select(*EVENT_COLUMNS).where(EVENT.c.run_id == run_id).order_by(EVENT.c.id)
    if asset is not None and "[" in asset:
        query = query.where(EVENT.c.asset == asset)
    elif asset is not None:
        query = query.where(or_(EVENT.c.asset == asset, EVENT.c.asset.startswith(f"{asset}[", autoescape=True)))
    if levels is not None:
        query = query.where(EVENT.c.level.in_(list(levels)))
    return [event_from(row) for row in connection.execute(query)]


def asset_history(connection: Connection, asset: str, limit: int = 50) -> list[MaterializationRecord]:
    """The latest ``limit`` materializations of an asset, newest first."""
    query = (
        select(*MATERIALIZATION_COLUMNS)
        .where(MATERIALIZATION.c.asset == asset)
        .order_by(MATERIALIZATION.c.id.desc())
        .limit(limit)
    )
    return [materialization_from(row) for row in connection.execute(query)]


def latest_checks(connection: Connection, asset: str | None = None) -> dict[str, list[CheckRecord]]:
    """The check results of each asset's latest checked value (of one asset, if given)."""
    table = CHECK_RESULT
    newest = select(table.c.asset, func.max(table.c.id).label("id")).group_by(table.c.asset)
    if asset is not None:
        newest = newest.where(table.c.asset == asset)
    newest_rows = {row.asset: row.id for row in connection.execute(newest)}
    if not newest_rows:
        return {}
    runs = {row.asset: row.run_id for row in connection.execute(
        select(table.c.asset, table.c.run_id).where(table.c.id.in_(list(newest_rows.values()))))}
    query = select(table.c.run_id, table.c.asset, table.c.check, table.c.passed, table.c.blocking,
                   table.c.message, table.c["metadata"], table.c.created_at).where(
        table.c.asset.in_(list(runs)), table.c.run_id.in_(set(runs.values()))).order_by(table.c.id)
    found: dict[str, list[CheckRecord]] = {}
    for row in connection.execute(query):
        if runs.get(row.asset) == row.run_id:
            found.setdefault(row.asset, []).append(check_from(row))
    return found
