"""Lineage drawn with Graphviz: a view model of nodes, edges and clusters first, DOT text or an image after.

The command and the browser both draw a :class:`~assets_core.lineage.view.LineageView` through
:func:`draw_view`, the one conversion of a lineage to a drawing. The drawing is plain frozen dataclasses, so
what is drawn can be tested without Graphviz. Each asset is a box coloured by its status *and* labelled with
its status glyph and word; with columns it is a table with one row (and one port) per column, and edges join
columns. Groups are clusters; assets without a group stay outside. DOT text needs no program; SVG and PNG need
Graphviz's ``dot``.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets_core.errors import AssetsError
from assets_core.imports import late_import
from assets_core.lineage.columns import EdgeKind
from assets_core.lineage.view import LineageView
from assets_core.planning.graph import AssetGraph
from tui.formatting import DRAWING_FORMATS, STATUS_STYLE

FORMATS = DRAWING_FORMATS
DOT_TIMEOUT = 120.0  # seconds dot may take to draw an image; a dot that hangs must not hang the command
HEADER = "__asset"  # the port of a table's title row, for edges between assets rather than columns
FONT = "Helvetica"
# The colours of tui.formatting.STATUS_STYLE as Graphviz draws them: a line colour and a light fill.
PEN = {"green": "#2e7d32", "yellow": "#a67c00", "blue": "#1f5fbf", "red": "#c62828", "magenta": "#8e24aa",
       "cyan": "#00838f"}
FILL = {"green": "#e3f4e5", "yellow": "#fff4cc", "blue": "#e2ecfb", "red": "#fde4e4", "magenta": "#f5e6f8",
        "cyan": "#e0f4f5"}
INSTALL = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
           "or draw with --format dot, which needs no program")


class DrawingError(AssetsError):
    """A drawing cannot be rendered or written."""


@dataclass(frozen=True)
class Row:
    """One column of an asset drawn as a table; ``unknown`` says why its lineage is unknown (empty: known)."""

    column: str
    port: str
    unknown: str = ""


@dataclass(frozen=True)
class Node:
    """One asset: its name, its status as a glyph, a word and a colour, and (with columns) its rows."""

    name: str
    kind: str
    status: str  # the word shown: fresh, stale, missing, failed, source
    glyph: str
    colour: str  # a colour name of tui.formatting.STATUS_STYLE
    group: str | None = None  # its cluster; None: drawn outside any
    rows: tuple[Row, ...] | None = None  # None: drawn as a box, not a table
    note: str = ""  # why its columns are not known, drawn as the table's last row
    target: bool = False  # the asset or column asked about, drawn with a thicker line


@dataclass(frozen=True)
class Edge:
    """An edge from ``tail`` (upstream) to ``head``; ports name columns, or the title row (:data:`HEADER`).

    A dashed edge joins two assets drawn as tables where no column of one feeds a column of the other.
    """

    tail: str
    head: str
    tail_port: str = ""
    head_port: str = ""
    dashed: bool = False


@dataclass(frozen=True)
class Cluster:
    """The assets of one group."""

    name: str  # the Graphviz subgraph name, which must begin with "cluster"
    label: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Drawing:
    """Everything to draw, in order: nodes, edges between them, and the clusters that hold them."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...]

    @property
    def columns(self) -> bool:
        """Whether assets are drawn as tables of columns."""
        return any(node.rows is not None for node in self.nodes)


def node(name: str, kind: str, status: str, group: str | None = None,
         columns: Sequence[tuple[str, str]] | None = None, note: str = "", target: bool = False) -> Node:
    """An asset's node; ``columns`` are (column, why its lineage is unknown or "") pairs, each given a port.

    >>> n = node("orders", "sql", "fresh", columns=[("id", ""), ("total amount", "no idea")])
    >>> n.glyph, n.colour, [(r.port, r.unknown) for r in n.rows]
    ('✓', 'green', [('id', ''), ('total_amount', 'no idea')])
    """
    glyph, colour = STATUS_STYLE.get(status, ("?", ""))
    rows = None if columns is None else tuple(
        Row(column, port, why) for (column, why), port in zip(columns, _ports([c for c, _ in columns])))
    return Node(name, kind, status, glyph, colour, group, rows, note, target)


def _ports(columns: Sequence[str]) -> list[str]:
    """A distinct Graphviz port per column: its name with anything but letters, digits and _ replaced."""
    used = {HEADER}
    ports = []
    for column in columns:
        port = base = re.sub(r"\W", "_", column, flags=re.ASCII) or "_"
        suffix = 1
        while port in used:
            suffix += 1
            port = f"{base}_{suffix}"
        used.add(port)
        ports.append(port)
    return ports


