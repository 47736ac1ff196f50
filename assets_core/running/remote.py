"""Running one attempt in another process: a worker of a process pool or of a Dask cluster.

The coordinating process (:class:`~assets_core.running.execution.Execution`) turns a node into a :class:`Task`:
everything the attempt needs, as plain data (where its inputs are stored, its window and context, the run's
default retry policy), never a function. The worker loads the project's definitions itself, once per process
and per run (:class:`DefinitionsSource`), reads its inputs from storage, writes its value to storage, and sends
back the outcomes as :class:`Sent` (the value itself stays behind: a downstream worker reads it from storage).
Only the coordinating process writes the catalog.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assets_core.declaring.checks import Check, CheckResult
from assets_core.declaring.config import read_config
from assets_core.declaring.loading import DefinitionsSource, load_project_assets
from assets_core.declaring.partitions import Window
from assets_core.declaring.retry import RetryPolicy
from assets_core.declaring.sources import read_source
from assets_core.errors import AssetsError
from assets_core.planning.graph import AssetGraph
from assets_core.planning.state import now, split_node
from assets_core.planning.versioning import CodeVersioner
from assets_core.running.alerts import AlertHook
from assets_core.running.attempts import attempt, json_metadata, lazy_parameters
from assets_core.running.capture import capturing_run
from assets_core.running.context import AssetContext
from assets_core.running.kept import KeptValues
from assets_core.running.runs import FAILED, MATERIALIZED, Outcome
from assets_core.running.storage import ValueStorage
from assets_core.running.values import ValueCache, call_arguments, combined


class WorkerDied(AssetsError):
    """The process running an attempt died before it answered (killed, out of memory, a crash in C code);
    ``attempt``: the number of the attempt it was making, when the worker said (None: not known)."""

    def __init__(self, message: str, attempt: int | None = None) -> None:
        super().__init__(message)
        self.attempt = attempt


def _no_progress(number: int) -> None:
    """Where a worker tells which attempt it begins: nowhere, unless its pool listens (see process_pool)."""


progress: Callable[[int], None] = _no_progress  # set by a process pool's worker to reach its coordinator


@dataclass(frozen=True)
class Task:
    """One attempt (with its retries) at a node, as plain data a worker process can receive."""

    node: str  # a node, or a single-run batch standing for ``members``
    asset: str
    code_version: str  # the version the run planned: a worker whose files say otherwise refuses to run it
    definitions: DefinitionsSource
    storage: ValueStorage
    reads: Mapping[str, tuple[str, ...]]  # upstream asset -> the nodes of it read, in order
    found: Mapping[str, tuple[str, Any]]  # node read -> ("stored", location) | ("source", paths) | ("missing", why)
    members: tuple[str, ...] = ()
    window: Window | None = None
    context: AssetContext | None = None  # for attempt 1 (a later attempt gets its number)
    previous: str | None = None  # the location of the node's value before this run, if it asks for it
    retry: RetryPolicy | None = None  # the run's default policy (the asset's own wins)
    first: int = 1  # the number of its first attempt: later when a worker died during an earlier one


@dataclass(frozen=True)
class Sent:
    """What a worker sends back of one outcome: the outcome without its value, and its checks by name."""

    outcome: Outcome
    checks: tuple[tuple[str, CheckResult], ...] = ()

    def received(self, checks: Mapping[str, Check]) -> Outcome:
        """The outcome again, with the coordinating process's own checks."""
        unknown = [name for name, _ in self.checks if name not in checks]
        if unknown:
            raise AssetsError(f"check '{unknown[0]}' of asset '{self.outcome.asset}' is not the run's (the "
                              "definitions changed on disk since the run began); run again")
        return replace(self.outcome, checks=tuple((checks[name], result) for name, result in self.checks))


def task_of(values: ValueCache, node: str, code_version: str, definitions: DefinitionsSource,
            storage: ValueStorage, retry: RetryPolicy | None) -> Task:
    """A node's attempt as plain data: where what it reads is, as the run's values know it now."""
    item = values.graph[node]
    reads, found = values.task_reads(node)
    return Task(node, item.name, code_version, definitions, storage, reads, found,
                members=values.batches.get(node, ()), window=values.window(node),
                context=values.context(node, 1) if item.wants_context else None,
                previous=values.previous.get(node) if item.wants_previous else None, retry=retry)


class TaskInputs:
    """A task's inputs in the worker: read from storage (or the source files), each node at most once, or taken
    from the tables the worker keeps for the run (``kept``)."""

    def __init__(self, task: Task, graph: AssetGraph, kept: KeptValues | None = None) -> None:
        self.task, self.graph, self.kept = task, graph, kept
        self._values: dict[tuple[str, bool], Any] = {}

    def read(self, node: str, upstream: str, lazy: bool) -> Any:
        nodes = self.task.reads.get(upstream, (upstream,))
        return combined(nodes, [self._value(name, lazy) for name in nodes], lazy)

    def _value(self, name: str, lazy: bool) -> Any:
        key = (name, lazy)
        if key not in self._values:
            kind, where = self.task.found.get(name, ("missing", f"upstream '{name}' was not sent to the worker"))
            if kind == "missing":
                raise AssetsError(where)
            if kind == "source":
                self._values[key] = read_source(self.graph[split_node(name)[0]], tuple(map(Path, where)), lazy)
            elif self.kept is not None:
                self._values[key] = self.kept.read(self.task.storage, where, lazy)
            else:
                self._values[key] = self.task.storage.read(where, lazy)
        return self._values[key]

    def arguments(self, node: str, attempt: int) -> dict[str, Any]:
        task, item = self.task, self.graph[self.task.asset]
        return call_arguments(item, lazy_parameters(item), lambda upstream, lazy: self.read(node, upstream, lazy),
                              lambda: self._context(attempt),
                              lambda: task.storage.read(task.previous, lazy=False) if task.previous else None)

    def _context(self, attempt: int) -> AssetContext:
        if self.task.context is None:
            raise AssetsError(f"asset '{self.task.asset}' asks for a context the run did not send")
        return replace(self.task.context, attempt=attempt)

    def window(self, node: str) -> Window | None:
        return self.task.window


