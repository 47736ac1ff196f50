"""A partitioned asset in the browser: the strip of its partitions, the Partitions tab, and ``m`` on a range."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from textual.widgets import OptionList, TabbedContent

from assets_core.application import usecases
from assets_core.application.workspace import Options, Workspace, open_workspace
from assets_core.planning.plan import FAILED, FRESH, MISSING, STALE, Status
from assets_core.planning.summary import PartitionSummary
from tests.tui.browser.conftest import drive, settle
from tests.tui.browser.test_app import text_of, tree_lines
from tui.browser.app import BrowserApp
from tui.browser.partition_model import PartitionStates, buckets, key_ranges, strip, strip_scale
from tui.browser.partitions_tab import PartitionsTab
from tui.browser.plan import PlanScreen
from tui.browser.session import Browser

# The bucketing

def test_each_partition_has_its_own_cell_when_they_fit():
    statuses = ["fresh", "stale", "missing", "failed"]
    assert buckets(statuses, 4) == statuses and buckets(statuses, 80) == statuses


def test_a_bucket_shows_its_most_urgent_status():
    statuses = ["fresh"] * 4 + ["missing", "fresh", "stale", "fresh"] + ["missing", "failed", "stale", "fresh"]
    assert buckets(statuses, 3) == ["fresh", "stale", "failed"]
    assert buckets(["fresh", "missing"] * 3, 2) == ["missing", "missing"]


def test_one_partition_out_of_many_still_shows_wherever_it_is():
    for where in (0, 1, 49_999, 99_998, 99_999):
        statuses = ["fresh"] * 100_000
        statuses[where] = "failed"
        cells = buckets(statuses, 7)
        assert len(cells) == 7 and cells.count("failed") == 1
        assert cells.index("failed") == where * 7 // 100_000  # the bucket that holds it, buckets in key order


def test_buckets_differ_in_size_by_at_most_one():
    # 10 partitions in 4 cells: sizes 2, 3, 2, 3; a failed partition marks exactly the cell it falls in
    sizes = []
    for where in range(10):
        statuses = ["fresh"] * 10
        statuses[where] = "failed"
        sizes.append(buckets(statuses, 4).index("failed"))
    assert sizes == [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]


def test_a_hundred_thousand_partitions_bucket_quickly():
    statuses = [FRESH, STALE, FRESH, MISSING, FRESH] * 20_000
    began = time.perf_counter()
    cells = buckets(statuses, 120)
    took = time.perf_counter() - began
    assert cells == [STALE] * 120 and took < 0.1, took


def test_the_strip_marks_each_status_in_its_colour_and_says_when_compressed():
    text = strip(["fresh", "stale", "missing", "failed"], 10)
    assert text.plain == "█▓░✗"
    assert [str(span.style) for span in text.spans] == ["green", "yellow", "dim", "red"]
    assert strip(["fresh"] * 1000, 50).plain == "█" * 50
    assert strip_scale(1000, 50).startswith("1 cell ≈ 20 partitions") and strip_scale(50, 50) == ""


def test_ranges_come_most_urgent_first_with_their_counts():
    summary = PartitionSummary("e", FAILED, 6, {FRESH: 3, MISSING: 2, FAILED: 1},
                               {FRESH: (("a", "b"), ("f", "f")), MISSING: (("c", "d"),), FAILED: (("e", "e"),)})
    ranges = key_ranges(PartitionStates(summary, tuple("abcdef"), ()))
    assert [(r.status, r.spec, r.count) for r in ranges] == [
        ("failed", "e", 1), ("missing", "c..d", 2), ("fresh", "a..b", 2), ("fresh", "f", 1)]


# The browser on a partitioned project

DEFS = '''
from pathlib import Path

from assets_core import DailyPartitions, StaticPartitions, asset

FAIL = Path(__file__).parent / "fail.txt"


@asset(partitions=DailyPartitions("2026-01-01", end="2026-01-11"))
def events(context) -> dict:
    """One day of events; fails for the days fail.txt names."""
    if FAIL.exists() and context.partition in FAIL.read_text().split():
        raise RuntimeError(f"no events for {context.partition}")
    return {"day": context.partition}


@asset(partitions=StaticPartitions([f"r{n:03d}" for n in range(500)]))
def regions(context) -> dict:
    return {"region": context.partition}


@asset
def plain() -> int:
    return 1
'''

DAYS = [f"2026-01-{day:02d}" for day in range(1, 11)]


def open_project(root: Path) -> Workspace:
    return open_workspace(Options(project=str(root)))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Ten days of events: 03..05 fresh, 08 failed, the others missing; 500 regions, all missing."""
    root = tmp_path / "parts"
    root.mkdir()
    (root / "defs.py").write_text(textwrap.dedent(DEFS))
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    monkeypatch.chdir(root)
    workspace = open_project(root)
    try:
        assert usecases.materialize(workspace, ["events"], partition="2026-01-03..2026-01-05").status == "success"
        (root / "fail.txt").write_text("2026-01-08")
        usecases.materialize(workspace, ["events"], partition="2026-01-08")
    finally:
        workspace.catalog.close()
    return root


