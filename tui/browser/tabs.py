"""The detail pane's tabs. Each draws one asset with :meth:`show`, from values the plain modules compute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer, VerticalScroll
from textual.geometry import Size
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from assets_core.lineage.view import ColumnTrace, trace_column
from tui.browser.columns import AssetColumns
from tui.browser.partition_model import overview_rows
from tui.browser.tab_model import (
    HISTORY_HEADERS,
    Overview,
    SchemaRow,
    code_of,
    history_rows,
    overview,
    schema_changes,
    text_table,
)
from tui.browser.tree_model import Badge

if TYPE_CHECKING:
    from tui.browser.app import BrowserApp

TABS = (("overview", "Overview"), ("schema", "Schema"), ("history", "History"), ("lineage", "Lineage"),
        ("columns", "Columns"), ("code", "Code"))


class AssetTab:
    """What every tab does: draw one asset (``None``: nothing selected)."""

    shown: tuple[str | None, int] | None = None  # (asset, generation of the statuses) last drawn

    @property
    def browser_app(self) -> BrowserApp:
        return cast("BrowserApp", self.app)  # type: ignore[attr-defined]

    def show(self, name: str | None) -> None:
        raise NotImplementedError

    @property
    def viewport(self) -> Size:
        """The size this tab draws in. A tab is drawn just before it is shown, while it is still hidden and
        has no size: it is about to take the size of the tab showing now (every tab has the same place),
        and drawing for that size spares a second layout, and a frame, once it shows."""
        own: Size = self.size  # type: ignore[attr-defined]
        if own.area:
            return own
        pane = self.parent  # type: ignore[attr-defined]
        switcher = pane.parent if pane is not None else None
        for sibling in switcher.children if switcher is not None else ():
            if sibling is not pane and sibling.display and sibling.children and sibling.children[0].size.area:
                return cast(Size, sibling.children[0].size)
        return own


def fit(static: Static, content: RenderableType, lines: int, viewport: Size, columns: int = 0) -> None:
    """Show ``content`` (about ``lines`` high and ``columns`` wide) in a Static inside a scrolling container.

    Content that fits the viewport fills a Static of the viewport's size, updated without a layout pass (which
    costs a whole extra frame); only content too big for the viewport sizes the Static to it, to scroll.
    """
    fits = lines <= viewport.height and columns <= viewport.width
    size = "1fr" if fits else "auto"
    if str(static.styles.height) != size:
        static.styles.height = size
        if columns:
            static.styles.width = size
    same = not columns and static.size.height == lines  # as tall as what it showed: no new layout either
    static.update(content, layout=not (fits or same))


class OverviewTab(VerticalScroll, AssetTab):
    HELP = "## Overview\n\nThe asset's definition, versions, last run, row counts and why it is not fresh."

    def compose(self) -> ComposeResult:
        yield Static(id="overview-body")

    def show(self, name: str | None) -> None:
        app = self.browser_app
        body = self.query_one("#overview-body", Static)
        if name is None:
            fit(body, "Select an asset in the tree.", 1, self.viewport)
            return
        item = app.graph[name]
        records = app.records(name)
        status = app.board.statuses.get(name)
        view = overview(item, status, app.browser.project.code_versions[name], records.history, records.failure,
                        app.zone, app.browser.project.root)
        width = max(self.viewport.width - 18, 10)  # what the values are wrapped to, beside the labels
        lines = 4 + sum(1 + len(text) // width for text in [*(v for _, v in view.fields), *view.reasons])
        states = app.partitions(name)
        rows = overview_rows(states, max(self.viewport.width - 20, 10)) if states is not None else []
        fit(body, render_overview(name, app.board.badge(name), view, app.board.loaded, rows), lines + len(rows),
            self.viewport)


def render_overview(name: str, shown: Badge, view: Overview, loaded: bool,
                    partitions: Sequence[tuple[str, Text]] = ()) -> RenderableType:
    """The Overview as a Rich renderable: a title, a partitioned asset's partitions, a grid of fields, the row
    counts and the reasons."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, text in partitions:
        grid.add_row(Text(label), text)
    for label, value in view.fields:
        grid.add_row(Text(label), Text(value))  # a description, an error: text, not markup
    if view.spark is not None:
        grid.add_row("row counts", Text.assemble((view.spark.bars, "cyan"), "  ", view.spark.summary()))
    if view.reasons:
        for index, reason in enumerate(view.reasons):
            grid.add_row("why" if index == 0 else "", Text(reason, style=shown.colour))
    elif loaded and shown.word in ("fresh", "source"):
        grid.add_row("why", Text("fresh: its code and its upstreams' data are those it was made from", "green"))
    title = Text.assemble((name, "bold"), "  ", shown.text())
    return Group(title, Text(""), grid)