def perform(task: Task, kept: KeptValues | None = None) -> list[Sent]:
    """Run a task in this worker process; never raises for the asset's own failures (nor for definitions
    that cannot be loaded here): they come back as failed outcomes. With ``kept`` (the tables this worker keeps
    for the task's run), the inputs kept there are not read from storage, and the tables stored are kept."""
    try:
        graph = definitions(task)
    except AssetsError as error:
        members = task.members or (task.node,)
        return [Sent(Outcome(node, FAILED, str(error), started_at=now())) for node in members]
    item = graph[task.asset]
    policy = item.options.retry or task.retry or RetryPolicy()
    with _capturing:
        outcomes = attempt(task.node, item, TaskInputs(task, graph, kept), task.storage,
                           graph.checks.get(item.name, ()), policy, task.members, task.first, progress)
    if item.wants_context and task.context is not None and all(o.status == MATERIALIZED for o in outcomes):
        task.context.clear_checkpoint()  # done (a batch: under its range): start afresh
    if kept is not None:
        for outcome in outcomes:
            if outcome.status == MATERIALIZED and outcome.stored is not None:
                kept.keep(outcome.stored.location, outcome.stored.value)
    return [_sent(outcome) for outcome in outcomes]


def stored_inputs(task: Task) -> tuple[str, ...]:
    """The stored values a task reads (their locations)."""
    return tuple(where for kind, where in task.found.values() if kind == "stored")


def stored_outputs(sent: list[Sent]) -> list[str]:
    """The values an answer says were stored and published (their locations)."""
    return [item.outcome.stored.location for item in sent
            if item.outcome.status == MATERIALIZED and item.outcome.stored is not None]


def _sent(outcome: Outcome) -> Sent:
    stored = None if outcome.stored is None else replace(outcome.stored, value=None)
    checks = tuple((check.name, replace(result, metadata=json_metadata(outcome.asset, result.metadata)))
                   for check, result in outcome.checks)
    return Sent(replace(outcome, stored=stored, checks=()), checks)


class _Capturing:
    """Prints and log records of this worker's attempts go to their asset (as in the coordinating process),
    for as long as any attempt runs here (a Dask worker may run several at once, in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._context: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._count == 0:
                self._context = capturing_run()
                self._context.__enter__()
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._count -= 1
            if self._count == 0:
                self._context.__exit__(None, None, None)
                self._context = None


_capturing = _Capturing()


def keep_capturing() -> Callable[[], None]:
    """Keep this process's capture on until the function returned is called (once): a worker serving a run's
    attempts one after another then does not set it up and take it down around each (0.4 ms an attempt in a
    Dask worker, whose ~70 loggers' caches are cleared at each change of the root logger)."""
    _capturing.__enter__()
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            _capturing.__exit__(None, None, None)

    return release


@dataclass
class _Loaded:
    """A project's definitions as loaded in this process, with the code versions computed so far."""

    graph: AssetGraph
    versioner: CodeVersioner
    versions: dict[str, str]


KEPT_LOADS = 4  # the loads of definitions a worker keeps, for the runs it serves at once
_loaded: dict[DefinitionsSource, _Loaded] = {}  # this process's definitions, by the load they come from
_loading = threading.Lock()


def definitions(task: Task) -> AssetGraph:
    """The project's definitions as this worker process loaded them for the task's run, checked against the
    code version the run planned.

    Raises:
        AssetsError: they cannot be loaded here, or the asset's code changed on disk since the run began.
    """
    source = task.definitions
    with _loading:
        loaded = _loaded.get(source)
        if loaded is None:
            while len(_loaded) >= KEPT_LOADS:  # earlier runs' definitions (a shared cluster serves several runs)
                del _loaded[next(iter(_loaded))]
            loaded = _loaded[source] = _Loaded(_load(source), CodeVersioner(source.root), {})
        if task.asset not in loaded.graph:
            raise AssetsError(f"asset '{task.asset}' is not defined in {source.root} as this worker loads it (its "
                              "files changed since the run began?); run again")
        version = loaded.versions.get(task.asset)
        if version is None:
            version = loaded.versions[task.asset] = loaded.versioner.version(loaded.graph[task.asset])
    if version != task.code_version:
        raise AssetsError(f"the code of asset '{task.asset}' changed on disk since the run began (a worker found "
                          "another code version); run again")
    return loaded.graph


def _load(source: DefinitionsSource) -> AssetGraph:
    config = read_config(source.root)
    found = load_project_assets(config, module=source.module, file=source.file)
    return AssetGraph.build(d for d in found if not isinstance(d, AlertHook))
