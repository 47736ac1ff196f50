"""Opening a catalog: creating it, migrating an old one, and refusing what is not one, each with a clear message."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from assets_core.errors import CatalogError
from catalog import SCHEMA_VERSION, SqlCatalog, open_catalog, sqlite_url
from catalog.engine import translated_errors
from catalog.messages import explain
from catalog.schema import MIGRATIONS
from tests.catalog.conftest import LINEAGE_SQL, materialization, record_materialization, stored


def _sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def test_a_new_catalog_creates_its_folder_tables_and_version(catalog_path: Path) -> None:
    assert not catalog_path.parent.exists()
    open_catalog(sqlite_url(catalog_path)).close()
    tables = {name for (name,) in _sql(catalog_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"asset", "lineage_edge", "run", "materialization", "failure", "observation", "event", "asset_state",
            "catalog_meta", "automation_state", "tick", "run_request", "daemon_lease"} <= tables  # fmt: skip
    assert _sql(catalog_path, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    assert _sql(catalog_path, "PRAGMA journal_mode") == [("wal",)]


def test_reopening_keeps_what_was_recorded(catalog_path: Path) -> None:
    with open_catalog(sqlite_url(catalog_path)) as first:
        record_materialization(first, materialization("a"), [])
    with open_catalog(sqlite_url(catalog_path)) as second:
        assert second.read_state(["a"])["a"].materialization == materialization("a")


def test_every_schema_version_has_its_migration() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_an_older_catalog_is_migrated(catalog_path: Path) -> None:
    with open_catalog(sqlite_url(catalog_path)) as catalog:
        record_materialization(catalog, materialization("a"), [])
    # Version 0: the meta table, with tables still to create.
    _sql(catalog_path, "DROP TABLE lineage_edge")
    _sql(catalog_path, "UPDATE catalog_meta SET value = '0' WHERE key = 'schema_version'")

    with open_catalog(sqlite_url(catalog_path)) as migrated:
        assert stored(catalog_path, LINEAGE_SQL) == []
        assert migrated.read_state(["a"])["a"].materialization == materialization("a")
    assert _sql(catalog_path, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]


def test_a_catalog_from_a_newer_release_is_refused(catalog_path: Path) -> None:
    open_catalog(sqlite_url(catalog_path)).close()
    _sql(catalog_path, f"UPDATE catalog_meta SET value = '{SCHEMA_VERSION + 1}'")
    with pytest.raises(CatalogError, match="newer release") as raised:
        open_catalog(sqlite_url(catalog_path))
    assert "upgrade the assets package" in str(raised.value) and str(catalog_path) in str(raised.value)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("these are my notes, not a database\n" * 50)
    with pytest.raises(CatalogError, match="not a SQLite database") as raised:
        open_catalog(sqlite_url(notes))
    message = str(raised.value)
    assert str(notes) in message and "move the file away" in message and "ASSETS_CATALOG" in message
    assert raised.value.__cause__ is not None
    assert notes.read_text().startswith("these are my notes")  # left untouched


def test_a_database_of_something_else_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    _sql(other, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(CatalogError, match=r"something else \(tables: users\)") as raised:
        open_catalog(sqlite_url(other))
    assert "--catalog" in str(raised.value)
    assert _sql(other, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("users",)]


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="is a folder"):
        open_catalog(sqlite_url(tmp_path))


def test_a_folder_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CatalogError, match="cannot create the folder"):
        open_catalog(sqlite_url(blocker / "home" / "catalog.db"))


def test_a_url_that_is_no_url_is_refused() -> None:
    with pytest.raises(CatalogError, match="not a database URL"):
        SqlCatalog("catalog.db")


def test_database_errors_are_explained() -> None:
    locked = explain("database is locked", "/p/catalog.db")
    assert "locked by another process" in locked and "/p/catalog.db" in locked
    assert "writable location" in explain("unable to open database file", "/p/catalog.db")
    assert "free space" in explain("disk I/O error", "/p/catalog.db")
    assert "read-only" in explain("attempt to write a readonly database", "/p/catalog.db")
    assert explain("something new", "/p/catalog.db") == "the catalog /p/catalog.db failed: something new"
    wrapped = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
    with pytest.raises(CatalogError, match="locked by another process"):
        with translated_errors(make_url("sqlite:////p/catalog.db")):
            raise wrapped  # SQLAlchemy's error: explained by the driver's own text


def test_a_catalog_opened_read_only_reads_and_refuses_writes_clearly(catalog_path: Path) -> None:
    with open_catalog(sqlite_url(catalog_path)) as catalog:
        record_materialization(catalog, materialization("a"), [])
    with open_catalog(f"sqlite:///file:{catalog_path}?mode=ro&uri=true") as read_only:
        assert list(read_only.read_state(["a"])) == ["a"]
        with pytest.raises(CatalogError, match="is read-only") as raised:
            record_materialization(read_only, materialization("b"), [])
        assert str(catalog_path) in str(raised.value) and isinstance(raised.value.__cause__, sqlite3.Error)


def test_an_in_memory_catalog_works_for_one_process() -> None:
    with open_catalog("sqlite://") as catalog:
        record_materialization(catalog, materialization("a"), [])
        assert list(catalog.read_state(["a"])) == ["a"]
