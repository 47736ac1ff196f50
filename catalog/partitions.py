"""What the catalog keeps about partitions: the keys of dynamic partitions, and backfills."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from assets_core.errors import SelectionError
from assets_core.planning.state import BackfillRecord, now
from catalog.decode import maybe_time_from, time_from, to_utc
from catalog.models import BACKFILL, DYNAMIC_PARTITION
from catalog.transactions import WriteTransaction

BACKFILL_FIELDS = ("backfill_id", "selection", "partitions", "reprocess", "status", "targets", "created_at",
                   "ended_at")


def dynamic_partitions(connection: Connection) -> dict[str, list[str]]:
    """Every set of dynamic partitions' keys, in the order they were added."""
    rows = connection.execute(select(DYNAMIC_PARTITION.c.name, DYNAMIC_PARTITION.c.key)
                              .order_by(DYNAMIC_PARTITION.c.name, DYNAMIC_PARTITION.c.position))
    found: dict[str, list[str]] = {}
    for name, key in rows:
        found.setdefault(name, []).append(key)
    return found


def add_dynamic_partitions(transaction: WriteTransaction, name: str, keys: Sequence[str]) -> list[str]:
    """Add the keys not yet in ``name``'s set, after the others; return those added."""
    rows = transaction.select_in(DYNAMIC_PARTITION, ["key", "position"], "name", [name])
    known = {key for key, _ in rows}
    added = [key for key in dict.fromkeys(keys) if key not in known]
    start = max((position for _, position in rows), default=-1) + 1
    moment = to_utc(now())
    transaction.insert_many(DYNAMIC_PARTITION, [{"name": name, "key": key, "position": start + i, "added_at": moment}
                                                for i, key in enumerate(added)])
    return added


def backfill_values(record: BackfillRecord) -> dict[str, Any]:
    """The column values of a backfill row."""
    return {"backfill_id": record.backfill_id, "selection": list(record.selection), "partitions": record.partitions,
            "reprocess": record.reprocess, "status": record.status, "targets": list(record.targets),
            "created_at": to_utc(record.created_at),
            "ended_at": to_utc(record.ended_at) if record.ended_at is not None else None}


def backfill_from(row: Sequence[Any]) -> BackfillRecord:
    """The record of a row selected as :data:`BACKFILL_FIELDS`."""
    backfill_id, selection, partitions, reprocess, status, targets, created_at, ended_at = row
    return BackfillRecord(backfill_id, tuple(selection), partitions, reprocess, status, tuple(targets),
                          time_from(created_at), maybe_time_from(ended_at))


def list_backfills(connection: Connection, limit: int) -> list[BackfillRecord]:
    """The latest backfills, newest first."""
    columns = [BACKFILL.c[name] for name in BACKFILL_FIELDS]
    rows = connection.execute(select(*columns).order_by(BACKFILL.c.created_at.desc()).limit(limit))
    return [backfill_from(row) for row in rows]


def find_backfill(connection: Connection, prefix: str) -> BackfillRecord:
    """The backfill whose id is or starts with ``prefix``.

    Raises:
        SelectionError: no backfill, or more than one, matches.
    """
    columns = [BACKFILL.c[name] for name in BACKFILL_FIELDS]
    rows = list(connection.execute(select(*columns).where(BACKFILL.c.backfill_id.startswith(prefix, autoescape=True))
                                   .limit(2)))
    if len(rows) != 1:
        what = "no backfill" if not rows else "more than one backfill"
        raise SelectionError(f"{what} has an id starting with '{prefix}'; see 'assets backfills'")
    return backfill_from(rows[0])
