"""What the catalog keeps of automation: each automation's state, the ticks it evaluated and the runs they
requested, and the lease of the active daemon (the :class:`~assets_core.automation.records.AutomationStore`
of :class:`~catalog.store.SqlCatalog`).

Automation writes a few rows a tick, so its statements go through SQLAlchemy Core, portable to every database
the catalog runs on, rather than through the SQLite shortcut of :mod:`catalog.transactions`. Each write runs in
one write transaction (``BEGIN IMMEDIATE`` on SQLite: two processes' writes never interleave); the rules that
keep a run from starting twice are enforced by the database itself as well (a unique run key per origin, a
conditional update to claim a request, a single lease row).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, delete, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from assets_core.automation.records import (
    PENDING,
    SKIPPED,
    STARTED,
    AutomationState,
    DaemonLease,
    Moved,
    RequestRecord,
    TickRecord,
    as_recorded,
)
from assets_core.planning.state import now
from catalog.decode import maybe_time_from, maybe_utc, time_from, to_utc
from catalog.models import AUTOMATION_STATE, DAEMON_LEASE, RUN_REQUEST, TICK, UtcDateTime
from catalog.transactions import IN_BATCH

LEASE_KEY = "daemon"  # the key of the lease's only row

# Each table's columns in the order of its record's fields, so that a row turns into a record positionally.
STATE_FIELDS = ("name", "kind", "paused", "cursor", "last_tick", "updated_at")
TICK_FIELDS = ("name", "kind", "status", "reason", "evaluated_at", "scheduled_for", "error", "tick_id")
REQUEST_FIELDS = ("origin", "trigger", "selection", "partition", "run_key", "request_id", "status", "run_id",
                  "tick_id", "created_at")
LEASE_FIELDS = ("holder", "pid", "host", "started_at", "heartbeat_at")


# Reads


def automation_states(connection: Connection) -> dict[str, AutomationState]:
    """Every automation's state, by name."""
    rows = connection.execute(select(*(AUTOMATION_STATE.c[name] for name in STATE_FIELDS))
                              .order_by(AUTOMATION_STATE.c.name))
    return {row[0]: _state_from(row) for row in rows}


def list_ticks(connection: Connection, name: str | None, limit: int) -> list[TickRecord]:
    """The latest ``limit`` ticks (of one automation), newest first, each with its requests in recorded order.

    Ticks evaluated at the same moment (a schedule catching up) are newest first in the order recorded.
    """
    query = select(*(TICK.c[field] for field in TICK_FIELDS)).order_by(TICK.c.evaluated_at.desc(), TICK.c.id.desc())
    if name is not None:
        query = query.where(TICK.c.name == name)
    ticks = list(connection.execute(query.limit(limit)))
    requests: dict[str, list[RequestRecord]] = {}
    for request in _requests_where(connection, RUN_REQUEST.c.tick_id, [tick.tick_id for tick in ticks]):
        requests.setdefault(request.tick_id or "", []).append(request)
    return [_tick_from(row, requests.get(row.tick_id, ())) for row in ticks]


def pending_requests(connection: Connection) -> list[RequestRecord]:
    """The requests not claimed yet, oldest first."""
    query = _request_query().where(RUN_REQUEST.c.status == PENDING)
    return [_request_from(row) for row in connection.execute(query)]


def request_runs(connection: Connection, request_ids: Sequence[str]) -> dict[str, str | None]:
    """The run that claimed each named request; None for a request not claimed yet, or unknown."""
    found: dict[str, str | None] = {}
    for batch in _batches(list(dict.fromkeys(request_ids))):
        query = select(RUN_REQUEST.c.request_id, RUN_REQUEST.c.run_id).where(RUN_REQUEST.c.request_id.in_(batch))
        found.update((request_id, run_id) for request_id, run_id in connection.execute(query))
    return {request_id: found.get(request_id) for request_id in request_ids}


def daemon_lease(connection: Connection) -> DaemonLease | None:
    """The lease as recorded, or None when no daemon holds it."""
    query = select(*(DAEMON_LEASE.c[name] for name in LEASE_FIELDS)).where(DAEMON_LEASE.c.key == LEASE_KEY)
    row = connection.execute(query).first()
    if row is None:
        return None
    holder, pid, host, started_at, heartbeat_at = row
    return DaemonLease(holder, pid, host, time_from(started_at), time_from(heartbeat_at))


# Writes, each inside the caller's write transaction


