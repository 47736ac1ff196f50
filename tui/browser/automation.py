"""The Automation screen: every schedule, sensor and set of asset conditions with its state and its last and next
tick; below them the recent ticks of the highlighted one; a key pauses or unpauses it (not when read-only)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from assets_core.application.automation_status import AutomationEntry
from assets_core.automation.records import TickRecord
from assets_core.errors import AssetsError
from tui.browser.automation_model import (
    EMPTY,
    ENTRY_HEADERS,
    TICK_HEADERS,
    AutomationView,
    daemon_text,
    entry_line,
    entry_row,
    tick_row,
)
from tui.browser.tab_model import literal

if TYPE_CHECKING:
    from tui.browser.app import BrowserApp

POLL_SECONDS = 5.0  # how often the screen reads again what a daemon may have ticked meanwhile


class AutomationScreen(Screen[None]):
    """Schedules, sensors and conditions above, the ticks of the highlighted one below, the daemon in the status
    line. Everything is read in worker threads."""

    HELP = ("## Automation\n\nSchedules, sensors and the assets' conditions (`automation`): state, when they tick, "
            "their last and next tick. Below, the latest ticks of the highlighted one: what each requested and "
            "why. **p** pauses or unpauses it (not in read-only mode); **escape** goes back.")
    DEFAULT_CSS = """
    AutomationScreen #automation-title, AutomationScreen #ticks-title {
        height: auto; padding: 0 1; color: $text-muted;
    }
    AutomationScreen #ticks-title { margin-top: 1; }
    AutomationScreen #automation-table { height: auto; max-height: 50%; }
    AutomationScreen #ticks-table { height: 1fr; }
    AutomationScreen #automation-status { height: 1; padding: 0 1; background: $panel; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("p", "pause", "Pause/unpause")]

    def __init__(self) -> None:
        super().__init__()
        self.view: AutomationView | None = None
        self.selected: str | None = None  # the automation whose ticks show
        self.ticks: list[TickRecord] = []

    @property
    def browser_app(self) -> BrowserApp:
        return cast("BrowserApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("reading automation…", id="automation-title")
        yield DataTable(id="automation-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="ticks-title")
        yield DataTable(id="ticks-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="automation-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#automation-table", DataTable).add_columns(*ENTRY_HEADERS)
        self.query_one("#ticks-table", DataTable).add_columns(*TICK_HEADERS)
        self.query_one("#automation-table", DataTable).focus()
        self.reload()
        self.set_interval(POLL_SECONDS, self.reload)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "pause" and self.browser_app.browser.read_only)  # read-only: no key, no footer

    @property
    def entry(self) -> AutomationEntry | None:
        """The highlighted automation."""
        entries = self.view.entries if self.view is not None else ()
        return next((entry for entry in entries if entry.name == self.selected), None)

    # Reading, in worker threads

    def reload(self) -> None:
        """Read every automation, the daemon's lease and the highlighted one's ticks again."""
        self._read(self.selected, self.browser_app.now())

    @work(thread=True, exclusive=True, group="automation")
    def _read(self, selected: str | None, at: datetime) -> None:
        browser = self.browser_app.browser
        view = browser.automation(at)
        names = [entry.name for entry in view.entries]
        name = selected if selected in names else (names[0] if names else None)
        ticks = browser.ticks(name) if name is not None else []
        if not get_current_worker().is_cancelled:  # a newer read (after a pause, say) replaced this one
            self.app.call_from_thread(self._show, view, name, ticks)

    @work(thread=True, exclusive=True, group="ticks")
    def _read_ticks(self, name: str) -> None:
        ticks = self.browser_app.browser.ticks(name)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_ticks, name, ticks)

    # Drawing

    def _show(self, view: AutomationView, name: str | None, ticks: list[TickRecord]) -> None:
        self.view, self.selected = view, name
        table = self.query_one("#automation-table", DataTable)
        table.clear()
        for entry in view.entries:
            table.add_row(*literal(entry_row(entry, self.browser_app.zone)), key=entry.name)
        title = self.query_one("#automation-title", Static)
        count = len(view.entries)
        title.update(f"automation: {count} declared" if count else EMPTY)
        table.display = bool(count)
        if name is not None:
            table.move_cursor(row=table.get_row_index(name))
        self._show_ticks(name, ticks)
        self._status_line()

    def _show_ticks(self, name: str | None, ticks: list[TickRecord] | None) -> None:
        """Show the ticks of ``name`` (``None``: they are being read)."""
        if name != self.selected:
            return  # the cursor moved on meanwhile: its own ticks are on their way
        if ticks is not None:
            self.ticks = ticks
            table = self.query_one("#ticks-table", DataTable)
            table.clear()
            for tick in ticks:
                table.add_row(*literal(tick_row(tick, self.browser_app.zone)), key=tick.tick_id)
            table.display = bool(ticks)
        entry = self.entry
        title = self.query_one("#ticks-title", Static)
        title.display = entry is not None
        if entry is not None:
            if ticks is None:
                latest = "reading its ticks…"
            elif ticks:
                latest = f"its latest {len(ticks)} tick(s), newest first"
            else:
                latest = "no ticks yet: 'assets daemon' evaluates it at every interval"
            title.update(Text.assemble((entry_line(entry), "bold"), "\n", latest))

    def _status_line(self) -> None:
        text = daemon_text(self.view.daemon if self.view is not None else None)
        if self.browser_app.browser.read_only:
            text.append("  read-only", style="bold")
        self.query_one("#automation-status", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        table = event.data_table
        if table.id != "automation-table" or event.cursor_row != table.cursor_row:
            return  # a tick, or a highlight the table has moved past since
        name = event.row_key.value
        if name is not None and name != self.selected:
            self.selected = name
            self._show_ticks(name, None)
            self._read_ticks(name)

    # Pausing

    def action_pause(self) -> None:
        entry = self.entry
        if entry is None:
            self.app.notify("nothing to pause: no schedule, sensor or condition is declared", severity="warning")
            return
        self._set_paused(entry.name, not entry.paused)

    @work(thread=True, exclusive=True, group="pause")
    def _set_paused(self, name: str, paused: bool) -> None:
        try:
            self.browser_app.browser.set_paused(name, paused)
        except (AssetsError, PermissionError) as error:
            self.app.call_from_thread(self.app.notify, str(error), title="automation", severity="error")
            return
        self.app.call_from_thread(self.app.notify, f"{name} {'paused' if paused else 'unpaused'}",
                                  title="automation")
        self.app.call_from_thread(self.reload)
