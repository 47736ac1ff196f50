"""The scheduling loop's state, the one wait it makes (for the next attempts to finish), and what its worker
threads will import."""

from __future__ import annotations

import graphlib
import queue
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from assets_core.planning.nodes import NodeGraph
from assets_core.planning.plan import Plan, Reason
from assets_core.running.executors import Attempts
from assets_core.running.runs import Outcome
from assets_core.running.storage import WRITE_MODULES


@dataclass
class Schedule:
    """The scheduling loop's state: what is ready, running, finished and waiting for another run's lease."""

    sorter: graphlib.TopologicalSorter[str]
    reasons: Mapping[str, tuple[Reason, ...]]
    pool: Attempts
    futures: dict[Future[list[Outcome]], str] = field(default_factory=dict)
    # Finished attempts, in the order they finished: waiting on this queue costs the same however many
    # attempts are under way (concurrent.futures.wait visits every one of them at each call). None: a stop
    # was requested.
    finished: queue.SimpleQueue[Future[list[Outcome]] | None] = field(default_factory=queue.SimpleQueue)
    parked: set[str] = field(default_factory=set)  # ready, but another run holds their lease


def finished_attempts(finished: queue.SimpleQueue[Future[list[Outcome]] | None], timeout: float) -> list[Future[list[Outcome]]]:
    """The attempts that finished: waits up to ``timeout`` for the first, then takes those already there
    (a None, put there by a stop request, ends the wait)."""
    try:
        first = finished.get(timeout=timeout)
    except queue.Empty:
        return []
    done = [first] if first is not None else []
    while True:
        try:
            more = finished.get_nowait()
        except queue.Empty:
            return done
        if more is not None:
            done.append(more)


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
