"""The Columns tab as plain values: an asset's columns, and where one column comes from and what it feeds.

Column lineage is known for SQL assets (``Project.lineage``); a source's columns are origins; a Python asset's
code is not analysed, and the tab says so rather than showing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assets_core.declaring.definitions import Asset
from assets_core.planning.graph import AssetGraph
from assets_core.imports import late_import

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

PYTHON_UNKNOWN = "its code is not analysed for column lineage"


@dataclass(frozen=True)
class ColumnInfo:
    """One column of an asset: the upstream columns it comes from directly, or why that is unknown."""

    column: str
    origins: tuple[str, ...] = ()  # "asset.column"
    unknown: str = ""  # "" when the lineage is known


@dataclass(frozen=True)
class AssetColumns:
    """The columns of an asset, or why they are not known (then ``columns`` is empty)."""

    columns: tuple[ColumnInfo, ...]
    problem: str = ""


def asset_columns(item: Asset, lineage: TableLineage | None, schema: Sequence[str] | None) -> AssetColumns:
    """What is known of an asset's columns.

    >>> from assets_core.declaring.definitions import source_asset
    >>> asset_columns(source_asset("raw", "raw.csv"), None, ["id"]).columns
    (ColumnInfo(column='id', origins=(), unknown=''),)
    """
    if item.kind == "sql":
        if lineage is None or lineage.columns is None:
            return AssetColumns((), (lineage.problem if lineage else "") or "its SQL could not be analysed")
        return AssetColumns(tuple(ColumnInfo(c, tuple(lineage.direct.get(c, ())), lineage.unknown.get(c, ""))
                                  for c in lineage.columns))
    if schema is None:
        why = "its files are missing or not CSV or Parquet" if item.is_source else \
            "its columns are known once it has been materialized"
        return AssetColumns((), why)
    if item.is_source:
        return AssetColumns(tuple(ColumnInfo(c) for c in schema))
    return AssetColumns(tuple(ColumnInfo(c, (), f"a {item.kind} asset: {PYTHON_UNKNOWN}") for c in schema))


@dataclass(frozen=True)
class ColumnTrace:
    """A column followed up to its origins and down to what reads it."""

    column: str  # "asset.column"
    origins: tuple[str, ...]  # the source columns its values come from
    path: tuple[tuple[str, tuple[str, ...]], ...]  # every column on the way up, nearest first, with its upstreams
    unknown: tuple[tuple[str, str], ...]  # (column, why its lineage is unknown) on the way up, Python's included
    feeds: tuple[str, ...]  # SQL columns downstream whose values come from it, nearest first
    readers: tuple[str, ...]  # non-SQL assets downstream reading a table on the way (which columns: unknown)


def trace_column(graph: AssetGraph, lineages: Mapping[str, TableLineage], asset: str, column: str) -> ColumnTrace:
    """Follow ``asset.column`` all the way up (with ``assets_core.lineage.sql.trace``) and all the way down.

    >>> from assets_core.declaring.definitions import asset as declare, source_asset
    >>> from assets_core.lineage.sql import TableLineage
    >>> raw = source_asset("raw", "raw.csv")
    >>> b = declare(name="b", inputs={"raw": "raw"})(lambda raw: raw)
    >>> graph = AssetGraph.build([raw, b])
    >>> trace_column(graph, {"b": TableLineage("b", ("y",), {"y": ("raw.id",)})}, "b", "y").origins
    ('raw.id',)
    """
    with late_import():  # sqlglot's optimizer only once lineage is shown
        from assets_core.lineage.sql import trace

    found = trace(lineages, asset, column)
    path = _upstream_path(lineages, asset, column)
    unknown = [(name, _why(lineages, name)) for name in sorted(found.unknown)]
    origins = []
    for origin in sorted(found.origins):
        owner = graph[origin.rpartition(".")[0]] if origin.rpartition(".")[0] in graph else None
        if owner is None or owner.is_source:
            origins.append(origin)
        else:
            unknown.append((origin, f"a {owner.kind} asset: {PYTHON_UNKNOWN}"))
    if graph[asset].kind != "sql" and not graph[asset].is_source:
        unknown.append((f"{asset}.{column}", f"a {graph[asset].kind} asset: {PYTHON_UNKNOWN}"))
    feeds = _downstream_columns(lineages, asset, column)
    tables = [asset, *dict.fromkeys(name.rpartition(".")[0] for name in feeds)]
    readers = tuple(dict.fromkeys(reader for table in tables for reader in graph.downstream(table)
                                  if graph[reader].kind != "sql"))
    return ColumnTrace(f"{asset}.{column}", tuple(origins), path, tuple(unknown), feeds, readers)


def _upstream_path(lineages: Mapping[str, TableLineage], asset: str, column: str
                   ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    path: list[tuple[str, tuple[str, ...]]] = []
    frontier, seen = [(asset, column)], {(asset, column)}
    while frontier:
        following = []
        for name, col in frontier:
            lineage = lineages.get(name)
            if lineage is None:
                continue  # not a SQL asset: nothing is known above it
            origins = tuple(lineage.direct.get(col, ()))
            path.append((f"{name}.{col}", origins))
            for origin in origins:
                step = tuple(origin.rsplit(".", 1))
                if step not in seen:
                    seen.add(step)  # type: ignore[arg-type]
                    following.append(step)
        frontier = following  # type: ignore[assignment]
    return tuple(path)


def _downstream_columns(lineages: Mapping[str, TableLineage], asset: str, column: str) -> tuple[str, ...]:
    fed: dict[str, list[str]] = {}
    for name, lineage in lineages.items():
        for col, origins in lineage.direct.items():
            for origin in origins:
                fed.setdefault(origin, []).append(f"{name}.{col}")
    found: dict[str, None] = {}
    frontier = [f"{asset}.{column}"]
    while frontier:
        following = []
        for current in frontier:
            for reader in fed.get(current, ()):
                if reader not in found and reader != f"{asset}.{column}":
                    found[reader] = None
                    following.append(reader)
        frontier = following
    return tuple(found)


def _why(lineages: Mapping[str, TableLineage], name: str) -> str:
    asset, _, column = name.rpartition(".")
    lineage = lineages.get(asset)
    if lineage is None:
        return "no lineage is known for it"
    return lineage.unknown.get(column) or lineage.problem or "its lineage is unknown"
