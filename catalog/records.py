"""Translating between the records of ``assets_core.state`` and the columns of the catalog's tables.

Each ``*_COLUMNS`` tuple lists a table's columns in the order of its record's fields, so a selected row
turns into a record positionally. JSON and times are selected as the database holds them and decoded here,
with shortcuts for the common values: reading the state of ten thousand assets must stay cheap.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ColumnElement, DateTime, String, type_coerce

from assets_core.state import (
    CheckRecord,
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
)
from catalog.models import EVENT, FAILURE, MATERIALIZATION, OBSERVATION, RUN
from catalog.views import DefinitionView

if TYPE_CHECKING:  # the lineage module (sqlglot's optimizer) is imported only where lineage is read
    from assets_core.lineage import TableLineage


def stored(*columns: Column[Any]) -> tuple[ColumnElement[Any], ...]:
    """The columns to select: JSON and time columns as the database holds them, for this module to decode."""
    return tuple(type_coerce(c, String) if isinstance(c.type, JSON | DateTime) else c for c in columns)


_M, _F, _O, _E, _R = MATERIALIZATION.c, FAILURE.c, OBSERVATION.c, EVENT.c, RUN.c
MATERIALIZATION_COLUMNS = stored(
    *(_M.asset, _M.run_id, _M.data_version, _M.code_version, _M.upstream_versions, _M.location, _M.rows),
    *(_M["schema"], _M.bytes, _M.duration, _M["metadata"], _M.partition, _M.created_at),
)
FAILURE_COLUMNS = stored(_F.asset, _F.run_id, _F.error, _F.traceback, _F.attempt, _F.partition, _F.created_at)
OBSERVATION_COLUMNS = stored(_O.asset, _O.run_id, _O.data_version, _O.fingerprint, _O.created_at)
EVENT_COLUMNS = stored(_E.run_id, _E.kind, _E.message, _E.asset, _E.level, _E.created_at)
RUN_COLUMNS = stored(
    _R.run_id, _R.trigger, _R.selection, _R.status, _R.started_at, _R.ended_at, _R.pid, _R.heartbeat_at, _R.host,
    _R.plan
)


def from_json(value: Any) -> Any:
    """A JSON value decoded (drivers that decode JSON themselves hand over the value already).

    >>> from_json('{"orders": "v1"}'), from_json("{}"), from_json({"already": "decoded"})
    ({'orders': 'v1'}, {}, {'already': 'decoded'})
    """
    if not isinstance(value, str):
        return value
    if value == "{}":
        return {}
    try:  # the scanner alone, a fifth of json.loads's time: we wrote compact JSON, with no spaces to skip
        return _scan(value, 0)[0]
    except (StopIteration, ValueError):
        return json.loads(value)


_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed mistypes its context


@lru_cache(maxsize=4096)
def _schema_from(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((column, kind) for column, kind in json.loads(text))


def schema_from(value: Any) -> tuple[tuple[str, str], ...] | None:
    """A stored schema as ``(column, type)`` pairs; the same few schemas recur, so each is decoded once.

    >>> schema_from('[["id", "Int64"], ["name", "String"]]')
    (('id', 'Int64'), ('name', 'String'))
    """
    if value is None:
        return None
    if isinstance(value, str):
        return _schema_from(value)
    return tuple((column, kind) for column, kind in value)


def time_from(value: Any) -> datetime:
    """A stored time, timezone-aware in UTC (SQLite keeps times as text without a zone; they are in UTC).

    >>> time_from("2024-05-01 12:30:00.000250")
    datetime.datetime(2024, 5, 1, 12, 30, 0, 250, tzinfo=datetime.timezone.utc)
    """
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return to_utc(value)


def maybe_time_from(value: Any) -> datetime | None:
    """:func:`time_from`, passing ``None`` through."""
    return None if value is None else time_from(value)


def to_utc(moment: datetime) -> datetime:
    """The same moment in UTC; a naive time is taken to be UTC already.

    >>> from datetime import timedelta
    >>> to_utc(datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))))
    datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone.utc)
    >>> to_utc(datetime(2024, 1, 1, 12))
    datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def maybe_utc(moment: datetime | None) -> datetime | None:
    """:func:`to_utc`, passing ``None`` through."""
    return None if moment is None else to_utc(moment)


def materialization_values(record: MaterializationRecord) -> dict[str, Any]:
    """The column values of a materialization row."""
    return {
        "asset": record.asset,
        "run_id": record.run_id,
        "partition": record.partition,
        "data_version": record.data_version,
        "code_version": record.code_version,
        "upstream_versions": dict(record.upstream_versions),
        "location": record.location,
        "rows": record.rows,
        "schema": None if record.schema is None else [list(pair) for pair in record.schema],
        "bytes": record.bytes,
        "duration": record.duration,
        "metadata": dict(record.metadata),
        "created_at": to_utc(record.created_at),
    }


