"""``assets lineage [TARGET]``: the upstream and downstream of an asset, or where a column's values come from.

Prints text or JSON, or draws with Graphviz (:mod:`tui.drawing`), the view that
:mod:`assets_core.lineage.view` builds from the column graph; or writes it as OpenLineage events
(:mod:`assets_core.application.openlineage`). Column lineage comes from
:func:`assets_core.application.usecases.column_lineage`, with the catalog as its cache. Where lineage is unknown
(a Python asset's code, SQL that cannot be placed) the answer says so and why; it is never an empty list.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assets_core.application import usecases
from assets_core.application.workspace import Options, Workspace, open_workspace
from assets_core.declaring.definitions import Asset
from assets_core.errors import SelectionError
from assets_core.imports import LazyModule
from assets_core.planning.graph import AssetGraph
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.summary import asset_status
from tui.cli.arguments import whole_number
from tui.cli.json_text import print_json
from tui.formatting import DRAWING_FORMATS, Cell, asset_status_cell, escape, table

if TYPE_CHECKING:
    from rich.console import Console

    from assets_core.application import openlineage
    from assets_core.lineage import columns as lineage_columns
    from assets_core.lineage import view as views
    from assets_core.lineage.columns import AssetColumns, Column, ColumnGraph
    from assets_core.lineage.view import ColumnTrace, LineageView
    from tui import drawing
else:  # imported by `assets lineage`, not by every command's parser
    openlineage = LazyModule("assets_core.application.openlineage")
    lineage_columns = LazyModule("assets_core.lineage.columns")
    views = LazyModule("assets_core.lineage.view")
    drawing = LazyModule("tui.drawing")

HELP = "show an asset's upstream and downstream, or where a column comes from; draw it with Graphviz"
SUFFIXES = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
OPENLINEAGE = "openlineage"  # not a drawing: one OpenLineage event per asset, a JSON object per line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``assets lineage`` (the common ones come from the parent parser)."""
    parser.add_argument("target", nargs="?", metavar="TARGET",
                        help="an asset, or asset.column to trace (default: every asset)")
    parser.add_argument("--columns", action="store_true", help="add column lineage: where each column comes from")
    parser.add_argument("--upstream", type=whole_number(0), metavar="N",
                        help="at most N levels upstream (default: all)")
    parser.add_argument("--downstream", type=whole_number(0), metavar="N",
                        help="at most N levels downstream (default: all)")
    parser.add_argument("--format", choices=(*DRAWING_FORMATS, OPENLINEAGE),
                        help="draw with Graphviz: dot text (printed without -o), or svg or png (need -o and dot); "
                             "or openlineage: an OpenLineage event per asset, one JSON object per line")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the drawing or the events to FILE (the format from --format, else the suffix)")


def lineage(args: argparse.Namespace, options: Options, console: Console) -> int:
    """Run ``assets lineage``."""
    if args.output is not None and not args.output.strip():  # '-o ""' would print, as if -o were left out
        raise drawing.DrawingError("-o names no file; pass -o FILE (e.g. -o lineage.svg), or leave out -o to print")
    if args.format == OPENLINEAGE:
        return _write_openlineage(args, options, console)
    drawn_as = _output_format(args)
    if args.target is None and (args.upstream is not None or args.downstream is not None):
        raise SelectionError("--upstream and --downstream count levels from a TARGET; name an asset or "
                             "asset.column, e.g. 'assets lineage orders --upstream 1'")
    workspace = open_workspace(options)
    snapshot = workspace.project.snapshot()
    view = build_view(workspace, snapshot, args)
    if drawn_as is not None:
        statuses = {name: status.status for name, status in snapshot.statuses.items()}
        data = drawing.render(drawing.draw_view(view, workspace.project.graph, statuses), drawn_as)
        if args.output:
            drawing.write_file(args.output, data)
        else:
            print(data.decode(), end="")
    if args.json:
        print_json(view_json(view, workspace.project.graph, snapshot))
    elif args.output:
        console.print(f"wrote the {drawn_as} drawing of {len(view.assets)} asset(s) to {escape(args.output)}")
    elif drawn_as is None:
        _print_view(console, view, workspace.project.graph, snapshot)
    return 0


