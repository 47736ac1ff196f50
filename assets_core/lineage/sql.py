"""Column-level lineage of SQL assets: which upstream columns each output column's value comes from.

Semantics are value lineage: the columns referenced by an output column's SELECT expression, followed through
CTEs, subqueries, set operations, aliases and ``*``. Columns used only to filter, join or group are left out;
``count(*)`` comes from no column. A statement is qualified once (sqlglot) and every column is traced in one
pass over its scopes, memoized per (scope, column), so wide queries through chains of CTEs stay linear.

When a column cannot be placed (an unqualified column over several tables whose schemas are unknown, or a ``*``
over a table without a schema) its lineage is *unknown*, with the reason: never an empty answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, build_scope

from assets_core.declaring.definitions import Asset
from assets_core.declaring.sql import parse_statement, table_name
from assets_core.imports import late_import
from assets_core.lineage.columns import column_dag
from assets_core.lineage.scopes import (
    alias_columns,
    is_stand_in,
    named_source,
    projections,
    recursive_ctes,
    scope_of,
    star_options,
    value_columns,
)
from assets_core.planning.graph import AssetGraph
from assets_core.planning.versioning import digest

Origin = tuple[str, str]  # (asset, column)
ANALYSIS = 3  # raised when the analysis reads SQL differently, so lineages stored by an older one are redone


class UnknownLineage(Exception):
    """A column whose origin cannot be told, with the reason."""


@dataclass(frozen=True)
class TableLineage:
    """The column lineage of one asset."""

    asset: str
    columns: tuple[str, ...] | None  # its output columns, in order (None: not known)
    direct: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # column -> sorted "asset.column"
    unknown: Mapping[str, str] = field(default_factory=dict)  # column -> why its lineage is unknown
    problem: str = ""  # why nothing could be said of the whole statement
    key: str = ""  # the cache key: SQL and upstream schemas it was computed from
    # column -> "asset.column" -> "copied" | "transformed" | "aggregated" | "declared" (Python assets)
    how: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    used: tuple[str, ...] = ()  # sorted "asset.column"s used only to filter, join, group or sort

    def to_json(self) -> dict[str, object]:
        """The lineage as JSON values (``how`` and ``used`` only when there are any, as SQL lineages have none);
        :meth:`from_json` reads it back, and JSON stored before they existed.

        >>> lineage = TableLineage("b", ("y",), {"y": ("a.x",)}, how={"y": {"a.x": "copied"}}, used=("a.k",))
        >>> TableLineage.from_json("b", lineage.to_json()) == lineage
        True
        """
        data: dict[str, object] = {"columns": list(self.columns) if self.columns is not None else None,
                                   "direct": {c: list(v) for c, v in self.direct.items()},
                                   "unknown": dict(self.unknown), "problem": self.problem, "key": self.key}
        if self.how:
            data["how"] = {c: dict(v) for c, v in self.how.items()}
        if self.used:
            data["used"] = list(self.used)
        return data

    @classmethod
    def from_json(cls, asset: str, data: Mapping[str, object]) -> TableLineage:
        columns, direct, unknown = data.get("columns"), data.get("direct"), data.get("unknown")
        how, used = data.get("how"), data.get("used")
        return cls(asset, tuple(columns) if isinstance(columns, list) else None,
                   {c: tuple(v) for c, v in direct.items()} if isinstance(direct, dict) else {},
                   dict(unknown) if isinstance(unknown, dict) else {}, str(data.get("problem") or ""),
                   str(data.get("key") or ""), {c: dict(v) for c, v in how.items()} if isinstance(how, dict) else {},
                   tuple(used) if isinstance(used, list) else ())


def lineage_key(item: Asset, schemas: Mapping[str, Sequence[str] | None]) -> str:
    """What a SQL asset's lineage depends on: its SQL, its dialect, the columns of its upstreams, and the
    analysis that reads them (:data:`ANALYSIS`)."""
    upstream = [f"{ref}={','.join(schemas.get(asset) or ['?'])}" for ref, asset in sorted(item.inputs.items())]
    return digest(f"sql-lineage-{ANALYSIS}", item.dialect, item.sql or "", *upstream)


def sql_lineage(item: Asset, schemas: Mapping[str, Sequence[str] | None]) -> TableLineage:
    """The lineage of one SQL asset, given the columns of its upstream assets (None: unknown).

    >>> from assets_core.declaring.sql import sql_asset
    >>> item = sql_asset("totals", "with o as (select * from orders) select id, amount * 2 as double, "
    ...                  "count(*) as n from o group by id, amount")
    >>> lineage = sql_lineage(item, {"orders": ["id", "amount", "note"]})
    >>> lineage.columns, dict(lineage.direct)
    (('id', 'double', 'n'), {'id': ('orders.id',), 'double': ('orders.amount',), 'n': ()})
    """
    key = lineage_key(item, schemas)
    statement, problems = parse_statement(item.name, item.sql or "", item.dialect, item.location)  # type: ignore[arg-type]
    if statement is None:
        return TableLineage(item.name, None, problem=str(problems[0]), key=key)
    try:
        root = build_scope(statement)  # reads the (shared, parsed-once) tree; nothing rewrites it
    except (SqlglotError, KeyError, ValueError) as error:
        return TableLineage(item.name, None, problem=f"its SQL cannot be analysed: {error}", key=key)
    if root is None:
        return TableLineage(item.name, None, problem="its SQL has no SELECT to analyse", key=key)
    tracer = _Tracer(item.inputs, schemas, recursive_ctes(root))
    try:
        columns = tuple(name for name, _ in tracer.outputs(root))
    except UnknownLineage as why:
        return TableLineage(item.name, None, problem=str(why), key=key)
    direct: dict[str, tuple[str, ...]] = {}
    unknown: dict[str, str] = {}
    for index, column in enumerate(columns):
        if column in direct or column in unknown:  # a second column of that name: a reader gets the first
            continue
        try:
            origins = tracer.output(root, index)
        except UnknownLineage as why:
            unknown[column] = str(why)
            continue
        direct[column] = tuple(sorted(f"{asset}.{col}" for asset, col in origins))
    return TableLineage(item.name, columns, direct, unknown, key=key)


Output = tuple[str, "exp.Expr | tuple[str, str]"]  # a name, and an expression or (source, column) to trace


class _Tracer:
    """Resolves and follows columns through a statement's scopes, with nothing rewritten: unqualified columns
    are placed by the upstream schemas, ``*`` is expanded from them, alias lists rename by position. Every
    (scope, output position) is resolved once."""

    def __init__(self, tables: Mapping[str, str], schemas: Mapping[str, Sequence[str] | None],
                 recursive: Mapping[int, Scope]):
        self.recursive = recursive  # each recursive CTE's scope, by its anchor, for sqlglot's stand-ins
        self.assets = {ref.lower(): asset for ref, asset in tables.items()}  # table reference -> asset
        self.schemas = {asset: None if cols is None else [c for c in cols] for asset, cols in schemas.items()}
        self.memo: dict[tuple[int, int], frozenset[Origin]] = {}
        self.listed: dict[int, list[Output]] = {}
        self.positions: dict[int, dict[str, int]] = {}
        self.so_far: dict[tuple[int, int], frozenset[Origin]] = {}  # a recursive CTE's columns, as known so far
        self.reread: set[tuple[int, int]] = set()  # those of them read while being traced

    def outputs(self, scope: Scope) -> list[Output]:
        """A scope's output columns, ``*`` expanded and renamed by an alias list."""
        scope = self.real(scope)
        found = self.listed.get(id(scope))
        if found is not None:
            return found
        if isinstance(scope.expression, exp.SetOperation):
            found = [(name, ("", "")) for name, _ in self.outputs(scope.set_operation_scopes[0])]
        else:
            found = self._select_outputs(scope)
        renames = alias_columns(scope)
        found = [(renames[i] if i < len(renames) else name, how) for i, (name, how) in enumerate(found)]
        self.listed[id(scope)] = found
        return found

    def real(self, scope: Scope) -> Scope:
        """The recursive CTE itself for sqlglot's stand-in for it, else ``scope``."""
        return self.recursive.get(id(scope.expression), scope) if is_stand_in(scope) else scope

    def _select_outputs(self, scope: Scope) -> list[Output]:
        outputs: list[Output] = []
        for index, projection in enumerate(projections(scope)):
            if isinstance(projection, exp.Star):
                outputs += star_options(projection, self._star(scope, list(scope.selected_sources)))
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                outputs += star_options(projection.this, self._star(scope, [projection.table]))
            else:
                outputs.append((projection.alias_or_name or f"_col_{index}", projection))
        return outputs

    def _star(self, scope: Scope, names: list[str]) -> list[Output]:
        outputs: list[Output] = []
        for name in names:
            found = named_source(scope, name)
            if found is None:
                raise UnknownLineage(f"'{name}.*' names a table the statement does not read")
            columns = self.columns_of(found[1])
            if columns is None:
                raise UnknownLineage(
                    "it selects * from a table whose columns are not known; give that upstream a schema "
                    "(materialize it, or declare AssetOptions(schema=...))")
            outputs += [(column, (found[0], column)) for column in columns]
        return outputs

    def columns_of(self, source: exp.Table | Scope) -> list[str] | None:
        if isinstance(source, Scope):
            return [name for name, _ in self.outputs(source)]
        return self.schemas.get(self.assets.get(table_name(source).lower(), table_name(source)))

    def position(self, scope: Scope, name: str) -> int | None:
        """Where a scope outputs the column ``name`` (the first such, as SQL resolves it; case-insensitive)."""
        found = self.positions.get(id(scope))
        if found is None:
            found = {}
            for index, (output, _) in enumerate(self.outputs(scope)):
                found.setdefault(output.lower(), index)
            self.positions[id(scope)] = found
        return found.get(name.lower())

    def output(self, scope: Scope, index: int) -> frozenset[Origin]:
        """The origins of the scope's output column at ``index``."""
        scope = self.real(scope)
        key = (id(scope), index)
        found = self.memo.get(key)
        if found is None and key in self.so_far:  # a recursive CTE reading itself: what is known of it so far
            self.reread.add(key)
            return self.so_far[key]
        if found is None:
            if isinstance(scope.expression, exp.SetOperation):
                found = self._fixpoint(scope, index)
            else:
                outputs = self.outputs(scope)
                if index >= len(outputs):
                    raise UnknownLineage("a set operation's branches have different numbers of columns")
                how = outputs[index][1]
                found = self.sourced(scope, *how) if isinstance(how, tuple) else self.expression(scope, how)
            self.memo[key] = found
        return found

    def _fixpoint(self, scope: Scope, index: int) -> frozenset[Origin]:
        """A set operation's column: the union of its branches' columns; while a branch that reads the operation
        itself (a recursive CTE) finds more, again, with what was memoized on the way (with less) forgotten."""
        key = (id(scope), index)
        self.so_far[key] = frozenset()
        try:
            while True:
                mark = len(self.memo)  # entries memoized from here on are the last ones (dicts keep order)
                self.reread.discard(key)
                found = frozenset().union(*(self.output(branch, index) for branch in scope.set_operation_scopes))
                if key not in self.reread or found == self.so_far[key]:
                    return found
                self.so_far[key] = found
                for stale in list(self.memo)[mark:]:
                    del self.memo[stale]
        finally:
            del self.so_far[key]

    def expression(self, scope: Scope, node: exp.Expr) -> frozenset[Origin]:
        """The origins of every column an expression reads, including through scalar subqueries."""
        origins: set[Origin] = set()
        for column in value_columns(node):
            origins |= self.column(scope, column)
        for subquery in node.find_all(exp.Select):
            inner = scope_of(scope, subquery)
            if inner is not None and subquery is not node:
                for index in range(len(self.outputs(inner))):
                    origins |= self.output(inner, index)
        return frozenset(origins)

    def column(self, scope: Scope, column: exp.Column) -> frozenset[Origin]:
        """Place a column in the scope that defines its table (the nearest, for correlated subqueries)."""
        name, table = column.name, column.table
        owner: Scope | None = scope
        while owner is not None:
            source = self._place(owner, table, name)
            if source is not None:
                return self.sourced(owner, source, name)
            owner = owner.parent
        if table:
            raise UnknownLineage(f"'{table}.{name}' names a table the statement does not read")
        raise UnknownLineage(f"no table the statement reads has a column '{name}'")

    def _place(self, scope: Scope, table: str, name: str) -> str | None:
        """The source of ``scope`` that a column comes from, or None when it belongs to an outer scope."""
        if table:
            found = named_source(scope, table)
            return found[0] if found is not None else None
        having, unknown = [], []
        selected = {key: source for key, (_, source) in scope.selected_sources.items()}
        for source_name, source in selected.items():
            columns = self.columns_of(source)
            if columns is None:
                unknown.append(source_name)
            elif name.lower() in (c.lower() for c in columns):
                having.append(source_name)
        if len(having) == 1 and not unknown:
            return having[0]
        if not having and len(unknown) == 1 and len(selected) == 1:
            return unknown[0]  # one table: the column can only be its
        if not having and not unknown:
            return None
        raise UnknownLineage(
            f"'{name}' could come from more than one table and their columns are not known; "
            "qualify it (table.column) or give the upstreams a schema")

    def sourced(self, scope: Scope, table: str, name: str) -> frozenset[Origin]:
        """The origins of column ``name`` of the source ``table`` of ``scope``."""
        found = named_source(scope, table)
        if found is None:
            raise UnknownLineage(f"'{table}.{name}' names a table the statement does not read")
        source = found[1]
        if isinstance(source, exp.Table):
            reference = table_name(source)
            asset = self.assets.get(reference.lower(), reference)
            columns = self.schemas.get(asset)
            if columns is not None:
                matches = [c for c in columns if c.lower() == name.lower()]
                if not matches:
                    raise UnknownLineage(f"'{reference}' has no column '{name}'")
                name = matches[0]
            return frozenset({(asset, name)})
        index = self.position(source, name)
        if index is None:
            raise UnknownLineage(f"'{table}' has no column '{name}'")
        return self.output(source, index)