def materialization_from(values: Sequence[Any]) -> MaterializationRecord:
    """The record of a row selected as :data:`MATERIALIZATION_COLUMNS`."""
    asset, run_id, data_version, code_version, upstream, location, rows, *rest = values
    schema, size, duration, metadata, partition, created_at = rest
    return MaterializationRecord(
        asset,
        run_id,
        data_version,
        code_version,
        from_json(upstream),
        location,
        rows,
        schema_from(schema),
        size,
        duration,
        from_json(metadata),
        partition,
        time_from(created_at),
    )


def failure_values(record: FailureRecord) -> dict[str, Any]:
    """The column values of a failure row."""
    return {
        "asset": record.asset,
        "run_id": record.run_id,
        "partition": record.partition,
        "attempt": record.attempt,
        "error": record.error,
        "traceback": record.traceback,
        "created_at": to_utc(record.created_at),
    }


def failure_from(values: Sequence[Any]) -> FailureRecord:
    """The record of a row selected as :data:`FAILURE_COLUMNS`."""
    asset, run_id, error, traceback, attempt, partition, created_at = values
    return FailureRecord(asset, run_id, error, traceback, attempt, partition, time_from(created_at))


def observation_values(record: ObservationRecord) -> dict[str, Any]:
    """The column values of an observation row."""
    return {
        "asset": record.asset,
        "run_id": record.run_id,
        "data_version": record.data_version,
        "fingerprint": record.fingerprint,
        "created_at": to_utc(record.created_at),
    }


def observation_from(values: Sequence[Any]) -> ObservationRecord:
    """The record of a row selected as :data:`OBSERVATION_COLUMNS`."""
    asset, run_id, data_version, fingerprint, created_at = values
    return ObservationRecord(asset, run_id, data_version, fingerprint, time_from(created_at))


def event_values(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The column values of event rows, in order (one executemany)."""
    return [
        {
            "run_id": e.run_id,
            "asset": e.asset,
            "kind": e.kind,
            "level": e.level,
            "message": e.message,
            "created_at": to_utc(e.created_at),
        }
        for e in events
    ]


def event_from(values: Sequence[Any]) -> Event:
    """The event of a row selected as :data:`EVENT_COLUMNS`."""
    run_id, kind, message, asset, level, created_at = values
    return Event(run_id, kind, message, asset, level, time_from(created_at))


def run_values(run: RunRecord, heartbeat_at: datetime) -> dict[str, Any]:
    """The column values of a run row."""
    return {
        "run_id": run.run_id,
        "trigger": run.trigger,
        "selection": list(run.selection),
        "status": run.status,
        "started_at": to_utc(run.started_at),
        "ended_at": maybe_utc(run.ended_at),
        "pid": run.pid,
        "heartbeat_at": to_utc(heartbeat_at),
        "host": run.host,
        "plan": list(run.plan),
    }


def check_from(values: Sequence[Any]) -> CheckRecord:
    run_id, asset, check, passed, blocking, message, metadata, created_at = values
    return CheckRecord(asset, run_id, check, bool(passed), bool(blocking), message, from_json(metadata),
                       time_from(created_at))


def check_values(records: Sequence[CheckRecord]) -> list[dict[str, Any]]:
    """The column values of check result rows."""
    return [{"run_id": r.run_id, "asset": r.asset, "check": r.check, "passed": r.passed, "blocking": r.blocking,
             "message": r.message, "metadata": dict(r.metadata), "created_at": to_utc(r.created_at)}
            for r in records]


def definition_values(definition: DefinitionView, saved_at: datetime) -> dict[str, Any]:
    """The column values of an asset row."""
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
        "updated_at": to_utc(saved_at),
    }


def column_lineage_values(lineage: TableLineage) -> dict[str, Any]:
    """The column values of a column lineage row."""
    return {"asset": lineage.asset, "key": lineage.key, "lineage": lineage.to_json()}


def column_edge_values(lineage: TableLineage) -> list[dict[str, Any]]:
    """The column values of the rows of every direct column edge of one asset, sorted.

    >>> from assets_core.lineage import TableLineage
    >>> column_edge_values(TableLineage("b", ("y",), {"y": ("a.x", "fin.raw.id")}))[1]
    {'asset': 'b', 'column': 'y', 'upstream_asset': 'fin.raw', 'upstream_column': 'id'}
    """
    edges = {(column, *origin.rsplit(".", 1)) for column, origins in lineage.direct.items() for origin in origins}
    return [{"asset": lineage.asset, "column": column, "upstream_asset": up_asset, "upstream_column": up_column}
            for column, up_asset, up_column in sorted(edges)]
