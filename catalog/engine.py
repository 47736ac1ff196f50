"""Connecting to the catalog database: the engine, SQLite's settings, and database errors told as CatalogErrors."""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from assets_core.application.catalogs import sqlite_url
from assets_core.errors import CatalogError
from catalog.messages import BUSY_TIMEOUT_MS, explain

WRITE = {"catalog_write": True}  # execution option: this transaction writes (BEGIN IMMEDIATE on SQLite)


# Database names a catalog URL commonly starts with: the suggestions for a misspelt one.
KNOWN_DRIVERS = ("sqlite", "postgresql+psycopg", "mysql+pymysql", "mssql+pyodbc", "oracle+oracledb")
EXAMPLES = "e.g. 'sqlite:///path/to/catalog.db' or 'postgresql+psycopg://user@host/db'"


def parse_url(url: str) -> URL:
    """The parsed URL, or a CatalogError saying what a valid one looks like (its password hidden).

    >>> parse_url("postgresql+psycopg://ana:secret@db:port/x")
    Traceback (most recent call last):
    assets_core.errors.CatalogError: 'postgresql+psycopg://ana:***@db:port/x' is not a database URL: its port ...
    """
    try:
        return make_url(url)
    except ArgumentError as error:
        raise CatalogError(f"'{_hidden(url)}' is not a database URL; use {EXAMPLES}") from error
    except ValueError as error:  # a port that is no number
        # the port as SQLAlchemy read it (after an '@': without one, the text may be a password)
        port = re.search(r": '(.*)'$", str(error)) if "@" in url else None
        raise CatalogError(
            f"'{_hidden(url)}' is not a database URL: its port '{port.group(1) if port else ''}' is not a number; "
            f"use {EXAMPLES}") from error


def _hidden(url: str) -> str:
    """A URL that could not be parsed, its password hidden as SQLAlchemy hides it.

    >>> _hidden("postgresql://ana:se:cr@et@db:5432/x"), _hidden("sqlite:///a@b:c")
    ('postgresql://ana:***@db:5432/x', 'sqlite:///a@b:c')
    """
    return re.sub(r"^([^:/]+://[^:/@]*):[^/]*@", r"\1:***@", url)


def _did_you_mean(drivername: str) -> str:
    """A suggestion for a database name no dialect has.

    >>> _did_you_mean("postgres"), _did_you_mean("postgresql+pyscopg"), _did_you_mean("http")
    (" (did you mean 'postgresql+psycopg'?)", " (did you mean 'postgresql+psycopg'?)", '')
    """
    close = difflib.get_close_matches(drivername, KNOWN_DRIVERS, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL, or ``None`` for other databases and in-memory SQLite.

    >>> sqlite_file(make_url("sqlite:////tmp/catalog.db"))
    PosixPath('/tmp/catalog.db')
    >>> sqlite_file(make_url("sqlite://")) is None
    True
    """
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):  # a URI filename: leave its options to SQLite
        return None
    return Path(url.database)


def describe(url: URL) -> str:
    """How to name the database in a message: a SQLite catalog's file, else the URL without its password.

    >>> describe(make_url("sqlite:////tmp/catalog.db")), describe(make_url("postgresql://ana:secret@db/assets"))
    ('/tmp/catalog.db', 'postgresql://ana:***@db/assets')
    """
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


def _other_driver(url: URL) -> str:
    """A driver of the URL's database other than the one it names, for the message when that one is missing.

    >>> [_other_driver(make_url(f"{name}://db/x")) for name in ("postgresql+psycopg2", "postgresql+psycopg", "mysql")]
    ['postgresql+psycopg', 'postgresql+psycopg2', 'mysql+pymysql']
    """
    drivers = {"postgresql": ("postgresql+psycopg", "postgresql+psycopg2"), "mysql": ("mysql+pymysql", "mysql+mysqldb")}
    others = [name for name in drivers.get(url.get_backend_name(), ()) if name != url.drivername]
    return others[0] if others else "mysql+pymysql"


# Metadata may hold values JSON cannot (dates, decimals): store their text rather than fail the run.
_to_json = json.JSONEncoder(default=str, separators=(",", ":")).encode


def create_catalog_engine(url: URL) -> Engine:
    """An engine for the catalog; for a SQLite file, also its folder, WAL mode and a generous busy timeout."""
    path = sqlite_file(url)
    if path is not None:
        if path.is_dir():
            raise CatalogError(
                f"the catalog {path} is a folder, not a file; point --catalog / ASSETS_CATALOG at a file "
                f"such as {sqlite_url(path / 'catalog.db')}"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CatalogError(
                f"cannot create the folder of the catalog {path}: {error.strerror}; "
                "choose another home with --home (or ASSETS_HOME), "
                "or point --catalog / ASSETS_CATALOG at a writable location"
            ) from error
    try:
        engine = create_engine(url, json_serializer=_to_json)
    except ArgumentError as error:  # NoSuchModuleError among them: no database of that name
        raise CatalogError(
            f"the catalog URL '{describe(url)}' names '{url.drivername}', which is no database SQLAlchemy "
            f"knows{_did_you_mean(url.drivername)}; use {EXAMPLES}, or install a package that serves "
            f"'{url.get_backend_name()}' catalogs (entry point group assets.catalogs)"
        ) from error
    except ImportError as error:  # the dialect is known, its driver is not installed
        raise CatalogError(
            f"the catalog {describe(url)} needs the database driver '{error.name or error}', which is not "
            f"installed; install it in this environment, or name another driver in the URL (e.g. "
            f"{_other_driver(url)}://)"
        ) from error
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
    elif url.get_backend_name() == "postgresql":
        event.listen(engine, "begin", _begin_postgresql)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver, so that _begin_sqlite decides how each one begins.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite(connection: Any) -> None:
    # Core writers take the write lock up front, as DriverTransactions does (see there why).
    if connection.get_execution_options().get("catalog_write"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


# Any 64-bit number, the same in every process: the key of the lock that one writer at a time holds.
WRITE_LOCK_KEY = 0x61737365747301  # "assets", 1


def _begin_postgresql(connection: Any) -> None:
    # Writers take turns, as on SQLite (BEGIN IMMEDIATE): a write that first reads, such as replacing the stored
    # definitions when their digest differs, would otherwise race another process's same write (both find
    # nothing, both insert, one fails on the primary key). The lock is the transaction's, released at its end.
    if connection.get_execution_options().get("catalog_write"):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


@contextmanager
def translated_errors(url: URL) -> Iterator[None]:
    """Re-raise database errors as CatalogErrors that say what failed, where, and how to fix it."""
    try:
        yield
    except (DBAPIError, sqlite3.Error) as error:  # the SQLite driver's own errors come from DriverTransaction
        text = str(error.orig) if isinstance(error, DBAPIError) and error.orig is not None else str(error)
        raise CatalogError(explain(text, describe(url))) from error
