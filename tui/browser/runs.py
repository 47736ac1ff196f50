"""The runs screen (with the latest backfills and how far each got), and the log of one run: filtered by level,
asset and text, following a run in progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, RichLog, Static

from assets_core.application.backfills import Progress
from assets_core.planning.state import BackfillRecord
from catalog import RunView
from catalog.browse import LOG_PAGE, LogLine
from tui.browser.logs import (
    BACKFILL_HEADERS,
    RUN_HEADERS,
    LogFilter,
    backfill_row,
    line_text,
    parse_filter,
    run_head,
    run_row,
)
from tui.browser.tab_model import literal

if TYPE_CHECKING:
    from tui.browser.app import BrowserApp

POLL_SECONDS = 0.5  # how often a run in progress is read again
SHOWN = 2_000  # log lines drawn at most (the latest that the filter keeps)


class BackfillTable(DataTable[str | Text], can_focus=False):
    """The latest backfills: read only, no cursor (the runs table keeps the focus and ``enter``)."""


class RunsScreen(Screen[None]):
    """Every recent run with its status, trigger, duration and counts; below them the latest backfills, if any,
    with what each has done, failed and left to do."""

    HELP = ("## Runs\n\nRecent runs, newest first. **enter** opens a run's log; **escape** goes back.\n\n"
            "Below them, the latest backfills (if any) and how far each got: done, failed, left.")
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("enter", "open", "Log", show=True)]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunView] = []
        self.backfills: list[tuple[BackfillRecord, Progress]] = []

    @property
    def browser_app(self) -> BrowserApp:
        return cast("BrowserApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("runs", id="runs-title")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="backfills-title")
        yield BackfillTable(id="backfills-table", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runs-table", DataTable).add_columns(*RUN_HEADERS)
        self.query_one(BackfillTable).add_columns(*BACKFILL_HEADERS)
        self.load()
        self.set_interval(POLL_SECONDS * 2, self._poll)

    def load(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        row = table.cursor_row
        self.runs = self.browser_app.browser.runs()
        table.clear()
        for run in self.runs:
            table.add_row(*literal(run_row(run, self.browser_app.zone)), key=run.run_id)
        self.query_one("#runs-title", Static).update(f"runs: the latest {len(self.runs)}" if self.runs else
                                                     "no runs yet: press m on an asset to run it")
        if self.runs:
            table.move_cursor(row=min(row, len(self.runs) - 1))
        table.focus()
        self._load_backfills()

    def _load_backfills(self) -> None:
        """The latest backfills, with their progress; nothing shows in a project that has none."""
        self.backfills = self.browser_app.browser.backfills()
        table = self.query_one(BackfillTable)
        table.clear()
        for record, progress in self.backfills:
            table.add_row(*literal(backfill_row(record, progress, self.browser_app.zone)), key=record.backfill_id)
        self.query_one("#backfills-title", Static).update(f"backfills: the latest {len(self.backfills)}")
        self.set_class(bool(self.backfills), "-backfills")  # shows them (see the CSS)

    def _poll(self) -> None:
        if any(run.status == "running" for run in self.runs):
            self.load()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "runs-table" and event.row_key.value:
            self.app.push_screen(LogScreen(event.row_key.value))

    def action_open(self) -> None:
        if self.runs:
            self.app.push_screen(LogScreen(self.runs[self.query_one("#runs-table", DataTable).cursor_row].run_id))


class LogScreen(Screen[None]):
    """The log of one run; a run in progress is followed as its lines are recorded."""

    HELP = """## Log

One run's events and log lines. **/** filters: `level:warning`, `asset:orders` and words to search for;
**l** cycles the level (all, warnings, errors), **a** keeps only the selected asset's lines, **f** follows.
"""
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Filter"),
        Binding("l", "level", "Level"),
        Binding("a", "asset", "Asset"),
        Binding("f", "follow", "Follow"),
    ]

    def __init__(self, run_id: str, asset: str | None = None):
        super().__init__()
        self.run_id = run_id
        self.filter = LogFilter(asset=asset)
        self.asset = asset  # what ``a`` filters by
        self.lines: list[LogLine] = []
        self.shown: list[LogLine] = []
        self.following = True
        self.run: RunView | None = None

    @property
    def browser_app(self) -> BrowserApp:
        return cast("BrowserApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(id="log-head")
        yield Input(id="log-filter", placeholder="level:warning  asset:NAME  words to search for")
        yield RichLog(id="log-body", wrap=True, max_lines=SHOWN)
        yield Footer()

    def on_mount(self) -> None:
        browser = self.browser_app.browser
        self.asset = self.asset or self.browser_app.main.current
        self.run = browser.find_run(self.run_id)
        self.run_id = self.run.run_id
        self._fetch()
        self.redraw()
        self.query_one("#log-filter", Input).display = bool(self.filter.words())
        self.query_one("#log-filter", Input).value = self.filter.words()
        self.query_one(RichLog).focus()
        self.set_interval(POLL_SECONDS, self.poll)

    def _fetch(self) -> list[LogLine]:
        browser = self.browser_app.browser
        found: list[LogLine] = []
        while True:
            page = browser.log(self.run_id, self.lines[-1].id if self.lines else 0)
            self.lines += page
            found += page
            if len(page) < LOG_PAGE:
                return found

    def poll(self) -> None:
        """Read what a run in progress recorded since the last poll, and show the lines the filter keeps."""
        if self.run is None or self.run.status != "running" or not self.following:
            return
        self.run = self.browser_app.browser.find_run(self.run_id)
        new = [line for line in self._fetch() if self.filter.keeps(line)]
        log = self.query_one(RichLog)
        for line in new:
            log.write(line_text(line, self.browser_app.zone, self.filter.text))
        self.shown += new
        self._head()

    def redraw(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        kept = [line for line in self.lines if self.filter.keeps(line)]
        self.shown = kept[-SHOWN:]
        for line in self.shown:
            log.write(line_text(line, self.browser_app.zone, self.filter.text))
        self._head()

    def _head(self) -> None:
        if self.run is not None:
            total = len([line for line in self.lines if self.filter.keeps(line)])
            head = run_head(self.run, self.browser_app.zone, total, len(self.lines))
            if self.filter.words():
                head.append(f"  filter: {self.filter.words()}", style="cyan")
            if self.run.status == "running":
                head.append("  following" if self.following else "  paused (f follows)", style="dim")
            self.query_one("#log-head", Static).update(head)

    def action_back(self) -> None:
        box = self.query_one("#log-filter", Input)
        if box.has_focus:
            self.query_one(RichLog).focus()
            return
        self.app.pop_screen()

    def action_search(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.display = True
        box.value = self.filter.words()
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_filter(parse_filter(event.value))
        self.query_one(RichLog).focus()

    def set_filter(self, chosen: LogFilter) -> None:
        self.filter = chosen
        box = self.query_one("#log-filter", Input)
        box.value = chosen.words()
        box.display = bool(chosen.words())
        self.redraw()

    def action_level(self) -> None:
        self.set_filter(self.filter.next_level())

    def action_asset(self) -> None:
        if self.filter.asset is not None:
            self.set_filter(LogFilter(self.filter.level, None, self.filter.text))
        elif self.asset is not None:
            self.set_filter(LogFilter(self.filter.level, self.asset, self.filter.text))
        else:
            self.app.notify("no asset to filter by: open a log from an asset (l in the tree)", severity="warning")

    def action_follow(self) -> None:
        self.following = not self.following
        self.query_one(RichLog).auto_scroll = self.following
        if self.following:
            self.poll()
            self.query_one(RichLog).scroll_end(animate=False)
        self._head()
