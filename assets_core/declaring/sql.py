"""SQL assets: a SELECT statement whose table references are its upstream assets, run on polars' SQL engine.

A SQL asset is declared in Python (``sql_asset``) or as a folder of ``.sql`` files, one asset per file named
after it. Its upstreams come from parsing the statement with sqlglot, through its scopes, so that a CTE named
like an asset is not taken for that asset; ``schema.table`` maps onto the dotted asset name ``schema.table``.

A time-partitioned SQL asset may write ``@start`` and ``@end``: parsed as parameters (``exp.Parameter``, also in
DuckDB, where ``@`` is otherwise the absolute value operator), replaced in the tree by the bounds of the window of
the partition being run (see :func:`window_literal`).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.parser import Parser

from assets_core.declaring.additions import partitioned
from assets_core.declaring.definitions import (
    Asset,
    AssetOptions,
    default_group,
    name_problems,
    normalize_tags,
)
from assets_core.declaring.jinja import jinja_problem
from assets_core.errors import DefinitionError, Location, MaterializationError
from assets_core.imports import late_import

if TYPE_CHECKING:
    from assets_core.automation.conditions import Condition
    from assets_core.declaring.partitions import Partitions, Window

DEFAULT_DIALECT = "duckdb"
QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except)
WINDOW_PARAMETERS = ("start", "end")  # @start, @end: the bounds of the partition's time window
# where a parameter is an operand that polars compares with a column, and so converts to that column's type
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.NullSafeEQ, exp.NullSafeNEQ)


@dataclass(frozen=True)
class TableReference:
    """A table a statement reads: its dotted name and where it is written."""

    name: str
    line: int
    column: int


def sql_asset(name: str, sql: str, *, dialect: str = DEFAULT_DIALECT, group: str | None = None,
              description: str = "", tags: Iterable[str] | Mapping[str, str] = (), owners: Iterable[str] = (),
              options: AssetOptions | None = None, partitions: Partitions | None = None,
              time_column: str | None = None, backfill: str = "per_partition",
              automation: Condition | None = None) -> Asset:
    """Declare a SQL asset: a SELECT over other assets, referenced as tables (``automation``: when the daemon
    materializes it by itself).

    With ``partitions`` (time partitions), the SQL may use ``@start`` and ``@end``: the bounds of the partition's
    window (of the whole range for ``backfill="single_run"``), put into sqlglot's tree as timestamps.

    >>> orders = sql_asset("orders", "select id, amount from raw_orders where amount > 0")
    >>> orders.kind, orders.upstream
    ('sql', ('raw_orders',))
    """
    frame = sys._getframe(1)
    location = Location(os.path.abspath(frame.f_code.co_filename), frame.f_lineno)
    if automation is not None:
        options = replace(options or AssetOptions(), automation=automation)
    made = build_sql_asset(name, sql, dialect, location, group=group, description=description, tags=tags,
                           owners=owners, options=options, partitions=partitions)
    return partitioned(made, partitions, time_column, backfill)


def sql_folder(folder: str | os.PathLike[str], *, dialect: str = DEFAULT_DIALECT,
               group: str | None = None) -> list[Asset]:
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
                    owners: Iterable[str] = (), options: AssetOptions | None = None,
                    partitions: Partitions | None = None) -> Asset:
    """A SQL asset with its upstreams parsed from ``sql``; parse problems are kept on the asset, and so is the
    use of ``@start`` / ``@end`` without time ``partitions`` (they would have no window to stand for)."""
    statement, problems = parse_statement(name, sql, dialect, location)
    references = table_references(statement) if statement is not None else []
    if statement is not None:
        problems += window_problems(name, statement, partitions, location)
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
    except (ParseError, TokenError) as error:
        templated = jinja_problem(sql)  # only SQL that does not parse: '{%' may be in a string literal
        if templated:
            line = sql.count("\n", 0, templated[0]) + 1
            column = templated[0] - (sql.rfind("\n", 0, templated[0]) + 1) + 1
            return None, [DefinitionError(templated[1], asset=name, location=_offset(location, line, column))]
        if isinstance(error, TokenError):
            return None, [DefinitionError(f"has SQL that cannot be read: {error}", asset=name, location=location)]
        first = error.errors[0] if error.errors else {}
        where = _offset(location, first.get("line", 1), _start_column(first))
        detail = first.get("description", str(error)).split(". Line")[0]
        return None, [DefinitionError(f"has a SQL syntax error: {detail}", asset=name, location=where)]
    except ValueError as error:
        return None, [DefinitionError(f"has SQL that cannot be read: {error}", asset=name, location=location)]
    except RecursionError:
        return None, [DefinitionError("has SQL nested too deeply for the SQL parser; split it into smaller "
                                      "expressions or CTEs", asset=name, location=location)]
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

    Callers must not modify the trees returned (``rename_tables`` and ``bind_window`` copy before they rewrite).
    """
    reader, parser = _reader(dialect)
    return tuple(s for s in parser(dialect=reader).parse(reader.tokenize(sql), sql) if isinstance(s, exp.Expression))


