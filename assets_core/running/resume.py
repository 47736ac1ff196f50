"""Resuming a run: what it planned but did not finish, from what it recorded.

Each asset's stored value is its checkpoint: an asset the run materialized, or skipped because its data was
already right, is not run again; one that failed, was skipped because an upstream failed, or never started is.
A skip is told apart by the graph, not by its message: an asset skipped while one of its upstreams was left
unfinished, or while a source it reads failed a blocking check (a source is no step of the plan), was blocked;
any other skip left the asset fresh.
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
    ...           Event("r", "skipped", "its upstreams hold the same data (early cutoff)", "d"),
    ...           Event("r", "check", "blocking check 'not_null' failed: ...", "src", level="ERROR"),
    ...           Event("r", "skipped", "upstream 'src' failed", "f")]
    >>> edges = {"c": ["b"], "d": ["a"], "e": ["d"], "f": ["src"]}
    >>> unfinished(["a", "b", "c", "d", "e", "f"], events, lambda name: edges.get(name, []))
    ['b', 'c', 'e', 'f']
    """
    events = list(events)
    outcome = {event.asset: event.kind for event in events if event.asset is not None
               and event.kind in (OutcomeStatus.MATERIALIZED, OutcomeStatus.SKIPPED, OutcomeStatus.FAILED)}
    stopped = {event.asset for event in events if event.kind == "check" and event.level == "ERROR"} - set(plan)
    left: dict[str, None] = {}  # in plan order; a dict, so that looking an upstream up costs one step
    for name in plan:
        kind = outcome.get(name)
        blocked = kind == OutcomeStatus.SKIPPED and any(up in left or up in stopped for up in upstream(name))
        if kind not in (OutcomeStatus.MATERIALIZED, OutcomeStatus.SKIPPED) or blocked:
            left[name] = None
    return list(left)