def build_drawing(nodes: Sequence[Node], asset_edges: Iterable[tuple[str, str]],
                  column_edges: Iterable[tuple[str, str, str, str]] = ()) -> Drawing:
    """The drawing of ``nodes``: edges only between them, one cluster per group.

    ``asset_edges`` are (upstream, downstream) pairs; ``column_edges`` are (upstream asset, upstream column,
    asset, column). When nodes are tables, a pair of assets joined by no column edge gets an edge between their
    title rows, so no asset edge goes missing.
    """
    shown = {n.name: n for n in nodes}

    def port(asset: str, column: str | None = None) -> str:
        rows = shown[asset].rows
        if rows is None:
            return ""  # a box has no ports
        return next((row.port for row in rows if row.column == column), HEADER)

    edges = [Edge(up_asset, asset, port(up_asset, up_column), port(asset, column))
             for up_asset, up_column, asset, column in column_edges if up_asset in shown and asset in shown]
    joined = {(e.tail, e.head) for e in edges}
    edges += [Edge(up, down, port(up), port(down), dashed=bool(port(up) or port(down)))
              for up, down in asset_edges if up in shown and down in shown and (up, down) not in joined]
    groups: dict[str, list[str]] = {}
    for n in nodes:
        if n.group is not None:
            groups.setdefault(n.group, []).append(n.name)
    clusters = tuple(Cluster(f"cluster_{group}", group, tuple(members)) for group, members in sorted(groups.items()))
    return Drawing(tuple(nodes), tuple(dict.fromkeys(edges)), clusters)


def draw_view(view: LineageView, graph: AssetGraph, statuses: Mapping[str, str | None]) -> Drawing:
    """The drawing of a lineage view: each asset shown with its status (from ``statuses``; a missing one is
    pending), its group as a cluster (the default group is none), and its columns when the view has them."""
    nodes = []
    for name in view.assets:
        item = graph[name]
        rows: list[tuple[str, str]] | None = None
        note = ""
        if view.columns is not None:
            known = view.columns[name]
            rows = [(column, known.why(column)) for column in known.columns or ()]
            note = known.why("*") if known.columns is None else ""
        status = shown_status(item.kind, statuses.get(name))
        group = None if item.group == "default" else item.group
        nodes.append(node(name, item.kind, status, group, rows, note, target=name == view.target))
    return build_drawing(nodes, [(e.upstream, e.downstream) for e in view.edges_of(EdgeKind.READ)],
                         [(e.upstream, e.upstream_column, e.downstream, e.column)
                          for e in view.edges_of(EdgeKind.VALUE)])


def shown_status(kind: str, status: str | None) -> str:
    """The status word people see: a fresh source shows as a source, an unknown status as pending.

    >>> shown_status("source", "fresh"), shown_status("sql", "stale"), shown_status("sql", None)
    ('source', 'stale', 'pending')
    """
    if status is None:
        return "pending"
    return "source" if kind == "source" and status == "fresh" else status


def to_dot(drawing: Drawing) -> str:
    """The DOT source of a drawing (needs no Graphviz program).

    >>> print(to_dot(build_drawing([node("raw", "source", "source"), node("orders", "sql", "stale")],
    ...                            [("raw", "orders")])))  # doctest: +NORMALIZE_WHITESPACE
    digraph lineage {
        graph [fontname=Helvetica rankdir=LR]
        node [fontname=Helvetica fontsize=11]
        edge [arrowsize=0.7 color="#555555"]
        raw [label="raw\\n◆ source" color="#8e24aa" fillcolor="#f5e6f8" shape=box style="rounded,filled"
             tooltip="raw: source (source asset)"]
        orders [label="orders\\n~ stale" color="#a67c00" fillcolor="#fff4cc" shape=box style="rounded,filled"
                tooltip="orders: stale (sql asset)"]
        raw -> orders
    }
    """
    source: str = _digraph(drawing).source
    return source


