"""Materializing a plan: assets run in parallel in dependency order; each is stored, then recorded.

Values made in the run are handed to downstream assets in memory and dropped once their last consumer is
done; everything else is read from storage. A planned asset whose upstreams turn out to hold the same data
as when it last ran is skipped (early cutoff), so a refactoring that changes no output rebuilds nothing below.
"""

from __future__ import annotations

import graphlib
import os
import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from assets_core.running.alerts import Alert, AlertHook, deliver_all
from assets_core.running.anomalies import (
    Anomaly,
    might_be_slow,
    might_have_odd_rows,
    odd_rows,
    slow_run,
)
from assets_core.running.attempts import (
    Attempt,
    check_event,
    describe,
    json_metadata,
    lazy_parameters,
    retry_delay,
    user_traceback,
)
from assets_core.running.buffer import RecordBuffer
from assets_core.running.capture import capture, capturing_run
from assets_core.declaring.checks import Check, CheckResult
from assets_core.running.context import AssetContext
from assets_core.declaring.definitions import CONTEXT_PARAMETER, Asset, Output, RetryPolicy
from assets_core.errors import AssetsError, StorageError
from assets_core.planning.graph import AssetGraph
from assets_core.imports import late_import, preload
from assets_core.planning.plan import Plan, Reason, Versions, reasons_for
from assets_core.running.recovery import HOST
from assets_core.running.runs import (  # noqa: F401 - RunSettings and the results are imported from here too
    FAILED,
    MATERIALIZED,
    SKIPPED,
    Listener,
    Outcome,
    RunResult,
    RunSettings,
    new_run_id,
)
from assets_core.declaring.sources import Observation, read_source
from assets_core.planning.state import (
    AssetState,
    CheckRecord,
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    Recorder,
    RunRecord,
    now,
)
from assets_core.running.storage import WRITE_MODULES, Storage, Stored

UPSTREAM_REASONS = ("upstream_changed", "upstream_stale")  # the reasons a run may resolve before the asset starts
ANOMALY_HISTORY = 20  # materializations an anomaly is judged against
HEARTBEAT_SECONDS = 5.0  # a running run tells the catalog it is alive at least this often
POLL_SECONDS = 0.25  # how often a run waiting for another run's lease asks again


