"""Where a run's attempts execute: threads of the coordinating process, a pool of worker processes, or a Dask
cluster. The scheduling loop sees one interface (:class:`Attempts`): submit a node, get a future of its outcomes.

Threads share the run's memory: a value made by one asset is handed to the next without being read back.
Processes and Dask receive a :class:`~assets_core.running.remote.Task` and read their inputs from storage
(:mod:`~assets_core.running.remote`); only the coordinating process writes the catalog. A worker that dies
fails the attempt it was running, which is retried as the asset's retry policy says, on another worker.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from dataclasses import replace
from typing import Any, Protocol

from assets_core.declaring.checks import Check
from assets_core.declaring.config import EXECUTORS
from assets_core.declaring.file_stats import usable_cores
from assets_core.declaring.retry import RetryPolicy
from assets_core.errors import ProjectError
from assets_core.imports import late_import
from assets_core.planning.state import now
from assets_core.running.attempts import retry_delay
from assets_core.running.runs import FAILED, Outcome
from assets_core.running.thread_pool import ThreadPool


class Attempts(Protocol):
    """Runs attempts at nodes somewhere, each submitted once its upstreams are done."""

    # the most attempts it runs at once (an adaptive pool may run fewer while they are quick); None: it cannot
    # tell, as a cluster that grows
    capacity: int | None

    def submit(self, name: str) -> Future[list[Outcome]]:
        """Start the attempt at a node (or single-run batch); the future gives its outcomes (never an error)."""
        ...

    def close(self, abandon: bool) -> None:
        """Release the workers: once their attempts are done, or at once with ``abandon`` (a stopping run)."""
        ...


class Threads:
    """Attempts in a pool of threads of this process (the default)."""

    def __init__(self, workers: int | None, run: Callable[[str], list[Outcome]]) -> None:
        # Workers chosen: that many threads, whatever the assets do. Else one while assets finish quickly, and
        # more, up to max(4, cores), while they are slow (see thread_pool).
        self._pool = ThreadPool(workers or max(4, usable_cores()), run, steady=workers)
        self.capacity: int | None = self._pool.workers

    def submit(self, name: str) -> Future[list[Outcome]]:
        return self._pool.submit(name)

    def close(self, abandon: bool) -> None:
        # Never wait for attempts under way that will not stop: their threads are abandoned.
        self._pool.close(wait=not abandon)


class Backend(Protocol):
    """Where remote tasks run: takes a task, gives a future of what the worker sent back; a worker's death
    is a :class:`~assets_core.running.remote.WorkerDied` error of that future."""

    def submit(self, task: Any) -> Future[Any]: ...

    def close(self, abandon: bool) -> None: ...


class _Attempt(Future[list[Outcome]]):
    """A remote attempt's future: it can be cancelled only while its task has not started (still waiting
    here, in the backend's queue, or for a retry's delay); one under way is waited for, or abandoned, like a
    thread."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: Future[Any] | None = None
        self.retrying = False  # a worker died; the next attempt waits for its delay

    def cancel(self) -> bool:
        inner = self.inner
        if not self.retrying and inner is not None and not inner.cancel():
            return False
        return super().cancel()


def _cancel_with(inner: Future[Any], outer: Future[Any]) -> None:
    """Once a remote attempt is cancelled, cancel its task in the backend (if it has not started)."""
    if outer.cancelled():
        inner.cancel()