def _write_openlineage(args: argparse.Namespace, options: Options, console: Console) -> int:
    """``--format openlineage``: the events of every asset the view shows (every asset without TARGET)."""
    if args.json:
        raise drawing.DrawingError("--format openlineage writes JSON lines already; leave out --json")
    workspace = open_workspace(options)
    snapshot = workspace.project.snapshot()
    assets = build_view(workspace, snapshot, args).assets if args.target is not None else None
    lines, count = openlineage.openlineage_lines(workspace, snapshot, assets)
    if args.output:
        drawing.write_file(args.output, lines.encode())
        console.print(f"wrote {count} OpenLineage event(s) to {escape(args.output)}")
    else:
        print(lines, end="")
    return 0


def column_graph(workspace: Workspace, snapshot: Snapshot) -> ColumnGraph:
    """The column graph of the project: its SQL assets' lineage (the catalog as cache) and the others' schemas."""
    schemas = workspace.project.schemas(snapshot)
    lineages = usecases.column_lineage(workspace, snapshot, schemas)
    return lineage_columns.ColumnGraph.build(workspace.project.graph, lineages, schemas)


def build_view(workspace: Workspace, snapshot: Snapshot, args: argparse.Namespace) -> LineageView:
    """What to show for the command's TARGET and options."""
    graph = workspace.project.graph
    target: str | None = args.target
    columns = None
    if args.columns or (target is not None and target not in graph):
        columns = column_graph(workspace, snapshot)
    if target is None or target in graph:
        return views.asset_view(graph, target, args.upstream, args.downstream, columns)
    assert columns is not None
    return views.column_view(columns, columns.resolve(target), args.upstream, args.downstream)


# Output


def view_json(view: LineageView, graph: AssetGraph, snapshot: Snapshot) -> dict[str, Any]:
    """The view as JSON: ``{"assets": {name: {"upstream": [...], "columns": {column: [...]}}}}`` and more."""
    assets: dict[str, Any] = {}
    for name in view.assets:
        entry: dict[str, Any] = {"kind": graph[name].kind, "group": graph[name].group,
                                 "status": asset_status(snapshot, name).status, "upstream": list(graph.upstream(name))}
        if view.target is not None:
            entry["distance"] = view.distance[name]
        if view.columns is not None:
            known = view.columns[name]
            entry["columns"] = {column: list(origins) for column, origins in known.direct.items()}
            if known.how:
                entry["how"] = {column: dict(found) for column, found in known.how.items()}
            if known.used:
                entry["used"] = list(known.used)  # upstream columns only filtered, joined, grouped or sorted on
            if known.unknown:
                entry["unknown"] = dict(known.unknown)
        assets[name] = entry
    result: dict[str, Any] = {"assets": assets}
    if view.trace is not None:
        result.update(column=view.trace.column, origins=list(view.trace.origins),
                      unknown=[{"column": c, "why": why} for c, why in view.trace.unknown])
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
        status = asset_status_cell(graph[name].kind, asset_status(snapshot, name).status)
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


def _print_trace(console: Console, trace: ColumnTrace, nodes: Mapping[Column, int],
                 columns: Mapping[str, AssetColumns], graph: AssetGraph) -> None:
    console.print(f"[bold]{escape(trace.column)}[/]")
    console.print(f"  origins  {escape(', '.join(trace.origins)) or '-'}")
    for column, why in trace.unknown:
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
        how = known.how.get(column, {})
        return Cell("← " + ", ".join(f"{origin} ({how[origin]})" if origin in how else origin
                                     for origin in known.direct[column]))
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


def _output_format(args: argparse.Namespace) -> str | None:
    """The drawing asked for (None: text or JSON); bad combinations are refused before anything is loaded."""
    drawn_as: str | None = args.format
    if drawn_as is None and args.output:
        drawn_as = SUFFIXES.get(Path(args.output).suffix.lower())
        if drawn_as is None:
            raise drawing.DrawingError(f"cannot tell which drawing to write to {args.output} from its suffix; "
                               "pass --format dot, svg or png")
    if drawn_as in ("svg", "png") and not args.output:
        raise drawing.DrawingError(f"--format {drawn_as} draws an image: pass -o FILE to write it "
                           "(only --format dot prints to the terminal)")
    if drawn_as == "dot" and not args.output and args.json:
        raise drawing.DrawingError("--json and --format dot would both print to the terminal; "
                           "pass -o FILE to write the drawing")
    return drawn_as
