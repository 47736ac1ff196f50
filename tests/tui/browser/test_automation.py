"""The Automation screen on a real project: a schedule, a file sensor and an asset's condition, with ticks recorded
by evaluating them; pausing from the screen, refused when read-only; whether a daemon is running."""

from __future__ import annotations

import os
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from assets_core.application.automation import evaluate
from assets_core.application.workspace import Options, Workspace, open_workspace
from assets_core.running.recovery import HOST
from tests.tui.browser.conftest import SIZE, drive, settle
from tui.browser.app import BrowserApp
from tui.browser.automation import AutomationScreen
from tui.browser.automation_model import EMPTY
from tui.browser.session import Browser

DEFS = '''
from assets_core import asset, file_sensor, on_missing, schedule

nightly = schedule("nightly", "0 2 * * *", "numbers")
landed = file_sensor("landed", "incoming/*.csv", "numbers", interval_seconds=60)


@asset
def numbers() -> dict:
    return {"n": 1}


@asset(automation=on_missing())
def doubled(numbers: dict) -> dict:
    return {"n": numbers["n"] * 2}
'''

FIRST = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)  # the first evaluation: the file has landed
SECOND = datetime(2026, 1, 2, 3, tzinfo=timezone.utc)  # after the nightly tick of 2026-01-02 02:00
NOW = SECOND + timedelta(minutes=1)  # the browser's clock


def open_project(root: Path) -> Workspace:
    return open_workspace(Options(project=str(root)))