class Remote:
    """Attempts as tasks in other processes, through a :class:`Backend`. ``task(name)`` makes a node's task
    (in the scheduling loop's thread); ``policy(name)`` and ``checks(name)`` are the node's retry policy and
    checks by name, as this process knows them. Whatever goes wrong on the way back, the attempt's future is
    resolved (a failed outcome), so the loop never waits for it forever."""

    def __init__(self, backend: Backend, task: Callable[[str], Any], policy: Callable[[str], RetryPolicy],
                 checks: Callable[[str], Mapping[str, Check]], capacity: int | None = None) -> None:
        self.backend, self._task, self._policy, self._checks = backend, task, policy, checks
        self.capacity = capacity
        self._timers: set[threading.Timer] = set()
        self._closed = False

    def submit(self, name: str) -> Future[list[Outcome]]:
        outer = _Attempt()
        self._send(name, self._task(name), outer, [])
        return outer

    def close(self, abandon: bool) -> None:
        if self._closed:
            return
        self._closed = True
        for timer in list(self._timers):  # retries waiting for their delay: never sent now
            timer.cancel()
        self.backend.close(abandon)

    def _send(self, name: str, task: Any, outer: _Attempt, retries: list[str]) -> None:
        if outer.done() or self._closed:  # cancelled while a retry waited, or the run is over
            return
        try:
            inner = self.backend.submit(task)
        except BaseException as error:  # noqa: BLE001 - a task that cannot be sent fails alone
            _fail(outer, task, f"{type(error).__name__}: {error}", retries)
            return
        outer.inner, outer.retrying = inner, False
        outer.add_done_callback(functools.partial(_cancel_with, inner))
        inner.add_done_callback(functools.partial(self._received, name, task, outer=outer, retries=retries))

    def _received(self, name: str, task: Any, inner: Future[Any], *, outer: _Attempt, retries: list[str]) -> None:
        if outer.done() or inner.cancelled():  # the run stopped before it started
            return
        try:
            try:
                sent = inner.result()
            except BaseException as error:  # noqa: BLE001 - a dead worker, or a task that could not be sent
                self._lost(name, task, error, outer, retries)
                return
            checks = self._checks(name)
            outcomes = [item.received(checks) for item in sent]
            if retries and outcomes:
                first = outcomes[0]
                lines = tuple(("retry", "WARNING", line) for line in retries)
                outcomes[0] = replace(first, logs=(*lines, *first.logs), retries=(*retries, *first.retries))
            _settle(outer, outcomes)
        except BaseException as error:  # noqa: BLE001 - whatever failed here, the attempt must end
            _fail(outer, task, f"{type(error).__name__}: {error}", retries)

    def _lost(self, name: str, task: Any, error: BaseException, outer: _Attempt,
              retries: list[str]) -> None:
        """A task that never came back: retried as the policy says when its worker died, else failed."""
        with late_import():
            from assets_core.running.remote import WorkerDied

        message = f"{type(error).__name__}: {error}"
        policy = self._policy(name)
        number = getattr(error, "attempt", None) or task.first  # the attempt the worker said it was making
        if isinstance(error, WorkerDied) and number < policy.max_attempts and isinstance(error, policy.retry_on) \
                and not self._closed:
            pause = retry_delay(policy, number)
            retries.append(f"attempt {number} of {policy.max_attempts} failed: {message}; retrying in {pause:.2f}s")
            outer.retrying = True
            timer = threading.Timer(pause, self._retry, (name, replace(task, first=number + 1), outer, retries))
            timer.daemon = True
            self._timers.add(timer)
            timer.start()
            return
        _fail(outer, task, message, retries)

    def _retry(self, name: str, task: Any, outer: _Attempt, retries: list[str]) -> None:
        self._timers = {timer for timer in self._timers if timer.is_alive() and timer is not threading.current_thread()}
        self._send(name, task, outer, retries)


def _settle(outer: Future[list[Outcome]], outcomes: list[Outcome]) -> None:
    """Resolve an attempt's future, unless it was cancelled meanwhile."""
    with contextlib.suppress(InvalidStateError):
        outer.set_result(outcomes)


def _fail(outer: Future[list[Outcome]], task: Any, message: str, retries: list[str]) -> None:
    """The attempt failed with ``message``: one failed outcome per node of the task."""
    lines = tuple(("retry", "WARNING", line) for line in retries)
    members = task.members or (task.node,)
    _settle(outer, [Outcome(node, FAILED, message, started_at=now(), logs=lines if index == 0 else (),
                            retries=tuple(retries)) for index, node in enumerate(members)])


class ProcessBackend:
    """Tasks in a pool of worker processes of this machine."""

    def __init__(self, workers: int) -> None:
        with late_import():
            from assets_core.running.process_pool import ProcessPool
            from assets_core.running.remote import perform

        self._pool = ProcessPool(workers, perform)

    def submit(self, task: Any) -> Future[Any]:
        return self._pool.submit(task)

    def close(self, abandon: bool) -> None:
        self._pool.close(abandon)


def start(executor: str, workers: int | None, dask_address: str | None, run: Callable[[str], list[Outcome]],
          task: Callable[[str], Any], policy: Callable[[str], RetryPolicy],
          checks: Callable[[str], Mapping[str, Check]], from_files: bool = True) -> Attempts:
    """The run's attempts, executed as ``executor`` says (one of :data:`EXECUTORS`); other processes need
    definitions they can load ``from_files``. ``workers`` None: threads adapt (see :class:`Threads`), processes
    and Dask run one per core."""
    if executor == "threads":
        return Threads(workers, run)
    if not from_files:
        raise ProjectError(f"the {executor} executor runs assets in other processes, which load the definitions "
                           "from the project's files: open the project from its folder (the assets command, or "
                           "open_workspace) rather than from definitions made in memory")
    workers = workers or usable_cores()
    if executor == "processes":
        return Remote(ProcessBackend(workers), task, policy, checks, capacity=workers)
    if executor == "dask":
        with late_import():
            from assets_core.running.dask_backend import DaskBackend

        return Remote(DaskBackend(dask_address, workers), task, policy, checks)
    raise ProjectError(f"unknown executor '{executor}'; choose one of {', '.join(EXECUTORS)}")
