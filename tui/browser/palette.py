"""The command palette's assets (ctrl+p): any asset, found by a fuzzy search of its name.

The palette's actions come from :meth:`tui.browser.app.BrowserApp.get_system_commands`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import Hit, Hits, Provider

from tui.browser.tree_model import fuzzy_candidates

if TYPE_CHECKING:
    from tui.browser.app import BrowserApp

CANDIDATES = 500  # names scored at most per keystroke, however big the project


class AssetCommands(Provider):
    """Go to an asset."""

    async def search(self, query: str) -> Hits:
        app = cast("BrowserApp", self.app)
        matcher = self.matcher(query)
        for name in fuzzy_candidates(app.graph.names, query, CANDIDATES):
            score = matcher.match(name)
            if score > 0:
                shown = app.board.badge(name)
                yield Hit(score, matcher.highlight(name), partial(app.main.select_asset, name), text=name,
                          help=f"go to this asset: {shown.glyph} {shown.word}, group {app.graph[name].group}")