@functools.lru_cache(maxsize=64)
def _reader(dialect: str) -> tuple[sqlglot.Dialect, type[Parser]]:
    """The dialect, and its parser taught that ``@start`` and ``@end`` are parameters.

    Most dialects already parse ``@name`` as ``exp.Parameter``; DuckDB parses ``@x`` as ``abs(x)`` (and
    ``@start + 1`` as ``abs(start + 1)``), so there ``@`` written right against ``start`` or ``end`` becomes a
    parameter and any other ``@`` keeps its meaning.
    """
    reader = sqlglot.Dialect.get_or_raise(dialect)
    base: type[Parser] = reader.parser_class
    at_sign: Callable[[Parser], exp.Expression] | None = base.NO_PAREN_FUNCTION_PARSERS.get("@")
    if at_sign is None:
        return reader, base

    def parse_at_sign(self: Parser) -> exp.Expression:
        sign, word = self._prev, self._curr
        if (word is not None and word.text.lower() in WINDOW_PARAMETERS and word.start == sign.end + 1
                and word.token_type not in (sqlglot.TokenType.IDENTIFIER, sqlglot.TokenType.STRING)):
            self._advance()
            parameter = self.expression(exp.Parameter(this=exp.Var(this=word.text)))
            parameter.meta.update(line=sign.line, col=sign.col)
            return parameter
        return at_sign(self)

    parsers = {**base.NO_PAREN_FUNCTION_PARSERS, "@": parse_at_sign}
    return reader, type(f"{base.__name__}WithWindow", (base,), {"NO_PAREN_FUNCTION_PARSERS": parsers})


def window_parameters(statement: exp.Expression) -> list[exp.Parameter]:
    """The ``@start`` and ``@end`` parameters of a statement, in order.

    >>> statement, _ = parse_statement("daily", "select * from events where ts >= @start and ts < @END",
    ...                                "duckdb", Location("?"))
    >>> [p.name for p in window_parameters(statement)], table_references(statement)[0].name
    (['start', 'END'], 'events')
    """
    found = statement.find_all(exp.Parameter, bfs=False)
    return [node for node in found if node.name.lower() in WINDOW_PARAMETERS]


def window_problems(name: str, statement: exp.Expression, partitions: Partitions | None,
                    location: Location) -> list[DefinitionError]:
    """A problem when the statement uses ``@start`` / ``@end`` but ``partitions`` give no time window."""
    used = window_parameters(statement)
    if not used or _has_windows(partitions):
        return []
    first = used[0]
    where = _offset(location, first.meta.get("line", 0), first.meta.get("col", 0))
    names = " and ".join(dict.fromkeys(f"@{p.name.lower()}" for p in used))
    if partitions is None:
        why = "it has no partitions"
    else:
        describe = getattr(partitions, "describe", None)
        why = f"its partitions ({describe() if callable(describe) else partitions!r}) have no time window"
    return [DefinitionError(
        f"uses {names} in its SQL, the bounds of a time partition's window, but {why}; declare time partitions "
        "(partitions=DailyPartitions(...), HourlyPartitions(...), ...) or remove them", asset=name, location=where)]


