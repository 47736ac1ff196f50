"""``assets lineage [TARGET]``: the upstream and downstream of an asset, or where a column's values come from.

Prints text or JSON, or draws with Graphviz (:mod:`tui.drawing`). Column lineage comes from
``Project.lineage`` with the catalog as its cache: stored lineages whose SQL and upstream columns are unchanged
are reused, and the catalog is written only when something changed. Where lineage is unknown (a Python asset's
code, SQL that cannot be placed) the answer says so and why; it is never an empty list.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.markup import escape

from assets_core.declaring.definitions import Asset
from assets_core.errors import SelectionError, did_you_mean
from assets_core.planning.graph import AssetGraph
from assets_core.imports import late_import
from assets_core.application.project import Snapshot
from tui import drawing
from tui.cli.arguments import whole_number
from tui.drawing import DrawingError
from tui.formatting import Cell, asset_status_cell, table
from assets_core.application.workspace import Options, Workspace, open_workspace

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

HELP = "show an asset's upstream and downstream, or where a column comes from; draw it with Graphviz"
SUFFIXES = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
Node = tuple[str, str]  # (asset, column)
T = TypeVar("T", bound=Hashable)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``assets lineage`` (the common ones come from the parent parser)."""
    parser.add_argument("target", nargs="?", metavar="TARGET",
                        help="an asset, or asset.column to trace (default: every asset)")
    parser.add_argument("--columns", action="store_true", help="add column lineage: where each column comes from")
    parser.add_argument("--upstream", type=whole_number(0), metavar="N", help="at most N levels upstream (default: all)")
    parser.add_argument("--downstream", type=whole_number(0), metavar="N", help="at most N levels downstream (default: all)")
    parser.add_argument("--format", choices=drawing.FORMATS,
                        help="draw with Graphviz: dot text (printed without -o), or svg or png (need -o and dot)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the drawing to FILE (its format from --format, else from the suffix)")


@dataclass(frozen=True)
class AssetColumns:
    """What is known of one asset's columns: where each comes from, or why that is unknown."""

    columns: tuple[str, ...] | None  # in order; None: not known
    direct: Mapping[str, tuple[str, ...]]  # column -> its "asset.column" upstreams (a source's columns: none)
    unknown: Mapping[str, str]  # column, or "*" for every column -> why its lineage is unknown

    def why(self, column: str) -> str:
        """Why the column's lineage is unknown, or "" when it is known."""
        if column in self.direct:
            return ""
        return self.unknown.get(column) or self.unknown.get("*") or "it is not among the asset's columns"

    def only(self, keep: Iterable[str]) -> AssetColumns:
        """The same facts for the columns in ``keep`` only.

        >>> AssetColumns(("a", "b"), {"a": ("up.x",)}, {"b": "why"}).only(["b"])
        AssetColumns(columns=('b',), direct={}, unknown={'b': 'why'})
        """
        wanted = set(keep)
        ordered = [c for c in self.columns or () if c in wanted]
        ordered += sorted(wanted.difference(ordered))
        return AssetColumns(tuple(ordered), {c: self.direct[c] for c in ordered if c in self.direct},
                            {c: self.why(c) for c in ordered if c not in self.direct})


@dataclass(frozen=True)
class ColumnTrace:
    """Where a column comes from, followed all the way (whatever depth the path is shown to)."""

    column: str  # "asset.column"
    origins: tuple[str, ...]  # source columns its values come from
    unknown: Mapping[str, str]  # "asset.column" on the way whose lineage is unknown -> why


@dataclass(frozen=True)
class LineageView:
    """The part of the graph one ``assets lineage`` shows."""

    assets: tuple[str, ...]  # in dependency order
    distance: Mapping[str, int]  # levels from the target: negative upstream (empty without a target)
    asset_edges: tuple[tuple[str, str], ...]  # (upstream, downstream) between the assets shown
    target: str | None = None  # the asset asked about, or the asset of the column asked about
    columns: Mapping[str, AssetColumns] | None = None  # with --columns or a column target
    column_edges: tuple[tuple[str, str, str, str], ...] = ()  # (upstream asset, its column, asset, column)
    nodes: Mapping[Node, int] | None = None  # a column target's path: each column's distance from it
    trace: ColumnTrace | None = None


