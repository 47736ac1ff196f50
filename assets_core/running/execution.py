"""Materializing a plan: the scheduling loop that runs nodes (assets, partitions) in parallel in dependency order.

Each node is one attempt (:mod:`~assets_core.running.attempts`) in a worker thread, reading through the run's
:class:`~assets_core.running.values.ValueCache`; what it did is recorded in batches, reported once committed
(:mod:`~assets_core.running.buffer`) and told to the run's subscribers (:mod:`~assets_core.running.events`).
A planned node whose upstreams hold the same data as when it last ran is skipped (early cutoff). A run asked to
stop (Ctrl-C) starts nothing new, records what finished, abandons what will not stop, and ends interrupted.
"""

from __future__ import annotations

import contextlib
import graphlib
import os
import time
from collections.abc import Iterable

from assets_core.declaring.retry import RetryPolicy
from assets_core.errors import StorageError
from assets_core.imports import preload
from assets_core.planning.nodes import left_out_lines, read_versions
from assets_core.planning.plan import Plan, Reason, reasons_for
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.state import (
    AssetState,
    Event,
    FailureRecord,
    MaterializationRecord,
    RunRecord,
    now,
    split_node,
)
from assets_core.running import observed
from assets_core.running.adoption import Adoption
from assets_core.running.attempts import attempt, check_event, check_record
from assets_core.running.buffer import RecordBuffer
from assets_core.running.capture import capturing_run
from assets_core.running.environment import RunEnvironment
from assets_core.running.events import RunEvent, RunEventKind, RunEvents
from assets_core.running.executors import Attempts
from assets_core.running.executors import start as start_attempts
from assets_core.running.leases import POLL_SECONDS, Leases
from assets_core.running.openlineage import OpenLineageSender
from assets_core.running.recovery import HOST
from assets_core.running.remote import Task, task_of
from assets_core.running.runs import (  # the run's settings and results are imported from here too
    FAILED,
    MATERIALIZED,
    SKIPPED,
    Listener,
    Outcome,
    OutcomeStatus,
    RunResult,
    RunSettings,
    RunStatus,
    new_run_id,
)
from assets_core.running.schedule import Schedule, late_modules, units
from assets_core.running.single_run import batches
from assets_core.running.source_checks import Checked, blocking_failures, check_sources
from assets_core.running.stopping import STOP_GRACE, Stop
from assets_core.running.storage import Stored
from assets_core.running.subscribers import AlertSender, AnomalyDetector
from assets_core.running.values import ValueCache

# the reasons a run may resolve before the asset starts (a failed upstream that now succeeds with the data it
# had before leaves its readers as they were)
UPSTREAM_REASONS = ("upstream_changed", "upstream_stale", "upstream_failed")
NO_RETRY = RetryPolicy()  # the policy of an asset given none, made once (a frozen value): one attempt


