"""SQL storage of everything the framework records: definitions, lineage, runs, events and history.

``open_catalog(sqlite_url(path))`` gives a :class:`SqlCatalog`, which implements the
:class:`assets_core.state.Catalog` protocol, keeps the column lineage of SQL assets, and answers the front
end's questions with frozen views.
"""

from catalog.engine import sqlite_url
from catalog.schema import SCHEMA_VERSION
from catalog.store import SqlCatalog, open_catalog
from catalog.views import ColumnEdge, DefinitionView, RunView

__all__ = ["SCHEMA_VERSION", "ColumnEdge", "DefinitionView", "RunView", "SqlCatalog", "open_catalog", "sqlite_url"]