def record_tick(connection: Connection, tick: TickRecord, moved: Moved | None) -> list[RequestRecord]:
    """Insert the tick (as :func:`~assets_core.automation.records.as_recorded` says: skipped when every run key
    was used before) and the requests whose run key their origin has not used, and move the automation's
    state on; return the requests inserted.

    Raises:
        IntegrityError: the tick's id is recorded already (or, on a database that does not serialise writers,
            another transaction used one of the run keys meanwhile): nothing of the tick is kept.
    """
    recorded = [replace(request, tick_id=tick.tick_id) for request in _unused(connection, tick.requests)]
    connection.execute(insert(TICK).values(_tick_values(as_recorded(tick, recorded))))
    if recorded:
        connection.execute(insert(RUN_REQUEST), [_request_values(request) for request in recorded])
    values: dict[str, Any] = {"kind": tick.kind}
    if moved is not None and moved.cursor is not None:
        values["cursor"] = moved.cursor
    if moved is not None and moved.last_tick is not None:
        values["last_tick"] = to_utc(moved.last_tick)
    _upsert_state(connection, tick.name, values)
    return recorded


def prune_ticks(connection: Connection, before: datetime) -> int:
    """Delete the skipped ticks evaluated before ``before`` (a skipped tick requests nothing); return how many."""
    found = connection.execute(delete(TICK).where(TICK.c.status == SKIPPED, TICK.c.evaluated_at < to_utc(before)))
    return int(found.rowcount or 0)


def set_paused(connection: Connection, name: str, kind: str, paused: bool) -> None:
    """Pause or unpause an automation, creating its state if need be."""
    _upsert_state(connection, name, {"kind": kind, "paused": paused})


def claim_request(connection: Connection, request_id: str, run_id: str) -> bool:
    """Mark a pending request started by ``run_id``: one conditional update, so of two claims one wins."""
    statement = (update(RUN_REQUEST)
                 .where(RUN_REQUEST.c.request_id == request_id, RUN_REQUEST.c.status == PENDING)
                 .values(status=STARTED, run_id=run_id))
    return connection.execute(statement).rowcount == 1


def acquire_daemon_lease(connection: Connection, holder: str, pid: int, host: str, at: datetime,
                         stale_after: timedelta) -> bool:
    """Renew the lease ``holder`` has, take it over from a holder whose heartbeat is older than ``stale_after``,
    or take it when nobody has it; False when another holds it and beats."""
    moment, lease = to_utc(at), DAEMON_LEASE.c
    renewed_or_taken = (
        update(DAEMON_LEASE)
        .where(lease.key == LEASE_KEY, or_(lease.holder == holder, lease.heartbeat_at < moment - stale_after))
        .values(holder=holder, pid=pid, host=host, heartbeat_at=moment,
                started_at=case((lease.holder == holder, lease.started_at), else_=literal(moment, UtcDateTime)))
    )
    if connection.execute(renewed_or_taken).rowcount == 1:
        return True
    try:  # nobody has it, or another holder beats: the row's key tells which, even when two daemons race
        with connection.begin_nested():
            connection.execute(insert(DAEMON_LEASE).values(key=LEASE_KEY, holder=holder, pid=pid, host=host,
                                                           started_at=moment, heartbeat_at=moment))
    except IntegrityError:
        return False
    return True


def release_daemon_lease(connection: Connection, holder: str) -> None:
    """Delete the lease if ``holder`` has it."""
    connection.execute(delete(DAEMON_LEASE).where(DAEMON_LEASE.c.key == LEASE_KEY, DAEMON_LEASE.c.holder == holder))


# Rows and records


def _unused(connection: Connection, requests: Sequence[RequestRecord]) -> list[RequestRecord]:
    """The requests without a run key, and those whose (origin, run key) is neither recorded nor repeated
    earlier in ``requests``."""
    keys = sorted({request.run_key for request in requests if request.run_key is not None})
    used: set[tuple[str, str]] = set()
    for batch in _batches(keys):
        query = select(RUN_REQUEST.c.origin, RUN_REQUEST.c.run_key).where(RUN_REQUEST.c.run_key.in_(batch))
        used.update((origin, run_key) for origin, run_key in connection.execute(query))
    unused = []
    for request in requests:
        if request.run_key is not None:
            if (request.origin, request.run_key) in used:
                continue
            used.add((request.origin, request.run_key))
        unused.append(request)
    return unused


def _upsert_state(connection: Connection, name: str, values: dict[str, Any]) -> None:
    values = {**values, "updated_at": to_utc(now())}
    if connection.execute(update(AUTOMATION_STATE).where(AUTOMATION_STATE.c.name == name).values(values)).rowcount:
        return
    connection.execute(insert(AUTOMATION_STATE).values({"name": name, "paused": False, **values}))


def _state_from(row: Sequence[Any]) -> AutomationState:
    name, kind, paused, cursor, last_tick, updated_at = row
    return AutomationState(name, kind, bool(paused), cursor, maybe_time_from(last_tick), maybe_time_from(updated_at))


