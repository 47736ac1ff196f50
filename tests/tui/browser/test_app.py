"""The browser driven headless with Textual's Pilot: every key flow, checked on the app's state."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.style import Style
from textual.widgets import DataTable, HelpPanel, OptionList, Static, TabbedContent

from assets_core.application import usecases
from assets_core.application.workspace import Options, open_workspace
from assets_core.planning.state import Event, RunRecord, now
from assets_core.running.recovery import HOST
from catalog import open_catalog, sqlite_url
from tests.tui.browser.conftest import SIZE, drive, settle
from tui.browser.app import BrowserApp
from tui.browser.plan import PlanScreen
from tui.browser.runs import LogScreen, RunsScreen
from tui.browser.session import Browser
from tui.browser.tree_model import AssetNode
from tui.cli.main import main

STALE = ["customers", "raw_customers", "report", "revenue"]


def notes(app) -> list[str]:
    return [str(note.message) for note in app._notifications]


def text_of(app, selector: str) -> str:
    """What a Static of the main screen shows, as plain text."""
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(app.main.query_one(selector, Static).content)
    return console.export_text()


def tree_lines(app) -> dict[str, str]:
    """Every loaded asset's line in the tree, as drawn (glyph, name, age)."""
    tree = app.main.asset_tree
    return {name: tree.render_label(node, Style(), Style()).plain for name, node in tree._assets.items()}


def test_every_asset_shows_with_its_glyph_and_age(make_app):
    app = make_app()

    async def scenario(pilot):
        lines = tree_lines(app)
        assert set(lines) == set(app.graph.names)
        assert lines["flaky"] == "✗ flaky  1d ago"
        assert lines["orders"] == "✓ orders  1d ago" and lines["customers"].startswith("~ customers")
        assert lines["later"] == "○ later" and lines["raw_orders"] == "◆ raw_orders"
        assert app.main.current == "flaky"  # the first asset of the first group
        assert "✗1 ~4 ○1 ✓2 ◆1" in text_of(app, "#status-line")

    drive(app, scenario)


def test_opens_on_the_asset_asked_for(make_app):
    app = make_app("revenue")

    async def scenario(pilot):
        assert app.main.current == "revenue"
        assert app.main.asset_tree.cursor_node.data == AssetNode("revenue")

    drive(app, scenario)


def test_slash_filters_by_status_and_escape_clears(make_app):
    app = make_app("orders")

    async def scenario(pilot):
        await pilot.press("slash", *"status:stale", "enter")
        assert app.main.filter_text == "status:stale"
        assert sorted(app.main.asset_tree.shown_assets()) == STALE
        assert app.main.current == "revenue"  # orders is fresh: the cursor goes to the first asset kept
        await pilot.press("escape")
        assert app.main.filtered is None and len(app.main.asset_tree.shown_assets()) == 9
        assert app.main.current == "revenue"

    drive(app, scenario)


def test_filter_takes_the_command_line_selection_and_explains_mistakes(make_app):
    app = make_app()

    async def scenario(pilot):
        await pilot.press("slash", *"orders+", "enter")
        assert sorted(app.main.asset_tree.shown_assets()) == ["flaky", "later", "order_totals", "orders", "report",
                                                        "revenue"]
        await pilot.press("slash", *"ordrs", "enter")
        assert any("did you mean 'orders'" in note for note in notes(app))
        assert app.main.filter_text == "orders+"  # a mistake leaves the filter as it was

    drive(app, scenario)


def test_u_and_d_move_along_lineage_edges(make_app):
    app = make_app("customers")

    async def scenario(pilot):
        await pilot.press("u")  # one upstream: go there
        assert app.main.current == "raw_customers"
        await pilot.press("d", "d")
        assert app.main.current == "revenue"
        await pilot.press("u")  # two upstreams: the lineage tab lets one choose
        assert app.main.query_one(TabbedContent).active == "lineage"
        listing = app.main.query_one("#upstream-list", OptionList)
        assert listing.has_focus and [o.id for o in listing.options] == ["order_totals", "customers"]
        await pilot.press("enter")
        assert app.main.current == "order_totals"
        await pilot.press("u", "u")
        assert app.main.current == "raw_orders"
        await pilot.press("u")
        assert "'raw_orders' has no upstream asset" in notes(app)

    drive(app, scenario)


