"""The column graph: every asset's columns as nodes ``(asset, column)``, joined by typed edges.

It is built from what is known of each asset's columns: the lineage of SQL assets
(:mod:`assets_core.lineage.sql`) and the schemas of the others. A source's columns are origins; a Python asset's
columns are traced through polars' query plan (:mod:`assets_core.lineage.python`) or declared with
``@asset(lineage=...)``. Where lineage is unknown the graph says why: it never answers with an empty list. Walks go over a generic :class:`~assets_core.planning.dag.DAG`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from assets_core.collector import collector_paused
from assets_core.declaring.definitions import Asset
from assets_core.errors import SelectionError, did_you_mean
from assets_core.lineage.distance import distances
from assets_core.planning.dag import DAG
from assets_core.planning.graph import AssetGraph

if TYPE_CHECKING:  # the SQL analysis (sqlglot) is imported only where lineage is computed
    from assets_core.lineage.sql import TableLineage

Column = tuple[str, str]  # (asset, column)
NOT_ANALYSED = "its code is not analysed for column lineage"


class EdgeKind(StrEnum):
    """What an edge of the lineage says."""

    VALUE = "value"  # the column's values come from the upstream column (SQL lineage)
    READ = "read"  # the asset reads the upstream's table; which of its columns it uses is not known or not shown


@dataclass(frozen=True)
class Edge:
    """An edge from ``upstream`` to ``downstream``: between two columns (``VALUE``) or two assets (``READ``)."""

    upstream: str  # an asset
    downstream: str  # an asset
    kind: EdgeKind = EdgeKind.READ
    upstream_column: str = ""  # "" for an edge between assets
    column: str = ""


@dataclass(frozen=True)
class AssetColumns:
    """What is known of one asset's columns: where each comes from, or why that is unknown."""

    columns: tuple[str, ...] | None  # in order; None: not known
    direct: Mapping[str, tuple[str, ...]]  # column -> its "asset.column" upstreams (a source's columns: none)
    unknown: Mapping[str, str]  # column, or "*" for every column -> why its lineage is unknown
    how: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # column -> upstream -> copied, transformed...
    used: tuple[str, ...] = ()  # upstream "asset.column" used only to filter, join, group or sort
    analysed: bool = False  # its code was analysed (SQL, or traced Python): a reader of it is not a blind spot

    def why(self, column: str) -> str:
        """Why the column's lineage is unknown, or "" when it is known.

        >>> AssetColumns(None, {}, {"*": "no schema"}).why("x")
        'no schema'
        """
        if column in self.direct:
            return ""
        return self.unknown.get(column) or self.unknown.get("*") or "it is not among the asset's columns"

    def only(self, keep: Iterable[str]) -> AssetColumns:
        """The same facts for the columns in ``keep`` only.

        >>> AssetColumns(("a", "b"), {"a": ("up.x",)}, {"b": "why"}).only(["b"])
        AssetColumns(columns=('b',), direct={}, unknown={'b': 'why'}, how={}, used=(), analysed=False)
        """
        wanted = set(keep)
        ordered = [c for c in self.columns or () if c in wanted]
        ordered += sorted(wanted.difference(ordered))
        return AssetColumns(tuple(ordered), {c: self.direct[c] for c in ordered if c in self.direct},
                            {c: self.why(c) for c in ordered if c not in self.direct},
                            {c: self.how[c] for c in ordered if c in self.how}, self.used, self.analysed)


def asset_columns(item: Asset, lineage: TableLineage | None, schema: Sequence[str] | None) -> AssetColumns:
    """What is known of an asset's columns, from its lineage (SQL, or a Python asset's traced or declared one)
    or its schema (None: not known).

    >>> from assets_core.declaring.definitions import source_asset
    >>> asset_columns(source_asset("raw", "raw.csv"), None, ["id"])
    AssetColumns(columns=('id',), direct={'id': ()}, unknown={}, how={}, used=(), analysed=False)
    """
    if item.kind == "sql":
        if lineage is None or lineage.columns is None:
            why = (lineage.problem if lineage is not None else "") or "its SQL could not be analysed"
            return AssetColumns(None, {}, {"*": why})
        return AssetColumns(lineage.columns, dict(lineage.direct), dict(lineage.unknown), dict(lineage.how),
                            tuple(lineage.used), analysed=True)
    if item.is_source:
        if schema is None:
            return AssetColumns(None, {}, {"*": "its files are missing or not CSV or Parquet, so its columns "
                                                "are not known"})
        return AssetColumns(tuple(schema), {column: () for column in schema}, {})
    if lineage is not None and lineage.columns is not None:  # traced (or declared): what could not be is said
        return AssetColumns(lineage.columns, dict(lineage.direct), dict(lineage.unknown), dict(lineage.how),
                            tuple(lineage.used), analysed=bool(lineage.direct))
    why = f"a {item.kind} asset: {lineage.problem if lineage is not None and lineage.problem else NOT_ANALYSED}"
    if schema is None:
        return AssetColumns(None, {}, {"*": f"{why}, and its columns are not known until it is materialized"})
    return AssetColumns(tuple(schema), {}, {column: why for column in schema})


def split_column(text: str) -> Column:
    """``asset.column`` as (asset, column); the asset name may itself be dotted.

    >>> split_column("finance.orders.amount")
    ('finance.orders', 'amount')
    """
    asset, _, column = text.rpartition(".")
    return asset, column


