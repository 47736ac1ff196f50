"""What ``assets automation`` and the browser's Automation screen show: every schedule, sensor and set of
conditions with its state, last and next tick, and whether a daemon is alive; pausing and unpausing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from assets_core.application.automation import CONDITIONS_NAME
from assets_core.application.workspace import Workspace
from assets_core.automation.cron import next_tick
from assets_core.automation.declarations import FileSensor
from assets_core.automation.records import (
    CONDITIONS,
    FILE_SENSOR,
    SCHEDULE,
    SENSOR,
    AutomationState,
    DaemonLease,
    TickRecord,
)
from assets_core.errors import SelectionError, did_you_mean
from assets_core.planning.state import now
from assets_core.running.recovery import HOST, process_alive

ALIVE_WITHIN = timedelta(minutes=2)  # a lease renewed this recently (elsewhere than this host) is alive


@dataclass(frozen=True)
class AutomationEntry:
    """One schedule, sensor, or the conditions of the project's assets, as it stands."""

    name: str
    kind: str
    detail: str  # the cron and time zone, the glob, the interval, or the conditions
    selection: str
    paused: bool
    last_tick: TickRecord | None
    next_tick: datetime | None

    def to_json(self) -> dict[str, Any]:
        last = self.last_tick
        return {"name": self.name, "kind": self.kind, "detail": self.detail, "selection": self.selection,
                "paused": self.paused, "next_tick": self.next_tick.isoformat() if self.next_tick else None,
                "last_tick": None if last is None else {
                    "at": last.evaluated_at.isoformat(), "status": last.status, "reason": last.reason,
                    "runs_requested": len(last.requests)}}


def overview(workspace: Workspace, at: datetime) -> list[AutomationEntry]:
    """Every automation of the project, schedules first, with its state as of ``at``."""
    graph, store = workspace.project.graph, workspace.catalog
    states = store.automation_states()
    last = {tick.name: tick for tick in reversed(store.list_ticks(limit=500))}  # the newest of each wins
    entries = []
    for item in graph.schedules.values():
        state = states.get(item.name, AutomationState(item.name, SCHEDULE))
        upcoming = None if state.paused else next_tick(item.cron, item.timezone, max(at, state.last_tick or at))
        entries.append(AutomationEntry(item.name, SCHEDULE, f"{item.cron} ({item.timezone})", item.selection,
                                       state.paused, _last(store, last, item.name), upcoming))
    for sensor in graph.sensors.values():
        kind = FILE_SENSOR if isinstance(sensor, FileSensor) else SENSOR
        state = states.get(sensor.name, AutomationState(sensor.name, kind))
        every = sensor.interval_seconds
        detail = (f"{sensor.path}, " if isinstance(sensor, FileSensor) else "") + f"every {every:g} s"
        upcoming = None if state.paused else (state.last_tick or at) + timedelta(seconds=every)
        entries.append(AutomationEntry(sensor.name, kind, detail, sensor.selection, state.paused,
                                       _last(store, last, sensor.name), upcoming))
    carrying = [(item.name, str(item.options.automation)) for item in graph if item.options.automation is not None]
    if carrying:
        state = states.get(CONDITIONS_NAME, AutomationState(CONDITIONS_NAME, CONDITIONS))
        detail = "; ".join(f"{name}: {condition}" for name, condition in carrying[:5])
        detail += f"; and {len(carrying) - 5} more" if len(carrying) > 5 else ""
        entries.append(AutomationEntry(CONDITIONS_NAME, CONDITIONS, detail, " ".join(n for n, _ in carrying),
                                       state.paused, _last(store, last, CONDITIONS_NAME), None))
    return entries


def _last(store: Any, newest: dict[str, TickRecord], name: str) -> TickRecord | None:
    if name in newest:
        return newest[name]
    found = store.list_ticks(name, limit=1)
    return found[0] if found else None


def daemon_alive(lease: DaemonLease | None, at: datetime) -> bool:
    """Whether the lease's daemon is alive: its process runs (on this host), or it renewed its lease lately."""
    if lease is None:
        return False
    if lease.host == HOST:
        return process_alive(lease.pid)
    return at - lease.heartbeat_at < ALIVE_WITHIN


def set_paused(workspace: Workspace, name: str, paused: bool) -> AutomationEntry:
    """Pause or unpause a schedule, a sensor, or the assets' conditions (``automation``)."""
    graph = workspace.project.graph
    kinds = {**{n: SCHEDULE for n in graph.schedules},
             **{n: FILE_SENSOR if isinstance(s, FileSensor) else SENSOR for n, s in graph.sensors.items()}}
    if any(item.options.automation is not None for item in graph):
        kinds[CONDITIONS_NAME] = CONDITIONS
    if name not in kinds:
        known = ", ".join(sorted(kinds)) or "none is declared"
        raise SelectionError(f"'{name}' is no schedule, sensor or '{CONDITIONS_NAME}'{did_you_mean(name, kinds)} "
                             f"(known: {known})")
    workspace.catalog.set_paused(name, kinds[name], paused)
    return next(entry for entry in overview(workspace, now()) if entry.name == name)