def test_number_keys_open_the_tabs(make_app):
    app = make_app("orders")

    async def scenario(pilot):
        await pilot.press("2")
        schema = app.main.query_one("#schema-tab").rows
        assert [(row.column, row.describe()) for row in schema] == [
            ("id", ""), ("customer_id", ""), ("amount", ""), ("note", "+ added")]
        assert "note         String   + added" in text_of(app, "#schema-table")
        await pilot.press("3")
        assert [row[0] for row in app.main.query_one("#history-tab").rows] == ["run0002", "run0001"]
        assert "run0001  2026-01-01 09:00:01" in text_of(app, "#history-table")
        await pilot.press("6")
        assert "def orders(raw_orders: pl.DataFrame)" in text_of(app, "#code-body")
        await pilot.press("1")
        assert app.main.query_one(TabbedContent).active == "overview"

    drive(app, scenario)


def test_columns_tab_traces_a_column(make_app):
    app = make_app("order_totals")

    async def scenario(pilot):
        await pilot.press("5")
        await settle(pilot)
        listing = app.main.query_one("#column-list", OptionList)
        assert [o.id for o in listing.options] == ["customer_id", "total", "n"]
        await pilot.press("tab")
        listing.focus()
        await pilot.press("down")
        trace = text_of(app, "#column-trace")
        assert "order_totals.total" in trace and "orders.amount" in trace

    drive(app, scenario)


def test_plan_modal_shows_each_step_and_escape_cancels(make_app, shop_folder):
    app = make_app("orders")

    async def scenario(pilot):
        await pilot.press("M")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, PlanScreen)
        assert modal.plan.assets[0] == "orders"
        assert sorted(modal.plan.assets) == ["flaky", "later", "order_totals", "orders", "report", "revenue"]
        table = modal.query_one(DataTable)
        assert str(table.get_row_at(0)[2]) == "asked for by hand"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main and app.main.progress is None

    drive(app, scenario)
    assert _runs(shop_folder) == 3


def _runs(folder: Path) -> int:
    with sqlite3.connect(folder / ".assets" / "catalog.db") as db:
        return db.execute("select count(*) from run").fetchone()[0]


def test_m_rematerializes_a_stale_asset_and_it_turns_fresh(make_app, shop_folder):
    app = make_app("customers")
    seen = []

    async def scenario(pilot):
        apply = app.board.apply
        app.board.apply = lambda event: seen.append((event.kind, apply(event), app.board.status("customers")))
        assert app.board.status("customers") == "stale"
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, PlanScreen) and app.screen.plan.assets == ["customers"]
        await pilot.press("enter")
        await settle(pilot)
        assert ("started", "customers", "running") in seen  # the tree showed it running...
        assert ("materialized", "customers", "fresh") in seen  # ...then fresh, live
        assert app.board.status("customers") == "fresh" and app.board.status("raw_customers") == "fresh"
        assert app.board.status("revenue") == "stale"  # m runs the asset alone
        assert tree_lines(app)["customers"].startswith("✓ customers")
        assert any("materialized" in note for note in notes(app))

    drive(app, scenario)
    with sqlite3.connect(shop_folder / ".assets" / "catalog.db") as db:
        assert db.execute("select trigger from run order by started_at desc limit 1").fetchone() == ("tui",)


def test_a_failure_shows_in_place(make_app, shop_folder):
    app = make_app("flaky")

    async def scenario(pilot):
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.board.status("flaky") == "failed"
        assert any("✗ flaky failed: RuntimeError: the flag file says fail" in note for note in notes(app)), notes(app)
        overview = text_of(app, "#overview-body")
        assert "the last attempt failed" in overview

    drive(app, scenario)


