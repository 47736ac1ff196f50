"""The plan modal: what a rematerialization would run, in order and why, before anything runs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from assets_core.planning.plan import Plan
from tui.browser.tab_model import PLAN_HEADERS, literal, plan_rows


class PlanScreen(ModalScreen[bool]):
    """Shows a plan; dismissed with True to run it, False to cancel."""

    HELP = "## Plan\n\nWhat would run, in order, and why. **enter** or **y** runs it, **escape** or **n** cancels."
    BINDINGS = [
        Binding("y", "decide(True)", "Run"),
        Binding("n,escape", "decide(False)", "Cancel"),
    ]
    DEFAULT_CSS = """
    PlanScreen { align: center middle; }
    #plan-box { width: 90%; max-width: 120; height: auto; max-height: 80%; border: thick $primary;
                background: $surface; padding: 0 1; }
    #plan-title { text-style: bold; margin-bottom: 1; }
    #plan-table { height: auto; max-height: 20; }
    #plan-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    #plan-buttons Button { margin-left: 2; }
    """

    def __init__(self, title: str, plan: Plan):
        super().__init__()
        self.title_text = title
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box"):
            yield Static(Text(self.title_text), id="plan-title")
            yield DataTable(id="plan-table", cursor_type="row")
            parts = sum(1 for name in self.plan.assets if name.endswith("]"))  # partitions: asset[key]
            planned = f"{len(self.plan)} planned, {parts} of them partitions" if parts else \
                f"{len(self.plan)} asset(s) planned"
            yield Static(f"{planned}; unchanged ones below are skipped.  "
                         "enter or y: run   escape or n: cancel",
                         id="plan-hint")
            with Horizontal(id="plan-buttons"):
                yield Button("Run", id="run", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*PLAN_HEADERS)
        table.add_rows(literal(row) for row in plan_rows(self.plan))
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "run")

    def action_decide(self, run: bool) -> None:
        self.dismiss(run)
