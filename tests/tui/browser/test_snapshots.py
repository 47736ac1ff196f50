"""SVG snapshots of the browser at a fixed size, clock, theme and catalog (``--snapshot-update`` rewrites them).

The shop's recorded times, durations, run ids and data versions are fixed (see ``shop.py``) and the clock is
:data:`shop.NOW`, so every snapshot is the same on every machine with the same Textual.
"""

from __future__ import annotations

import pytest

from tests.tui.browser.conftest import SIZE, settle
from tui.browser.runs import LogScreen


def _settled(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize(("start", "keys"), [
    ("orders", ()),  # a fresh asset: versions, last run, row counts
    ("flaky", ()),  # a failed asset: the failure and why
    ("customers", ()),  # a stale asset: which upstream has new data
    ("orders", ("2",)),  # schema: a column added since the previous materialization
    ("orders", ("3",)),  # history
    ("revenue", ("4",)),  # lineage: upstream | asset | downstream
    ("order_totals", ("5",)),  # column lineage of a SQL asset
    ("revenue", ("6",)),  # code
    ("orders", ("M",)),  # the plan modal
    ("orders", ("r",)),  # the runs screen
    ("orders", ("question_mark",)),  # the keys of the focused pane
], ids=["overview-fresh", "overview-failed", "overview-stale", "schema", "history", "lineage", "columns", "code",
        "plan", "runs", "keys"])
def test_snapshot(snap_compare, make_app, start, keys):
    assert snap_compare(make_app(start), terminal_size=SIZE, run_before=_settled(*keys))


def test_snapshot_filtered_by_status(snap_compare, make_app):
    assert snap_compare(make_app("orders"), terminal_size=SIZE, run_before=_settled(),
                        press=["slash", *"status:stale", "enter"])


def test_snapshot_read_only(snap_compare, make_app):
    assert snap_compare(make_app("customers", read_only=True), terminal_size=SIZE, run_before=_settled())


def test_snapshot_log_of_one_asset(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.push_screen(LogScreen("run0001", asset="customers"))
        await settle(pilot)

    assert snap_compare(make_app("customers"), terminal_size=SIZE, run_before=run_before)