def test_read_only_offers_nothing_that_changes_anything(make_app, shop_folder):
    app = make_app("customers", read_only=True)

    async def scenario(pilot):
        await pilot.press("m", "M")
        await settle(pilot)
        assert app.screen is app.main
        keys = {binding.key for _, binding, enabled, _ in app.main.active_bindings.values() if enabled}
        assert "m" not in keys and "M" not in keys and "slash" in keys
        titles = [command.title for command in app.get_system_commands(app.main)]
        assert "Filter assets" in titles and not any("Rematerialize" in t for t in titles)
        await pilot.press("5")
        await settle(pilot)

    drive(app, scenario)
    assert _runs(shop_folder) == 3
    with sqlite3.connect(shop_folder / ".assets" / "catalog.db") as db:
        assert db.execute("select count(*) from column_lineage").fetchone() == (0,)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and time, but SQLite's -wal and -shm side files, which any reader of a WAL database
    makes (empty: the catalog itself is untouched)."""
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts
            and not path.name.endswith(("-wal", "-shm"))}


def test_read_only_draws_into_a_temporary_folder(make_app, shop_folder):
    app = make_app("orders", read_only=True)
    before = _files(shop_folder)

    async def scenario(pilot):
        await pilot.press("g")
        await settle(pilot)

    drive(app, scenario)
    assert _files(shop_folder) == before  # statuses, lineage and the drawing looked at, nothing written
    [note] = [note for note in notes(app) if "lineage-orders.dot" in note]
    assert "read-only: into a temporary folder" in note
    written = Path(note.split("wrote ")[1].split(",")[0].split(" ")[0])
    assert written.parent != shop_folder and "orders" in written.read_text()


def test_opening_read_only_changes_nothing_on_disk(shop_folder, monkeypatch):
    """A dead run stays as recorded and a killed writer's leftover stays: recovering them is a change."""
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout.strip()
    catalog = open_catalog(sqlite_url(shop_folder / ".assets" / "catalog.db"))
    catalog.begin_run(RunRecord("deadbeef0001", "manual", (), "running", now(), pid=int(dead_pid), host=HOST,
                                plan=("orders",), heartbeat_at=now()))
    catalog.close()
    leftover = shop_folder / ".assets" / "storage" / f".tmp-{dead_pid}-abc.part"
    leftover.write_text("half a file")
    opened = []
    monkeypatch.setattr(BrowserApp, "run", lambda self: opened.append(self.browser))
    before = _files(shop_folder)
    assert main(["tui", "--read-only"]) == 0
    assert opened and opened[0].read_only
    assert _files(shop_folder) == before
    with sqlite3.connect(shop_folder / ".assets" / "catalog.db") as db:
        assert db.execute("select status from run where run_id = 'deadbeef0001'").fetchone() == ("running",)
    assert leftover.exists()
    assert main(["tui"]) == 0  # without --read-only, the browser marks the dead run as every command does
    with sqlite3.connect(shop_folder / ".assets" / "catalog.db") as db:
        assert db.execute("select status from run where run_id = 'deadbeef0001'").fetchone() == ("interrupted",)


def test_palette_goes_to_any_asset_and_holds_every_action(make_app):
    app = make_app("orders")

    async def scenario(pilot):
        titles = [command.title for command in app.get_system_commands(app.main)]
        for expected in ("Filter assets", "Rematerialize the asset", "Rematerialize the asset and its downstream",
                         "Go upstream", "Go downstream", "Runs", "Log of the asset's last run", "Draw the lineage",
                         "Tab: Columns", "Keys", "Quit"):
            assert expected in titles
        await pilot.press("ctrl+p", *"revenu")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.current == "revenue"

    drive(app, scenario)


def test_runs_screen_lists_runs_and_opens_a_log(make_app):
    app = make_app()

    async def scenario(pilot):
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        assert [run.run_id for run in app.screen.runs] == ["run0003", "run0002", "run0001"]
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[1]) == "✗ failed" and str(table.get_row_at(0)[7]) == "1"
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LogScreen) and app.screen.run_id == "run0002"
        assert any(line.kind == "materialized" for line in app.screen.shown)
        await pilot.press("escape", "escape")
        assert app.screen is app.main

    drive(app, scenario)


def test_log_filters_by_level_asset_and_text(make_app):
    app = make_app("customers")

    async def scenario(pilot):
        app.push_screen(LogScreen("run0001"))
        await settle(pilot)
        log = app.screen
        everything = len(log.shown)
        assert everything > 5
        await pilot.press("a")
        assert log.filter.asset == "customers" and {line.asset for line in log.shown} == {"customers"}
        assert any("read 3 customers" in line.message for line in log.shown)
        await pilot.press("l")
        assert log.filter.level == "WARNING" and log.shown == []
        await pilot.press("l", "l", "a", "slash", *"rows", "enter")
        assert log.filter.text == "rows" and log.shown
        assert all("rows" in f"{line.kind} {line.message}" for line in log.shown)

    drive(app, scenario)


