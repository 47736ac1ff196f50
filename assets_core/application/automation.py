"""One evaluation of a project's automation at one moment: schedules, sensors, asset conditions and freshness
policies, each recorded in the catalog as a tick with the runs it requests.

Evaluating starts nothing: it records requests, which the daemon (:mod:`assets_core.application.daemon`)
then launches in worker processes. Each automation's tick, its requests and the state it moves on to are
committed together, so a daemon killed at any moment loses no tick and requests no run twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from assets_core.application.sensor_threads import SensorThreads
from assets_core.application.workspace import Workspace
from assets_core.automation.conditions import NOT_DUE, facts_for
from assets_core.automation.cron import due_ticks, local_text, next_tick, partition_for_tick
from assets_core.automation.declarations import FileSensor, RunRequest, Schedule, Sensor
from assets_core.automation.files import evaluate_file_sensor
from assets_core.automation.records import (
    CONDITIONS,
    FAILED,
    FILE_SENSOR,
    FRESHNESS,
    REQUESTED,
    SCHEDULE,
    SENSOR,
    SKIPPED,
    AutomationState,
    Moved,
    RequestRecord,
    TickRecord,
    as_recorded,
)
from assets_core.automation.sensors import evaluate_sensor
from assets_core.errors import SelectionError
from assets_core.planning.plan import ReasonKind
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.state import node_name, split_node
from assets_core.running.alerts import Alert, deliver_all

CONDITIONS_NAME = "automation"  # the name the conditions of every asset are recorded under (a tick each)
REASONS_SHOWN = 5


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation recorded: its ticks, the new requests among them, and alerts it could not send."""

    at: datetime
    ticks: tuple[TickRecord, ...]
    requests: tuple[RequestRecord, ...]
    problems: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()  # sensors whose evaluation, started at this tick or before, has not returned


def evaluate(workspace: Workspace, at: datetime, sensors: SensorThreads[Any] | None = None) -> Evaluation:
    """Evaluate every schedule, sensor and condition of the project as of ``at``, recording each tick.
    ``sensors``: run each sensor in a thread of its own, waited for a while (a running daemon), rather than
    here until it returns (one tick, as ``--once`` makes it)."""
    store, graph = workspace.catalog, workspace.project.graph
    states = store.automation_states()
    ticks: list[TickRecord] = []
    requests: list[RequestRecord] = []

    def record(tick: TickRecord, moved: Moved | None) -> None:
        recorded = store.record_tick(tick, moved)
        requests.extend(recorded)
        ticks.append(as_recorded(tick, recorded))

    for schedule in graph.schedules.values():
        for tick, moved in schedule_ticks(workspace, schedule, states.get(schedule.name), at):
            record(tick, moved)
    repeated: set[str] = set()  # sensors failing as they failed last time: alerted once, when it began
    for sensor in graph.sensors.values():
        state = states.get(sensor.name)
        if sensors is None:
            found = sensor_tick(workspace, sensor, state, at)
        else:
            done, found = sensors.call(sensor.name, partial(sensor_tick, workspace, sensor, state, at))
            if not done:
                continue  # still under way: recorded at the first tick after it returns
        if found is not None:
            if found[0].status == FAILED and _fails_again(store.list_ticks(sensor.name, limit=1), found[0]):
                repeated.add(sensor.name)
            record(*found)
    snapshot = workspace.project.snapshot() if _needs_snapshot(workspace) else None
    if snapshot is not None:
        found = conditions_tick(workspace, snapshot, states.get(CONDITIONS_NAME), at)
        if found is not None:
            record(*found)
    alerts: list[Alert] = []
    if snapshot is not None:
        for tick, moved, alert in freshness_ticks(workspace, snapshot, states, at):
            record(tick, moved)
            alerts.append(alert)
    failed = [tick for tick in ticks if tick.status == FAILED and tick.error and tick.name not in repeated]
    alerts += [Alert("sensor", tick.name, "-", tick.error or "", workspace.project.root.name) for tick in failed]
    problems = deliver_all(workspace.project.hooks, alerts) if alerts else []
    waiting = tuple(sensors.under_way()) if sensors is not None else ()
    return Evaluation(at, tuple(ticks), tuple(requests), tuple(problems), waiting)


