"""Fixtures of the browser's tests: the shop project (built once per test process, copied per test) and apps."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.browser import shop
from tui.browser.app import BrowserApp
from tui.browser.session import Browser

SIZE = (120, 36)


@pytest.fixture(scope="session")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop-template")
    shop.build(root)
    return root


@pytest.fixture
def shop_folder(shop_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the shop; the current folder is its folder."""
    root = tmp_path / "shop"
    shutil.copytree(shop_template, root)
    monkeypatch.chdir(root)
    return root


AppMaker = Callable[..., BrowserApp]


@pytest.fixture
def make_app(shop_folder: Path) -> AppMaker:
    """A browser on the shop with the clock fixed at :data:`shop.NOW`."""
    opened = []

    def make(start: str | None = None, read_only: bool = False) -> BrowserApp:
        workspace = shop.open_shop(shop_folder)
        opened.append(workspace)
        app = BrowserApp(Browser(workspace, read_only), start, now=lambda: shop.NOW)
        app.animation_level = "none"  # nothing to wait for between key presses
        return app

    yield make
    for workspace in opened:
        workspace.catalog.close()


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the statuses are shown, every worker is done and every message handled."""
    for _ in range(1500):  # up to 30 s on a loaded machine; the status worker starts after the first frame
        if pilot.app.board.loaded:
            break
        await pilot.pause(0.02)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def drive(app: BrowserApp, scenario: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    """Run the app headless at the tests' size, let its statuses load, then play the scenario."""

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())
