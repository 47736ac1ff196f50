"""The Textual app of ``assets tui``: the project, the statuses on show, and the app-wide keys and commands."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from functools import partial

from rich.text import Text
from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import HelpPanel

from assets_core.application.workspace import Workspace
from assets_core.automation.records import DaemonLease
from assets_core.errors import SelectionError, did_you_mean
from assets_core.planning.snapshot import Snapshot
from tui.browser.automation_model import daemon_text
from tui.browser.collector import TICK_SECONDS, IdleCollector
from tui.browser.columns import AssetColumns, asset_columns
from tui.browser.main import PARTITIONS_KEY, MainScreen
from tui.browser.partition_model import PartitionStates
from tui.browser.session import AssetRecords, Browser, asset_statuses, materialized_at
from tui.browser.tabs import TABS
from tui.browser.tree_model import Now, StatusBoard
from tui.cli.interrupt import EXIT_INTERRUPTED

CSS = """
#main { height: 1fr; }
#side { width: 38%; min-width: 30; max-width: 72; border-right: vkey $foreground 20%; }
#filter-summary { height: 1; padding: 0 1; color: $text-muted; }
#tree { height: 1fr; }
#detail { width: 1fr; }
#detail TabPane { padding: 0 1; }
#history-tab, #schema-tab, #overview-tab, #code-tab { scrollbar-gutter: stable; }
#status-line { height: 1; padding: 0 1; background: $panel; }
#schema-note, #history-note, #runs-title, #backfills-title, #partitions-note { height: 1; color: $text-muted; }
#backfills-title, #backfills-table { display: none; }  /* shown only when the project has backfills */
RunsScreen.-backfills #backfills-title, RunsScreen.-backfills #backfills-table { display: block; }
RunsScreen.-backfills #runs-table { height: 1fr; }  /* the backfills below it stay on screen */
#backfills-table { height: auto; max-height: 8; }
#partition-ranges { height: 1fr; border: none; }
#lineage-tab OptionList { width: 1fr; min-width: 10; height: auto; max-height: 100%;
                          border: round $foreground 30%; }  /* at no width, drawing a list raised */
