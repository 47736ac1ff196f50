"""A small generic directed acyclic graph that knows nothing of assets."""

from __future__ import annotations

import graphlib
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar, cast

T = TypeVar("T", bound=Hashable)


class DAG(Generic[T]):
    """Nodes and the upstream edges between them.

    >>> dag = DAG({"c": ["b"], "b": ["a"], "a": []})
    >>> dag.order()
    ['a', 'b', 'c']
    >>> sorted(dag.ancestors(["c"])), sorted(dag.descendants(["a"]))
    (['a', 'b'], ['b', 'c'])
    """

    def __init__(self, upstream: Mapping[T, Iterable[T]], *, distinct: bool = False):
        """``distinct=True``: the caller vouches that no node names an upstream twice, so repeats are not looked
        for (a repeat would then count twice and :meth:`order` would see a cycle); tuples are kept, not copied."""
        self._upstream: dict[T, tuple[T, ...]] = (
            _tuples(upstream) if distinct else {node: _distinct(ups) for node, ups in upstream.items()})
        self._downstream: dict[T, list[T]] = {node: [] for node in self._upstream}
        outside: list[T] = []  # upstream nodes not given as nodes themselves
        for node, ups in self._upstream.items():
            for up in ups:
                following = self._downstream.get(up)
                if following is None:
                    following = self._downstream[up] = []
                    outside.append(up)
                following.append(node)
        for up in outside:
            self._upstream[up] = ()
        self._order: list[T] | None = None

    @property
    def nodes(self) -> list[T]:
        return list(self._upstream)

    def __contains__(self, node: object) -> bool:
        return node in self._upstream

    def __len__(self) -> int:
        return len(self._upstream)

    def upstream(self, node: T) -> tuple[T, ...]:
        return self._upstream[node]

    def downstream(self, node: T) -> tuple[T, ...]:
        return tuple(self._downstream.get(node, ()))

    def order(self) -> list[T]:
        """Every node after all of its upstream nodes, in declaration order where free to choose.

        Raises ``graphlib.CycleError`` when there is a cycle (see :meth:`find_cycle`).
        """
        if self._order is None:
            order = self._kahn()
            if len(order) < len(self._upstream):
                raise graphlib.CycleError("the graph has a cycle", self.find_cycle())
            self._order = order
        return self._order

    def find_cycle(self) -> list[T] | None:
        """A cycle as a path whose last node equals its first, or None.

        >>> DAG({"a": ["c"], "b": ["a"], "c": ["b"]}).find_cycle()
        ['a', 'b', 'c', 'a']
        """
        if self._order is not None or len(self._kahn()) == len(self._upstream):
            return None
        try:
            graphlib.TopologicalSorter(self._upstream).prepare()
        except graphlib.CycleError as error:
            return list(error.args[1])  # upstream -> downstream
        return None

    def _kahn(self) -> list[T]:
        waiting = {node: len(ups) for node, ups in self._upstream.items()}  # upstream nodes are distinct
        order = [node for node, count in waiting.items() if not count]
        following = self._downstream
        for node in order:  # grows while read: each level of nodes after the one before, as they become ready
            for down in following[node]:
                count = waiting[down] - 1
                waiting[down] = count
                if not count:
                    order.append(down)
        if len(order) == len(self._upstream):
            self._order = order
        return order

    def ancestors(self, nodes: Iterable[T], depth: int | None = None) -> set[T]:
        """Every node upstream of ``nodes`` (not the nodes themselves), at most ``depth`` edges away."""
        return self._walk(nodes, self._upstream, depth)

    def descendants(self, nodes: Iterable[T], depth: int | None = None) -> set[T]:
        """Every node downstream of ``nodes`` (not the nodes themselves), at most ``depth`` edges away."""
        return self._walk(nodes, self._downstream, depth)

    def subdag(self, nodes: Iterable[T]) -> DAG[T]:
        """The graph restricted to ``nodes`` and the edges between them."""
        keep = set(nodes)
        return DAG({node: [up for up in self._upstream[node] if up in keep] for node in self.order() if node in keep},
                   distinct=True)

    @staticmethod
    def _walk(start: Iterable[T], edges: Mapping[T, Iterable[T]], depth: int | None) -> set[T]:
        seen: set[T] = set()
        frontier = list(start)
        level = 0
        while frontier and (depth is None or level < depth):
            following = []
            for node in frontier:
                for nxt in edges.get(node, ()):
                    if nxt not in seen:
                        seen.add(nxt)
                        following.append(nxt)
            frontier = following
            level += 1
        return seen


def _distinct(nodes: Iterable[T]) -> tuple[T, ...]:
    """The nodes without repeats, in order."""
    found = tuple(nodes)
    return found if len(found) < 2 or len(set(found)) == len(found) else tuple(dict.fromkeys(found))


def _tuples(upstream: Mapping[T, Iterable[T]]) -> dict[T, tuple[T, ...]]:
    """Each node's upstream nodes as a tuple: the mapping copied as it is when all are tuples (told at C speed).

    >>> _tuples({"b": ("a",), "c": ["a", "b"]})
    {'b': ('a',), 'c': ('a', 'b')}
    """
    if set(map(type, upstream.values())) <= {tuple}:
        return cast(dict[T, tuple[T, ...]], dict(upstream))
    return {node: ups if isinstance(ups, tuple) else tuple(ups) for node, ups in upstream.items()}