def test_log_follows_a_run_in_progress(make_app):
    app = make_app()

    async def scenario(pilot):
        catalog = app.browser.catalog
        catalog.begin_run(RunRecord("live01", "manual", (), "running", now()))
        catalog.record_events([Event("live01", "planned", "2 asset(s) to run")])
        app.push_screen(LogScreen("live01"))
        await settle(pilot)
        log = app.screen
        assert [line.message for line in log.shown] == ["2 asset(s) to run"]
        catalog.record_events([Event("live01", "log", "halfway", asset="orders")])
        await pilot.pause(0.7)
        assert [line.message for line in log.shown][-1] == "halfway"
        catalog.record_events([Event("live01", "log", "done", asset="orders")])
        catalog.end_run("live01", "success")
        await pilot.pause(0.7)
        assert log.run.status == "success" and log.shown[-1].message == "done"

    drive(app, scenario)


def test_question_mark_shows_the_keys_of_the_focused_pane(make_app):
    app = make_app()

    async def scenario(pilot):
        await pilot.press("question_mark")
        assert app.main.query(HelpPanel)
        await pilot.press("question_mark")
        assert not app.main.query(HelpPanel)

    drive(app, scenario)


def test_g_draws_the_lineage_into_the_project_folder(make_app, shop_folder, capsys):
    app = make_app("orders")

    async def scenario(pilot):
        await pilot.press("g")
        await settle(pilot)
        assert any("lineage-orders.dot" in note for note in notes(app))

    drive(app, scenario)
    dot = (shop_folder / "lineage-orders.dot").read_text()
    assert "orders" in dot and "report" in dot and "raw_customers" not in dot
    # One view, one drawing: the command draws the same asset the same way.
    capsys.readouterr()
    assert main(["lineage", "orders", "--format", "dot"]) == 0
    assert capsys.readouterr().out == dot


def test_the_command_refuses_an_unknown_asset(shop_folder, capsys):
    assert main(["tui", "ordrs"]) == 2
    assert "'ordrs' is not an asset; did you mean 'orders'" in capsys.readouterr().err


ODD = '''
import polars as pl
from assets_core import StaticPartitions, asset

@asset(group="[/]odd", description="[red]not red[/red]", owners=["[b]ana[/b]"])
def things():
    return pl.DataFrame({"amount[usd]": [1]})

@asset(group="[/]odd", partitions=StaticPartitions(["eu", "red"]))
def sales():
    return pl.DataFrame({"x": [1]})

@asset(group="[/]odd")
def broken(things):
    raise ValueError("bad [/] and [bold]bold[/bold]")
'''


def test_markup_in_names_texts_and_errors_shows_literally(tmp_path, monkeypatch):
    """Groups, descriptions, owners, errors, columns, partition keys and typed filters are text, never markup: a
    stray '[/]' crashed the browser, '[red]' vanished into a colour, and 'sales[eu]' showed as 'sales'."""
    (tmp_path / "defs.py").write_text(ODD)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nmodule = "defs"\n')
    monkeypatch.chdir(tmp_path)
    workspace = open_workspace(Options(project=tmp_path))
    usecases.materialize(workspace, ["things", "broken"])
    app = BrowserApp(Browser(workspace), "things")

    async def main() -> None:
        async with app.run_test(size=SIZE, notifications=True) as pilot:  # toasts drawn: their markup too
            await settle(pilot)
            tree = app.main.asset_tree
            assert "[/]odd 3" in tree.render_label(tree.root.children[0], Style(), Style()).plain
            overview = text_of(app, "#overview-body")
            assert "[red]not red[/red]" in overview and "[b]ana[/b]" in overview
            await pilot.press("5")
            await settle(pilot)
            assert "things.amount[usd]" in text_of(app, "#column-trace")
            await pilot.press("1")
            app.main.select_asset("broken")
            await settle(pilot)
            assert "bad [/] and [bold]bold[/bold]" in text_of(app, "#overview-body")
            await pilot.press("m")
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            await pilot.pause(0.2)  # the toasts draw
            assert any("bad [/] and [bold]bold[/bold]" in note for note in notes(app)), notes(app)
            app.main.select_asset("sales")
            await settle(pilot)
            await pilot.press("m")
            await settle(pilot)
            assert isinstance(app.screen, PlanScreen)
            table = app.screen.query_one(DataTable)
            assert [table.get_row_at(i)[1].plain for i in range(table.row_count)] == ["sales[eu]", "sales[red]"]
            await pilot.press("escape", "slash", *"[/]x", "enter")
            await pilot.pause(0.2)
            assert "'[/]x' matches no asset name" in notes(app)[-1]

    try:
        asyncio.run(main())
    finally:
        workspace.catalog.close()