def project_lineage(graph: AssetGraph, schemas: Mapping[str, Sequence[str] | None],
                    cached: Mapping[str, TableLineage] | None = None,
                    typed: Mapping[str, Sequence[tuple[str, str]] | None] | None = None,
                    code_versions: Mapping[str, str] | None = None) -> dict[str, TableLineage]:
    """The lineage of every SQL asset, in dependency order; each SQL asset's output columns become the schema
    its downstream assets are analysed with. ``cached`` lineages whose key still matches are reused.

    With ``typed`` (each asset's columns and dtypes, from its last materialization), Python assets are traced
    too (:func:`assets_core.lineage.python.python_lineage`); an unmaterialized Python asset's traced output
    schema stands in for its downstream Python assets. A Python asset's lineage is reused while its code version
    (``code_versions``: which also sees the helpers and constants its code reads) and its inputs' schemas stay
    the same."""
    known: dict[str, Sequence[str] | None] = dict(schemas)
    cached = cached or {}
    result: dict[str, TableLineage] = {}
    types: dict[str, Sequence[tuple[str, str]] | None] = dict(typed or {})
    for item in graph:
        if item.kind != "sql":
            if typed is not None and not item.is_source:
                with late_import():  # polars' plan reader only for projects with Python assets
                    from assets_core.lineage.python import traced_or_cached

                version = (code_versions or {}).get(item.name, "")
                result[item.name] = traced_or_cached(item, types, cached.get(item.name), version)
                if known.get(item.name) is None and types.get(item.name) is not None:  # traced, not materialized
                    known[item.name] = [column for column, _ in types[item.name] or ()]
            continue
        upstream_schemas = {up: known.get(up) for up in item.upstream}
        previous = cached.get(item.name)
        if previous is not None and previous.key == lineage_key(item, upstream_schemas):
            lineage = previous
        else:
            try:
                lineage = sql_lineage(item, upstream_schemas)
            except Exception as error:  # noqa: BLE001 - a gap of the analysis (a RecursionError on deep SQL): this
                # asset's lineage is unknown, and says why, rather than ending the command after a run that succeeded
                lineage = TableLineage(item.name, None, key=lineage_key(item, upstream_schemas),
                                       problem=f"its columns could not be analysed ({type(error).__name__}: {error})")
        result[item.name] = lineage
        if lineage.columns is not None:
            known[item.name] = lineage.columns
    return result


