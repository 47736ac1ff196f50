"""The browser in a small terminal: every tab and screen draws (crowded, scrolled) instead of crashing."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import TabbedContent

from tests.tui.browser.conftest import settle


@pytest.mark.parametrize("size", [(40, 10), (60, 20)])
def test_every_tab_and_screen_draws_in_a_small_terminal(make_app, size):
    app = make_app("revenue")

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for key in ("1", "2", "3", "4", "5", "6", "question_mark", "question_mark"):
                await pilot.press(key)
                await settle(pilot)
            assert app.main.query_one(TabbedContent).active == "code"
            await pilot.press("u")  # two upstreams: the lineage tab lets one choose
            await settle(pilot)
            assert app.main.query_one(TabbedContent).active == "lineage"
            for key in ("escape", "r", "enter", "escape", "escape", "A", "escape", "ctrl+p", "escape"):
                await pilot.press(key)
                await settle(pilot)
            assert app.screen is app.main

    asyncio.run(main())
