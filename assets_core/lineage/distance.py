"""How far each node of a DAG is from one node, upstream or downstream: the one walk lineage views need.

:meth:`DAG.ancestors <assets_core.planning.dag.DAG.ancestors>` and ``descendants`` say which nodes are reached;
a lineage view also shows how far away each one is ("upstream 2"), so it walks level by level here.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from assets_core.planning.dag import DAG

T = TypeVar("T", bound=Hashable)


def distances(dag: DAG[T], start: T, *, upstream: bool, depth: int | None = None) -> dict[T, int]:
    """Every node upstream (or downstream) of ``start``, not itself, at most ``depth`` edges away, with its
    distance: nearest first, each level in the order of the edges that reach it.

    >>> dag = DAG({"c": ["b"], "b": ["a"], "a": [], "d": ["a"]})
    >>> distances(dag, "c", upstream=True), distances(dag, "a", upstream=False, depth=1)
    ({'b': 1, 'a': 2}, {'b': 1, 'd': 1})
    >>> distances(dag, "unknown", upstream=True)
    {}
    """
    step = dag.upstream if upstream else dag.downstream
    found: dict[T, int] = {}
    frontier, level = [start], 0
    while frontier and (depth is None or level < depth):
        level += 1
        following = []
        for node in frontier:
            for neighbour in step(node) if node in dag else ():
                if neighbour != start and neighbour not in found:
                    found[neighbour] = level
                    following.append(neighbour)
        frontier = following
    return found
