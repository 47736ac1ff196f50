"""Backfills in the runs screen: each of the latest with its status and how far it got, refreshed with the runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from assets_core.application import backfills
from assets_core.application.workspace import Options, Workspace, open_workspace
from tests.tui.browser.conftest import SIZE, drive, settle
from tui.browser.app import BrowserApp
from tui.browser.runs import BackfillTable, LogScreen, RunsScreen
from tui.browser.session import Browser

DEFS = '''
from pathlib import Path

from assets_core import DailyPartitions, asset

FAIL = Path(__file__).parent / "fail.txt"


@asset(partitions=DailyPartitions("2026-01-01", end="2026-01-05"))
def events(context) -> dict:
    """One day of events; fails for the days fail.txt names."""
    if FAIL.exists() and context.partition in FAIL.read_text().split():
        raise RuntimeError(f"no events for {context.partition}")
    return {"day": context.partition}
'''


def open_project(root: Path) -> Workspace:
    return open_workspace(Options(project=str(root)))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "days"
    root.mkdir()
    (root / "defs.py").write_text(textwrap.dedent(DEFS))
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    monkeypatch.chdir(root)
    return root


def backfill(root: Path, targets: int, fail: str = "") -> str:
    """Backfill 2026-01-01..2026-01-04 of events (the days not fresh: ``targets`` of them), the days ``fail``
    names failing; returns the backfill's id."""
    (root / "fail.txt").write_text(fail)
    workspace = open_project(root)
    try:
        prepared = backfills.prepare_backfill(workspace, [], "2026-01-01..2026-01-04")
        assert len(prepared.record.targets) == targets
        backfills.run_backfill(workspace, prepared)
    finally:
        workspace.catalog.close()
    return prepared.record.backfill_id


@pytest.fixture
def make_app(project: Path):
    opened = []

    def make() -> BrowserApp:
        workspace = open_project(project)
        opened.append(workspace)
        app = BrowserApp(Browser(workspace), "events")
        app.animation_level = "none"
        return app

    yield make
    for workspace in opened:
        workspace.catalog.close()


def cells(table: DataTable, key: str) -> list[str]:
    return [str(cell) for cell in table.get_row(key)]


def test_a_backfill_shows_with_its_progress_and_follows_the_runs_list(project, make_app):
    first = backfill(project, 4, fail="2026-01-03")
    app = make_app()

    async def scenario(pilot):
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(BackfillTable)
        assert table.display and screen.query_one("#backfills-title", Static).display
        assert [record.backfill_id for record, _ in screen.backfills] == [first]
        row = cells(table, first)
        assert row[0] == first and row[1] == "✗ failed"
        assert row[3] == "██████✗✗ 3 done · 1 failed · 0 left"
        assert row[4] == "events: 2026-01-01..2026-01-04 (stale)"
        assert 0 < table.region.height and table.region.bottom < SIZE[1]  # on screen, above the footer
        # the runs table keeps the focus and enter still opens the log of a run, not of a backfill
        assert screen.focused is screen.query_one("#runs-table", DataTable)

        # a second backfill (the failed day only: the others are fresh) shows when the runs list refreshes
        second = backfill(project, 1)
        screen.load()
        await settle(pilot)
        assert [record.backfill_id for record, _ in screen.backfills] == [second, first]
        assert table.row_count == 2 and screen.query_one("#runs-table", DataTable).row_count == len(screen.runs)
        assert cells(table, second)[1] == "✓ done"
        assert cells(table, second)[3] == "████████ 1 done · 0 failed · 0 left"
        assert cells(table, first)[1] == "✓ done"  # what it left was done later: it shows as done
        assert "backfills: the latest 2" in str(screen.query_one("#backfills-title", Static).content)

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LogScreen) and app.screen.run_id == screen.runs[0].run_id

    drive(app, scenario)


def test_a_project_without_backfills_shows_no_backfills(project, make_app):
    app = make_app()

    async def scenario(pilot):
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen) and screen.backfills == []
        assert not screen.query_one(BackfillTable).display
        assert not screen.query_one("#backfills-title", Static).display
        assert screen.query_one(DataTable).id == "runs-table"  # the runs table comes first

    drive(app, scenario)