@dataclass(frozen=True)
class Trace:
    """Where a column comes from: its origins, and the columns on the way whose lineage is unknown."""

    origins: frozenset[str]
    unknown: frozenset[str] = frozenset()


def trace(lineages: Mapping[str, TableLineage], asset: str, column: str) -> Trace:
    """The origins of a column, followed through every SQL asset down to columns no lineage explains.

    This reads SQL lineages alone: any column no lineage explains counts as an origin. With the asset graph at
    hand, :meth:`assets_core.lineage.columns.ColumnGraph.trace` tells a source's columns from a Python asset's.

    >>> a = TableLineage("a", ("x",), {"x": ("raw.id",)})
    >>> b = TableLineage("b", ("y",), {"y": ("a.x", "raw.name")})
    >>> sorted(trace({"a": a, "b": b}, "b", "y").origins)
    ['raw.id', 'raw.name']
    """
    start = (asset, column)
    origins: set[str] = set()
    unknown: set[str] = set()
    for name, col in [start, *column_dag({name: lineage.direct for name, lineage in lineages.items()})
                      .ancestors([start])]:
        lineage = lineages.get(name)
        if lineage is not None and (col in lineage.unknown or lineage.columns is None):
            unknown.add(f"{name}.{col}")
        elif (lineage is None or col not in lineage.direct) and (name, col) != start:
            origins.add(f"{name}.{col}")
    return Trace(frozenset(origins), frozenset(unknown))