def _fails_again(last: list[TickRecord], tick: TickRecord) -> bool:
    """Whether the automation's last tick failed with the same error as this one."""
    return bool(last) and last[0].status == FAILED and last[0].error == tick.error


def schedule_ticks(workspace: Workspace, schedule: Schedule, state: AutomationState | None,
                   at: datetime) -> list[tuple[TickRecord, Moved]]:
    """A schedule's ticks due at ``at``: one record per cron tick (each moving the schedule on to it, so a
    crash between two keeps the ticks already recorded and catches up the others)."""
    name, zone = schedule.name, schedule.timezone
    if state is None or state.last_tick is None:
        upcoming = local_text(next_tick(schedule.cron, zone, at), zone)
        return [(TickRecord(name, SCHEDULE, SKIPPED, f"first evaluation: runs from its next tick, {upcoming}", at),
                 Moved(last_tick=at))]
    if state.last_tick > at:  # --now in the future, or a clock set back: else it would wait for that time
        upcoming = local_text(next_tick(schedule.cron, zone, at), zone)
        return [(TickRecord(name, SCHEDULE, SKIPPED, f"last evaluated at {local_text(state.last_tick, zone)}, later "
                            f"than now (a clock set back, or --now in the future): runs from its next tick, "
                            f"{upcoming}", at), Moved(last_tick=at))]
    due = due_ticks(schedule, state.last_tick, at)
    if not due.ticks:
        return []
    if state.paused:
        return [(TickRecord(name, SCHEDULE, SKIPPED, f"paused: {due.describe()}, not run", at, due.ticks[-1]),
                 Moved(last_tick=at))]
    found = []
    for number, tick in enumerate(due.ticks, 1):
        partition = schedule_partition(workspace, schedule, tick)
        request = RequestRecord(name, schedule.trigger, (schedule.selection,), partition, f"{name}@{tick.isoformat()}")
        reason = f"cron tick {local_text(tick, zone)}" + (f": partition {partition}" if partition else "")
        if number == len(due.ticks) and due.left_out:
            reason += f" ({due.describe()})"
        until = due.evaluated_until if number == len(due.ticks) else tick
        found.append((TickRecord(name, SCHEDULE, REQUESTED, reason, at, tick, requests=(request,)),
                      Moved(last_tick=until)))
    return found


def schedule_partition(workspace: Workspace, schedule: Schedule, tick: datetime) -> str | None:
    """The partition a schedule's tick runs: the last window complete at the tick, when every time-partitioned
    asset it selects agrees on it (else None: every stale partition runs)."""
    project = workspace.project
    keys = {partition_for_tick(project.graph[name].partitions, tick) for name in project.select([schedule.selection])
            if not project.graph[name].is_source and project.graph[name].partitions is not None}
    return keys.pop() if len(keys) == 1 else None


def sensor_tick(workspace: Workspace, sensor: FileSensor | Sensor, state: AutomationState | None,
                at: datetime) -> tuple[TickRecord, Moved] | None:
    """A sensor's evaluation, when its interval has passed and it is not paused."""
    if state is not None and (state.paused or (state.last_tick is not None and  # a last tick after now: due
                                               0 <= (at - state.last_tick).total_seconds() < sensor.interval_seconds)):
        return None
    cursor = state.cursor if state is not None else None
    project = workspace.project
    error = None
    if isinstance(sensor, FileSensor):
        sources = [item for item in project.graph if item.is_source and item.partitions is not None]
        found = evaluate_file_sensor(sensor, cursor, project.root, sources)
        asked, kind = found.requests, FILE_SENSOR
        cursor = None if found.kept is not None else found.cursor  # None: the saved cursor stays as it is
        changed = f"{len(found.changed)} new or changed file(s), e.g. {found.changed[0]}" if found.changed else ""
    else:
        result = evaluate_sensor(sensor, cursor, at, project.root)
        asked, cursor, error, kind, changed = result.requests, result.cursor, result.error, SENSOR, ""
    requests = tuple(_request(sensor.name, sensor.trigger, sensor.selection, r) for r in asked)
    if not error and (wrong := _unknown_selection(workspace, sensor, requests)):
        requests, cursor, error = (), state.cursor if state is not None else None, wrong
    if error:
        tick = TickRecord(sensor.name, kind, FAILED, "the sensor raised: see its error", at, error=error)
    elif requests:
        tick = TickRecord(sensor.name, kind, REQUESTED, _asked(requests, changed), at, requests=requests)
    else:
        tick = TickRecord(sensor.name, kind, SKIPPED, "nothing new", at)
    return tick, Moved(cursor=cursor, last_tick=at)


