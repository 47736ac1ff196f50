"""Read-side queries of the catalog: each takes an open connection and returns frozen values, never rows."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select

from assets_core.errors import CatalogError, did_you_mean
from assets_core.state import AssetState, Event, FailureRecord, MaterializationRecord
from catalog.models import ASSET, ASSET_STATE, EVENT, FAILURE, LINEAGE_EDGE, MATERIALIZATION, OBSERVATION, RUN
from catalog.records import (
    EVENT_COLUMNS,
    FAILURE_COLUMNS,
    MATERIALIZATION_COLUMNS,
    OBSERVATION_COLUMNS,
    RUN_COLUMNS,
    event_from,
    failure_from,
    materialization_from,
    maybe_utc,
    observation_from,
    to_utc,
)
from catalog.views import DefinitionView, RunView

COUNTED_KINDS = ("materialized", "failed", "skipped")  # event kinds a RunView counts
STATE_BATCH = 900  # names per IN (...) list: below SQLite's oldest limit of 999 bound parameters

_M, _F, _O = len(MATERIALIZATION_COLUMNS), len(FAILURE_COLUMNS), len(OBSERVATION_COLUMNS)
_STATE_QUERY = (
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
    .where(ASSET_STATE.c.asset.in_(bindparam("assets", expanding=True)))
)


def read_state(connection: Connection, names: Sequence[str]) -> dict[str, AssetState]:
    """The state of each named asset that has any record, in the order of ``names``."""
    found: dict[str, AssetState] = {}
    for start in range(0, len(names), STATE_BATCH):
        batch = names[start : start + STATE_BATCH]
        for row in connection.execute(_STATE_QUERY, {"assets": batch}):
            found[row[0]] = _state_from(row)
    return {name: found[name] for name in names if name in found}


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


def list_definitions(connection: Connection) -> list[DefinitionView]:
    """Every asset definition as last saved, by name."""
    c = ASSET.c
    query = select(
        c.name, c.kind, c.group, c.description, c.code_version, c.upstream, c.tags, c.owners, c.file, c.line
    ).order_by(c.name)
    return [
        DefinitionView(name, kind, group, description, code_version, tuple(up), tuple(tags), tuple(owners), file,
                       line)
        for name, kind, group, description, code_version, up, tags, owners, file, line in connection.execute(query)
    ]  # fmt: skip


def lineage_edges(connection: Connection) -> list[tuple[str, str]]:
    """Every (upstream, downstream) edge as last saved, sorted."""
    query = select(LINEAGE_EDGE.c.upstream, LINEAGE_EDGE.c.downstream).order_by(
        LINEAGE_EDGE.c.upstream, LINEAGE_EDGE.c.downstream
    )
    return [(up, down) for up, down in connection.execute(query)]


def _newest_runs() -> Select[Any]:
    return select(*RUN_COLUMNS).order_by(RUN.c.started_at.desc(), RUN.c.run_id.desc())


def list_runs(connection: Connection, limit: int = 50, status: str | None = None) -> list[RunView]:
    """The latest ``limit`` runs (of one ``status`` if given), newest first."""
    query = _newest_runs().limit(limit)
    if status is not None:
        query = query.where(RUN.c.status == status)
    return _run_views(connection, list(connection.execute(query)))


def find_run(connection: Connection, run_id: str) -> RunView:
    """The run whose id is ``run_id`` or, failing that, the one run whose id starts with it.

    Raises:
        CatalogError: no run, or more than one, matches.
    """
    exact = list(connection.execute(_newest_runs().where(RUN.c.run_id == run_id)))
    if exact:
        return _run_views(connection, exact)[0]
    shown = 10
    query = _newest_runs().where(RUN.c.run_id.startswith(run_id, autoescape=True)).limit(shown + 1)
    matches = list(connection.execute(query)) if run_id else []
    if len(matches) == 1:
        return _run_views(connection, matches)[0]
    if matches:
        more = ", ..." if len(matches) > shown else ""
        candidates = ", ".join(f"{row.run_id} ({row.status})" for row in matches[:shown])
        raise CatalogError(
            f"run id '{run_id}' is ambiguous: it starts {len(matches)}{'+' if more else ''} runs "
            f"({candidates}{more}); give more characters of the id"
        )
    latest = [row.run_id for row in connection.execute(select(RUN.c.run_id).order_by(
        RUN.c.started_at.desc()).limit(200))]  # fmt: skip
    hint = did_you_mean(run_id, latest)
    recent = "; the latest are " + ", ".join(latest[:5]) if latest and not hint else ""
    raise CatalogError(f"no run in the catalog has an id starting with '{run_id}'{hint or recent}")


def running_runs(connection: Connection) -> list[RunView]:
    """Every run recorded as running (including any whose process died without ending it), newest first."""
    query = _newest_runs().where(RUN.c.status == "running")
    return _run_views(connection, list(connection.execute(query)))


def _run_views(connection: Connection, rows: Sequence[Any]) -> list[RunView]:
    counts = _event_counts(connection, [row.run_id for row in rows])
    views = []
    for run_id, trigger, selection, status, started_at, ended_at, pid, heartbeat_at in rows:
        counted = counts.get(run_id, {})
        views.append(
            RunView(
                run_id, trigger, tuple(selection), status, to_utc(started_at), maybe_utc(ended_at), pid,
                maybe_utc(heartbeat_at), *(counted.get(kind, 0) for kind in COUNTED_KINDS),
            )  # fmt: skip
        )
    return views


def _event_counts(connection: Connection, run_ids: list[str]) -> dict[str, dict[str, int]]:
    if not run_ids:
        return {}
    query = (
        select(EVENT.c.run_id, EVENT.c.kind, func.count())
        .where(EVENT.c.run_id.in_(run_ids), EVENT.c.kind.in_(COUNTED_KINDS), EVENT.c.asset.is_not(None))
        .group_by(EVENT.c.run_id, EVENT.c.kind)
    )
    counts: dict[str, dict[str, int]] = {}
    for run_id, kind, count in connection.execute(query):
        counts.setdefault(run_id, {})[kind] = count
    return counts


def run_events(
    connection: Connection, run_id: str, asset: str | None = None, levels: Collection[str] | None = None
) -> list[Event]:
    """The events of a run in the order they were recorded, optionally of one asset and some levels only."""
    query = select(*EVENT_COLUMNS).where(EVENT.c.run_id == run_id).order_by(EVENT.c.id)
    if asset is not None:
        query = query.where(EVENT.c.asset == asset)
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


def asset_failures(connection: Connection, asset: str, limit: int = 10) -> list[FailureRecord]:
    """The latest ``limit`` failed attempts of an asset, newest first."""
    query = select(*FAILURE_COLUMNS).where(FAILURE.c.asset == asset).order_by(FAILURE.c.id.desc()).limit(limit)
    return [failure_from(row) for row in connection.execute(query)]