def write(root: Path, defs: str) -> None:
    (root / "incoming").mkdir(parents=True)
    (root / "defs.py").write_text(textwrap.dedent(defs))
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    (root / "incoming" / "one.csv").write_text("a,b\n1,2\n")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project, evaluated at FIRST and SECOND as ``assets daemon --once --now`` would."""
    root = tmp_path / "auto"
    write(root, DEFS)
    monkeypatch.chdir(root)
    workspace = open_project(root)
    try:
        for at in (FIRST, SECOND):
            evaluate(workspace, at)
    finally:
        workspace.catalog.close()
    return root


@pytest.fixture
def make_app(project: Path):
    opened = []

    def make(read_only: bool = False, root: Path = project) -> BrowserApp:
        workspace = open_project(root)
        opened.append(workspace)
        app = BrowserApp(Browser(workspace, read_only), "numbers", now=lambda: NOW)
        app.animation_level = "none"
        return app

    yield make
    for workspace in opened:
        workspace.catalog.close()


def rows(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


def plain(widget: Static) -> str:
    content = widget.render()
    return content.plain if isinstance(content, Text) else str(content)


async def open_automation(pilot: Pilot[None]) -> AutomationScreen:
    await pilot.press("A")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AutomationScreen)
    return screen


def test_lists_every_automation_and_the_ticks_of_the_highlighted_one(make_app):
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        assert plain(pilot.app.main.query_one("#status-line", Static)).endswith("  daemon: ○ not running")
        screen = await open_automation(pilot)
        assert rows(screen.query_one("#automation-table", DataTable)) == [
            ["nightly", "schedule", "● active", "0 2 * * * (UTC)", "2026-01-02 03:00:00 ▶ requested",
             "2026-01-03 02:00:00"],
            ["landed", "file_sensor", "● active", "incoming/*.csv, every 60 s", "2026-01-02 03:00:00 - skipped",
             "2026-01-02 03:01:00"],
            ["automation", "automation", "● active", "doubled: on_missing()", "2026-01-02 03:00:00 - skipped", "-"],
        ]
        ticks = screen.query_one("#ticks-table", DataTable)
        assert rows(ticks) == [
            ["2026-01-02 03:00:00", "▶ requested", "1", "cron tick 2026-01-02 02:00 UTC"],
            ["2026-01-01 12:00:00", "- skipped", "0",
             "first evaluation: runs from its next tick, 2026-01-02 02:00 UTC"],
        ]
        title = plain(screen.query_one("#ticks-title", Static))
        assert title.startswith("schedule nightly: 0 2 * * * (UTC); runs numbers\nits latest 2 tick(s)")
        assert plain(screen.query_one("#automation-status", Static)) == \
            "daemon: ○ not running; 'assets daemon' starts one"

        await pilot.press("down")  # the file sensor: the file that landed, then nothing new
        await settle(pilot)
        assert screen.selected == "landed"
        assert rows(ticks) == [
            ["2026-01-02 03:00:00", "- skipped", "0", "nothing new"],
            ["2026-01-01 12:00:00", "▶ requested", "1",
             "1 run(s) requested: 1 new or changed file(s), e.g. incoming/one.csv"],
        ]
        await pilot.press("down")  # the conditions: why doubled waits
        await settle(pilot)
        assert [row[3] for row in rows(ticks)] == ["waiting (1): doubled: waits: upstream 'numbers' is not fresh"] * 2

        await pilot.press("escape")
        assert pilot.app.screen is pilot.app.main

    drive(app, scenario)


def test_p_pauses_and_unpauses_the_highlighted_automation(make_app):
    app = make_app()
    catalog = app.browser.catalog

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_automation(pilot)
        await pilot.press("down", "p")
        await settle(pilot)
        assert catalog.automation_states()["landed"].paused
        table = screen.query_one("#automation-table", DataTable)
        assert rows(table)[1][2] == "‖ paused" and rows(table)[1][5] == "-"  # a paused sensor has no next tick
        assert table.cursor_row == 1 and screen.selected == "landed"  # the cursor stays on it
        assert not catalog.automation_states()["nightly"].paused

        await pilot.press("p")
        await settle(pilot)
        assert not catalog.automation_states()["landed"].paused
        assert rows(table)[1][2] == "● active"

    drive(app, scenario)


def test_read_only_offers_no_pause(make_app):
    app = make_app(read_only=True)
    catalog = app.browser.catalog

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_automation(pilot)
        assert screen.check_action("pause", ()) is False  # neither in the footer nor on the key
        await pilot.press("p")
        await settle(pilot)
        assert not any(state.paused for state in catalog.automation_states().values())
        assert plain(screen.query_one("#automation-status", Static)).endswith("read-only")

    drive(app, scenario)
    with pytest.raises(PermissionError, match="read-only"):
        app.browser.set_paused("nightly", True)
    assert not any(state.paused for state in app.browser.catalog.automation_states().values())


def test_the_status_line_names_a_running_daemon(make_app):
    app = make_app()
    assert app.browser.catalog.acquire_daemon_lease("test", os.getpid(), HOST, NOW, timedelta(minutes=1))

    async def scenario(pilot: Pilot[None]) -> None:
        running = f"daemon: ● running (pid {os.getpid()} on {HOST})"
        assert plain(pilot.app.main.query_one("#status-line", Static)).endswith(running)
        screen = await open_automation(pilot)
        assert plain(screen.query_one("#automation-status", Static)) == running

    drive(app, scenario)


def test_a_project_without_automation_says_how_to_declare_some(make_app, tmp_path):
    root = tmp_path / "plain"
    write(root, "from assets_core import asset\n\n\n@asset\ndef numbers() -> dict:\n    return {'n': 1}\n")
    app = make_app(root=root)

    async def scenario(pilot: Pilot[None]) -> None:
        assert "daemon" not in plain(pilot.app.main.query_one("#status-line", Static))  # no automation, no daemon
        screen = await open_automation(pilot)
        assert plain(screen.query_one("#automation-title", Static)) == EMPTY
        assert not screen.query_one("#automation-table", DataTable).display
        assert not screen.query_one("#ticks-title", Static).display
        await pilot.press("p")  # nothing to pause: a warning, nothing written
        await settle(pilot)
        assert app.browser.catalog.automation_states() == {}

    drive(app, scenario)


def test_snapshot(snap_compare, make_app):
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await open_automation(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


RAISING = '''
from assets_core import asset, sensor


@asset
def numbers() -> dict:
    return {"n": 1}


@sensor("watcher", "numbers")
def watcher(context):
    raise RuntimeError("the bucket is gone")
'''


def test_a_sensor_that_raised_shows_its_error(make_app, tmp_path):
    root = tmp_path / "raising"
    write(root, RAISING)
    workspace = open_project(root)
    try:
        evaluate(workspace, FIRST)
    finally:
        workspace.catalog.close()
    app = make_app(root=root)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_automation(pilot)
        assert [row[:3] for row in rows(screen.query_one("#automation-table", DataTable))] == \
            [["watcher", "sensor", "● active"]]
        [tick] = rows(screen.query_one("#ticks-table", DataTable))
        assert tick[:3] == ["2026-01-01 12:00:00", "✗ failed", "0"]
        assert "the bucket is gone" in tick[3] and "defs.py" in tick[3]  # the user's message, file and line

    drive(app, scenario)
