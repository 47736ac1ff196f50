"""A new project in the browser: nothing is stored yet, and the asset under the cursor can be built with the
upstream it needs (``U``), as the planning error asks ('select it too, e.g. +report')."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assets_core.application.workspace import Options, open_workspace
from tests.tui.browser.conftest import drive, settle
from tui.browser.app import BrowserApp
from tui.browser.plan import PlanScreen
from tui.browser.session import Browser

DEFS = """
from assets_core.declaring.definitions import asset

@asset
def raw():
    return [1, 2]

@asset
def report(raw):
    return raw
"""


def test_U_builds_a_new_asset_with_the_upstream_it_needs(tmp_path: Path):
    (tmp_path / "defs.py").write_text(DEFS)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace = open_workspace(Options(project=str(tmp_path)))
    app = BrowserApp(Browser(workspace), "report")
    app.animation_level = "none"

    async def scenario(pilot):
        await pilot.press("m")  # alone it cannot run: raw has no stored value; the error says how to fix that
        await settle(pilot)
        assert app.screen is app.main
        assert any("+report" in str(note.message) and "U" in str(note.message) for note in app._notifications)
        await pilot.press("U")
        await settle(pilot)
        assert isinstance(app.screen, PlanScreen) and app.screen.plan.assets == ["raw", "report"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.board.status("raw") == app.board.status("report") == "fresh"

    try:
        drive(app, scenario)
        with sqlite3.connect(tmp_path / ".assets" / "catalog.db") as db:
            assert sorted(db.execute("select asset from materialization").fetchall()) == [("raw",), ("report",)]
    finally:
        workspace.catalog.close()
