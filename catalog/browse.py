"""Catalog reads only the terminal browser needs: a run's log read in pieces as it grows, and history sizes.

Functions of a :class:`~catalog.store.SqlCatalog` returning frozen values; each query is served by an index
(events by run, materializations by asset), so a catalog of millions of rows answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from catalog.models import EVENT, MATERIALIZATION
from catalog.records import EVENT_COLUMNS, event_from
from catalog.quick import QuickCatalog
from catalog.store import SqlCatalog

if TYPE_CHECKING:
    from assets_core.application.catalogs import WorkspaceCatalog

LOG_PAGE = 5_000  # events read at once


@dataclass(frozen=True)
class LogLine:
    """One event of a run with its position in the catalog, so that a reader can ask for what came after."""

    id: int
    run_id: str
    kind: str
    message: str
    asset: str | None
    level: str
    created_at: datetime


def sql_catalog(catalog: WorkspaceCatalog) -> SqlCatalog:
    """The SQL catalog behind a catalog this package opened (these reads are SQL, not the core's protocol)."""
    if isinstance(catalog, QuickCatalog):
        return catalog.full()
    if isinstance(catalog, SqlCatalog):
        return catalog
    raise TypeError(f"the terminal browser's log and history reads need this project's SQL catalog, not {catalog!r}")


def run_log(catalog: WorkspaceCatalog, run_id: str, after: int = 0, limit: int = LOG_PAGE) -> list[LogLine]:
    """The events of a run recorded after the event with id ``after``, oldest first, at most ``limit``.

    A view following a run in progress asks again with the id of the last line it has.
    """
    query = (select(EVENT.c.id, *EVENT_COLUMNS).where(EVENT.c.run_id == run_id, EVENT.c.id > after)
             .order_by(EVENT.c.id).limit(limit))
    with sql_catalog(catalog)._read() as connection:
        rows = connection.execute(query).all()
    lines = []
    for row in rows:
        event = event_from(row[1:])
        lines.append(LogLine(row[0], event.run_id, event.kind, event.message, event.asset, event.level,
                             event.created_at))
    return lines


def materialization_count(catalog: WorkspaceCatalog, asset: str) -> int:
    """How many materializations of ``asset`` the catalog holds (counted on the index by asset)."""
    query = select(func.count()).select_from(MATERIALIZATION).where(MATERIALIZATION.c.asset == asset)
    with sql_catalog(catalog)._read() as connection:
        return int(connection.execute(query).scalar() or 0)