def _unknown_selection(workspace: Workspace, sensor: FileSensor | Sensor,
                       requests: Sequence[RequestRecord]) -> str | None:
    """What is wrong with a selection the sensor asked for (an asset that is not in the project), said now
    rather than by a worker that would claim the request and fail; None when every selection resolves."""
    for selection in dict.fromkeys(words for request in requests for words in request.selection):
        try:
            workspace.project.select([selection])
        except SelectionError as problem:
            return (f"sensor '{sensor.name}' ({sensor.location}) returned a RunRequest(selection={selection!r}) "
                    f"that the project cannot run: {problem}; no run requested, its cursor is kept")
    return None


def _request(origin: str, trigger: str, selection: str, asked: RunRequest) -> RequestRecord:
    return RequestRecord(origin, trigger, (asked.selection or selection,), asked.partition, asked.run_key)


def _asked(requests: Sequence[RequestRecord], changed: str) -> str:
    partitions = [r.partition for r in requests if r.partition]
    text = f"{len(requests)} run(s) requested"
    if partitions:
        more = " ..." if len(partitions) > REASONS_SHOWN else ""
        text += f" (partitions {', '.join(partitions[:REASONS_SHOWN])}{more})"
    return f"{text}: {changed}" if changed else text


def _needs_snapshot(workspace: Workspace) -> bool:
    graph = workspace.project.graph
    return bool(graph.freshness) or any(item.options.automation is not None for item in graph)


def conditions_tick(workspace: Workspace, snapshot: Snapshot, state: AutomationState | None,
                    at: datetime) -> tuple[TickRecord, Moved] | None:
    """The conditions of every asset that has some, judged node by node; the nodes that fire are requested,
    one run per asset (per range of partitions)."""
    project = workspace.project
    carrying = [item for item in project.graph if item.options.automation is not None]
    if not carrying:
        return None
    if state is not None and state.paused:
        return TickRecord(CONDITIONS_NAME, CONDITIONS, SKIPPED, "paused", at), Moved(last_tick=at)
    previous = state.last_tick if state is not None else None
    running = _running_nodes(workspace, snapshot)
    fired: dict[str, list[str]] = {}
    reasons: dict[str, list[str]] = {}
    keys: list[str] = []
    for item in carrying:
        condition = item.options.automation
        assert condition is not None
        judge_fresh = condition.may_fire_when_fresh()
        for node in snapshot.nodes.nodes(item.name):
            if not judge_fresh and snapshot.statuses[node].fresh:
                reasons.setdefault(NOT_DUE, []).append(f"{node}: fresh")
                continue
            ups = [up for up in snapshot.nodes.upstream(node) if not project.graph[split_node(up)[0]].is_source]
            own = snapshot.state.get(node)
            made = own.materialization.created_at if own is not None and own.materialization is not None else None
            facts = facts_for(node, snapshot.statuses, ups, at, previous=previous, last_materialized=made,
                              running=running)
            verdict = condition.evaluate(facts)
            reasons.setdefault(verdict.kind, []).append(f"{node}: {verdict.reason}")
            if verdict.fire:
                fired.setdefault(item.name, []).append(split_node(node)[1])
                # with its last materialization: the same state seen again after a run is a new request
                keys.append(f"{node}\t{made.isoformat() if made else ''}\t{verdict.reason}\t"
                            + "\t".join(r.detail for r in facts.status.reasons))
    requests = tuple(_condition_requests(workspace, snapshot, fired, _digest(keys)))
    status = REQUESTED if requests else SKIPPED
    tick = TickRecord(CONDITIONS_NAME, CONDITIONS, status, _summary(reasons), at, requests=requests)
    return tick, Moved(last_tick=at)


