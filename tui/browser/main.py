"""The browser's main screen: the asset tree beside the detail tabs, and every action on the selected asset."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static, TabbedContent, TabPane

from assets_core.errors import AssetsError, SelectionError
from assets_core.planning.plan import Plan
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.state import Event
from assets_core.running.runs import RunResult
from tui.browser.automation import AutomationScreen
from tui.browser.palette import AssetCommands
from tui.browser.partitions_tab import PartitionsTab
from tui.browser.plan import PlanScreen
from tui.browser.runs import LogScreen, RunsScreen
from tui.browser.tabs import TAB_VIEWS, TABS, AssetTab
from tui.browser.tree import AssetTree
from tui.browser.tree_model import AssetNode, RunProgress, filter_summary, group_assets, select, summary_label

if TYPE_CHECKING:
    from tui.browser.app import BrowserApp

EXPAND_UP_TO = 200  # a filter that keeps at most this many assets opens every group
PARTITIONS_KEY = str(len(TABS) + 1)  # the key of the Partitions tab, shown only for a partitioned asset


class MainScreen(Screen[None]):
    """The tree of assets and the tabs about the one under the cursor."""

    COMMANDS = {AssetCommands}
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("u", "upstream", "Upstream"),
        Binding("d", "downstream", "Downstream"),
        Binding("m", "materialize", "Materialize"),
        Binding("M", "materialize_downstream", "+downstream"),
        Binding("U", "materialize_upstream", "+upstream", show=False),
        Binding("r", "runs", "Runs"),
        Binding("A", "automation", "Automation", show=False),  # the footer is full: ? and ctrl+p show it
        Binding("l", "log", "Log"),
        Binding("g", "draw", "Draw"),
        *(Binding(str(i), f"tab('{tab}')", title, show=False) for i, (tab, title) in enumerate(TABS, 1)),
        Binding(PARTITIONS_KEY, "tab('partitions')", "Partitions", show=False),
    ]
    MUTATING = frozenset({"materialize", "materialize_downstream", "materialize_upstream"})  # what read-only removes

    def __init__(self, start: str | None = None):
        super().__init__()
        self.start = start
        self.current: str | None = None
        self.filter_text = ""
        self.filtered: frozenset[str] | None = None
        self.progress: RunProgress | None = None

    @property
    def browser_app(self) -> BrowserApp:
        return cast("BrowserApp", self.app)

    @property
    def asset_tree(self) -> AssetTree:
        return self.query_one(AssetTree)

    def compose(self) -> ComposeResult:
        app = self.browser_app
        with Horizontal(id="main"):
            with Vertical(id="side"):
                yield Input(id="filter", placeholder="orders+  group:x  tag:x  status:stale")
                yield Static(id="filter-summary")
                yield AssetTree(app.board, app.now, self.cursor_moved, id="tree")
            with TabbedContent(id="detail", initial="overview"):
                for index, (tab, title) in enumerate(TABS, 1):
                    with TabPane(f"{index} {title}", id=tab):
                        yield TAB_VIEWS[tab](id=f"{tab}-tab")
                with TabPane("Partitions", id="partitions"):  # no number: the tab bar has no room for it
                    yield PartitionsTab(id="partitions-tab")
        yield Static(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TabbedContent).hide_tab("partitions")
        self.query_one("#filter", Input).display = False
        self.query_one("#filter-summary", Static).display = False
        graph = self.browser_app.graph
        self.asset_tree.show_groups(group_assets(graph), expand=len(graph) <= EXPAND_UP_TO)
        self.asset_tree.focus()
        if self.start is None or not self.asset_tree.select_asset(self.start):
            self._cursor_to_first()
        self.update_status_line()
        self.call_after_refresh(self.load_statuses)  # the tree is drawn before the snapshot takes the GIL

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tab" and parameters == ("partitions",):
            return self.partitioned  # its key shows and works for a partitioned asset only
        return not (action in self.MUTATING and self.browser_app.browser.read_only)

    @property
    def partitioned(self) -> bool:
        """Whether the current asset has partitions."""
        return self.current is not None and self.browser_app.graph[self.current].partitions is not None

    # Statuses

    @work(thread=True, exclusive=True, group="statuses")
    def load_statuses(self) -> None:
        """Take a snapshot in a worker thread; the tree is usable meanwhile, its glyphs pending."""
        snapshot = self.browser_app.browser.take_snapshot()
        self.app.call_from_thread(self.statuses_loaded, snapshot)

    def statuses_loaded(self, snapshot: Snapshot) -> None:
        self.browser_app.load_snapshot(snapshot)
        self.asset_tree.refresh_statuses()
        if self.filter_text and "status:" in self.filter_text:
            self.apply_filter(self.filter_text)
        self.update_status_line()
        self.show_details()

    def update_status_line(self) -> None:
        line = self.query_one("#status-line", Static)
        app = self.browser_app
        if self.progress is not None:
            line.update(self.progress.text(), layout=False)
        elif not app.board.loaded:
            line.update(f"{len(app.graph)} assets · computing statuses…", layout=False)
        else:
            text = summary_label(app.board.counts(app.graph.names))
            if app.daemon is not None:
                text.append("  ").append_text(app.daemon)
            if app.browser.read_only:
                text.append("  read-only", style="bold")
            line.update(text, layout=False)

    # The selected asset and its details

    def cursor_moved(self, data: object) -> None:
        self.current = data.name if isinstance(data, AssetNode) else None
        self._offer_partitions()
        self.show_details()

    def _offer_partitions(self) -> None:
        """Show the Partitions tab for a partitioned asset only (leaving it for the Overview otherwise)."""
        tabs = self.query_one(TabbedContent)
        shown = not tabs.get_tab("partitions").has_class("-hidden")
        if self.partitioned and not shown:
            tabs.show_tab("partitions")
            self.refresh_bindings()
        elif not self.partitioned and shown:
            if tabs.active == "partitions":
                tabs.active = "overview"
            tabs.hide_tab("partitions")
            self.refresh_bindings()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.show_details()

    def show_details(self, pane: TabPane | None = None) -> None:
        """Draw the active tab (or ``pane``) for the current asset, unless it shows it already."""
        pane = pane or self.query_one(TabbedContent).active_pane
        if pane is None:
            return
        view = cast(AssetTab, pane.children[0])
        key = (self.current, self.browser_app.generation)
        if view.shown != key:
            view.shown = key
            view.show(self.current)

    def select_asset(self, name: str) -> None:
        """Move the tree's cursor to an asset, clearing a filter that hides it."""
        if self.filtered is not None and name not in self.filtered:
            self.clear_filter()
        self.asset_tree.select_asset(name)

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.get_tab(tab).has_class("-hidden"):
            return
        self.show_details(tabs.get_pane(tab))  # drawn before it shows: one layout, one frame
        tabs.active = tab
        if tab == "partitions":  # the ranges are there to pick one: the cursor goes to them
            self.query_one("#partition-ranges", OptionList).focus()

    def action_upstream(self) -> None:
        self._follow("upstream")

    def action_downstream(self) -> None:
        self._follow("downstream")

    def _follow(self, side: str) -> None:
        if self.current is None:
            self.app.notify("select an asset first", severity="warning")
            return
        names = getattr(self.browser_app.graph, side)(self.current)
        if not names:
            self.app.notify(f"'{self.current}' has no {side} asset")
        elif len(names) == 1:
            self.select_asset(names[0])
        else:
            self.action_tab("lineage")
            self.query_one(f"#{side}-list", OptionList).focus()

    # Filter

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.stop()
            self.apply_filter(event.value)

    def apply_filter(self, text: str) -> None:
        """Show only the assets a selection keeps (the command line's syntax, ``status:`` terms included)."""
        app = self.browser_app
        needs_statuses = any(word.strip("+").startswith("status:") for word in text.split())
        if needs_statuses and not app.board.loaded:
            app.notify("statuses are still being computed; filter again in a moment", severity="warning")
            return
        try:
            chosen = select(app.graph, text, app.board.statuses if app.board.loaded else None)
        except SelectionError as error:
            app.notify(str(error), title="filter", severity="error")
            return
        if chosen is None:
            self.clear_filter()
            return
        self.filter_text, self.filtered = text.strip(), chosen
        self.asset_tree.show_groups(group_assets(app.graph, chosen), expand=len(chosen) <= EXPAND_UP_TO)
        summary = self.query_one("#filter-summary", Static)
        summary.update(Text(filter_summary(self.filter_text, len(chosen), len(app.graph))))
        summary.display = True
        self.asset_tree.focus()
        if self.current not in chosen or not self.asset_tree.select_asset(self.current):
            self._cursor_to_first()

    def clear_filter(self) -> None:
        current = self.current
        self.filter_text, self.filtered = "", None
        box = self.query_one("#filter", Input)
        box.value, box.display = "", False
        self.query_one("#filter-summary", Static).display = False
        graph = self.browser_app.graph
        self.asset_tree.show_groups(group_assets(graph), expand=len(graph) <= EXPAND_UP_TO)
        self.asset_tree.focus()
        if current is None or not self.asset_tree.select_asset(current):
            self._cursor_to_first()

    def action_clear_filter(self) -> None:
        if self.filtered is not None or self.query_one("#filter", Input).display:
            self.clear_filter()

    def _cursor_to_first(self) -> None:
        names = self.asset_tree.shown_assets()
        if names and len(names) <= EXPAND_UP_TO:
            self.asset_tree.select_asset(names[0])
        elif self.asset_tree.root.children:
            self.asset_tree.move_cursor(self.asset_tree.root.children[0])

    # Rematerializing

    def action_materialize(self) -> None:
        self._rematerialize()

    def action_materialize_downstream(self) -> None:
        self._rematerialize(after="+")

    def action_materialize_upstream(self) -> None:
        self._rematerialize(before="+")

    def materialize_partitions(self, name: str, partition: str) -> None:
        """Rematerialize some partitions of an asset (``KEY`` or ``FIRST..LAST``), after showing the plan."""
        self._rematerialize(name=name, partition=partition)

    def _rematerialize(self, before: str = "", after: str = "", name: str | None = None,
                       partition: str | None = None) -> None:
        """Plan ``name`` (the current asset), with its upstream (``before`` '+') or downstream (``after`` '+')."""
        name = name or self.current
        if name is None:
            self.app.notify("select an asset first", severity="warning")
        elif self.progress is not None:
            self.app.notify("a run is under way; wait for it to end", severity="warning")
        else:
            self.prepare_plan(before + name + after, partition)

    @work(thread=True, exclusive=True, group="plan")
    def prepare_plan(self, selection: str, partition: str | None = None) -> None:
        try:
            plan, snapshot = self.browser_app.browser.plan(selection, partition)
        except AssetsError as error:
            hint = ("\nU rematerializes the asset with the upstream it needs"
                    if isinstance(error, SelectionError) and not selection.startswith("+") else "")
            self.app.call_from_thread(self.app.notify, str(error) + hint, title="cannot plan", severity="error")
            return
        self.app.call_from_thread(self.confirm_plan, selection, plan, snapshot, partition)

    def confirm_plan(self, selection: str, plan: Plan, snapshot: Snapshot, partition: str | None = None) -> None:
        name = selection.strip("+")
        self.statuses_loaded(snapshot)
        if not plan.steps:
            self.app.notify(f"nothing to run: '{name}' is a source asset, which is observed rather than run; "
                            "M runs what is downstream of it")
            return
        what = (f"{name} and everything downstream" if selection.endswith("+") else
                f"{name} and what it needs upstream" if selection.startswith("+") else name)
        title = f"Rematerialize {what}?" if partition is None else f"Rematerialize {what}, partitions {partition}?"

        def decided(run: bool | None) -> None:
            if run:
                self.progress = RunProgress(len(plan))
                self.update_status_line()
                self.run_plan(selection, plan, snapshot, partition)

        self.app.push_screen(PlanScreen(title, plan), decided)

    @work(thread=True, exclusive=True, group="run")
    def run_plan(self, selection: str, plan: Plan, snapshot: Snapshot, partition: str | None = None) -> None:
        """Run in this worker thread; each event is shown from the app's thread as it happens."""
        app, result = self.browser_app, None
        browser = app.browser

        def show(event: Event) -> None:
            if not browser.stop.requested:  # once stopped the app is closing: nothing more to show
                app.call_from_thread(self.on_run_event, event)

        try:
            result = browser.run(selection, plan, snapshot, show, partition)
        except AssetsError as error:
            app.call_from_thread(app.notify, str(error), title="the run failed", severity="error")
        if browser.stop.requested:
            return
        after = browser.take_snapshot()
        app.call_from_thread(self.run_ended, result, after)

    def on_run_event(self, event: Event) -> None:
        app = self.browser_app
        changed = app.board.apply(event)
        if self.progress is not None:
            self.progress.apply(event)
        if changed is not None:
            self.asset_tree.refresh_statuses([changed])
            if changed == self.current:
                app.forget_records()
                self.show_details()
        if event.kind == "failed" and event.asset:
            app.notify(f"✗ {event.asset} failed: {event.message}", title="failed", severity="error")
        self.update_status_line()

    def run_ended(self, result: RunResult | None, snapshot: Snapshot) -> None:
        self.progress = None
        self.statuses_loaded(snapshot)
        if result is not None and result.run_id is not None:
            self.app.notify(f"run {result.run_id} {result.status}: {len(result.materialized)} materialized, "
                            f"{len(result.skipped)} skipped, {len(result.failed)} failed",
                            severity="error" if result.failed else "information")

    # Other screens and the drawing

    def action_runs(self) -> None:
        self.app.push_screen(RunsScreen())

    def action_automation(self) -> None:
        self.app.push_screen(AutomationScreen())

    def action_log(self) -> None:
        if self.current is None:
            self.app.notify("select an asset first", severity="warning")
            return
        records = self.browser_app.records(self.current)
        moments = [(r.created_at, r.run_id) for r in records.history[:1]]
        if records.failure is not None:
            moments.append((records.failure.created_at, records.failure.run_id))
        if not moments:
            self.app.notify(f"'{self.current}' has not run yet", severity="warning")
            return
        self.app.push_screen(LogScreen(max(moments)[1], asset=self.current))

    def action_draw(self) -> None:
        self.draw(self.current)

    @work(thread=True, exclusive=True, group="draw")
    def draw(self, name: str | None) -> None:
        try:
            written = self.browser_app.browser.draw(name)
        except AssetsError as error:
            self.app.call_from_thread(self.app.notify, str(error), title="cannot draw", severity="error")
            return
        where = " (read-only: into a temporary folder, not the project's)" if self.browser_app.browser.read_only else ""
        self.app.call_from_thread(self.app.notify, "wrote " + ", ".join(str(p) for p in written) + where,
                                  title="lineage")