class Execution(Adoption):
    """One run of a plan made from ``snapshot``. Create it, then call :meth:`run` once."""

    def __init__(self, where: RunEnvironment, snapshot: Snapshot, settings: RunSettings,
                 listener: Listener | None = None, stop: Stop | None = None) -> None:
        graph, storage, recorder, hooks = where.graph, where.storage, where.catalog, where.hooks
        self.graph, self.storage, self.recorder = graph, storage, recorder
        self.state, self.versions, self.observations = snapshot.state, snapshot.versions, snapshot.observations
        self.settings = settings
        self.home = where.home
        self.source = where.source
        observations = snapshot.observations
        self.listener: Listener = listener or (lambda event: None)
        self.run_id = settings.run_id or new_run_id()
        self.data_versions: dict[str, str | None] = {}
        self.values = ValueCache(graph, storage, observations, self.run_id, self.home, self.versions.code)
        self.blocked: set[str] = set()
        self.outcomes: list[Outcome] = []
        self.stop = stop or Stop()
        self.stopped = False  # the run stopped before its plan was done
        self.abandoned: list[str] = []  # assets still under way when it stopped
        self.checked: list[Checked] = []  # the checks of the sources it reads
        self.notices: list[str] = []  # what its subscribers could not do (see _close_subscribers)
        self._reasons: dict[str, tuple[Reason, ...]] = {}
        self._planned: frozenset[str] = frozenset()
        self._latest: dict[str, MaterializationRecord] = {}  # asset -> the last value this run made of it
        self.buffer = RecordBuffer(recorder, self.listener)
        self.leases = Leases(recorder, self.run_id)
        self.alerts = AlertSender(hooks, where.project)
        self.openlineage = [] if where.openlineage is None else [OpenLineageSender(  # the project sends events
            where.openlineage, where.project, self.run_id, self.graph.upstream,
            lambda node: self.state.get(node, AssetState()).materialization, where.columns)]
        self.run_events = RunEvents([
            # a partition is judged against its asset's history: the other days of a daily asset are "usual"
            AnomalyDetector(self._previous, lambda name, limit: recorder.asset_history(split_node(name)[0], limit)),
            self.alerts,
            *self.openlineage,
        ])
        self._preloads = ["urllib.request"] if any(hook.url for hook in hooks) else []

    def run(self, plan: Plan) -> RunResult:
        """Run the plan (:meth:`Project.run` makes no run of a plan with nothing to do)."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create the home folder {self.home} ({error.strerror}); "
                               "choose another with --home") from error
        self._prepare(plan)
        preload(late_modules(self.graph, plan, self._preloads))
        attempts = self._attempts()  # before the run is recorded: a cluster out of reach makes no run
        try:
            return self._recorded(plan, attempts)
        finally:
            attempts.close(abandon=True)  # whatever failed before they were used (closed already, otherwise)

    def _recorded(self, plan: Plan, attempts: Attempts) -> RunResult:
        """The run itself, recorded from its beginning to its end."""
        started = now()
        self.recorder.begin_run(RunRecord(self.run_id, self.settings.trigger, self.settings.selection,
                                          RunStatus.RUNNING, started, pid=os.getpid(), host=HOST,
                                          plan=tuple(plan.assets), heartbeat_at=started))
        status = RunStatus.FAILED
        try:
            self._emit([Event(self.run_id, "planned", f"{len(plan)} asset(s) to run: {', '.join(plan.assets)}")])
            self.recorder.record_observations(
                observed.records(self.run_id, observed.changed(self.observations, self.state)))
            self._check_sources(plan)
            held = self.leases.take(plan.assets)
            self._adopt_recorded(plan.assets, [name for name in plan.assets if name not in held])
            self._emit([Event(self.run_id, "waiting", f"run {holder} is materializing it: this run waits for it",
                              asset=name) for name, holder in held.items()])
            self._schedule(plan, attempts)
            failed = any(o.status == OutcomeStatus.FAILED for o in self.outcomes)
            status = RunStatus.FAILED if failed else RunStatus.SUCCESS
            if self.stopped:
                status = RunStatus.INTERRUPTED
        except BaseException:
            status = RunStatus.INTERRUPTED
            raise
        finally:
            self.recorder.end_run(self.run_id, status)
        return RunResult(self.run_id, status, tuple(self.outcomes), tuple(self.abandoned), tuple(self.checked),
                         tuple(self.notices))

    def _check_sources(self, plan: Plan) -> None:
        """Run the checks of the sources the plan reads (see :mod:`~assets_core.running.source_checks`)."""
        self.checked = check_sources(self.graph, plan.assets, lambda node: self.values.value(node, lazy=True))
        events = [check_event(self.run_id, node, check, result) for node, check, result in self.checked]
        self.buffer.add(events=events, reports=events,
                        checks=[check_record(self.run_id, *checked) for checked in self.checked])
        for node, message in blocking_failures(self.checked).items():
            self.blocked.add(node)  # what reads it is skipped, as after a failure
            self.outcomes.append(Outcome(node, OutcomeStatus.FAILED, message))
            self.alerts.notify(RunEvent(RunEventKind.CHECK_FAILED, self.run_id, node, message))  # no job: no lineage

    def _prepare(self, plan: Plan) -> None:
        self._planned = frozenset(plan.assets)
        for name, own in self.state.items():
            if own.materialization is not None and name not in self.versions.lost:
                self.data_versions[name] = own.materialization.data_version
                self.values.locations[name] = self.values.previous[name] = own.materialization.location
        for name, observation in self.observations.items():
            self.data_versions[name] = observation.data_version
        self.values.expect(plan.assets)

    def _attempts(self) -> Attempts:
        """Where this run's attempts execute (see :mod:`~assets_core.running.executors`)."""
        settings, graph = self.settings, self.graph
        return start_attempts(settings.executor, settings.workers, settings.dask_address, self._attempt, self._task,
                              self._policy, lambda name: {c.name: c for c in graph.checks.get(graph[name].name, ())},
                              from_files=self.source is not None)

    def _schedule(self, plan: Plan, attempts: Attempts) -> None:
        """Start each planned asset once its planned upstreams are done, until every one is done."""
        self.values.batches = batches(self.graph, [name for name in plan.assets if name not in self.leases.held])
        sorter = graphlib.TopologicalSorter(units(self.graph, plan.assets, self.values.batches))
        sorter.prepare()
        reasons = self._reasons = {step.asset: step.reasons for step in plan.steps}
        reasons.update({batch: reasons[members[0]] for batch, members in self.values.batches.items()})
        schedule = Schedule(sorter, reasons, attempts)
        self.stop.on_request(schedule.finished.wake)
        with capturing_run():
            try:
                while sorter.is_active() and not self.stop.requested:
                    self._turn(schedule)
                if sorter.is_active():
                    self.stopped = True
                    self._wind_down(schedule, STOP_GRACE)
                    self.alerts.hurry(STOP_GRACE)  # a stopping run waits for no slow webhook
                    for sender in self.openlineage:
                        sender.hurry(STOP_GRACE)  # nor for a slow lineage server
                self.buffer.flush()
            except BaseException:  # Ctrl-C without a stop (the Python API): record what finished, if it can
                with contextlib.suppress(Exception):
                    self._wind_down(schedule, 0.0)
                raise
            finally:
                attempts.close(abandon=bool(schedule.futures))  # never waits for assets that will not stop
                self._close_subscribers()

    def _wind_down(self, schedule: Schedule, grace: float) -> None:
        """Stop early: record what has finished, and what finishes within ``grace`` seconds; abandon the rest."""
        for future in list(schedule.futures):
            if future.cancel():  # never started
                del schedule.futures[future]
        deadline = time.monotonic() + grace
        schedule.finished.eager()
        try:
            while schedule.futures:
                for future in schedule.finished.take(max(0.0, deadline - time.monotonic())):
                    if schedule.futures.pop(future, None) is not None:  # not one just cancelled
                        for outcome in future.result():
                            self._complete(outcome)
                if time.monotonic() >= deadline:
                    break
            self.buffer.flush()
        finally:
            self.abandoned = sorted(schedule.futures.values())

    def _turn(self, schedule: Schedule) -> None:
        """One turn of the loop: start what is ready, record what is due, collect what finished."""
        self._start(schedule, schedule.sorter.get_ready())
        self._start(schedule, self._unpark(schedule.parked))
        if not schedule.futures and not schedule.parked:
            self.buffer.flush()
            return
        self.buffer.flush(lazily=True)  # while the workers run what was just submitted
        self.leases.beat()
        if not schedule.futures:  # only waiting for other runs' leases
            time.sleep(POLL_SECONDS)
            return
        # No longer than the buffer's delay (a finished attempt may not wake the loop: see Finished): what finished
        # meanwhile is recorded and reported within about twice that delay.
        wait = min(POLL_SECONDS if schedule.parked else self.buffer.seconds, self.buffer.due_in())
        for future in schedule.finished.take(wait):
            name = schedule.futures.pop(future)
            for outcome in future.result():
                self._complete(outcome)
            schedule.sorter.done(name)

    def _start(self, schedule: Schedule, names: Iterable[str]) -> None:
        for name in names:
            if name in self.leases.held:
                schedule.parked.add(name)
                continue
            if self._skipped(name, schedule.reasons[name]):
                schedule.sorter.done(name)
                continue
            for member in self.values.batches.get(name, (name,)):
                self.listener(Event(self.run_id, "started", "; ".join(r.detail for r in schedule.reasons[name]),
                                    asset=member))
                self.run_events.publish(RunEvent(RunEventKind.STARTED, self.run_id, member))
            schedule.submit(name)

    def _skipped(self, name: str, planned: tuple[Reason, ...]) -> bool:
        """Skip a planned node that need not run after all (a batch: all of its partitions, when an upstream
        of one of them failed); return whether it was skipped."""
        members = self.values.batches.get(name, (name,))
        broken = tuple(dict.fromkeys(up for node in members for up in self.graph.upstream(node) if up in self.blocked))
        if broken:
            detail = f"upstream '{broken[0]}' failed" if len(broken) == 1 else \
                f"upstreams {', '.join(repr(b) for b in broken)} failed"
        elif name in self.values.batches:
            return False  # a batch runs whole: no early cutoff
        else:
            fresh = self._fresh_reason(name, planned)
            if fresh is None:
                return False
            detail = fresh
        for node in members:
            if broken:
                self.blocked.add(node)  # skipped for a failure: what reads it is skipped too
            self.outcomes.append(Outcome(node, OutcomeStatus.SKIPPED, detail, blocked_by=broken))
            self.values.release_inputs(node)
            event = Event(self.run_id, SKIPPED, detail, asset=node)
            self.buffer.add(events=[event], reports=[event])
        return True

    def _fresh_reason(self, name: str, planned: tuple[Reason, ...]) -> str | None:
        """Why a planned asset turns out fresh when its turn comes (None: it runs)."""
        item = self.graph[name]
        other = self.leases.made_by.get(name)
        if self.settings.force or (other is None and any(r.kind not in UPSTREAM_REASONS for r in planned)):
            return None  # it runs for a reason of its own, whatever its upstreams made
        current = self._read_versions(name)
        own = self.state.get(name, AssetState())
        lost = name in self.versions.lost and other is None
        if reasons_for(item, own, self.versions.code[item.name], current, lost=lost):
            return None
        if other is not None:
            return f"run {other} made it fresh meanwhile"
        return "its upstreams hold the same data as when it last ran (early cutoff)"

    def _policy(self, name: str) -> RetryPolicy:
        return self.graph[name].options.retry or self.settings.retry or NO_RETRY

    def _attempt(self, name: str) -> list[Outcome]:
        """Run one node (or single-run batch) in a worker thread, with retries; never raises for the asset's
        own failures."""
        item = self.graph[name]
        outcomes = attempt(name, item, self.values, self.storage, self.graph.checks.get(item.name, ()),
                           self._policy(name), self.values.batches.get(name, ()))
        if item.wants_context and all(o.status == OutcomeStatus.MATERIALIZED for o in outcomes):
            self.values.context(name, 1).clear_checkpoint()  # done (a batch: under its range): start afresh
        return outcomes

    def _task(self, name: str) -> Task:
        """A node's attempt as plain data, for a worker process (see :mod:`~assets_core.running.remote`)."""
        assert self.source is not None
        code_version = self.versions.code[self.graph[name].name]
        return task_of(self.values, name, code_version, self.source, self.storage, self.settings.retry)

    def _complete(self, outcome: Outcome) -> None:
        """Queue what a finished attempt did for recording, and tell the run's subscribers."""
        name = outcome.asset
        why = "; ".join(r.detail for r in self._reasons.get(name, ()))
        events = [Event(self.run_id, "started", why, asset=name, created_at=outcome.started_at or now())]
        events += [Event(self.run_id, kind, text, asset=name, level=level) for kind, level, text in outcome.logs]
        events += [Event(self.run_id, "log", line, asset=name) for line in left_out_lines(self.graph.left_out(name))]
        events += [check_event(self.run_id, name, check, result) for check, result in outcome.checks]
        checks = [check_record(self.run_id, name, check, result) for check, result in outcome.checks]
        if outcome.status == OutcomeStatus.MATERIALIZED and outcome.stored is not None:
            self._succeed(outcome, outcome.stored, events)
        else:
            self._fail(outcome, events)
        self.outcomes.append(outcome.settled())
        self.values.release_inputs(name)
        self.buffer.add(events=events, checks=checks, reports=[e for e in events if e.kind != "started"])

    def _fail(self, outcome: Outcome, events: list[Event]) -> None:
        name = outcome.asset
        self.blocked.add(name)
        if outcome.traceback:
            events.append(Event(self.run_id, "log", outcome.traceback.rstrip(), asset=name, level="ERROR"))
        events.append(Event(self.run_id, FAILED, outcome.detail, asset=name, level="ERROR"))
        asset, key = split_node(name)
        self.buffer.add(failures=[FailureRecord(asset, self.run_id, outcome.detail, outcome.traceback,
                                                attempt=len(outcome.retries) + 1, partition=key)])
        kind = RunEventKind.CHECK_FAILED if outcome.failed_check else RunEventKind.FAILED
        self.run_events.publish(RunEvent(kind, self.run_id, name, outcome.detail, outcome.duration))

    def _succeed(self, outcome: Outcome, stored: Stored, events: list[Event]) -> None:
        name = outcome.asset
        events.append(Event(self.run_id, MATERIALIZED, outcome.detail, asset=name))
        record = self._record(outcome, stored)
        made = RunEvent(RunEventKind.MATERIALIZED, self.run_id, name, outcome.detail, outcome.duration, stored.rows,
                        record)
        events += [Event(self.run_id, "anomaly", answer.message, asset=name, level="WARNING")
                   for answer in self.run_events.publish(made) if answer.kind == RunEventKind.ANOMALY]
        self.buffer.add(materializations=[record])
        self._latest[record.asset] = record
        self.data_versions[name] = stored.data_version
        self.values.keep(name, stored.location, stored.value)

    def _record(self, outcome: Outcome, stored: Stored) -> MaterializationRecord:
        asset, key = split_node(outcome.asset)
        consumed = {up: version for up, version in self._read_versions(outcome.asset).items() if version is not None}
        return MaterializationRecord(
            asset=asset, run_id=self.run_id, data_version=stored.data_version,
            code_version=self.versions.code[asset], upstream_versions=consumed, location=stored.location,
            rows=stored.rows, schema=stored.schema, bytes=stored.bytes, duration=outcome.duration,
            metadata=outcome.metadata, partition=key)

    def _previous(self, node: str) -> MaterializationRecord | None:
        """What a new value is first compared with: for a partition, the last one its asset made in this run."""
        asset, key = split_node(node)
        return (self._latest.get(asset) if key else None) or self.state.get(node, AssetState()).materialization

    def _read_versions(self, node: str) -> dict[str, str | None]:
        """The data version of what a node reads of each upstream, as this run knows it now."""
        if node in self.graph.plain:
            return {up: self.data_versions.get(up) for up in self.graph[node].upstream}
        return read_versions(self.graph.reads(node), self.data_versions.get)

    def _close_subscribers(self) -> None:
        """Let the subscribers finish (alerts still being delivered), and record the problems they report."""
        problems = self.notices = self.run_events.close()
        if problems:
            self.recorder.record_events([Event(self.run_id, "alert", line, level="WARNING") for line in problems])

    def _emit(self, events: list[Event]) -> None:
        self.recorder.record_events(events)
        for event in events:
            self.listener(event)
