"""SQL storage of everything the framework records: definitions, lineage, runs, events and history.

``open_catalog(sqlite_url(path))`` gives a :class:`SqlCatalog`, which implements the
:class:`assets_core.planning.state.Catalog` protocol, keeps the column lineage of SQL assets, and answers the front
end's questions with frozen views.

SQLAlchemy and SQLModel are imported only when something needs them (see :mod:`catalog.quick`): the names
below are loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from assets_core.imports import late_import

if TYPE_CHECKING:
    from assets_core.application.catalogs import sqlite_url
    from catalog.quick import open_catalog
    from catalog.store import SqlCatalog
    from catalog.version import SCHEMA_VERSION
    from catalog.views import DefinitionView, RunView

_WHERE = {
    "SCHEMA_VERSION": "catalog.version",
    "DefinitionView": "catalog.views",
    "RunView": "catalog.views",
    "SqlCatalog": "catalog.store",
    "open_catalog": "catalog.quick",
    "sqlite_url": "assets_core.application.catalogs",
}

__all__ = ["SCHEMA_VERSION", "DefinitionView", "RunView", "SqlCatalog", "open_catalog", "sqlite_url"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'catalog' has no attribute '{name}'")
    with late_import():
        return getattr(import_module(module), name)