class SchemaTab(VerticalScroll, AssetTab):
    HELP = "## Schema\n\nColumns and types of the latest materialization; marks show what changed since the one before."
    STYLES: ClassVar[dict[str, str]] = {"added": "green", "removed": "red", "changed": "yellow"}

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.rows: tuple[SchemaRow, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(id="schema-note")
        yield Static(id="schema-table")

    def show(self, name: str | None) -> None:
        note, table = self.query_one("#schema-note", Static), self.query_one("#schema-table", Static)
        self.rows, text = self._rows(name) if name is not None else ((), "")
        note.update(text, layout=False)
        fit(table, text_table(["column", "type", "change"], [
            [row.column, row.type, Text(row.describe(), style=self.STYLES.get(row.change, ""))]
            for row in self.rows]) if self.rows else "", len(self.rows) + 1, self.viewport - (0, 1))

    def _rows(self, name: str) -> tuple[tuple[SchemaRow, ...], str]:
        app = self.browser_app
        if app.graph[name].is_source:
            columns = app.browser.schemas().get(name)
            if not columns:
                return (), "its files are missing or not tables"
            return schema_changes([(c, "") for c in columns], None), "the columns of its files"
        history = app.records(name).history
        if not history or history[0].schema is None:
            return (), "no schema recorded: not materialized yet, or not a table"
        previous = history[1].schema if len(history) > 1 else None
        rows = schema_changes(history[0].schema, previous)
        changed = sum(1 for r in rows if r.change)
        since = f", {changed} changed since run {history[1].run_id}" if previous is not None else ""
        return rows, f"run {history[0].run_id}: {len(rows)} column(s){since}"


class HistoryTab(VerticalScroll, AssetTab):
    HELP = "## History\n\nThe latest materializations, newest first: run, time, duration, rows, data version."

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.rows: list[tuple[str, ...]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="history-note")
        yield Static(id="history-table")

    def show(self, name: str | None) -> None:
        app = self.browser_app
        note, table = self.query_one("#history-note", Static), self.query_one("#history-table", Static)
        records = app.records(name) if name is not None else None
        history = records.history if records is not None else ()
        self.rows = history_rows(history, app.zone)
        total = records.total if records is not None else 0
        note.update("" if name is None else f"the latest {len(history)} of {total:,} materializations"
                    if total > len(history) else f"{total} materialization(s)", layout=False)
        fit(table, text_table(HISTORY_HEADERS, self.rows) if self.rows else "", len(self.rows) + 1,
            self.viewport - (0, 1))


class LineageTab(Horizontal, AssetTab):
    HELP = """## Lineage

Upstream | asset | downstream. **tab** moves between the lists; **enter** goes to the asset under the cursor.
"""

    def compose(self) -> ComposeResult:
        yield OptionList(id="upstream-list")
        yield Static(id="lineage-center")
        yield OptionList(id="downstream-list")

    def on_mount(self) -> None:
        for side in ("upstream", "downstream"):
            self.query_one(f"#{side}-list", OptionList).border_title = side

    def show(self, name: str | None) -> None:
        app = self.browser_app
        center = self.query_one("#lineage-center", Static)
        for side in ("upstream", "downstream"):
            listing = self.query_one(f"#{side}-list", OptionList)
            names = () if name is None else getattr(app.graph, side)(name)
            listing.set_options(Option(_asset_prompt(app, n), id=n) for n in names)
            if names:
                listing.highlighted = 0
        center.update("" if name is None else Group(Text(name, style="bold"), app.board.badge(name).text(),
                                                     Text(app.graph[name].kind, style="dim")), layout=False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.screen.select_asset(event.option.id)  # type: ignore[attr-defined]


def _asset_prompt(app: BrowserApp, name: str) -> Text:
    shown = app.board.badge(name)
    return Text.assemble((shown.glyph, shown.colour), " ", name)


class ColumnsTab(Horizontal, AssetTab):
    _asset = ""  # the asset whose columns are listed
    HELP = ("## Columns\n\nAn asset's columns; the one under the cursor is traced up to its origins and down to "
            "what reads it.")

    def compose(self) -> ComposeResult:
        yield OptionList(id="column-list")
        with VerticalScroll(id="column-scroll"):
            yield Static(id="column-trace")

    def on_mount(self) -> None:
        self.query_one("#column-list", OptionList).border_title = "columns"

    def show(self, name: str | None) -> None:
        listing = self.query_one("#column-list", OptionList)
        listing.clear_options()
        trace = self.query_one("#column-trace", Static)
        if name is None:
            trace.update("")
            return
        trace.update("computing column lineage…")
        self.browser_app.column_facts(name, self._facts_ready)

    def _facts_ready(self, name: str, known: AssetColumns) -> None:
        listing = self.query_one("#column-list", OptionList)
        trace = self.query_one("#column-trace", Static)
        if known.problem:
            trace.update(Text(f"? columns unknown: {known.problem}", style="yellow"))
            return
        listing.set_options(Option(Text(c.column + (" ?" if c.unknown else "")), id=c.column) for c in known.columns)
        self._asset = name
        if known.columns:
            listing.highlighted = 0
        else:
            trace.update("no columns")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        app = self.browser_app
        if event.option.id is None or app.lineages is None:
            return
        found = trace_column(app.browser.column_graph(), (self._asset, event.option.id))
        self.query_one("#column-trace", Static).update(render_trace(found))


def render_trace(found: ColumnTrace) -> RenderableType:
    """Where a column comes from and what it feeds, as a grid."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("column", Text(found.column))  # column names are text, not markup
    grid.add_row("origins", Text(", ".join(found.origins) or "-", style="magenta"))
    for index, (column, origins) in enumerate(found.path):
        grid.add_row("path" if index == 0 else "", Text(f"{column} ← {', '.join(origins) or 'no column'}"))
    for column, why in found.unknown:
        grid.add_row(Text("? unknown", style="yellow"), Text(f"{column}: {why}", style="yellow"))
    if found.feeds:
        grid.add_row("feeds", Text(", ".join(found.feeds)))
    if found.readers:
        readers = ", ".join(found.readers)
        grid.add_row("read by", Text(f"{readers} (which of their columns: unknown, code not analysed)"))
    return grid


class CodeTab(ScrollableContainer, AssetTab):
    HELP = "## Code\n\nThe asset's function, SQL, or the files a source observes."

    def compose(self) -> ComposeResult:
        yield Static(id="code-body")

    def show(self, name: str | None) -> None:
        body = self.query_one("#code-body", Static)
        if name is None:
            fit(body, "", 0, self.viewport, 0)
            return
        code = code_of(self.browser_app.graph[name], self.browser_app.browser.project.root)
        syntax = Syntax(code.text, code.language, line_numbers=True, start_line=code.start_line, theme="ansi_dark",
                        background_color="default")
        lines = code.text.splitlines() or [""]
        digits = len(str(code.start_line + len(lines)))
        fit(body, Group(Text(code.where, style="dim"), syntax), len(lines) + 1, self.viewport,
            max(len(line) for line in lines) + digits + 4)


TAB_VIEWS: dict[str, type[Any]] = {"overview": OverviewTab, "schema": SchemaTab, "history": HistoryTab,
                                   "lineage": LineageTab, "columns": ColumnsTab, "code": CodeTab}