def column_dag(direct: Mapping[str, Mapping[str, Sequence[str]]]) -> DAG[Column]:
    """The DAG of columns joined by value lineage: each column after the columns its values come from.

    >>> dag = column_dag({"b": {"y": ["a.x"]}, "c": {"z": ["b.y"]}})
    >>> sorted(dag.ancestors([("c", "z")]))
    [('a', 'x'), ('b', 'y')]
    """
    upstream: dict[Column, list[Column]] = {(asset, column): [split_column(origin) for origin in origins]
                                            for asset, columns in direct.items() for column, origins in columns.items()}
    for origins in list(upstream.values()):  # every node a key: DAG() may not add keys while it reads them
        for origin in origins:
            upstream.setdefault(origin, [])
    return DAG(upstream)


class ColumnGraph:
    """The columns of every asset of a graph, joined by value lineage, with what is unknown and why.

    >>> from assets_core.declaring.definitions import source_asset
    >>> graph = AssetGraph.build([source_asset("raw", "raw.csv")])
    >>> columns = ColumnGraph.build(graph, {}, {"raw": ("id",)})
    >>> columns.trace(("raw", "id"))
    (('raw.id',), ())
    """

    def __init__(self, graph: AssetGraph, facts: Mapping[str, AssetColumns]):
        self.graph = graph
        self.facts = dict(facts)
        self.dag = column_dag({name: known.direct for name, known in self.facts.items()})

    @classmethod
    def build(cls, graph: AssetGraph, lineages: Mapping[str, TableLineage],
              schemas: Mapping[str, Sequence[str] | None]) -> ColumnGraph:
        """The column graph of ``graph`` from its SQL assets' lineages and the schemas of the others."""
        with collector_paused():  # tens of thousands of nodes at once, none of them garbage
            return cls(graph, {item.name: asset_columns(item, lineages.get(item.name), schemas.get(item.name))
                               for item in graph})

    def upstream(self, column: Column, depth: int | None = None) -> dict[Column, int]:
        """The columns ``column``'s values come from, at most ``depth`` steps up, with their distance."""
        return distances(self.dag, column, upstream=True, depth=depth)

    def downstream(self, column: Column, depth: int | None = None) -> dict[Column, int]:
        """The columns whose values come from ``column``, at most ``depth`` steps down, with their distance."""
        return distances(self.dag, column, upstream=False, depth=depth)

    def value_edges(self, columns: Iterable[Column], keep: Callable[[Column], bool]) -> tuple[Edge, ...]:
        """The ``VALUE`` edges into ``columns`` from the upstream columns that ``keep`` accepts, in order."""
        return tuple(Edge(up[0], name, EdgeKind.VALUE, up[1], column) for name, column in columns
                     if (name, column) in self.dag for up in self.dag.upstream((name, column)) if keep(up))

    def readers(self, nodes: Mapping[Column, int], depth: int | None = None) -> dict[Edge, int]:
        """The assets whose code is not analysed that read the table of a column of ``nodes`` (a column at its
        distance 0 or downstream, fewer than ``depth`` steps away), as ``READ`` edges with the reader's
        distance. Which of the reader's columns come from it is unknown."""
        on_path = {name for name, _ in nodes}
        found: dict[Edge, int] = {}
        for (name, _), level in nodes.items():
            if level < 0 or (depth is not None and level >= depth):
                continue
            for reader in self.graph.downstream(name):
                if not self.facts[reader].analysed and reader not in on_path:
                    found.setdefault(Edge(name, reader), level + 1)
        return found

    def trace(self, column: Column) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """Follow a column all the way up: the source columns it comes from (sorted), and the columns on the way
        whose lineage is unknown, with why (sorted)."""
        origins, unknown = [], []
        for name, col in [column, *self.upstream(column)]:
            why = self.facts[name].why(col)
            if why:
                unknown.append((f"{name}.{col}", why))
            elif self.graph[name].is_source:
                origins.append(f"{name}.{col}")
        return tuple(sorted(origins)), tuple(sorted(unknown))

    def resolve(self, text: str) -> Column:
        """``asset.column`` split into its asset and column, or a :class:`SelectionError` saying what was meant.

        >>> from assets_core.declaring.definitions import source_asset
        >>> columns = ColumnGraph.build(AssetGraph.build([source_asset("raw", "raw.csv")]), {}, {"raw": ["id"]})
        >>> columns.resolve("raw.id")
        ('raw', 'id')
        >>> columns.resolve("raw.ids")
        Traceback (most recent call last):
        assets_core.errors.SelectionError: asset 'raw' has no column 'ids'; did you mean 'id'?
        """
        found = parse_column(text, self.graph.names)
        if found is None:
            known = [*self.graph.names,
                     *(f"{name}.{c}" for name, facts in self.facts.items() for c in facts.columns or ())]
            raise SelectionError(f"'{text}' is neither an asset nor an asset's column (see 'assets list', and "
                                 f"'assets lineage ASSET --columns'){did_you_mean(text, known)}")
        asset, column = found
        columns = self.facts[asset].columns
        if columns is not None and column not in columns:
            hint = did_you_mean(column, columns) or f"; its columns are {', '.join(columns)}"
            raise SelectionError(f"asset '{asset}' has no column '{column}'{hint}")
        return found


def parse_column(text: str, assets: Iterable[str]) -> Column | None:
    """Split ``asset.column`` where the asset name itself may be dotted (``finance.orders.amount``).

    >>> parse_column("finance.orders.amount", ["finance.orders"]), parse_column("nope.x", ["orders"])
    (('finance.orders', 'amount'), None)
    """
    names = set(assets)
    head, _, tail = text.rpartition(".")
    return (head, tail) if head in names and tail else None
