"""Translating between the records of ``assets_core.planning.state`` and the columns of the catalog's tables.

Each ``*_COLUMNS`` tuple lists a table's columns in the order of its record's fields, so a selected row
turns into a record positionally. JSON and times are selected as the database holds them and decoded by
:mod:`catalog.decode`, with shortcuts for the common values: reading the state of ten thousand assets must
stay cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ColumnElement, DateTime, String, type_coerce

from assets_core.planning.state import (
    CheckRecord,
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
)
from catalog.decode import (
    FAILURE_FIELDS,
    MATERIALIZATION_FIELDS,
    OBSERVATION_FIELDS,
    from_json,
    maybe_utc,
    time_from,
    to_utc,
)
from catalog.models import EVENT, FAILURE, MATERIALIZATION, OBSERVATION, RUN
from catalog.views import DefinitionView

if TYPE_CHECKING:  # the lineage module (sqlglot's optimizer) is imported only where lineage is read
    from assets_core.lineage.sql import TableLineage


def stored(*columns: Column[Any]) -> tuple[ColumnElement[Any], ...]:
    """The columns to select: JSON and time columns as the database holds them, for this module to decode."""
    return tuple(type_coerce(c, String) if isinstance(c.type, JSON | DateTime) else c for c in columns)


_M, _F, _O, _E, _R = MATERIALIZATION.c, FAILURE.c, OBSERVATION.c, EVENT.c, RUN.c
MATERIALIZATION_COLUMNS = stored(*(_M[name] for name in MATERIALIZATION_FIELDS))
FAILURE_COLUMNS = stored(*(_F[name] for name in FAILURE_FIELDS))
OBSERVATION_COLUMNS = stored(*(_O[name] for name in OBSERVATION_FIELDS))
EVENT_COLUMNS = stored(_E.run_id, _E.kind, _E.message, _E.asset, _E.level, _E.created_at)
RUN_COLUMNS = stored(
    _R.run_id, _R.trigger, _R.selection, _R.status, _R.started_at, _R.ended_at, _R.pid, _R.heartbeat_at, _R.host,
    _R.plan
)


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


def observation_values(record: ObservationRecord) -> dict[str, Any]:
    """The column values of an observation row."""
    return {
        "asset": record.asset,
        "run_id": record.run_id,
        "data_version": record.data_version,
        "fingerprint": record.fingerprint,
        "partition": record.partition,
        "created_at": to_utc(record.created_at),
    }


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

    >>> from assets_core.lineage.sql import TableLineage
    >>> column_edge_values(TableLineage("b", ("y",), {"y": ("a.x", "fin.raw.id")}))[1]
    {'asset': 'b', 'column': 'y', 'upstream_asset': 'fin.raw', 'upstream_column': 'id'}
    """
    edges = {(column, *origin.rsplit(".", 1)) for column, origins in lineage.direct.items() for origin in origins}
    return [{"asset": lineage.asset, "column": column, "upstream_asset": up_asset, "upstream_column": up_column}
            for column, up_asset, up_column in sorted(edges)]
