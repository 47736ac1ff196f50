"""What automation keeps in the catalog: its state per schedule, sensor or condition, the ticks it evaluated,
the runs those ticks requested, and the lease of the one active daemon.

The catalog implements :class:`AutomationStore`; the daemon (``assets_core.application.automation``) is its
only writer. The rules that make the daemon safe to kill at any moment live here, in what each method
promises:

- a tick, the runs it requests and the cursor or last tick it moves on to are committed in one transaction
  (:meth:`AutomationStore.record_tick`), so a crash either keeps all of them or none;
- a request whose ``run_key`` its automation already used is never recorded a second time;
- a request is started by whoever claims it first (:meth:`AutomationStore.claim_request`), so a daemon that
  restarts and launches the pending requests again starts none of them twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from assets_core.planning.state import now

# Kinds of automation (AutomationState.kind, TickRecord.kind).
SCHEDULE, SENSOR, FILE_SENSOR, CONDITIONS, FRESHNESS = "schedule", "sensor", "file_sensor", "automation", "freshness"
# What a tick came to (TickRecord.status).
REQUESTED, SKIPPED, FAILED = "requested", "skipped", "failed"
# Where a request is (RequestRecord.status): recorded, then claimed by the worker that runs it.
PENDING, STARTED = "pending", "started"


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class RequestRecord:
    """A run an automation asked for: the selection (words of the command's syntax) and partition to run,
    the trigger its run is recorded with (``schedule:NAME``, ``sensor:NAME`` or ``automation``)."""

    origin: str  # the schedule's, sensor's or "automation" (conditions)
    trigger: str
    selection: tuple[str, ...]
    partition: str | None = None
    run_key: str | None = None  # once used by this origin, never again
    request_id: str = field(default_factory=new_id)
    status: str = PENDING
    run_id: str | None = None  # set when claimed
    tick_id: str | None = None
    created_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class TickRecord:
    """One evaluation of one automation: what it came to, why, and the requests it made."""

    name: str
    kind: str
    status: str
    reason: str
    evaluated_at: datetime  # the daemon's time (--now in tests)
    scheduled_for: datetime | None = None  # the cron tick a schedule ran for
    error: str | None = None  # a sensor that raised: its message, with the user's file and line
    requests: tuple[RequestRecord, ...] = ()
    tick_id: str = field(default_factory=new_id)


def as_recorded(tick: TickRecord, recorded: Sequence[RequestRecord]) -> TickRecord:
    """The tick as the catalog keeps it once the requests whose run key was used before are left out: with
    the requests recorded, and skipped (so that it is pruned like any tick that started nothing) when none is;
    its reason says which run keys were used before.

    >>> asked = TickRecord("feed", SENSOR, REQUESTED, "1 run(s) requested", now(),
    ...                    requests=(RequestRecord("feed", "sensor:feed", ("a",), run_key="batch-1"),))
    >>> tick = as_recorded(asked, [])
    >>> tick.status, tick.reason, tick.requests
    ('skipped', "run key 'batch-1' was used before: no run requested again", ())
    """
    if len(recorded) == len(tick.requests):
        return tick
    kept = {request.request_id for request in recorded}
    used = [request.run_key for request in tick.requests if request.request_id not in kept]
    shown = ", ".join(f"'{key}'" for key in used[:3]) + (f" and {len(used) - 3} more" if len(used) > 3 else "")
    keys = f"run key {shown} was" if len(used) == 1 else f"run keys {shown} were"
    if not recorded:
        return replace(tick, status=SKIPPED, reason=f"{keys} used before: no run requested again", requests=())
    return replace(tick, reason=f"{tick.reason}; {keys} used before, not requested again",
                   requests=tuple(recorded))


@dataclass(frozen=True)
class AutomationState:
    """What an automation carries from one tick to the next."""

    name: str
    kind: str
    paused: bool = False
    cursor: str | None = None  # a sensor's (a file sensor's stamps, a freshness violation already alerted)
    last_tick: datetime | None = None  # a schedule's last cron tick evaluated; any automation's last evaluation
    updated_at: datetime | None = None


@dataclass(frozen=True)
class DaemonLease:
    """The active daemon of a catalog: it renews ``heartbeat_at``; another may take over once it is stale."""

    holder: str
    pid: int
    host: str
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class Moved:
    """What a tick moves an automation's state on to, in the tick's transaction (None: leave it as it is)."""

    cursor: str | None = None
    last_tick: datetime | None = None


class AutomationStore(Protocol):
    """The catalog's automation records. Every method is one transaction."""

    def automation_states(self) -> dict[str, AutomationState]:
        """Every automation's state, by name (an automation never evaluated nor paused has none)."""
        ...

    def record_tick(self, tick: TickRecord, moved: Moved | None = None) -> list[RequestRecord]:
        """Record a tick and its requests, and move the automation's state on (creating it if need be), in one
        transaction; return the requests recorded, leaving out those whose ``run_key`` this origin used
        before (in an earlier tick, or twice in this one). The tick is kept as :func:`as_recorded` makes it."""
        ...

    def set_paused(self, name: str, kind: str, paused: bool) -> None:
        """Pause or unpause an automation (creating its state if need be)."""
        ...

    def list_ticks(self, name: str | None = None, limit: int = 50) -> list[TickRecord]:
        """The latest ticks (of one automation), newest first, each with its requests."""
        ...

    def prune_ticks(self, before: datetime) -> int:
        """Delete the skipped ticks (which requested nothing) evaluated before ``before``; return how many."""
        ...

    def pending_requests(self) -> list[RequestRecord]:
        """The requests not claimed yet, oldest first."""
        ...

    def claim_request(self, request_id: str, run_id: str) -> bool:
        """Mark a pending request started by run ``run_id``; False if it was claimed already (or is unknown)."""
        ...

    def request_runs(self, request_ids: Sequence[str]) -> dict[str, str | None]:
        """The run id each named request was claimed by (None: not claimed yet)."""
        ...

    def acquire_daemon_lease(self, holder: str, pid: int, host: str, at: datetime, stale_after: timedelta) -> bool:
        """Become (or stay) the active daemon: True when the lease is free, held by ``holder`` already (its
        heartbeat is renewed), or held by another whose heartbeat is older than ``stale_after``."""
        ...

    def release_daemon_lease(self, holder: str) -> None:
        """Give the lease up, if ``holder`` has it."""
        ...

    def daemon_lease(self) -> DaemonLease | None:
        """The lease as recorded (it may be stale: compare its heartbeat with the time)."""
        ...