class Execution:
    """One run of a plan. Create it, then call :meth:`run` once."""

    def __init__(self, graph: AssetGraph, storage: Storage, recorder: Recorder, state: Mapping[str, AssetState],
                 versions: Versions, observations: Mapping[str, Observation], settings: RunSettings,
                 listener: Listener | None = None, home: Path | None = None, hooks: Sequence[AlertHook] = (),
                 project: str = ""):
        self.graph, self.storage, self.recorder = graph, storage, recorder
        self.state, self.versions, self.observations = state, versions, observations
        self.settings = settings
        self.home = home or storage.root.parent
        self.hooks, self.project = tuple(hooks), project
        self._deliveries: list[Future[list[str]]] = []
        self._alert_pool: ThreadPoolExecutor | None = None
        self.listener = listener or (lambda event: None)
        self.run_id = new_run_id()
        self.data_versions: dict[str, str | None] = {}
        self.locations: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.remaining: dict[str, int] = {}
        self.blocked: set[str] = set()
        self.outcomes: list[Outcome] = []
        self._load_lock = threading.Lock()
        self._lazy: dict[str, frozenset[str]] = {}
        self._why: dict[str, str] = {}
        self.buffer = RecordBuffer(recorder, self.listener)
        self._polled = self._beaten = time.perf_counter()
        self.held: dict[str, str] = {}  # asset -> the other run holding its lease
        self._made_by: dict[str, str] = {}  # asset -> the run that held its lease before this one took it

    def run(self, plan: Plan) -> RunResult:
        """Run the plan; a plan with nothing to run and no source data change to record makes no run at all
        (a source whose file was only touched, its data the same, is hashed again by the next command)."""
        if not plan.steps and not any(self._changed_data(name, o) for name, o in self._changed_observations()):
            return RunResult(None, "success", ())
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create the home folder {self.home} ({error.strerror}); "
                               "choose another with --home") from error
        self._prepare(plan)
        preload(self._modules(plan))
        started = now()
        self.recorder.begin_run(RunRecord(self.run_id, self.settings.trigger, self.settings.selection, "running",
                                          started, pid=os.getpid(), host=HOST, plan=tuple(plan.assets),
                                          heartbeat_at=started))
        status = "failed"
        try:
            self._emit([Event(self.run_id, "planned", f"{len(plan)} asset(s) to run: {', '.join(plan.assets)}")])
            self._record_observations()
            self.held = self.recorder.acquire_leases(self.run_id, plan.assets)
            self._emit([Event(self.run_id, "waiting", f"run {holder} is materializing it: this run waits for it",
                              asset=name) for name, holder in self.held.items()])
            self._schedule(plan)
            status = "failed" if any(o.status == FAILED for o in self.outcomes) else "success"
        except BaseException:
            status = "interrupted"
            raise
        finally:
            self.recorder.end_run(self.run_id, status)
        return RunResult(self.run_id, status, tuple(self.outcomes))

    def _prepare(self, plan: Plan) -> None:
        for name, own in self.state.items():
            if own.materialization is not None and name not in self.versions.lost:
                self.data_versions[name] = own.materialization.data_version
                self.locations[name] = own.materialization.location
        for name, observation in self.observations.items():
            self.data_versions[name] = observation.data_version
        for name in plan.assets:
            for upstream in set(self.graph[name].inputs.values()):
                self.remaining[upstream] = self.remaining.get(upstream, 0) + 1

    def _modules(self, plan: Plan) -> list[str]:
        """The modules the worker threads will import late, to import whole before they start."""
        names = list(WRITE_MODULES) if plan.steps else []
        if any(self.graph[name].kind == "sql" for name in plan.assets):
            names.append("assets_core.declaring.sql")
        if any(hook.url for hook in self.hooks):
            names.append("urllib.request")
        return names

    def _changed_observations(self) -> list[tuple[str, Observation]]:
        changed = []
        for name, observation in self.observations.items():
            last = self.state.get(name, AssetState()).observation
            if last is None or (last.data_version, last.fingerprint) != (observation.data_version,
                                                                          observation.fingerprint):
                changed.append((name, observation))
        return changed

    def _changed_data(self, name: str, observation: Observation) -> bool:
        last = self.state.get(name, AssetState()).observation
        return last is None or last.data_version != observation.data_version

    def _record_observations(self) -> None:
        for name, observation in self._changed_observations():
            self.recorder.record_observation(
                ObservationRecord(name, self.run_id, observation.data_version, observation.fingerprint))

    def _schedule(self, plan: Plan) -> None:
        planned = set(plan.assets)
        sorter = graphlib.TopologicalSorter(
            {name: [up for up in self.graph.upstream(name) if up in planned] for name in plan.assets})
        sorter.prepare()
        reasons = {step.asset: step.reasons for step in plan.steps}
        futures: dict[Future[Attempt], str] = {}
        # Finished attempts, in the order they finished: waiting on this queue costs the same however many
        # attempts are under way (concurrent.futures.wait visits every one of them at each call).
        finished: queue.SimpleQueue[Future[Attempt]] = queue.SimpleQueue()
        parked: set[str] = set()  # ready, but another run holds their lease

        def start(names: Iterable[str]) -> None:
            for name in names:
                if name in self.held:
                    parked.add(name)
                    continue
                skip = self._skip_reason(name, reasons[name])
                if skip is not None:
                    self._skip(name, skip)
                    sorter.done(name)
                    continue
                self._why[name] = "; ".join(r.detail for r in reasons[name])
                self.listener(Event(self.run_id, "started", self._why[name], asset=name))
                future = pool.submit(self._attempt, name)
                futures[future] = name
                future.add_done_callback(finished.put)

        with capturing_run(), ThreadPoolExecutor(self.settings.workers, thread_name_prefix="asset") as pool:
            try:
                while sorter.is_active():
                    start(sorter.get_ready())
                    if parked:
                        start(self._unpark(parked))
                    if not futures and not parked:
                        self.buffer.flush()
                        continue
                    self.buffer.flush(lazily=True)  # while the workers run what was just submitted
                    self._beat()
                    if not futures:  # only waiting for other runs' leases
                        time.sleep(POLL_SECONDS)
                        continue
                    wait = min(POLL_SECONDS if parked else HEARTBEAT_SECONDS, self.buffer.due_in())
                    for future in _finished(finished, wait):
                        name = futures.pop(future)
                        self._complete(future.result())
                        sorter.done(name)
                self.buffer.flush()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            finally:
                self._finish_alerts()

    def _unpark(self, parked: set[str]) -> list[str]:
        """The parked assets whose lease this run could take now, with their state as the other run left it."""
        if time.perf_counter() - self._polled < POLL_SECONDS:
            return []
        self._polled = time.perf_counter()
        still = self.recorder.acquire_leases(self.run_id, sorted(parked))
        freed = sorted(parked - set(still))
        if not freed:
            return []
        for name, own in self.recorder.read_state(freed).items():
            self._adopt(name, own)
        for name in freed:
            parked.discard(name)
            self._made_by[name] = self.held.pop(name)
        return freed

    def _adopt(self, name: str, own: AssetState) -> None:
        """Take the state another run recorded for an asset as this run's view of it."""
        self.state = {**self.state, name: own}
        if own.materialization is not None:
            self.data_versions[name] = own.materialization.data_version
            self.locations[name] = own.materialization.location
            self.values.pop(name, None)

    def _beat(self) -> None:
        if time.perf_counter() - self._beaten >= HEARTBEAT_SECONDS:
            self.recorder.heartbeat(self.run_id)
            self._beaten = time.perf_counter()

    def _skip_reason(self, name: str, planned: tuple[Reason, ...]) -> str | None:
        """Why a planned asset need not run after all (None: it runs)."""
        item = self.graph[name]
        broken = [up for up in item.upstream if up in self.blocked]
        if broken:
            return f"upstream '{broken[0]}' failed" if len(broken) == 1 else \
                f"upstreams {', '.join(repr(b) for b in broken)} failed"
        other = self._made_by.get(name)
        if self.settings.force or (other is None and any(r.kind not in UPSTREAM_REASONS for r in planned)):
            return None  # it runs for a reason of its own, whatever its upstreams made
        current = {up: self.data_versions.get(up) for up in item.upstream}
        own = self.state.get(name, AssetState())
        lost = name in self.versions.lost and other is None
        if reasons_for(item, own, self.versions.code[name], current, lost=lost):
            return None
        if other is not None:
            return f"run {other} made it fresh meanwhile"
        return "its upstreams hold the same data as when it last ran (early cutoff)"

    def _skip(self, name: str, detail: str) -> None:
        if any(up in self.blocked for up in self.graph[name].upstream):
            self.blocked.add(name)  # skipped for a failure: what reads it is skipped too
        self.outcomes.append(Outcome(name, SKIPPED, detail))
        self._release_inputs(name)
        event = Event(self.run_id, SKIPPED, detail, asset=name)
        self.buffer.add(events=[event], reports=[event])

    def _attempt(self, name: str) -> Attempt:
        """Run one asset in a worker thread, with retries; never raises for the asset's own failures."""
        item = self.graph[name]
        policy = item.options.retry or self.settings.retry or RetryPolicy()
        started_at, clock = now(), time.perf_counter()
        logs: list[tuple[str, str]] = []
        retries: list[str] = []
        for attempt in range(1, policy.max_attempts + 1):
            with capture() as captured:
                try:
                    value = self._compute(item, attempt)
                    metadata: Mapping[str, Any] = {}
                    if isinstance(value, Output):
                        value, metadata = value.value, json_metadata(name, value.metadata)
                    stored = self.storage.write(name, value, item.options.io)
                    checks = self._check(item, stored)
                    logs += captured.lines
                    return Attempt(name, started_at, time.perf_counter() - clock, logs, retries, stored, metadata,
                                    checks=checks)
                except Exception as error:  # the asset's own failure: recorded, never raised
                    failure, message, trace = error, describe(error), user_traceback(error)
            logs += captured.lines
            if attempt < policy.max_attempts and isinstance(failure, policy.retry_on):
                pause = retry_delay(policy, attempt)
                retries.append(f"attempt {attempt} of {policy.max_attempts} failed: {message}; "
                               f"retrying in {pause:.2f}s")
                time.sleep(pause)
                continue
            break
        return Attempt(name, started_at, time.perf_counter() - clock, logs, retries, error=message, traceback=trace)

    def _check(self, item: Asset, stored: Stored) -> list[tuple[Check, CheckResult]]:
        """Run the asset's checks on its new value, before the value is recorded (and so published)."""
        checks = self.graph.checks.get(item.name, ())
        if not checks:
            return []
        value = stored.value if stored.value is not None else self.storage.read(stored.location, lazy=True)
        return [(check, check.run(value)) for check in checks]

    def _compute(self, item: Asset, attempt: int) -> Any:
        if item.kind == "sql":
            with late_import():  # sqlglot is loaded only by projects with SQL assets (and preloaded by a run)
                from assets_core.declaring.sql import run_sql

            return run_sql(item, {ref: self._value(upstream, lazy=True) for ref, upstream in item.inputs.items()})
        return item.fn(**self._inputs(item, attempt))  # type: ignore[misc]

    def _inputs(self, item: Asset, attempt: int) -> dict[str, Any]:
        lazy = self._lazy.get(item.name)
        if lazy is None:
            lazy = self._lazy[item.name] = lazy_parameters(item)
        values = {param: self._value(upstream, param in lazy) for param, upstream in item.inputs.items()}
        if item.wants_context:
            values[CONTEXT_PARAMETER] = AssetContext(item.name, self.run_id, self.home, attempt=attempt)
        return values

    def _value(self, name: str, lazy: bool) -> Any:
        value = self.values.get(name)
        if value is None and lazy:
            return self._load(name, lazy=True)
        if value is None:
            with self._load_lock:
                value = self.values.get(name)
                if value is None:
                    value = self.values[name] = self._load(name, lazy=False)
        if lazy and isinstance(value, pl.DataFrame):
            return value.lazy()
        return value

    def _load(self, name: str, lazy: bool) -> Any:
        item = self.graph[name]
        if item.is_source:
            observation = self.observations.get(name)
            if observation is None:
                raise AssetsError(f"source asset '{name}' has no file to read (see 'assets status {name}')")
            return read_source(item, observation.files, lazy)
        location = self.locations.get(name)
        if location is None:
            raise AssetsError(f"upstream '{name}' has no stored value; materialize it first ('+{name}')")
        return self.storage.read(location, lazy)

    def _complete(self, attempt: Attempt) -> None:
        name = attempt.asset
        events = [Event(self.run_id, "started", self._why.get(name, ""), asset=name, created_at=attempt.started_at)]
        events += [Event(self.run_id, "log", text, asset=name, level=level) for level, text in attempt.logs]
        events += [Event(self.run_id, "retry", text, asset=name, level="WARNING") for text in attempt.retries]
        events += [check_event(self.run_id, name, check, result) for check, result in attempt.checks]
        checks = [CheckRecord(name, self.run_id, check.name, result.passed, check.blocking, result.message,
                              json_metadata(name, result.metadata)) for check, result in attempt.checks]
        error = attempt.error or attempt.blocking_failure
        if attempt.stored is None or error:
            self.blocked.add(name)
            if attempt.traceback:
                events.append(Event(self.run_id, "log", attempt.traceback.rstrip(), asset=name, level="ERROR"))
            events.append(Event(self.run_id, FAILED, error, asset=name, level="ERROR"))
            failure = FailureRecord(name, self.run_id, error, attempt.traceback, attempt=len(attempt.retries) + 1)
            self.buffer.add(failures=[failure])
            outcome = Outcome(name, FAILED, error, attempt.duration)
            self._alert(Alert("check" if not attempt.error else "failure", name, self.run_id, error, self.project))
        else:
            stored = attempt.stored
            detail = f"{stored.rows} rows" if stored.rows is not None else "stored"
            events.append(Event(self.run_id, MATERIALIZED, detail, asset=name))
            for anomaly in self._anomalies(name, attempt.duration, stored.rows):
                events.append(Event(self.run_id, "anomaly", anomaly.message, asset=name, level="WARNING"))
                self._alert(Alert("anomaly", name, self.run_id, anomaly.message, self.project))
            self.buffer.add(materializations=[self._record(attempt, stored)])
            self.data_versions[name], self.locations[name] = stored.data_version, stored.location
            if self.remaining.get(name) and stored.value is not None:
                self.values[name] = stored.value
            outcome = Outcome(name, MATERIALIZED, detail, attempt.duration, stored.data_version, stored.rows)
        self.outcomes.append(outcome)
        self._release_inputs(name)
        self.buffer.add(events=events, checks=checks, reports=[event for event in events if event.kind != "started"])

    def _anomalies(self, name: str, duration: float, rows: int | None) -> list[Anomaly]:
        """Compare with the asset's history, read only when a cheap test says it might be odd."""
        previous = self.state.get(name, AssetState()).materialization
        slow = might_be_slow(duration)
        odd = might_have_odd_rows(rows, previous.rows if previous else None)
        if not (slow or odd):
            return []
        history = self.recorder.asset_history(name, limit=ANOMALY_HISTORY)
        found = []
        if slow and (anomaly := slow_run(name, duration, [m.duration for m in history])):
            found.append(anomaly)
        counts = [m.rows for m in history if m.rows is not None]
        if odd and rows is not None and (anomaly := odd_rows(name, rows, counts)):
            found.append(anomaly)
        return found

    def _alert(self, alert: Alert) -> None:
        """Deliver in the background: a slow webhook must not hold the run up."""
        hooks = [hook for hook in self.hooks if alert.kind in hook.on]
        if not hooks:
            return
        if self._alert_pool is None:
            self._alert_pool = ThreadPoolExecutor(1, thread_name_prefix="alert")
        self._deliveries.append(self._alert_pool.submit(deliver_all, hooks, [alert]))

    def _finish_alerts(self) -> None:
        """Wait for the alerts still being delivered, and record every delivery that failed."""
        if self._alert_pool is None:
            return
        self._alert_pool.shutdown(wait=True)
        problems = [line for future in self._deliveries for line in future.result()]
        if problems:
            self.recorder.record_events([Event(self.run_id, "alert", line, level="WARNING") for line in problems])

    def _record(self, attempt: Attempt, stored: Stored) -> MaterializationRecord:
        item = self.graph[attempt.asset]
        consumed = {up: self.data_versions[up] for up in item.upstream if self.data_versions.get(up) is not None}
        return MaterializationRecord(
            asset=item.name, run_id=self.run_id, data_version=stored.data_version,
            code_version=self.versions.code[item.name], upstream_versions=consumed, location=stored.location,
            rows=stored.rows, schema=stored.schema, bytes=stored.bytes, duration=attempt.duration,
            metadata=attempt.metadata)

    def _release_inputs(self, name: str) -> None:
        for upstream in set(self.graph[name].inputs.values()):
            left = self.remaining.get(upstream, 0) - 1
            self.remaining[upstream] = left
            if left <= 0:
                self.values.pop(upstream, None)

    def _emit(self, events: list[Event]) -> None:
        self.recorder.record_events(events)
        for event in events:
            self.listener(event)


def _finished(finished: queue.SimpleQueue[Future[Attempt]], timeout: float) -> list[Future[Attempt]]:
    """The attempts that finished: waits up to ``timeout`` for the first, then takes those already there."""
    try:
        done = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(finished.get_nowait())
        except queue.Empty:
            return done