def lineage(args: argparse.Namespace, options: Options, console: Console) -> int:
    """Run ``assets lineage``."""
    drawn_as = _output_format(args)
    if args.target is None and (args.upstream is not None or args.downstream is not None):
        raise SelectionError("--upstream and --downstream count levels from a TARGET; name an asset or "
                             "asset.column, e.g. 'assets lineage orders --upstream 1'")
    workspace = open_workspace(options)
    snapshot = workspace.project.snapshot()
    view = build_view(workspace, snapshot, args)
    if drawn_as is not None:
        data = drawing.render(_drawing(view, workspace.project.graph, snapshot), drawn_as)
        if args.output:
            drawing.write_file(args.output, data)
        else:
            print(data.decode(), end="")
    if args.json:
        indent = 2 if sys.stdout.isatty() else None  # as every command: compact for a program
        print(json.dumps(view_json(view, workspace.project.graph, snapshot), indent=indent))
    elif args.output:
        console.print(f"wrote the {drawn_as} drawing of {len(view.assets)} asset(s) to {escape(args.output)}")
    elif drawn_as is None:
        _print_view(console, view, workspace.project.graph, snapshot)
    return 0


def column_lineage(workspace: Workspace, snapshot: Snapshot | None = None,
                   schemas: Mapping[str, tuple[str, ...] | None] | None = None) -> dict[str, TableLineage]:
    """The column lineage of every SQL asset, with the catalog as cache (stored again only when changed)."""
    cached = workspace.catalog.load_column_lineage()
    lineages = workspace.project.lineage(snapshot, cached, schemas)
    workspace.catalog.save_column_lineage(lineages)
    return lineages


def refresh_column_lineage(workspace: Workspace) -> None:
    """Store the column lineage of the project's SQL assets after a run; a project without any pays nothing."""
    if any(item.kind == "sql" for item in workspace.project.graph):
        column_lineage(workspace)


def column_facts(workspace: Workspace, snapshot: Snapshot) -> dict[str, AssetColumns]:
    """What is known of the columns of every asset."""
    schemas = workspace.project.schemas(snapshot)
    lineages = column_lineage(workspace, snapshot, schemas)
    return {item.name: _asset_columns(item, lineages.get(item.name), schemas.get(item.name))
            for item in workspace.project.graph}


def _asset_columns(item: Asset, lineage: TableLineage | None, schema: Iterable[str] | None) -> AssetColumns:
    if item.kind == "sql":
        if lineage is None or lineage.columns is None:
            why = (lineage.problem if lineage is not None else "") or "its SQL could not be analysed"
            return AssetColumns(None, {}, {"*": why})
        return AssetColumns(lineage.columns, dict(lineage.direct), dict(lineage.unknown))
    if item.is_source:
        if schema is None:
            return AssetColumns(None, {}, {"*": "its files are missing or not CSV or Parquet, so its columns "
                                                "are not known"})
        return AssetColumns(tuple(schema), {column: () for column in schema}, {})
    why = f"a {item.kind} asset: its code is not analysed for column lineage"
    if schema is None:
        return AssetColumns(None, {}, {"*": f"{why}, and its columns are not known until it is materialized"})
    return AssetColumns(tuple(schema), {}, {column: why for column in schema})


def build_view(workspace: Workspace, snapshot: Snapshot, args: argparse.Namespace) -> LineageView:
    """What to show for the command's TARGET and options."""
    graph = workspace.project.graph
    target: str | None = args.target
    facts = None
    if args.columns or (target is not None and target not in graph):
        facts = column_facts(workspace, snapshot)
    if target is None:
        return _with_columns(LineageView(tuple(graph.order()), {}, _edges_among(graph, graph.names)), facts)
    if target in graph:
        up = _levels(target, graph.upstream, args.upstream)
        down = _levels(target, graph.downstream, args.downstream)
        distance = {target: 0, **{name: -level for name, level in up.items()}, **down}
        view = LineageView(_ordered(graph, distance), distance, _edges_among(graph, distance), target)
        return _with_columns(view, facts)
    assert facts is not None
    asset, column = resolve_column(target, graph, facts)
    return column_view(graph, facts, (asset, column), args.upstream, args.downstream)