@pytest.fixture
def make_app(project: Path):
    opened = []

    def make(start: str | None = None, read_only: bool = False) -> BrowserApp:
        workspace = open_project(project)
        opened.append(workspace)
        app = BrowserApp(Browser(workspace, read_only), start)
        app.animation_level = "none"
        return app

    yield make
    for workspace in opened:
        workspace.catalog.close()


def day_statuses(root: Path) -> dict[str, str]:
    """The status of each day of events, read through the application layer."""
    workspace = open_project(root)
    try:
        found = usecases.statuses(workspace, ["events"], partition="2026-01-01..2026-01-10")
    finally:
        workspace.catalog.close()
    assert all(isinstance(status, Status) for status in found)
    return {status.asset.removeprefix("events[").rstrip("]"): str(status.status) for status in found}


BEFORE = {**dict.fromkeys(DAYS, "missing"), **dict.fromkeys(DAYS[2:5], "fresh"), DAYS[7]: "failed"}


def test_the_project_starts_as_the_tests_expect(project):
    assert day_statuses(project) == BEFORE


def test_the_overview_shows_a_strip_of_the_partitions_and_the_tree_their_summary(make_app):
    app = make_app("events")

    async def scenario(pilot):
        overview = text_of(app, "#overview-body")
        assert "events  ✗ failed" in overview
        assert "partitions    3 fresh · 6 missing · 1 failed of 10" in overview
        assert "░░███░░✗░░" in overview and "1 cell ≈" not in overview  # ten cells fit: one per day
        assert tree_lines(app)["events"].startswith("✗ events")  # the most urgent status of its partitions
        assert tree_lines(app)["plain"] == "○ plain"
        app.main.select_asset("regions")
        await settle(pilot)
        regions = text_of(app, "#overview-body")
        assert "500 missing of 500" in regions and "1 cell ≈" in regions  # 500 partitions, fewer cells

    drive(app, scenario)


def test_the_partitions_tab_lists_each_status_with_its_ranges(make_app):
    app = make_app("events")

    async def scenario(pilot):
        await pilot.press("7")
        await settle(pilot)
        tabs = app.main.query_one(TabbedContent)
        assert tabs.active == "partitions"
        tab = app.main.query_one(PartitionsTab)
        assert [(r.status, r.spec, r.count) for r in tab.ranges] == [
            ("failed", "2026-01-08", 1), ("missing", "2026-01-01..2026-01-02", 2),
            ("missing", "2026-01-06..2026-01-07", 2), ("missing", "2026-01-09..2026-01-10", 2),
            ("fresh", "2026-01-03..2026-01-05", 3)]
        listing = app.main.query_one("#partition-ranges", OptionList)
        shown = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert shown[0] == "✗ failed: 1 partition in 1 range"
        assert shown[2] == "░ missing: 6 partitions in 3 ranges"
        assert shown[4].split() == ["2026-01-06..2026-01-07", "2", "partitions"]
        assert app.focused is listing and listing.highlighted == 1  # the cursor on the first range

    drive(app, scenario)


