"""Resuming a run: what it planned but did not finish, from what it recorded.

Each asset's stored value is its checkpoint: an asset the run materialized, or skipped because its data was
already right, is not run again; one that failed, was skipped because an upstream failed, or never started is.
A skip is told apart by the graph, not by its message: an asset skipped while one of its upstreams was left
unfinished was blocked; any other skip left the asset fresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from assets_core.planning.state import Event
from assets_core.running.runs import OutcomeStatus


def unfinished(plan: Sequence[str], events: Iterable[Event],
               upstream: Callable[[str], Iterable[str]]) -> list[str]:
    """The planned assets a run did not finish, in plan order (a plan lists upstreams first).

    >>> from assets_core.planning.state import Event
    >>> events = [Event("r", "materialized", "3 rows", "a"), Event("r", "failed", "boom", "b"),
    ...           Event("r", "skipped", "upstream 'b' failed", "c"),
    ...           Event("r", "skipped", "its upstreams hold the same data (early cutoff)", "d")]
    >>> edges = {"c": ["b"], "d": ["a"], "e": ["d"]}
    >>> unfinished(["a", "b", "c", "d", "e"], events, lambda name: edges.get(name, []))
    ['b', 'c', 'e']
    """
    outcome = {event.asset: event.kind for event in events if event.asset is not None
               and event.kind in (OutcomeStatus.MATERIALIZED, OutcomeStatus.SKIPPED, OutcomeStatus.FAILED)}
    left: list[str] = []
    for name in plan:
        kind = outcome.get(name)
        blocked = kind == OutcomeStatus.SKIPPED and any(up in left for up in upstream(name))
        if kind not in (OutcomeStatus.MATERIALIZED, OutcomeStatus.SKIPPED) or blocked:
            left.append(name)
    return left