def _tick_values(tick: TickRecord) -> dict[str, Any]:
    return {"tick_id": tick.tick_id, "name": tick.name, "kind": tick.kind, "status": tick.status,
            "reason": tick.reason, "evaluated_at": to_utc(tick.evaluated_at),
            "scheduled_for": maybe_utc(tick.scheduled_for), "error": tick.error}


def _tick_from(row: Sequence[Any], requests: Sequence[RequestRecord]) -> TickRecord:
    name, kind, status, reason, evaluated_at, scheduled_for, error, tick_id = row
    return TickRecord(name, kind, status, reason, time_from(evaluated_at), maybe_time_from(scheduled_for), error,
                      tuple(requests), tick_id)


def _request_values(request: RequestRecord) -> dict[str, Any]:
    values = {field: getattr(request, field) for field in REQUEST_FIELDS}
    return {**values, "selection": list(request.selection), "created_at": to_utc(request.created_at)}


def _request_from(row: Sequence[Any]) -> RequestRecord:
    origin, trigger, selection, partition, run_key, request_id, status, run_id, tick_id, created_at = row
    return RequestRecord(origin, trigger, tuple(selection), partition, run_key, request_id, status, run_id, tick_id,
                         time_from(created_at))


def _request_query() -> Any:
    return (select(*(RUN_REQUEST.c[name] for name in REQUEST_FIELDS))
            .order_by(RUN_REQUEST.c.created_at, RUN_REQUEST.c.id))


def _requests_where(connection: Connection, column: Any, values: Sequence[str]) -> Iterator[RequestRecord]:
    for batch in _batches(list(values)):
        for row in connection.execute(_request_query().where(column.in_(batch))):
            yield _request_from(row)


def _batches(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), IN_BATCH):
        yield values[start:start + IN_BATCH]


class AutomationRecords:
    """The :class:`~assets_core.automation.records.AutomationStore` methods of a catalog that opens read and
    write transactions on SQLAlchemy connections (``SqlCatalog``); each method is one transaction."""

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def automation_states(self) -> dict[str, AutomationState]:
        """Every automation's state, by name (one never evaluated nor paused has none)."""
        with self._read() as connection:
            return automation_states(connection)

    def record_tick(self, tick: TickRecord, moved: Moved | None = None) -> list[RequestRecord]:
        """Record a tick, its requests whose ``run_key`` their origin has not used (in an earlier tick, or earlier
        in this one), and the automation's state moved on (its kind and ``updated_at``; its cursor and last tick
        where ``moved`` gives them), in one transaction; return the requests recorded, with their ``tick_id``.

        Raises:
            CatalogError: the tick could not be recorded (its id is recorded already, say): none of it is kept.
        """
        with self._write() as connection:
            return record_tick(connection, tick, moved)

    def set_paused(self, name: str, kind: str, paused: bool) -> None:
        """Pause or unpause an automation (creating its state if need be)."""
        with self._write() as connection:
            set_paused(connection, name, kind, paused)

    def list_ticks(self, name: str | None = None, limit: int = 50) -> list[TickRecord]:
        """The latest ticks (of one automation), newest first, each with its requests."""
        with self._read() as connection:
            return list_ticks(connection, name, limit)

    def prune_ticks(self, before: datetime) -> int:
        """Delete the skipped ticks evaluated before ``before``; return how many."""
        with self._write() as connection:
            return prune_ticks(connection, before)

    def pending_requests(self) -> list[RequestRecord]:
        """The requests not claimed yet, oldest first (in the order recorded)."""
        with self._read() as connection:
            return pending_requests(connection)

    def claim_request(self, request_id: str, run_id: str) -> bool:
        """Mark a pending request started by run ``run_id``; False if it was claimed already (or is unknown)."""
        with self._write() as connection:
            return claim_request(connection, request_id, run_id)

    def request_runs(self, request_ids: Sequence[str]) -> dict[str, str | None]:
        """The run id each named request was claimed by (None: not claimed yet, or no such request)."""
        with self._read() as connection:
            return request_runs(connection, request_ids)

    def acquire_daemon_lease(self, holder: str, pid: int, host: str, at: datetime, stale_after: timedelta) -> bool:
        """Become (or stay) the active daemon at ``at``: True when the lease is free, held by ``holder`` already
        (its heartbeat is renewed, its start kept), or held by another whose heartbeat is older than
        ``stale_after`` (taken over: a new start). Two daemons racing for a free lease: one gets True."""
        with self._write() as connection:
            return acquire_daemon_lease(connection, holder, pid, host, at, stale_after)

    def release_daemon_lease(self, holder: str) -> None:
        """Give the lease up, if ``holder`` has it."""
        with self._write() as connection:
            release_daemon_lease(connection, holder)

    def daemon_lease(self) -> DaemonLease | None:
        """The lease as recorded (it may be stale: compare its heartbeat with the time)."""
        with self._read() as connection:
            return daemon_lease(connection)
