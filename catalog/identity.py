"""The catalog's id: a uuid made once, the first time it is asked for, and kept in ``catalog_meta``. A storage's
owner mark names it (:mod:`assets_core.running.ownership`), so that two catalogs never share one storage."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, exists, insert, literal, select

from assets_core.imports import late_import
from catalog.models import META
from catalog.version import CATALOG_ID

Transaction = Callable[[], AbstractContextManager[Connection]]


def catalog_id(read: Transaction, write: Transaction) -> str | None:
    """The catalog's id, read in a ``read`` transaction; made in a ``write`` one when there is none yet. Two
    processes asking at once both insert it if absent, then read back the one that was kept. A SQLite catalog in
    memory (``sqlite://``) lives as long as one process, as a MemoryCatalog does: it has none (no owner check)."""
    with read() as connection:
        url = connection.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        found = connection.execute(_SELECT).scalar()
    if found is not None:
        return str(found)
    with write() as connection:
        connection.execute(_insert_if_absent(connection.dialect.name, uuid.uuid4().hex))
        return str(connection.execute(_SELECT).scalar_one())


_SELECT = select(META.c.value).where(META.c.key == CATALOG_ID)


def _insert_if_absent(dialect: str, value: str) -> Any:
    """An insert of the id that does nothing where one is stored: PostgreSQL's ON CONFLICT (two transactions may
    both find none), else an INSERT ... SELECT WHERE NOT EXISTS (SQLite's write transactions take turns)."""
    if dialect == "postgresql":
        with late_import():
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(META).values(key=CATALOG_ID, value=value).on_conflict_do_nothing()
    absent = select(literal(CATALOG_ID), literal(value)).where(~exists().where(META.c.key == CATALOG_ID))
    return insert(META).from_select(["key", "value"], absent)
