"""SQL assets: a SELECT statement whose table references are its upstream assets, run on polars' SQL engine.

A SQL asset is declared in Python (``sql_asset``) or as a folder of ``.sql`` files, one asset per file named
after it. Its upstreams come from parsing the statement with sqlglot, through its scopes, so that a CTE named
like an asset is not taken for that asset; ``schema.table`` maps onto the dotted asset name ``schema.table``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope

from assets_core.declaring.definitions import (
    Asset,
    AssetOptions,
    default_group,
    name_problems,
    normalize_tags,
    partitioned,
)
from assets_core.errors import DefinitionError, Location, MaterializationError

if TYPE_CHECKING:
    from assets_core.declaring.partitions import Partitions

DEFAULT_DIALECT = "duckdb"
QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except)


@dataclass(frozen=True)
class TableReference:
    """A table a statement reads: its dotted name and where it is written."""

    name: str
    line: int
    column: int


def sql_asset(name: str, sql: str, *, dialect: str = DEFAULT_DIALECT, group: str | None = None,
              description: str = "", tags: Iterable[str] | Mapping[str, str] = (), owners: Iterable[str] = (),
              options: AssetOptions | None = None, partitions: Partitions | None = None,
              time_column: str | None = None, backfill: str = "per_partition") -> Asset:
    """Declare a SQL asset: a SELECT over other assets, referenced as tables.

    With ``partitions`` (time partitions), the SQL may use ``@start`` and ``@end``: the bounds of the partition's
    window (of the whole range for ``backfill="single_run"``), put into sqlglot's tree as timestamps.

    >>> orders = sql_asset("orders", "select id, amount from raw_orders where amount > 0")
    >>> orders.kind, orders.upstream
    ('sql', ('raw_orders',))
    """
    frame = sys._getframe(1)
    location = Location(os.path.abspath(frame.f_code.co_filename), frame.f_lineno)
    made = build_sql_asset(name, sql, dialect, location, group=group, description=description, tags=tags,
                           owners=owners, options=options)
    return partitioned(made, partitions, time_column, backfill)


def sql_folder(folder: str | os.PathLike[str], *, dialect: str = DEFAULT_DIALECT, group: str | None = None) -> list[Asset]:
    """One SQL asset per ``.sql`` file below ``folder``, named after the file (``models/orders.sql`` ->
    ``orders``). Files in a subfolder belong to the group named after it, unless ``group`` is given."""
    root = Path(folder)
    assets = []
    for path in sorted(root.rglob("*.sql")):
        relative = path.relative_to(root)
        file_group = group or (relative.parts[0] if len(relative.parts) > 1 else None)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            bad = Asset(name=path.stem, kind="sql", location=Location(str(path)), problems=(
                DefinitionError(f"cannot be read: {error}", asset=path.stem, location=Location(str(path))),))
            assets.append(bad)
            continue
        assets.append(build_sql_asset(path.stem, text, dialect, Location(str(path.resolve()), 1),
                                      group=file_group, description=_leading_comment(text)))
    return assets


def build_sql_asset(name: str, sql: str, dialect: str, location: Location, *, group: str | None = None,
                    description: str = "", tags: Iterable[str] | Mapping[str, str] = (),
                    owners: Iterable[str] = (), options: AssetOptions | None = None) -> Asset:
    """A SQL asset with its upstreams parsed from ``sql``; parse problems are kept on the asset."""
    statement, problems = parse_statement(name, sql, dialect, location)
    references = table_references(statement) if statement is not None else []
    upstream_locations = {
        ref.name: _offset(location, ref.line, ref.column) for ref in references}
    return Asset(
        name=name, kind="sql", inputs={ref.name: ref.name for ref in references}, group=group or default_group(name),
        description=description, tags=normalize_tags(tags), owners=tuple(owners), options=options or AssetOptions(),
        sql=sql, dialect=dialect, location=location, upstream_locations=upstream_locations,
        problems=tuple(problems) + tuple(name_problems(name, location)))


def parse_statement(name: str, sql: str, dialect: str, location: Location) -> tuple[exp.Expression | None,
                                                                                  list[DefinitionError]]:
    """Parse one SELECT statement; return it, or the problems that stop it from being one."""
    try:
        statements = list(_parse(sql, dialect))
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = _offset(location, first.get("line", 1), _start_column(first))
        detail = first.get("description", str(error)).split(". Line")[0]
        return None, [DefinitionError(f"has a SQL syntax error: {detail}", asset=name, location=where)]
    except (TokenError, ValueError) as error:
        return None, [DefinitionError(f"has SQL that cannot be read: {error}", asset=name, location=location)]
    if len(statements) != 1:
        return None, [DefinitionError(
            f"holds {len(statements)} SQL statements; a SQL asset is exactly one SELECT", asset=name,
            location=location)]
    statement = statements[0]
    if not isinstance(statement, QUERY_TYPES):
        return None, [DefinitionError(
            f"is a {statement.key.upper()} statement; a SQL asset is one SELECT (its result is the asset)",
            asset=name, location=location)]
    return statement, []


@functools.lru_cache(maxsize=4096)
def _parse(sql: str, dialect: str) -> tuple[exp.Expression, ...]:
    """Parse once per (SQL, dialect): loading, versioning, lineage and execution all need the tree.

    Callers must not modify the trees returned (``rename_tables`` copies before it rewrites).
    """
    return tuple(s for s in sqlglot.parse(sql, dialect=dialect) if isinstance(s, exp.Expression))


def table_references(statement: exp.Expression) -> list[TableReference]:
    """The tables a statement reads, CTEs excluded, each once, in order of appearance.

    >>> sql = "with orders as (select * from raw.orders) select * from orders join customers using (id)"
    >>> [ref.name for ref in table_references(sqlglot.parse_one(sql))]
    ['raw.orders', 'customers']
    """
    found: dict[str, TableReference] = {}
    for scope in traverse_scope(statement):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and source.name:
                name = table_name(source)
                meta = source.this.meta if isinstance(source.this, exp.Identifier) else {}
                line, end = meta.get("line", 0), meta.get("col", 0)
                first = source.args.get("catalog") or source.args.get("db") or source.this
                start_meta = first.meta if isinstance(first, exp.Identifier) else meta
                column = max(start_meta.get("col", end) - len(first.name) + 1, 1) if start_meta else 0
                found.setdefault(name, TableReference(name, start_meta.get("line", line), column))
    return sorted(found.values(), key=lambda ref: (ref.line, ref.column))


def table_name(table: exp.Table) -> str:
    """The dotted asset name a table reference means: ``schema.table`` -> ``schema.table``."""
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def normalized_sql(item: Asset) -> str:
    """The statement without comments and formatting, so cosmetic edits change no code version."""
    try:
        return sqlglot.transpile(item.sql or "", read=item.dialect, write=item.dialect, comments=False,
                                 normalize=True)[0]
    except (ParseError, TokenError, ValueError, IndexError):
        return item.sql or ""


def run_sql(item: Asset, frames: Mapping[str, pl.LazyFrame | pl.DataFrame]) -> pl.LazyFrame:
    """Run a SQL asset on polars, with its upstreams registered under safe table names."""
    statement, problems = parse_statement(item.name, item.sql or "", item.dialect, item.location or Location("?"))
    if statement is None:
        raise MaterializationError(item.name, str(problems[0]))
    statement, safe_to_ref = rename_tables(statement, {ref: ref for ref in item.inputs})
    registered: dict[str, Any] = {}
    for safe, ref in safe_to_ref.items():
        value = frames[ref]
        registered[safe] = value.lazy() if isinstance(value, pl.DataFrame) else value
    text = statement.sql(dialect="duckdb")
    try:
        return pl.SQLContext(frames=registered).execute(text, eager=False)
    except (pl.exceptions.PolarsError, ValueError) as error:
        raise MaterializationError(item.name, f"polars could not run its SQL: {error}") from error


def rename_tables(statement: exp.Expression, names: Mapping[str, str]) -> tuple[exp.Expression, dict[str, str]]:
    """A copy of ``statement`` whose table references are flat, safe names; and each safe name's value in
    ``names`` (table reference -> value). A reference without an alias keeps its old name as its alias, so
    columns qualified with the table name still resolve.

    >>> statement, safe = rename_tables(sqlglot.parse_one("select o.id from finance.orders o"),
    ...                                 {"finance.orders": "finance.orders"})
    >>> statement.sql(), safe
    ('SELECT o.id FROM __asset_0 AS o', {'__asset_0': 'finance.orders'})
    >>> rename_tables(sqlglot.parse_one("select id from orders"), {"orders": "orders"})[1]
    {'orders': 'orders'}
    """
    if not any("." in ref or ref.startswith("__asset_") for ref in names):
        return statement, dict(names)  # flat names need no renaming
    statement = statement.copy()
    safe_names = {ref: f"__asset_{index}" for index, ref in enumerate(names)}
    for scope in traverse_scope(statement):
        for alias, source in list(scope.sources.items()):
            if isinstance(source, exp.Table) and table_name(source) in safe_names:
                replacement = exp.to_table(safe_names[table_name(source)])
                replacement.set("alias", source.args.get("alias") or exp.TableAlias(this=exp.to_identifier(alias)))
                source.replace(replacement)
    return statement, {safe: names[ref] for ref, safe in safe_names.items()}


def _offset(location: Location, line: int, column: int) -> Location:
    """A position inside the statement, as a position in the file that declares it."""
    if not line:
        return location
    return Location(location.file, max(location.line, 1) + line - 1, column)


def _start_column(error: Mapping[str, Any]) -> int:
    highlight = error.get("highlight") or ""
    return max(int(error.get("col", 0)) - len(highlight) + 1, 1) if error.get("col") else 0


def _leading_comment(text: str) -> str:
    lines = []
    for line in text.strip().splitlines():
        if not line.strip().startswith("--"):
            break
        lines.append(line.strip()[2:].strip())
    return " ".join(lines)