#lineage-center { width: 28; height: 1fr; padding: 1 2; }
#column-list { width: 32; height: auto; max-height: 100%; border: round $foreground 30%; }
#column-scroll { padding: 0 1; }
#log-head { height: auto; padding: 0 1; background: $panel; }
"""

# (title, help, action of the main screen, its argument) of every palette command the main screen offers
ACTIONS = (
    ("Filter assets", "Show only the assets a selection keeps: orders+, group:x, tag:x, status:stale (/)",
     "filter", None),
    ("Clear the filter", "Show every asset again (escape)", "clear_filter", None),
    ("Rematerialize the asset", "Run the selected asset, even when fresh, after showing the plan (m)",
     "materialize", None),
    ("Rematerialize the asset and its downstream", "Run it and everything downstream of it (M)",
     "materialize_downstream", None),
    ("Rematerialize the asset and its upstream", "Run it and whatever upstream of it is not fresh (U)",
     "materialize_upstream", None),
    ("Go upstream", "Move to the asset's upstream asset (u)", "upstream", None),
    ("Go downstream", "Move to the asset's downstream asset (d)", "downstream", None),
    ("Runs", "Recent runs and their logs (r)", "runs", None),
    ("Automation", "Schedules, sensors and asset conditions, their ticks; pause or unpause them (A)",
     "automation", None),
    ("Log of the asset's last run", "The log of the run that last materialized or failed the asset (l)",
     "log", None),
    ("Draw the lineage", "Write the asset's lineage as DOT (and SVG with Graphviz) in the project folder (g)",
     "draw", None),
    *((f"Tab: {title}", f"Show the {title} tab ({i})", "tab", tab) for i, (tab, title) in enumerate(TABS, 1)),
)


DAEMON_SECONDS = 5.0  # how often the main screen's status line reads again whether a daemon is running


def local_now() -> datetime:
    """The time now in the local time zone (the clock of the browser outside tests)."""
    return datetime.now().astimezone()


class BrowserApp(App[None]):
    """Browse a project's assets, lineage, history and runs; rematerialize from it unless read-only."""

    TITLE = "assets"
    CSS = CSS
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("question_mark", "keys", "Keys")]

    def __init__(self, browser: Browser, start: str | None = None, now: Now | None = None,
                 theme: str = "textual-dark"):
        super().__init__()
        self.browser = browser
        self.graph = browser.project.graph
        self.board = StatusBoard(self.graph)
        self.now: Now = now or local_now
        self.generation = 0  # counts changes of what the tabs show, so that each redraws once per change
        self.lineages = browser.lineages_if_known()
        self._records: dict[str, AssetRecords] = {}
        self._partitions: dict[str, PartitionStates | None] = {}
        self.main = MainScreen(start)
        self.theme = theme
        self.collector = IdleCollector()
        self.daemon: Text | None = None  # whether a daemon runs, known for a project that declares automation

    def on_mount(self) -> None:
        self.collector.start()
        self.set_interval(TICK_SECONDS, self.collector.tick)
        if self.browser.has_automation():
            self.watch_daemon()
            self.set_interval(DAEMON_SECONDS, self.watch_daemon)

    @work(thread=True, exclusive=True, group="daemon")
    def watch_daemon(self) -> None:
        """Read whether a daemon is running, for the main screen's status line."""
        lease = self.browser.daemon(self.now())
        self.call_from_thread(self._daemon_seen, lease)

    def _daemon_seen(self, lease: DaemonLease | None) -> None:
        shown = daemon_text(lease, hint=False)
        if self.daemon is None or shown.plain != self.daemon.plain:
            self.daemon = shown
            self.main.update_status_line()

    def on_unmount(self) -> None:
        self.collector.stop()
        self.browser.interrupt()  # a run under way stops showing itself here; run_browser waits for its end

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.collector.touched()
        await super().on_event(event)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A toast whose message is text by default, not markup: the messages name assets, errors and what was
        typed, and a stray '[/]' in one made the toast raise and the browser crash."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def get_default_screen(self) -> Screen[None]:
        return self.main

    @property
    def zone(self) -> tzinfo | None:
        """The time zone times are shown in (the clock's)."""
        return self.now().tzinfo

    def load_snapshot(self, snapshot: Snapshot) -> None:
        """Show a new snapshot's statuses and forget what was read for the old one."""
        first = not self.board.loaded
        self.board.load(asset_statuses(snapshot), materialized_at(snapshot))
        self.lineages = self.browser.lineages_if_known()
        self.forget_records()
        if first:
            # The project, its graph and the first statuses live as long as the app: left to the cyclic
            # collector, a big project's objects make each full collection a visible pause (0.15 s at 10,000
            # assets) in the middle of moving the cursor. Frozen, they are skipped (and still freed when dropped).
            gc.freeze()

    def forget_records(self) -> None:
        self._records.clear()
        self._partitions.clear()
        self.generation += 1

    def records(self, name: str) -> AssetRecords:
        """An asset's history and latest failure, read once per change of statuses."""
        found = self._records.get(name)
        if found is None:
            found = self._records[name] = self.browser.records(name)
        return found

    def partitions(self, name: str) -> PartitionStates | None:
        """The status of each partition of a partitioned asset (``None`` for an unpartitioned one, or while
        statuses are being computed), read once per change of statuses."""
        if name not in self._partitions:
            self._partitions[name] = self.browser.partitions(name)
        return self._partitions[name]

    def column_facts(self, name: str, ready: Callable[[str, AssetColumns], None]) -> None:
        """Call ``ready`` with what is known of an asset's columns; column lineage is computed (once) in a
        worker thread."""
        if self.lineages is None:
            self._compute_lineages(name, ready)
            return
        ready(name, asset_columns(self.graph[name], self.lineages.get(name), self.browser.schemas().get(name)))

    @work(thread=True, exclusive=True, group="lineage")
    def _compute_lineages(self, name: str, ready: Callable[[str, AssetColumns], None]) -> None:
        lineages = self.browser.lineages()
        self.browser.schemas()
        self.call_from_thread(self._lineages_ready, lineages, name, ready)

    def _lineages_ready(self, lineages: dict[str, object], name: str,
                        ready: Callable[[str, AssetColumns], None]) -> None:
        self.lineages = lineages  # type: ignore[assignment]
        if self.main.current == name:
            self.column_facts(name, ready)

    def action_keys(self) -> None:
        """Show (or hide) the keys of the focused pane."""
        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is not self.main:
            return
        for title, help_text, action, argument in ACTIONS:
            if self.main.check_action(action, ()):
                method = getattr(self.main, f"action_{action}")
                yield SystemCommand(title, help_text, partial(method, argument) if argument else method)
        if self.main.partitioned:
            yield SystemCommand("Tab: Partitions", f"The ranges of each status of the asset's partitions "
                                f"({PARTITIONS_KEY})", partial(self.main.action_tab, "partitions"))


STOP_WAIT = 15.0  # seconds quitting waits for a run under way to record what finished and end


def run_browser(workspace: Workspace, start: str | None = None, read_only: bool = False) -> int:
    """Open the browser on a loaded project (on asset ``start``, if given) until the user quits."""
    graph = workspace.project.graph
    if start is not None and start not in graph:
        raise SelectionError(f"'{start}' is not an asset{did_you_mean(start, graph.names)}")
    browser = Browser(workspace, read_only)
    BrowserApp(browser, start).run()
    if browser.interrupt(wait=STOP_WAIT):  # quit during a run: it records what finished and ends interrupted
        print("the run under way was interrupted: what finished is recorded; 'assets materialize --resume' "
              "finishes it", file=sys.stderr)
        return EXIT_INTERRUPTED  # and the command exits at once, leaving assets that would not stop
    return 0