def _condition_requests(workspace: Workspace, snapshot: Snapshot, fired: dict[str, list[str]],
                        key: str) -> Iterable[RequestRecord]:
    plain = [name for name, parts in fired.items() if parts == [""]]
    if plain:
        yield RequestRecord(CONDITIONS_NAME, CONDITIONS_NAME, tuple(plain), None, f"{key}:*")
    for name, parts in fired.items():
        partitions = workspace.project.graph[name].partitions
        if partitions is None:
            continue
        for first, last in partitions.ranges(parts, snapshot.nodes.now, snapshot.nodes.dynamic):
            spec = first if first == last else f"{first}..{last}"
            yield RequestRecord(CONDITIONS_NAME, CONDITIONS_NAME, (name,), spec, f"{key}:{name}[{spec}]")


def _running_nodes(workspace: Workspace, snapshot: Snapshot) -> set[str]:
    """The nodes under way: planned by a running run, or asked for by a conditions request no run has claimed
    yet (a later tick must not ask for them again while it waits for a worker)."""
    found = {node for run in workspace.catalog.running_runs() for node in run.plan}
    graph, nodes = workspace.project.graph, snapshot.nodes
    for request in workspace.catalog.pending_requests():
        if request.origin != CONDITIONS_NAME:
            continue
        for name in (name for name in request.selection if name in graph):
            partitions = graph[name].partitions
            if partitions is None or request.partition is None:
                found.update(nodes.nodes(name))
                continue
            try:
                keys = partitions.select(request.partition, nodes.now, nodes.dynamic)
            except SelectionError:  # keys that are gone: the request's claim says what becomes of it
                continue
            found.update(node_name(name, key) for key in keys)
    return found


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _summary(reasons: dict[str, list[str]]) -> str:
    """How many nodes came to each verdict, with the first few words of each."""
    parts = []
    for kind, lines in sorted(reasons.items(), key=lambda item: -len(item[1])):
        more = f"; ... {len(lines) - REASONS_SHOWN} more" if len(lines) > REASONS_SHOWN else ""
        shown = "; ".join(lines[:REASONS_SHOWN]) + more
        parts.append(f"{kind} ({len(lines)}): {shown}")
    return " | ".join(parts) or "no node to judge"


def freshness_ticks(workspace: Workspace, snapshot: Snapshot, states: dict[str, AutomationState],
                    at: datetime) -> Iterable[tuple[TickRecord, Moved, Alert]]:
    """An alert, once per violation, for each asset older than its freshness policy allows (a violation is
    known by the materialization it judged: a new one that is late again is a new violation)."""
    project = workspace.project
    for asset in project.graph.freshness:
        for node in snapshot.nodes.nodes(asset):
            overdue = [r for r in snapshot.statuses[node].reasons if r.kind == ReasonKind.OVERDUE]
            own = snapshot.state.get(node)
            if not overdue or own is None or own.materialization is None:
                continue
            violation = own.materialization.created_at.isoformat()
            name = f"freshness:{node}"
            state = states.get(name)
            if state is not None and (state.cursor == violation or state.paused):
                continue
            tick = TickRecord(name, FRESHNESS, REQUESTED, f"alerted: {overdue[0].detail}", at)
            yield tick, Moved(cursor=violation, last_tick=at), \
                Alert("freshness", node, own.materialization.run_id, overdue[0].detail, project.root.name)

