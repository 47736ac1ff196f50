"""The Partitions tab of a partitioned asset: the ranges of partitions each status holds, and ``m`` to run one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.browser.partition_model import CELLS, UNKNOWN_CELL, KeyRange, key_ranges
from tui.browser.tabs import AssetTab

RANGES_SHOWN = 200  # ranges listed per status; a scattered status says how many more it has


def partitions(count: int) -> str:
    """>>> partitions(1), partitions(1234)
    ('1 partition', '1,234 partitions')
    """
    return f"{count:,} partition{'' if count == 1 else 's'}"


def range_options(ranges: tuple[KeyRange, ...]) -> list[Option]:
    """The list's options: a heading per status (its partitions and ranges), then each of its ranges, whose
    id is its index in ``ranges``."""
    width = max((len(r.spec) for r in ranges), default=0)
    by_status: dict[str, list[int]] = {}
    for index, found in enumerate(ranges):
        by_status.setdefault(found.status, []).append(index)
    options = []
    for status, indexes in by_status.items():
        mark, colour = CELLS.get(status, UNKNOWN_CELL)
        total = sum(ranges[i].count for i in indexes)
        spans = f"{len(indexes)} range{'' if len(indexes) == 1 else 's'}"
        options.append(Option(Text(f"{mark} {status}: {partitions(total)} in {spans}", style=colour),
                              disabled=True))
        for index in indexes[:RANGES_SHOWN]:
            found = ranges[index]
            options.append(Option(Text.assemble("  ", (found.spec.ljust(width), colour), "  ",
                                                (partitions(found.count), "dim")), id=str(index)))
        if len(indexes) > RANGES_SHOWN:
            options.append(Option(Text(f"  … {len(indexes) - RANGES_SHOWN:,} more", style="dim"), disabled=True))
    return options


class PartitionsTab(Vertical, AssetTab):
    """The ranges of a partitioned asset's partitions, by status; shown only for a partitioned asset."""

    HELP = ("## Partitions\n\nThe ranges of consecutive partitions that share a status, the most urgent status "
            "first. **m** rematerializes the range under the cursor, after showing the plan.")
    BINDINGS = [Binding("m", "materialize_range", "Materialize range")]

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.asset: str | None = None
        self.ranges: tuple[KeyRange, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(id="partitions-note")
        yield OptionList(id="partition-ranges")

    def show(self, name: str | None) -> None:
        app = self.browser_app
        states = app.partitions(name) if name is not None else None
        note = self.query_one("#partitions-note", Static)
        listing = self.query_one("#partition-ranges", OptionList)
        self.asset, self.ranges = name, key_ranges(states) if states is not None else ()
        listing.set_options(range_options(self.ranges))
        if self.ranges:
            listing.highlighted = 1  # the first range, under its status's heading
        if states is None:
            note.update("computing statuses…" if name is not None and not app.board.loaded else "", layout=False)
            return
        hint = "" if app.browser.read_only else "  m: rematerialize the range under the cursor"
        note.update(Text.assemble(states.summary.line(), (hint, "dim")), layout=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "materialize_range" and self.browser_app.browser.read_only)

    def action_materialize_range(self) -> None:
        option = self.query_one("#partition-ranges", OptionList).highlighted_option
        if self.asset is None or option is None or option.id is None:
            self.app.notify("move the cursor to a range first", severity="warning")
            return
        self.browser_app.main.materialize_partitions(self.asset, self.ranges[int(option.id)].spec)