def resolve_column(target: str, graph: AssetGraph, facts: Mapping[str, AssetColumns]) -> Node:
    """``asset.column`` split into its asset and column, or a SelectionError suggesting what was meant."""
    with late_import():  # loaded already: the facts were computed with it
        from assets_core.lineage.sql import parse_column

    found = parse_column(target, graph.names)
    if found is None:
        known = [*graph.names, *(f"{name}.{c}" for name, f in facts.items() for c in f.columns or ())]
        raise SelectionError(f"'{target}' is neither an asset nor an asset's column (see 'assets list', and "
                             f"'assets lineage ASSET --columns'){did_you_mean(target, known)}")
    asset, column = found
    columns = facts[asset].columns
    if columns is not None and column not in columns:
        hint = did_you_mean(column, columns) or f"; its columns are {', '.join(columns)}"
        raise SelectionError(f"asset '{asset}' has no column '{column}'{hint}")
    return asset, column


def column_view(graph: AssetGraph, facts: Mapping[str, AssetColumns], start: Node, up_depth: int | None,
                down_depth: int | None) -> LineageView:
    """A column's path: the columns it comes from and those it feeds, and the non-SQL assets that read it."""
    feeds: dict[Node, list[Node]] = {}
    for name, known in facts.items():
        for column, origins in known.direct.items():
            for origin in origins:
                feeds.setdefault(_split(origin), []).append((name, column))
    up = _levels(start, _upstream_of(facts), up_depth)
    down = _levels(start, lambda node: feeds.get(node, ()), down_depth)
    nodes = {start: 0, **{node: -level for node, level in up.items()}, **down}
    distance: dict[str, int] = {}
    for (name, _), level in sorted(nodes.items(), key=lambda item: abs(item[1])):
        distance.setdefault(name, level)
    columns = {name: facts[name].only(c for a, c in nodes if a == name) for name in distance}
    on_path = set(distance)
    readers: dict[tuple[str, str], None] = {}  # (asset, reader) edges, in order
    for (name, _), level in nodes.items():  # a Python asset reading a column reads its whole table
        if level >= 0 and (down_depth is None or level < down_depth):
            for reader in graph.downstream(name):
                if graph[reader].kind != "sql" and reader not in on_path:
                    readers[(name, reader)] = None
                    distance.setdefault(reader, level + 1)
                    columns.setdefault(reader, AssetColumns(None, {}, {"*": (
                        f"a {graph[reader].kind} asset that reads '{name}': which of its columns come from "
                        "it is unknown (its code is not analysed)")}))
    edges = tuple((*_split(origin), name, column) for (name, column) in nodes
                  for origin in facts[name].direct.get(column, ()) if _split(origin) in nodes)
    return LineageView(_ordered(graph, distance), distance, tuple(readers), start[0], columns, edges, nodes,
                       trace_column(graph, facts, start))


def trace_column(graph: AssetGraph, facts: Mapping[str, AssetColumns], start: Node) -> ColumnTrace:
    """Follow a column all the way up: the source columns it comes from, and where its lineage is unknown."""
    reached = [start, *_levels(start, _upstream_of(facts), None)]
    origins, unknown = [], {}
    for name, column in reached:
        why = facts[name].why(column)
        if why:
            unknown[f"{name}.{column}"] = why
        elif graph[name].is_source:
            origins.append(f"{name}.{column}")
    return ColumnTrace(f"{start[0]}.{start[1]}", tuple(sorted(origins)), dict(sorted(unknown.items())))


