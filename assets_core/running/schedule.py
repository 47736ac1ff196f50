"""The scheduling loop's state, the one wait it makes (for the next attempts to finish), and what its worker
threads will import."""

from __future__ import annotations

import contextlib
import graphlib
import queue
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from assets_core.planning.nodes import NodeGraph
from assets_core.planning.plan import Plan, Reason
from assets_core.running.executors import Attempts
from assets_core.running.runs import Outcome
from assets_core.running.storage import WRITE_MODULES


class Finished:
    """The attempts that finished, in the order they finished, and the scheduling loop's wake-ups for them.

    Waking the loop hands Python's GIL from a worker thread to it and back: the wake of a sleeping thread, tens
    of microseconds on a busy machine, and a fifth of a run of small assets when made for every one of them. So
    while more than ``capacity`` submitted attempts still wait for a worker, a finished attempt waits for the
    loop's next turn: when the queue is about to run dry, when the loop's own wait ends (it waits at most a
    fraction of a second while attempts are under way), or when a stop is requested. ``capacity`` None (an
    executor that does not know how many attempts it runs at once): every finished attempt wakes the loop.
    """

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self._done: deque[Future[list[Outcome]]] = deque()
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._under_way = 0  # submitted and not finished (nor cancelled)

    def submitted(self, future: Future[list[Outcome]]) -> None:
        """Follow a submitted attempt: put here once it finishes (or is cancelled)."""
        with self._lock:
            self._under_way += 1
        future.add_done_callback(self._put)

    def eager(self) -> None:
        """From now on, every finished attempt wakes the loop (a stopping run waits for each one)."""
        self.capacity = None
        self.wake()

    def wake(self) -> None:
        """End the loop's wait now (a stop was requested)."""
        self._wake.put(None)

    def take(self, timeout: float) -> list[Future[list[Outcome]]]:
        """The attempts that finished since the last call, once woken or after ``timeout`` seconds."""
        with contextlib.suppress(queue.Empty):
            self._wake.get(timeout=timeout)
        with contextlib.suppress(queue.Empty):
            while True:  # wake-ups left over: each was for an attempt taken below, or an earlier one
                self._wake.get_nowait()
        done = []
        with contextlib.suppress(IndexError):
            while True:  # after the wake-ups: an attempt put meanwhile is taken now, or its wake-up is kept
                done.append(self._done.popleft())
        return done

    def _put(self, future: Future[list[Outcome]]) -> None:
        """A done callback (in the thread that finished the attempt): keep it, and wake the loop if it is due."""
        with self._lock:
            self._under_way -= 1
            waiting = self._under_way
        self._done.append(future)
        capacity = self.capacity
        if capacity is None or waiting <= 2 * capacity:  # at most ``capacity`` queued behind the running ones
            self._wake.put(None)


@dataclass
class Schedule:
    """The scheduling loop's state: what is ready, running, finished and waiting for another run's lease."""

    sorter: graphlib.TopologicalSorter[str]
    reasons: Mapping[str, tuple[Reason, ...]]
    pool: Attempts
    futures: dict[Future[list[Outcome]], str] = field(default_factory=dict)
    finished: Finished = field(init=False)
    parked: set[str] = field(default_factory=set)  # ready, but another run holds their lease

    def __post_init__(self) -> None:
        self.finished = Finished(self.pool.capacity)

    def submit(self, name: str) -> None:
        """Start the attempt at a node (or single-run batch)."""
        future = self.pool.submit(name)
        self.futures[future] = name
        self.finished.submitted(future)


def late_modules(graph: NodeGraph, plan: Plan, extra: Sequence[str] = ()) -> list[str]:
    """The modules a plan's worker threads will import late: a run imports them whole before they start."""
    names = list(WRITE_MODULES) if plan.steps else []
    if any(graph[name].kind == "sql" for name in plan.assets):
        names.append("assets_core.declaring.sql")
    return [*names, *extra]


def units(graph: NodeGraph, planned: Sequence[str], batches: Mapping[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """What the scheduling loop runs, each with the units it waits for: the planned nodes, a single-run batch
    standing for all of its partitions."""
    unit_of = {member: batch for batch, members in batches.items() for member in members}
    chosen = set(planned)
    found: dict[str, set[str]] = {}
    for node in planned:
        unit = unit_of.get(node, node)
        waits = found.setdefault(unit, set())
        waits.update(unit_of.get(up, up) for up in graph.upstream(node) if up in chosen)
        waits.discard(unit)
    return found
