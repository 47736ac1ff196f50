"""Resuming a run: what it planned but did not finish, from what it recorded.

Each asset's stored value is its checkpoint: an asset the run materialized, or skipped because its data was
already right, is not run again; one that failed, was skipped because an upstream failed, or never started is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from assets_core.planning.state import Event

SETTLED_SKIPS = ("early cutoff", "made it fresh")  # skips that leave an asset fresh, not unfinished


def unfinished(plan: Sequence[str], events: Iterable[Event]) -> list[str]:
    """The planned assets a run did not finish, in plan order.

    >>> from assets_core.planning.state import Event
    >>> events = [Event("r", "materialized", "3 rows", "a"), Event("r", "failed", "boom", "b"),
    ...           Event("r", "skipped", "upstream 'b' failed", "c"),
    ...           Event("r", "skipped", "its upstreams hold the same data (early cutoff)", "d")]
    >>> unfinished(["a", "b", "c", "d", "e"], events)
    ['b', 'c', 'e']
    """
    finished = set()
    for event in events:
        if event.asset is None:
            continue
        if event.kind == "materialized" or (event.kind == "skipped" and any(s in event.message for s in SETTLED_SKIPS)):
            finished.add(event.asset)
    return [name for name in plan if name not in finished]