def render(drawing: Drawing, image: str, timeout: float = DOT_TIMEOUT) -> bytes:
    """The drawing as ``dot`` text, or as an ``svg`` or ``png`` image drawn by Graphviz's ``dot`` program, which
    is given at most ``timeout`` seconds.

    Raises:
        DrawingError: the format (``image``) is unknown, or ``dot`` is not installed, fails or does not finish.
    """
    if image not in FORMATS:
        raise DrawingError(f"cannot draw as '{image}'; the formats are {', '.join(FORMATS)}")
    source: str = _digraph(drawing).source
    if image == "dot":
        return source.encode()
    program = shutil.which("dot")
    if program is None:
        raise DrawingError(f"drawing {image} needs Graphviz's 'dot' program, which is not on PATH; {INSTALL}")
    try:
        done = subprocess.run([program, f"-T{image}"], input=source.encode(), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise DrawingError(f"Graphviz's 'dot' did not finish drawing {image} in {timeout:g} s; draw fewer assets "
                           "(a TARGET with --upstream N / --downstream N, or without --columns), or write "
                           "--format dot") from error
    except OSError as error:
        raise DrawingError(f"Graphviz's 'dot' ({program}) cannot be run: {error.strerror or error}; "
                           f"{INSTALL}") from error
    if done.returncode != 0:
        text = done.stderr.decode(errors="replace").strip()
        raise DrawingError(f"Graphviz's 'dot' failed to draw {image}: {text or f'exit status {done.returncode}'}; "
                           "try --format dot to see the source it was given")
    return done.stdout


def write_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: into a temporary file beside it, then renamed over it.

    Raises:
        DrawingError: the file cannot be written (its folder is missing or not writable).
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:  # "x": never reuse a file, and the umask sets its permissions
            file.write(data)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise DrawingError(f"cannot write the drawing to {target}: {error.strerror or error}; "
                           "check that its folder exists and is writable") from error
    return target


def _digraph(drawing: Drawing) -> Any:
    with late_import():  # only when drawing: not needed to start the command
        import graphviz  # type: ignore[import-untyped]

    digraph = graphviz.Digraph("lineage", graph_attr={"rankdir": "LR", "fontname": FONT},
                               node_attr={"fontname": FONT, "fontsize": "11"},
                               edge_attr={"color": "#555555", "arrowsize": "0.7"})
    by_name = {n.name: n for n in drawing.nodes}
    clustered = {name for cluster in drawing.clusters for name in cluster.nodes}
    for cluster in drawing.clusters:
        with digraph.subgraph(name=cluster.name) as sub:
            sub.attr(label=cluster.label, style="rounded,dashed", color="#888888", fontname=FONT)
            for name in cluster.nodes:
                sub.node(name, **_node_attributes(by_name[name]))
    for n in drawing.nodes:
        if n.name not in clustered:
            digraph.node(n.name, **_node_attributes(n))
    for edge in drawing.edges:
        tail = f"{edge.tail}:{edge.tail_port}:e" if edge.tail_port else edge.tail
        head = f"{edge.head}:{edge.head_port}:w" if edge.head_port else edge.head
        digraph.edge(tail, head, **({"style": "dashed"} if edge.dashed else {}))
    return digraph


def _node_attributes(n: Node) -> dict[str, str]:
    pen, fill = PEN.get(n.colour, "#555555"), FILL.get(n.colour, "#ffffff")
    tooltip = f"{n.name}: {n.status} ({n.kind} asset)"
    if n.rows is None:
        return {"label": f"{n.name}\\n{n.glyph} {n.status}", "shape": "box", "style": "rounded,filled",
                "color": pen, "fillcolor": fill, "tooltip": tooltip, **({"penwidth": "3"} if n.target else {})}
    return {"label": _table(n, pen, fill), "shape": "plain", "tooltip": tooltip}


def _table(n: Node, pen: str, fill: str) -> str:
    """An HTML-like label: a title row with the status, then one row (one port) per column."""
    border = "3" if n.target else "1"
    lines = [f'<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="{pen}">',
             f'<TR><TD PORT="{HEADER}" BGCOLOR="{fill}"><B>{_text(n.name)}</B><BR/>'
             f'{_text(f"{n.glyph} {n.status}")}</TD></TR>']
    for row in n.rows or ():
        if row.unknown:
            lines.append(f'<TR><TD PORT="{row.port}" ALIGN="LEFT" TOOLTIP="{_text(row.unknown)}">'
                         f'<I>? {_text(row.column)}</I></TD></TR>')
        else:
            lines.append(f'<TR><TD PORT="{row.port}" ALIGN="LEFT">{_text(row.column)}</TD></TR>')
    if n.note:
        lines.append(f'<TR><TD ALIGN="LEFT" TOOLTIP="{_text(n.note)}"><I>? columns unknown</I></TD></TR>')
    lines.append("</TABLE>")
    return "<" + "".join(lines) + ">"


def _text(value: str) -> str:
    return html.escape(value, quote=True)

