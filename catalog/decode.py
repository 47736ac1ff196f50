"""Decoding catalog rows into the records of ``assets_core.planning.state``, with nothing but the standard library.

The columns are the ones :mod:`catalog.records` selects (JSON and times as the database holds them), so
the same functions serve reads through SQLAlchemy and the quick reads of :mod:`catalog.quick`, which run
without importing it.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from assets_core.planning.state import FailureRecord, MaterializationRecord, ObservationRecord


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


# Each table's columns, in the order its decoder below reads them (catalog.records selects them through
# SQLAlchemy, catalog.quick through sqlite3).
MATERIALIZATION_FIELDS = ("asset", "run_id", "data_version", "code_version", "upstream_versions", "location", "rows",
                          "schema", "bytes", "duration", "metadata", "partition", "created_at")
FAILURE_FIELDS = ("asset", "run_id", "error", "traceback", "attempt", "partition", "created_at")
OBSERVATION_FIELDS = ("asset", "run_id", "data_version", "fingerprint", "partition", "created_at")


# The records are named tuples (see assets_core.planning.state): each decoder makes its record from the row's
# values at once with tuple.__new__, as _make does without its length check (the unpacking checks that), which
# takes a fraction of the time of the record's __new__; a row has every value, so no default is needed.
_new = tuple.__new__


def materialization_from(values: Sequence[Any]) -> MaterializationRecord:
    """The record of a row selected as :data:`MATERIALIZATION_FIELDS`."""
    asset, run_id, data_version, code_version, upstream, location, rows, schema, size, duration, metadata, \
        partition, created_at = values
    return _new(MaterializationRecord, (asset, run_id, data_version, code_version, from_json(upstream), location,
                                        rows, schema_from(schema), size, duration, from_json(metadata), partition,
                                        time_from(created_at)))


def failure_from(values: Sequence[Any]) -> FailureRecord:
    """The record of a row selected as :data:`FAILURE_FIELDS`."""
    asset, run_id, error, traceback, attempt, partition, created_at = values
    return _new(FailureRecord, (asset, run_id, error, traceback, attempt, partition, time_from(created_at)))


def observation_from(values: Sequence[Any]) -> ObservationRecord:
    """The record of a row selected as :data:`OBSERVATION_FIELDS`."""
    asset, run_id, data_version, fingerprint, partition, created_at = values
    return _new(ObservationRecord, (asset, run_id, data_version, fingerprint, partition, time_from(created_at)))
