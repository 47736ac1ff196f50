"""The frozen values the catalog hands to its callers instead of ORM rows or sessions.

They are the core's records (:mod:`assets_core.planning.state`): a catalog package stores and returns them.
"""

from __future__ import annotations

from assets_core.planning.state import DefinitionView, RunView

__all__ = ["DefinitionView", "RunView"]