def _has_windows(partitions: Partitions | None) -> bool:
    """Whether every key of ``partitions`` has a time window: a time partitioning, a multi-partitioning with
    exactly one time dimension, or a partitioning of one's own that defines ``window``."""
    with late_import():
        from assets_core.declaring.partitions import MultiPartitions, Partitions
        from assets_core.declaring.time_partitions import TimePartitions

    if isinstance(partitions, MultiPartitions):
        return sum(isinstance(p, TimePartitions) for _, p in partitions.dimensions) == 1
    return isinstance(partitions, Partitions) and type(partitions).window is not Partitions.window


def window_literal(moment: datetime, typed: bool) -> exp.Expression:
    """A window bound in SQL, for polars' SQL engine: an ISO 8601 text with its UTC offset,
    ``'2026-01-15 00:00:00+00:00'``, cast to ``TIMESTAMPTZ`` (a ``Datetime("us", "UTC")``) unless it is an
    operand of a comparison.

    In a comparison (``ts >= @start``, ``ts BETWEEN @start AND @end``) the text is left untyped: polars converts
    it to the type of the column it is compared with, so a column with any time zone is compared at the same
    instant, and a column without one is read as UTC. A typed literal would only compare with a column in UTC:
    polars refuses to compare datetimes of different time zones, or with and without one.

    >>> from datetime import timedelta
    >>> paris_midnight = datetime(2026, 1, 15, tzinfo=timezone(timedelta(hours=1)))
    >>> window_literal(paris_midnight, typed=False).sql("duckdb")
    "'2026-01-14 23:00:00+00:00'"
    >>> window_literal(paris_midnight, typed=True).sql("duckdb")
    "CAST('2026-01-14 23:00:00+00:00' AS TIMESTAMPTZ)"
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = exp.Literal.string(moment.astimezone(timezone.utc).isoformat(sep=" "))
    return exp.cast(text, exp.DataType.build("TIMESTAMPTZ")) if typed else text


def bind_window(statement: exp.Expression, window: Window) -> exp.Expression:
    """A copy of ``statement`` with ``@start`` and ``@end`` replaced by the window's bounds (the statement
    itself when it uses neither)."""
    if not window_parameters(statement):
        return statement
    statement = statement.copy()
    for parameter in window_parameters(statement):
        bound = window.start if parameter.name.lower() == "start" else window.end
        parameter.replace(window_literal(bound, typed=not isinstance(parameter.parent, _COMPARISONS)))
    return statement


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
    """The statement without comments and formatting, so cosmetic edits change no code version (``@start`` and
    ``@end`` stay parameters: every partition has the same code version)."""
    try:
        statements = _parse(item.sql or "", item.dialect)
        return statements[0].sql(dialect=item.dialect, comments=False, normalize=True) if statements else ""
    except (ParseError, TokenError, ValueError):
        return item.sql or ""


def run_sql(item: Asset, frames: Mapping[str, pl.LazyFrame | pl.DataFrame],
            window: Window | None = None) -> pl.LazyFrame:
    """Run a SQL asset on polars, with its upstreams registered under safe table names, and ``@start`` /
    ``@end`` bound to ``window`` (the time window of the partition being run)."""
    statement, problems = parse_statement(item.name, item.sql or "", item.dialect, item.location or Location("?"))
    if statement is None:
        raise MaterializationError(item.name, str(problems[0]))
    if window is not None:
        statement = bind_window(statement, window)
    elif window_parameters(statement):
        raise MaterializationError(item.name, "its SQL uses @start/@end, the bounds of a time partition's window, "
                                              "but it is run without one (only a key of time partitions has one)")
    statement, safe_to_ref = rename_tables(statement, {ref: ref for ref in item.inputs})
    registered: dict[str, Any] = {}
    for safe, ref in safe_to_ref.items():
        value = frames[ref]
        registered[safe] = value.lazy() if isinstance(value, pl.DataFrame) else value
    text = statement.sql(dialect="duckdb")
    try:
        result = pl.SQLContext(frames=registered).execute(text, eager=False)
        result.collect_schema()  # an unknown column or function shows here, not later as a failure to store
        return result
    except (pl.exceptions.PolarsError, ValueError) as error:
        where = f" ({item.location})" if item.location else ""
        raise MaterializationError(item.name, f"polars could not run its SQL{where}: {error}") from error


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
