"""Translating between the records of ``assets_core.state`` and the columns of the catalog's tables.

Each ``*_COLUMNS`` tuple lists a table's columns in the order of its record's fields, so a selected row
turns into a record positionally: reading the state of thousands of assets stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from assets_core.state import (
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
)
from catalog.models import EVENT, FAILURE, MATERIALIZATION, OBSERVATION, RUN

M, F, O, E = MATERIALIZATION.c, FAILURE.c, OBSERVATION.c, EVENT.c

MATERIALIZATION_COLUMNS = (
    M.asset, M.run_id, M.data_version, M.code_version, M.upstream_versions, M.location, M.rows,
    M["schema"], M.bytes, M.duration, M["metadata"], M.partition, M.created_at,
)  # fmt: skip
FAILURE_COLUMNS = (F.asset, F.run_id, F.error, F.traceback, F.attempt, F.partition, F.created_at)
OBSERVATION_COLUMNS = (O.asset, O.run_id, O.data_version, O.fingerprint, O.created_at)
EVENT_COLUMNS = (E.run_id, E.kind, E.message, E.asset, E.level, E.created_at)
RUN_COLUMNS = (
    RUN.c.run_id, RUN.c.trigger, RUN.c.selection, RUN.c.status, RUN.c.started_at, RUN.c.ended_at,
    RUN.c.pid, RUN.c.heartbeat_at,
)  # fmt: skip


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
    (asset, run_id, data_version, code_version, upstream, location, rows, schema, size, duration, metadata,
     partition, created_at) = values  # fmt: skip
    return MaterializationRecord(
        asset, run_id, data_version, code_version, upstream, location, rows,
        None if schema is None else tuple((column, kind) for column, kind in schema),
        size, duration, metadata, partition, to_utc(created_at),
    )  # fmt: skip


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
    return FailureRecord(asset, run_id, error, traceback, attempt, partition, to_utc(created_at))


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
    return ObservationRecord(asset, run_id, data_version, fingerprint, to_utc(created_at))


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
    return Event(run_id, kind, message, asset, level, to_utc(created_at))


def run_values(run: RunRecord) -> dict[str, Any]:
    """The column values of a run row; a new run's heartbeat is its start."""
    started = to_utc(run.started_at)
    return {
        "run_id": run.run_id,
        "trigger": run.trigger,
        "selection": list(run.selection),
        "status": run.status,
        "started_at": started,
        "ended_at": maybe_utc(run.ended_at),
        "pid": run.pid,
        "heartbeat_at": started,
    }
