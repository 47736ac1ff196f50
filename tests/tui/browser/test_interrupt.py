"""Quitting the browser during a run: the run records what finished and ends interrupted, as Ctrl-C does."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assets_core.application.workspace import Options, open_workspace
from tests.tui.browser.conftest import drive, settle
from tui.browser.app import BrowserApp
from tui.browser.plan import PlanScreen
from tui.browser.session import Browser

HELD = """
import time
from pathlib import Path
from assets_core.declaring.definitions import asset

@asset
def quick():
    return [1]

@asset
def held(quick):
    while not (Path(__file__).parent / "release").exists():  # the test releases it once it is done
        time.sleep(0.05)
    return quick
"""


def test_quitting_the_browser_during_a_run_records_what_finished_and_marks_it_interrupted(tmp_path: Path):
    (tmp_path / "defs.py").write_text(HELD)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace = open_workspace(Options(project=str(tmp_path)))
    browser = Browser(workspace)
    app = BrowserApp(browser, "quick")
    app.animation_level = "none"

    async def scenario(pilot):
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, PlanScreen) and app.screen.plan.assets == ["quick", "held"]
        await pilot.press("enter")
        for _ in range(1500):
            if app.board.status("quick") == "fresh" and app.board.status("held") == "running":
                break
            await pilot.pause(0.02)
        assert app.board.status("held") == "running"
        app.exit()

    try:
        drive(app, scenario)
        assert browser.interrupt(wait=30)  # what run_browser does once the app has closed
        with sqlite3.connect(tmp_path / ".assets" / "catalog.db") as db:
            assert db.execute("select status, trigger from run").fetchall() == [("interrupted", "tui")]
            assert db.execute("select asset from materialization").fetchall() == [("quick",)]
    finally:
        (tmp_path / "release").touch()
        workspace.catalog.close()
