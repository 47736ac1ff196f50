"""Write transactions: the few row operations a record needs, run through SQLAlchemy Core or the SQLite driver.

Recording a materialization takes three or four statements, and SQLAlchemy's bookkeeping around each one
(some 40 µs) doubled the cost of a record. So on SQLite the statements are rendered once by SQLAlchemy, for
the engine's own dialect, and then run straight on the ``sqlite3`` driver, every value passed through its
column type's bind processor: both paths store the same bytes. Every other database goes through Core.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

from catalog.engine import WRITE

Values = Mapping[str, Any]


class WriteTransaction(Protocol):
    """The row operations of one write transaction; it commits when its ``with`` block ends without error."""

    def insert(self, table: Table, values: Values) -> Any:
        """Insert one row; returns its new integer id (for tables that have one)."""
        ...

    def insert_many(self, table: Table, rows: Sequence[Values]) -> None:
        """Insert rows, all with the same columns, in order."""
        ...

    def insert_returning_ids(self, table: Table, rows: Sequence[Values]) -> list[Any]:
        """Insert rows, all with the same columns, in order; returns their new integer ids in that order."""
        ...

    def update(self, table: Table, key: str, key_value: Any, values: Values) -> int:
        """Set ``values`` on the rows whose ``key`` column equals ``key_value``; returns how many matched."""
        ...

    def upsert_many(self, table: Table, key: str, rows: Sequence[Values]) -> None:
        """For each row (all with the same columns, ``key`` among them): set its other columns on the row whose
        ``key`` equals the row's, or insert it where there is none. The keys must differ."""
        ...

    def delete_all(self, table: Table) -> None:
        """Delete every row of the table."""
        ...

    def delete_where(self, table: Table, equal: Values) -> None:
        """Delete the rows whose columns equal ``equal`` (every given column)."""
        ...

    def delete_in(self, table: Table, equal: Values, key: str, values: Sequence[Any]) -> None:
        """Delete the rows whose columns equal ``equal`` and whose ``key`` is one of ``values``: the rows are
        found through ``key`` (which should be indexed), ``equal`` only narrows them."""
        ...

    def select_in(self, table: Table, columns: Sequence[str], key: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The ``columns`` of the rows whose ``key`` is one of ``values``, read inside this transaction."""
        ...


IN_BATCH = 500  # values per IN (...) list: well under SQLite's limit on parameters
# Parameters per statement: SQLite allows 32,766 since 3.32, 999 before.
MAX_PARAMETERS = 30_000 if sqlite3.sqlite_version_info >= (3, 32) else 900


class Transactions(Protocol):
    """Begins write transactions on one catalog's database."""

    def begin(self) -> AbstractContextManager[WriteTransaction]:
        """A write transaction, committed when its ``with`` block ends without error."""
        ...

    def close(self) -> None:
        """Release any connection held between transactions."""
        ...


def transactions(engine: Engine) -> Transactions:
    """How to begin write transactions on the engine: on the SQLite driver directly, else through Core."""
    if engine.dialect.name == "sqlite" and engine.dialect.driver == "pysqlite":
        return DriverTransactions(engine)
    return CoreTransactions(engine)


class CoreTransactions:
    """Begins :class:`CoreTransaction` s: works on every database SQLAlchemy supports."""

    def __init__(self, engine: Engine) -> None:
        self._writer = engine.execution_options(**WRITE)

    @contextmanager
    def begin(self) -> Iterator[CoreTransaction]:
        with self._writer.begin() as connection:
            yield CoreTransaction(connection)

    def close(self) -> None:
        """Nothing to release: each transaction returns its connection to the pool."""


class CoreTransaction:
    """A write transaction through SQLAlchemy Core."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def insert(self, table: Table, values: Values) -> Any:
        result = self._connection.execute(insert(table), dict(values))
        key = result.inserted_primary_key
        return key[0] if key else None

    def insert_many(self, table: Table, rows: Sequence[Values]) -> None:
        if rows:
            self._connection.execute(insert(table), [dict(row) for row in rows])

    def insert_returning_ids(self, table: Table, rows: Sequence[Values]) -> list[Any]:
        return [self.insert(table, row) for row in rows]

    def update(self, table: Table, key: str, key_value: Any, values: Values) -> int:
        statement = update(table).where(table.c[key] == key_value).values(dict(values))
        return self._connection.execute(statement).rowcount

    def upsert_many(self, table: Table, key: str, rows: Sequence[Values]) -> None:
        for row in rows:
            values = {column: value for column, value in row.items() if column != key}
            if self.update(table, key, row[key], values) == 0:
                self.insert(table, row)

    def delete_where(self, table: Table, equal: Values) -> None:
        self._connection.execute(delete(table).where(*(table.c[k] == v for k, v in equal.items())))

    def delete_in(self, table: Table, equal: Values, key: str, values: Sequence[Any]) -> None:
        for start in range(0, len(values), IN_BATCH):
            self._connection.execute(delete(table).where(
                *(table.c[k] == v for k, v in equal.items()), table.c[key].in_(values[start:start + IN_BATCH])))

    def select_in(self, table: Table, columns: Sequence[str], key: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), IN_BATCH):
            query = select(*(table.c[c] for c in columns)).where(table.c[key].in_(values[start:start + IN_BATCH]))
            rows += [tuple(row) for row in self._connection.execute(query)]
        return rows

    def delete_all(self, table: Table) -> None:
        self._connection.execute(delete(table))


@dataclass(frozen=True)
class Rendered:
    """A statement rendered for one dialect: its SQL, and how to turn values into its positional parameters."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, compiled: SQLCompiler, dialect: Dialect) -> Rendered:
        names = tuple(compiled.positiontup or ())
        types = [compiled.binds[name].type.dialect_impl(dialect) for name in names]
        return cls(compiled.string, names, tuple(kind.bind_processor(dialect) for kind in types))

    def parameters(self, values: Values) -> list[Any]:
        row = [values[name] for name in self.names]
        for index, process in enumerate(self.processors):
            if process is not None:
                row[index] = process(row[index])
        return row


class DriverTransactions:
    """Begins :class:`DriverTransaction` s on one driver connection, kept from the first write to ``close``.

    Checking a connection out of the pool for every record cost as much as the record itself. A process
    forked from the one that opened the connection opens its own: SQLite connections must not cross a fork.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._statements: dict[tuple[Any, ...], Rendered] = {}  # rendered once, reused by every transaction
        self._connection: PoolProxiedConnection | None = None
        self._pid = 0

    @contextmanager
    def begin(self) -> Iterator[DriverTransaction]:
        driver = self._driver()
        cursor = driver.cursor()
        # The write lock is taken up front: a transaction that began reading and later writes must upgrade
        # its lock, which SQLite refuses at once ("database is locked") while another process writes,
        # whatever the busy timeout. Waiting for the lock at BEGIN honours the timeout.
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield DriverTransaction(cursor, self._statements, self._engine.dialect)
            driver.commit()
        except BaseException:
            if driver.in_transaction:
                driver.rollback()
            raise

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None

    def _driver(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            self._connection = self._engine.raw_connection()
            self._pid = os.getpid()
        driver = self._connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        return driver


class DriverTransaction:
    """A write transaction run on the ``sqlite3`` driver itself, with statements SQLAlchemy rendered once."""

    def __init__(self, cursor: sqlite3.Cursor, statements: dict[tuple[Any, ...], Rendered], dialect: Dialect):
        self._cursor = cursor
        self._statements = statements
        self._dialect = dialect

    def _rendered(self, key: tuple[Any, ...], build: Callable[[], Any], keys: Sequence[str]) -> Rendered:
        found = self._statements.get(key)
        if found is None:
            compiled = build().compile(dialect=self._dialect, column_keys=list(keys))
            found = self._statements[key] = Rendered.of(compiled, self._dialect)
        return found

    def insert(self, table: Table, values: Values) -> Any:
        rendered = self._rendered(("insert", table.name, *values), lambda: insert(table), list(values))
        return self._cursor.execute(rendered.sql, rendered.parameters(values)).lastrowid

    def insert_many(self, table: Table, rows: Sequence[Values]) -> None:
        self._values_many(table, rows, "")

    def insert_returning_ids(self, table: Table, rows: Sequence[Values]) -> list[Any]:
        if not rows:
            return []
        # This transaction holds the write lock (BEGIN IMMEDIATE), so no other writer can take these ids; they
        # are the ones SQLite itself would give (the largest id plus one, for a table without AUTOINCREMENT).
        (largest,) = self._cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table.name}"').fetchone()
        ids = list(range(largest + 1, largest + 1 + len(rows)))
        self._values_many(table, [{"id": found, **row} for found, row in zip(ids, rows, strict=True)], "")
        return ids

    def update(self, table: Table, key: str, key_value: Any, values: Values) -> int:
        def build() -> Any:
            return update(table).where(table.c[key] == bindparam("key_value"))

        rendered = self._rendered(("update", table.name, key, *values), build, list(values))
        parameters = rendered.parameters({**values, "key_value": key_value})
        return self._cursor.execute(rendered.sql, parameters).rowcount

    def upsert_many(self, table: Table, key: str, rows: Sequence[Values]) -> None:
        if not rows:
            return
        changed = ", ".join(f'"{column}" = excluded."{column}"' for column in rows[0] if column != key)
        self._values_many(table, rows, f' ON CONFLICT ("{key}") DO UPDATE SET {changed}')

    def _values_many(self, table: Table, rows: Sequence[Values], tail: str) -> None:
        """Insert the rows with as few statements as SQLite's limit on parameters allows: every statement
        releases and takes back Python's GIL, which costs a wait whenever the run's worker threads are busy."""
        if not rows:
            return
        keys = list(rows[0])
        rendered = self._rendered(("insert", table.name, *keys), lambda: insert(table), keys)
        head = rendered.sql[:rendered.sql.rindex(" VALUES ")]
        marks = "(" + ", ".join("?" * len(keys)) + ")"
        per_statement = max(1, MAX_PARAMETERS // len(keys))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            parameters = [value for row in chunk for value in rendered.parameters(row)]
            self._cursor.execute(f"{head} VALUES {', '.join([marks] * len(chunk))}{tail}", parameters)

    def delete_all(self, table: Table) -> None:
        rendered = self._rendered(("delete", table.name), lambda: delete(table), [])
        self._cursor.execute(rendered.sql)

    def delete_where(self, table: Table, equal: Values) -> None:
        # The table's and columns' names are the catalog's own; only the values are bound.
        where = " AND ".join(f'"{column}" = ?' for column in equal)
        self._cursor.execute(f'DELETE FROM "{table.name}" WHERE {where}', list(equal.values()))

    def delete_in(self, table: Table, equal: Values, key: str, values: Sequence[Any]) -> None:
        # The unary + keeps SQLite from finding the rows through an index on an ``equal`` column: without
        # statistics it prefers that index to the key's, and every lease of a run has the same run_id, so each
        # batch scanned all of the run's leases (quadratic: 4 s of releasing leases at 100,000 assets).
        where = "".join(f'+"{column}" = ? AND ' for column in equal)
        for start in range(0, len(values), IN_BATCH):
            batch = list(values[start:start + IN_BATCH])
            marks = ", ".join("?" * len(batch))
            self._cursor.execute(f'DELETE FROM "{table.name}" WHERE {where}"{key}" IN ({marks})',
                                 [*equal.values(), *batch])

    def select_in(self, table: Table, columns: Sequence[str], key: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        shown = ", ".join(f'"{column}"' for column in columns)
        for start in range(0, len(values), IN_BATCH):
            batch = list(values[start:start + IN_BATCH])
            marks = ", ".join("?" * len(batch))
            rows += self._cursor.execute(f'SELECT {shown} FROM "{table.name}" WHERE "{key}" IN ({marks})', batch).fetchall()
        return rows
