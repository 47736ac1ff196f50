"""What a lineage shows: the part of the asset graph and of the column graph one question is about.

The command (``assets lineage``) prints or draws a :class:`LineageView`, and the browser draws it and shows a
:class:`ColumnTrace` in its Columns tab; neither walks a graph itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assets_core.lineage.columns import (
    AssetColumns,
    Column,
    ColumnGraph,
    Edge,
    EdgeKind,
)
from assets_core.lineage.distance import distances
from assets_core.planning.graph import AssetGraph


@dataclass(frozen=True)
class ColumnTrace:
    """A column followed all the way up to its origins and all the way down to what reads it."""

    column: str  # "asset.column"
    origins: tuple[str, ...]  # the source columns its values come from, sorted
    unknown: tuple[tuple[str, str], ...]  # ("asset.column" on the way up whose lineage is unknown, why), sorted
    path: tuple[tuple[str, tuple[str, ...]], ...]  # the columns on the way up, nearest first, with upstreams
    feeds: tuple[str, ...]  # the columns downstream whose values come from it, nearest first
    readers: tuple[str, ...]  # assets not analysed downstream reading a table on the way (which columns: unknown)


@dataclass(frozen=True)
class LineageView:
    """The part of the graph one question shows: every asset, one asset's neighbourhood, or one column's path."""

    assets: tuple[str, ...]  # in dependency order
    distance: Mapping[str, int]  # levels from the target: negative upstream (empty without a target)
    edges: tuple[Edge, ...]  # READ edges between the assets shown, then VALUE edges between their columns
    target: str | None = None  # the asset asked about, or the asset of the column asked about
    columns: Mapping[str, AssetColumns] | None = None  # what is known of the columns shown, when shown
    nodes: Mapping[Column, int] | None = None  # a column target's path: each column's distance from it
    trace: ColumnTrace | None = None  # a column target followed all the way, whatever depth is shown

    def edges_of(self, kind: EdgeKind) -> tuple[Edge, ...]:
        """The edges of one kind, in order."""
        return tuple(edge for edge in self.edges if edge.kind == kind)


def asset_view(graph: AssetGraph, target: str | None = None, upstream: int | None = None,
               downstream: int | None = None, columns: ColumnGraph | None = None) -> LineageView:
    """Every asset (``target`` None), or an asset with its upstream and downstream at most ``upstream`` and
    ``downstream`` levels away; with ``columns``, what is known of their columns and the edges between them.

    >>> from assets_core.declaring.definitions import source_asset
    >>> from assets_core.declaring.sql import sql_asset
    >>> graph = AssetGraph.build([source_asset("raw", "raw.csv"), sql_asset("a", "select id from raw"),
    ...                           sql_asset("b", "select id from a")])
    >>> view = asset_view(graph, "b", upstream=1)
    >>> view.assets, dict(view.distance), [(e.upstream, e.downstream) for e in view.edges]
    (('a', 'b'), {'b': 0, 'a': -1}, [('a', 'b')])
    """
    distance: dict[str, int] = {}
    if target is not None:
        up = distances(graph.dag, target, upstream=True, depth=upstream)
        down = distances(graph.dag, target, upstream=False, depth=downstream)
        distance = {target: 0, **{name: -level for name, level in up.items()}, **down}
    names = graph.order() if target is None else distance
    view = LineageView(_ordered(graph, names), distance, _asset_edges(graph, names), target)
    if columns is None:
        return view
    kept = set(view.assets)
    value = columns.value_edges([(name, c) for name in view.assets for c in columns.facts[name].direct],
                                lambda up: up[0] in kept)
    return LineageView(view.assets, view.distance, view.edges + value, target,
                       {name: columns.facts[name] for name in view.assets})


def column_view(columns: ColumnGraph, start: Column, upstream: int | None = None,
                downstream: int | None = None) -> LineageView:
    """A column's path: the columns it comes from and those it feeds (at most ``upstream`` and ``downstream``
    steps away), and the non-SQL assets that read a table on the way."""
    graph = columns.graph
    up = columns.upstream(start, upstream)
    nodes = {start: 0, **{node: -level for node, level in up.items()}, **columns.downstream(start, downstream)}
    distance: dict[str, int] = {}
    for (name, _), level in sorted(nodes.items(), key=lambda item: abs(item[1])):
        distance.setdefault(name, level)
    shown = {name: columns.facts[name].only(c for a, c in nodes if a == name) for name in distance}
    readers = columns.readers(nodes, downstream)
    for edge, level in readers.items():
        distance.setdefault(edge.downstream, level)
        shown.setdefault(edge.downstream, AssetColumns(None, {}, {"*": (
            f"a {graph[edge.downstream].kind} asset that reads '{edge.upstream}': which of its columns come "
            "from it is unknown (its code is not analysed)")}))
    edges = (*readers, *columns.value_edges(nodes, lambda node: node in nodes))
    return LineageView(_ordered(graph, distance), distance, edges, start[0], shown, nodes,
                       trace_column(columns, start))


def trace_column(columns: ColumnGraph, start: Column) -> ColumnTrace:
    """Follow a column all the way up and all the way down.

    >>> from assets_core.declaring.definitions import source_asset
    >>> from assets_core.declaring.sql import sql_asset
    >>> from assets_core.lineage.sql import TableLineage
    >>> graph = AssetGraph.build([source_asset("raw", "raw.csv"), sql_asset("a", "select r.id as x from raw r")])
    >>> columns = ColumnGraph.build(graph, {"a": TableLineage("a", ("x",), {"x": ("raw.id",)})}, {"raw": ["id"]})
    >>> found = trace_column(columns, ("a", "x"))
    >>> found.origins, found.path, trace_column(columns, ("raw", "id")).feeds
    (('raw.id',), (('a.x', ('raw.id',)),), ('a.x',))
    """
    origins, unknown = columns.trace(start)
    path = tuple((f"{name}.{column}", tuple(columns.facts[name].direct[column]))
                 for name, column in [start, *columns.upstream(start)]
                 if not columns.graph[name].is_source and column in columns.facts[name].direct)
    down = columns.downstream(start)
    readers = columns.readers({start: 0, **down})
    return ColumnTrace(f"{start[0]}.{start[1]}", origins, unknown, path, tuple(f"{a}.{c}" for a, c in down),
                       tuple(dict.fromkeys(edge.downstream for edge in readers)))


def _asset_edges(graph: AssetGraph, names: Iterable[str]) -> tuple[Edge, ...]:
    """The edges between the assets ``names``, in dependency order of their downstream end."""
    shown = set(names)
    return tuple(Edge(up, name) for name in graph.order() if name in shown for up in graph.upstream(name)
                 if up in shown)


def _ordered(graph: AssetGraph, chosen: Iterable[str]) -> tuple[str, ...]:
    wanted = set(chosen)
    return tuple(name for name in graph.order() if name in wanted)