def _upstream_of(facts: Mapping[str, AssetColumns]) -> Callable[[Node], list[Node]]:
    """The columns a column's value comes from (every origin is an asset: the graph was checked)."""
    return lambda node: [_split(origin) for origin in facts[node[0]].direct.get(node[1], ())]


def _with_columns(view: LineageView, facts: Mapping[str, AssetColumns] | None) -> LineageView:
    if facts is None:
        return view
    shown = set(view.assets)
    edges = tuple((*_split(origin), name, column) for name in view.assets
                  for column, origins in facts[name].direct.items() for origin in origins
                  if _split(origin)[0] in shown)
    return LineageView(view.assets, view.distance, view.asset_edges, view.target,
                       {name: facts[name] for name in view.assets}, edges)


def _edges_among(graph: AssetGraph, names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    shown = set(names)
    return tuple((up, name) for name in graph.order() if name in shown for up in graph.upstream(name) if up in shown)


def _levels(start: T, neighbours: Callable[[T], Iterable[T]], depth: int | None) -> dict[T, int]:
    """Every node reachable from ``start`` (not itself) at most ``depth`` steps away, with its distance.

    >>> _levels("c", {"c": ["b"], "b": ["a"], "a": []}.__getitem__, 1)
    {'b': 1}
    """
    found: dict[T, int] = {}
    frontier, level = [start], 0
    while frontier and (depth is None or level < depth):
        level += 1
        following = []
        for node in frontier:
            for neighbour in neighbours(node):
                if neighbour != start and neighbour not in found:
                    found[neighbour] = level
                    following.append(neighbour)
        frontier = following
    return found


def _ordered(graph: AssetGraph, chosen: Iterable[str]) -> tuple[str, ...]:
    wanted = set(chosen)
    return tuple(name for name in graph.order() if name in wanted)


def _split(origin: str) -> Node:
    asset, _, column = origin.rpartition(".")
    return asset, column


def _shown_status(kind: str, status: str) -> str:
    """The status word people see (as :func:`tui.formatting.asset_status_cell` shows it)."""
    return "source" if kind == "source" and status == "fresh" else status


# Output


def view_json(view: LineageView, graph: AssetGraph, snapshot: Snapshot) -> dict[str, Any]:
    """The view as JSON: ``{"assets": {name: {"upstream": [...], "columns": {column: [...]}}}}`` and more."""
    assets: dict[str, Any] = {}
    for name in view.assets:
        entry: dict[str, Any] = {"kind": graph[name].kind, "group": graph[name].group,
                                 "status": snapshot.statuses[name].status, "upstream": list(graph.upstream(name))}
        if view.target is not None:
            entry["distance"] = view.distance[name]
        if view.columns is not None:
            known = view.columns[name]
            entry["columns"] = {column: list(origins) for column, origins in known.direct.items()}
            if known.unknown:
                entry["unknown"] = dict(known.unknown)
        assets[name] = entry
    result: dict[str, Any] = {"assets": assets}
    if view.trace is not None:
        result.update(column=view.trace.column, origins=list(view.trace.origins),
                      unknown=[{"column": c, "why": why} for c, why in view.trace.unknown.items()])
    elif view.target is not None:
        by_level = sorted(view.assets, key=lambda name: abs(view.distance[name]))
        result.update(asset=view.target, upstream=[n for n in by_level if view.distance[n] < 0],
                      downstream=[n for n in by_level if view.distance[n] > 0])
    return result


def _print_view(console: Console, view: LineageView, graph: AssetGraph, snapshot: Snapshot) -> None:
    if view.trace is not None and view.nodes is not None and view.columns is not None:
        _print_trace(console, view.trace, view.nodes, view.columns, graph)
        return
    headers = ["asset", *(["where"] if view.target else []), "status", "kind", "upstream"]
    rows: list[list[str | Cell]] = []
    for name in view.assets:
        where = [_where(view.distance[name])] if view.target else []
        status = asset_status_cell(graph[name].kind, snapshot.statuses[name].status)
        rows.append([name, *where, status, graph[name].kind, ", ".join(graph.upstream(name)) or "-"])
    for line in table(headers, rows):
        console.print(line)
    for name, known in (view.columns or {}).items():
        console.print(f"\n[bold]{escape(name)}[/]")
        if known.columns is None:
            console.print(f"  [yellow]? columns unknown[/]: {escape(known.why('*'))}")
            continue
        column_rows: list[list[str | Cell]] = [[c, _comes_from(known, c, graph[name])] for c in known.columns]
        for line in table(["column", "comes from"], column_rows):
            console.print("  " + line)


def _print_trace(console: Console, trace: ColumnTrace, nodes: Mapping[Node, int],
                 columns: Mapping[str, AssetColumns], graph: AssetGraph) -> None:
    console.print(f"[bold]{escape(trace.column)}[/]")
    console.print(f"  origins  {escape(', '.join(trace.origins)) or '-'}")
    for column, why in trace.unknown.items():
        console.print(f"  [yellow]? unknown[/] {escape(column)}: {escape(why)}")
    for title, upstream_side in (("path", True), ("downstream", False)):
        chosen = sorted((n for n in nodes if (nodes[n] <= 0) == upstream_side), key=lambda n: (abs(nodes[n]), n))
        if not chosen:
            continue
        console.print(f"[bold]{title}[/]")
        rows: list[list[str | Cell]] = [[f"{a}.{c}", _comes_from(columns[a], c, graph[a])] for a, c in chosen]
        for line in table(["column", "comes from"], rows):
            console.print("  " + line)
    readers = [name for name, known in columns.items() if known.columns is None and name not in {a for a, _ in nodes}]
    for name in readers:
        console.print(f"  [yellow]? {escape(name)}[/]: {escape(columns[name].why('*'))}")


def _comes_from(known: AssetColumns, column: str, item: Asset) -> Cell:
    why = known.why(column)
    if why:
        return Cell(f"? unknown: {why}", "yellow")
    if known.direct[column]:
        return Cell("← " + ", ".join(known.direct[column]))
    if item.is_source:
        return Cell("◆ origin: a column of a source", "magenta")
    return Cell("no column (a constant, or a count of rows)", "dim")


def _where(distance: int) -> str:
    """Where an asset is, seen from the target.

    >>> _where(-2), _where(0), _where(1)
    ('upstream 2', 'target', 'downstream 1')
    """
    if distance == 0:
        return "target"
    return f"{'upstream' if distance < 0 else 'downstream'} {abs(distance)}"


# Drawing


def _drawing(view: LineageView, graph: AssetGraph, snapshot: Snapshot) -> drawing.Drawing:
    nodes = []
    for name in view.assets:
        item = graph[name]
        rows: list[tuple[str, str]] | None = None
        note = ""
        if view.columns is not None:
            known = view.columns[name]
            rows = [(column, known.why(column)) for column in known.columns or ()]
            note = known.why("*") if known.columns is None else ""
        status = _shown_status(item.kind, snapshot.statuses[name].status)
        group = None if item.group == "default" else item.group
        nodes.append(drawing.node(name, item.kind, status, group, rows, note, target=name == view.target))
    return drawing.build_drawing(nodes, view.asset_edges, view.column_edges)


def _output_format(args: argparse.Namespace) -> str | None:
    """The drawing asked for (None: text or JSON); bad combinations are refused before anything is loaded."""
    drawn_as: str | None = args.format
    if drawn_as is None and args.output:
        drawn_as = SUFFIXES.get(Path(args.output).suffix.lower())
        if drawn_as is None:
            raise DrawingError(f"cannot tell which drawing to write to {args.output} from its suffix; "
                               "pass --format dot, svg or png")
    if drawn_as in ("svg", "png") and not args.output:
        raise DrawingError(f"--format {drawn_as} draws an image: pass -o FILE to write it "
                           "(only --format dot prints to the terminal)")
    if drawn_as == "dot" and not args.output and args.json:
        raise DrawingError("--json and --format dot would both print to the terminal; "
                           "pass -o FILE to write the drawing")
    return drawn_as
