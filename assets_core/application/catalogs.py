"""Finding the catalog at run time: the core never imports a catalog package, a catalog package registers itself.

A catalog package names a factory, ``open_catalog(url) -> WorkspaceCatalog``, under the entry point group
``assets.catalogs`` of its distribution, as SQLAlchemy finds its dialects. The entry point's name is the URL
scheme it serves (``redis`` serves ``redis://...``; ``postgresql`` also serves ``postgresql+psycopg://...``);
the one named ``default`` serves every other URL. This project's own SQL catalog registers itself as
``default`` in ``pyproject.toml``::

    [project.entry-points."assets.catalogs"]
    default = "catalog.quick:open_catalog"

A front end that ships with a catalog package may also hand its factory over for some schemes (:func:`wire`):
those are then served by it without a look through every installed package's entry points, which costs tens
of milliseconds at each command (the ``assets`` command wires this project's catalog for ``sqlite``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, unquote

from assets_core.automation.records import AutomationStore
from assets_core.errors import CatalogError
from assets_core.imports import late_import
from assets_core.planning.state import (
    BackfillRecord,
    Catalog,
    CheckRecord,
    DefinitionView,
    Event,
    RunView,
)

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

GROUP = "assets.catalogs"
DEFAULT = "default"
SQLITE_PREFIX = "sqlite:///"


class WorkspaceCatalog(Catalog, AutomationStore, Protocol):
    """What the application layer asks of a catalog: what a run reads and records, what automation keeps, and
    what people browse."""

    def save_definitions(self, definitions: Sequence[DefinitionView]) -> bool:
        """Record the definitions as loaded now; return whether they differ from the recorded ones."""
        ...

    def list_runs(self, limit: int = 50) -> list[RunView]:
        """The latest runs, newest first."""
        ...

    def list_backfills(self, limit: int = 50) -> list[BackfillRecord]:
        """The latest backfills, newest first."""
        ...

    def find_backfill(self, prefix: str) -> BackfillRecord:
        """The backfill whose id is or starts with ``prefix`` (SelectionError when not exactly one does)."""
        ...

    def find_run(self, run_id_or_prefix: str) -> RunView:
        """One run by its id or a unique prefix of it (a :class:`CatalogError` otherwise)."""
        ...

    def run_events(self, run_id: str, asset: str | None = None,
                   levels: Collection[str] | None = None) -> list[Event]:
        """The events of a run in the order they happened, optionally of one asset and some levels."""
        ...

    def latest_checks(self, asset: str | None = None) -> dict[str, list[CheckRecord]]:
        """The latest result of every check, by asset."""
        ...

    def load_column_lineage(self) -> dict[str, TableLineage]:
        """Every stored column lineage, by asset."""
        ...

    def save_column_lineage(self, lineages: Mapping[str, TableLineage]) -> bool:
        """Store the column lineage of these assets; return whether anything changed."""
        ...

    def close(self) -> None:
        """Release the connections."""
        ...


Factory = Callable[[str], WorkspaceCatalog]
# Opens a catalog that already exists, before the definitions load, and starts reading the recorded state of
# every asset for a ``read_state`` soon after (then listing the folder given, the storage's, if any: see
# assets_core.planning.evidence.Listing); None where it cannot do so at no risk. It never creates, migrates nor
# raises: what it declines, the Factory opens later, as without it.
AheadFactory = Callable[[str, "str | None"], "WorkspaceCatalog | None"]


_WIRED: dict[str, Factory] = {}  # scheme -> the factory a front end handed over for it (see wire)
_AHEAD: dict[str, AheadFactory] = {}  # scheme -> the factory that opens it ahead (see wire)


def wire(factory: Factory, schemes: Collection[str], ahead: AheadFactory | None = None) -> None:
    """Serve the URLs of these schemes with ``factory`` in this process, whatever the entry points say (and
    open them ahead with ``ahead``, see :func:`open_ahead`)."""
    _WIRED.update((scheme.lower(), factory) for scheme in schemes)
    if ahead is not None:
        _AHEAD.update((scheme.lower(), ahead) for scheme in schemes)


def open_ahead(url: str, folder: str | None = None) -> WorkspaceCatalog | None:
    """The catalog at ``url`` opened before the definitions load, reading every asset's state meanwhile (and then
    listing ``folder``), by the ahead factory wired for its scheme; None where there is none or it declines (see
    :data:`AheadFactory`)."""
    ahead = _AHEAD.get(_scheme(url))
    return None if ahead is None else ahead(url, folder)


def open_catalog(url: str) -> WorkspaceCatalog:
    """Open the catalog at ``url`` with the catalog package registered for its scheme."""
    return find_factory(url)(url)


def find_factory(url: str) -> Factory:
    """The factory registered for the URL's scheme, else the default one.

    >>> find_factory("postgresql://host/db").__module__
    'catalog.quick'
    """
    scheme = _scheme(url)
    wired = _WIRED.get(scheme)
    if wired is not None:
        return wired
    with late_import():
        from importlib.metadata import entry_points

        registered = {point.name: point for point in entry_points(group=GROUP)}
        point = registered.get(scheme) or registered.get(DEFAULT)
        if point is None:
            raise CatalogError(
                f"no catalog package is installed for '{url}': install this project (pip install -e .), whose "
                f"'catalog' package registers itself under the entry point group '{GROUP}'")
        factory: Factory = point.load()
    return factory


def _scheme(url: str) -> str:
    return url.partition(":")[0].partition("+")[0].lower()


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The URL of a SQLite catalog file (as SQLAlchemy reads it: a file name's own ``%``, ``?``, ``#`` are
    escaped).

    >>> sqlite_url("/srv/project/.assets/catalog.db")
    'sqlite:////srv/project/.assets/catalog.db'
    >>> sqlite_url(".assets/catalog.db")
    'sqlite:///.assets/catalog.db'
    """
    return SQLITE_PREFIX + quote(str(Path(path).expanduser()), safe="/ ")


def sqlite_path(url: str) -> Path | None:
    """The file a plain SQLite URL names; None for any other URL (options, in-memory, other databases).

    >>> sqlite_path("sqlite:////tmp/a%20b.db"), sqlite_path("sqlite://"), sqlite_path("postgresql://h/db")
    (PosixPath('/tmp/a b.db'), None, None)
    """
    if not url.startswith(SQLITE_PREFIX) or "?" in url:
        return None
    database = unquote(url[len(SQLITE_PREFIX):])
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)