def test_m_on_a_range_materializes_exactly_that_range(make_app, project):
    app = make_app("events")

    async def scenario(pilot):
        await pilot.press("7", "down", "down")  # past the failed day and the first missing range
        await settle(pilot)
        listing = app.main.query_one("#partition-ranges", OptionList)
        assert str(listing.highlighted_option.prompt).split()[0] == "2026-01-06..2026-01-07"
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, PlanScreen)
        assert [step.asset for step in app.screen.plan.steps] == ["events[2026-01-06]", "events[2026-01-07]"]
        assert "2026-01-06..2026-01-07" in app.screen.title_text
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is app.main
        after = [(r.status, r.spec) for r in app.main.query_one(PartitionsTab).ranges]
        assert ("fresh", "2026-01-03..2026-01-07") in after  # the tab shows the new statuses

    drive(app, scenario)
    assert day_statuses(project) == {**BEFORE, "2026-01-06": "fresh", "2026-01-07": "fresh"}


def test_read_only_offers_no_range_to_run(make_app, project):
    app = make_app("events", read_only=True)

    async def scenario(pilot):
        await pilot.press("7", "m")
        await settle(pilot)
        assert app.screen is app.main
        assert "m: rematerialize" not in text_of(app, "#partitions-note")
        keys = {binding.key for _, binding, enabled, _ in app.main.active_bindings.values() if enabled}
        assert "m" not in keys

    drive(app, scenario)
    assert day_statuses(project) == BEFORE


def test_an_unpartitioned_asset_has_no_partitions_tab(make_app):
    app = make_app("events")

    async def scenario(pilot):
        tabs = app.main.query_one(TabbedContent)
        assert "Tab: Partitions" in [command.title for command in app.get_system_commands(app.main)]
        await pilot.press("7")
        await settle(pilot)
        assert tabs.active == "partitions"
        app.main.select_asset("plain")
        await settle(pilot)
        assert tabs.active == "overview" and tabs.get_tab("partitions").has_class("-hidden")
        assert "partitions" not in text_of(app, "#overview-body")
        await pilot.press("7")
        await settle(pilot)
        assert tabs.active == "overview"
        keys = {binding.key for _, binding, _, _ in app.main.active_bindings.values()}
        assert "7" not in keys and "6" in keys
        assert "Tab: Partitions" not in [command.title for command in app.get_system_commands(app.main)]

    drive(app, scenario)


SOURCE_DEFS = """
from assets_core import DailyPartitions, asset, source_asset

DAYS = DailyPartitions("2026-01-01", end="2026-01-07")
hits = source_asset("hits", "data/{date}.txt", partitions=DAYS)

@asset(partitions=DAYS, deps=["hits"])
def daily(context) -> int:
    return 1
"""


def test_the_strip_of_a_source_observed_as_one_block_has_each_partitions_own_status(tmp_path, monkeypatch):
    """A source with a file per partition is observed as one block; its strip reads the block's statuses (the
    fresh ones never made one by one) and gives each partition the status the snapshot gives it."""
    (tmp_path / "defs.py").write_text(textwrap.dedent(SOURCE_DEFS))
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    (tmp_path / "data").mkdir()
    for day in range(1, 7):
        (tmp_path / "data" / f"2026-01-0{day}.txt").write_text(str(day))
    monkeypatch.chdir(tmp_path)
    workspace = open_project(tmp_path)
    try:
        assert usecases.materialize(workspace).status == "success"
        (tmp_path / "data" / "2026-01-02.txt").write_text("changed")
        (tmp_path / "data" / "2026-01-05.txt").unlink()
        browser = Browser(workspace)
        browser.take_snapshot()
        states = browser.partitions("hits")
        assert states is not None and browser.snapshot is not None
        assert browser.snapshot.statuses.block("hits") is not None  # observed as one block
        expected = tuple(browser.snapshot.statuses[f"hits[{key}]"].status for key in states.keys)
        assert states.statuses == expected == (FRESH, STALE, FRESH, FRESH, MISSING, FRESH)
    finally:
        workspace.catalog.close()
