"""Column-level lineage of SQL assets: which upstream columns each output column's value comes from.

Semantics are value lineage: the columns referenced by an output column's SELECT expression, followed through
CTEs, subqueries, set operations, aliases and ``*``. Columns used only to filter, join or group are left out;
``count(*)`` comes from no column. A statement is qualified once (sqlglot) and every column is traced in one
pass over its scopes, memoized per (scope, column), so wide queries through chains of CTEs stay linear.

When a column cannot be placed (an unqualified column over several tables whose schemas are unknown, or a ``*``
over a table without a schema) its lineage is *unknown*, with the reason: never an empty answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from assets_core.definitions import Asset
from assets_core.graph import AssetGraph
from assets_core.sql import parse_statement, rename_tables
from assets_core.versioning import digest

Origin = tuple[str, str]  # (asset, column)


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

    def to_json(self) -> dict[str, object]:
        return {"columns": list(self.columns) if self.columns is not None else None,
                "direct": {c: list(v) for c, v in self.direct.items()}, "unknown": dict(self.unknown),
                "problem": self.problem, "key": self.key}

    @classmethod
    def from_json(cls, asset: str, data: Mapping[str, object]) -> TableLineage:
        columns = data.get("columns")
        return cls(asset, tuple(columns) if isinstance(columns, list) else None,
                   {c: tuple(v) for c, v in dict(data.get("direct") or {}).items()},  # type: ignore[call-overload]
                   dict(data.get("unknown") or {}), str(data.get("problem") or ""), str(data.get("key") or ""))


def lineage_key(item: Asset, schemas: Mapping[str, Sequence[str] | None]) -> str:
    """What a SQL asset's lineage depends on: its SQL, its dialect, and the columns of its upstreams."""
    upstream = [f"{ref}={','.join(schemas.get(asset) or ['?'])}" for ref, asset in sorted(item.inputs.items())]
    return digest(item.dialect, item.sql or "", *upstream)


def sql_lineage(item: Asset, schemas: Mapping[str, Sequence[str] | None]) -> TableLineage:
    """The lineage of one SQL asset, given the columns of its upstream assets (None: unknown).

    >>> from assets_core.sql import sql_asset
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
    renamed, safe_to_asset = rename_tables(statement, item.inputs)
    statement = renamed if renamed is not statement else statement.copy()  # qualify rewrites it in place
    asset_to_safe = {asset: safe for safe, asset in safe_to_asset.items()}
    schema = {asset_to_safe[a]: {c: "TEXT" for c in cols} for a, cols in schemas.items()
              if a in asset_to_safe and cols}
    try:
        qualified = qualify(statement, schema=schema, dialect=item.dialect, validate_qualify_columns=False,
                            quote_identifiers=False, identify=False)
        root = build_scope(qualified)
    except (OptimizeError, SqlglotError, KeyError, ValueError) as error:
        return TableLineage(item.name, None, problem=f"its SQL cannot be analysed: {error}", key=key)
    if root is None:
        return TableLineage(item.name, None, problem="its SQL has no SELECT to analyse", key=key)
    return _trace_all(item.name, root, safe_to_asset, key)


def _trace_all(name: str, root: Scope, safe_to_asset: Mapping[str, str], key: str) -> TableLineage:
    tracer = _Tracer(safe_to_asset)
    selects = _projections(root)
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star)) for p in selects):
        return TableLineage(name, None, problem="it selects * from a table whose columns are not known; give that "
                            "upstream a schema (materialize it, or declare AssetOptions(schema=...))", key=key)
    columns = tuple(p.alias_or_name for p in selects)
    direct: dict[str, tuple[str, ...]] = {}
    unknown: dict[str, str] = {}
    for index, column in enumerate(columns):
        try:
            origins = tracer.output(root, index)
        except UnknownLineage as why:
            unknown[column] = str(why)
            continue
        direct[column] = tuple(sorted(f"{asset}.{col}" for asset, col in origins))
    return TableLineage(name, columns, direct, unknown, key=key)


class _Tracer:
    """Follows columns down through scopes, remembering every (scope, output position) it resolved."""

    def __init__(self, safe_to_asset: Mapping[str, str]):
        self.safe_to_asset = safe_to_asset
        self.memo: dict[tuple[int, int], frozenset[Origin]] = {}
        self.selects: dict[int, list[exp.Expression]] = {}
        self.positions: dict[int, dict[str, int]] = {}

    def projections(self, scope: Scope) -> list[exp.Expression]:
        found = self.selects.get(id(scope))
        if found is None:
            found = self.selects[id(scope)] = _projections(scope)
        return found

    def position(self, scope: Scope, name: str) -> int | None:
        """Where a scope outputs the column ``name`` (the first such column, as SQL resolves it)."""
        found = self.positions.get(id(scope))
        if found is None:
            found = {}
            for index, projection in enumerate(self.projections(scope)):
                found.setdefault(projection.alias_or_name, index)
            self.positions[id(scope)] = found
        return found.get(name)

    def output(self, scope: Scope, index: int) -> frozenset[Origin]:
        """The origins of the scope's output column at ``index``."""
        key = (id(scope), index)
        found = self.memo.get(key)
        if found is None:
            if isinstance(scope.expression, exp.SetOperation):
                found = frozenset().union(*(self.output(branch, index) for branch in scope.set_operation_scopes))
            else:
                selects = self.projections(scope)
                if index >= len(selects):
                    raise UnknownLineage("a set operation's branches have different numbers of columns")
                found = self.expression(scope, selects[index])
            self.memo[key] = found
        return found

    def expression(self, scope: Scope, node: exp.Expression) -> frozenset[Origin]:
        """The origins of every column an expression reads, including through scalar subqueries."""
        origins: set[Origin] = set()
        for column in _value_columns(node):
            origins |= self.column(scope, column)
        for subquery in node.find_all(exp.Select):
            inner = _scope_of(scope, subquery)
            if inner is not None and subquery is not node:
                for index in range(len(self.projections(inner))):
                    origins |= self.output(inner, index)
        return frozenset(origins)

    def column(self, scope: Scope, column: exp.Column) -> frozenset[Origin]:
        table = column.table
        if not table and len(scope.sources) == 1:
            table = next(iter(scope.sources))  # one table: the column can only be its
        if not table:
            raise UnknownLineage(
                f"'{column.name}' could come from more than one table and their columns are not known; "
                "qualify it (table.column) or give the upstreams a schema")
        owner: Scope | None = scope
        while owner is not None and table not in owner.sources:
            owner = owner.parent
        if owner is None:
            raise UnknownLineage(f"'{table}.{column.name}' names a table the statement does not read")
        source = owner.sources[table]
        if isinstance(source, exp.Table):
            return frozenset({(self.safe_to_asset.get(source.name, source.name), column.name)})
        index = self.position(source, column.name)
        if index is None:
            raise UnknownLineage(f"'{table}' has no column '{column.name}'")
        return self.output(source, index)


def _projections(scope: Scope) -> list[exp.Expression]:
    expression = scope.expression
    while isinstance(expression, exp.SetOperation):
        expression = expression.left
    return list(expression.selects) if isinstance(expression, exp.Select) else []


def _value_columns(node: exp.Expression) -> Iterable[exp.Column]:
    """Columns of ``node`` outside any nested SELECT (those are traced through their own scope)."""
    if isinstance(node, exp.Column):
        yield node
        return
    for child in node.iter_expressions():
        if isinstance(child, (exp.Select, exp.Subquery, exp.SetOperation)):
            continue
        yield from _value_columns(child)


def _scope_of(scope: Scope, select: exp.Select) -> Scope | None:
    for inner in scope.subquery_scopes:
        if inner.expression is select:
            return inner
    return None


def project_lineage(graph: AssetGraph, schemas: Mapping[str, Sequence[str] | None],
                    cached: Mapping[str, TableLineage] | None = None) -> dict[str, TableLineage]:
    """The lineage of every SQL asset, in dependency order; each SQL asset's output columns become the schema
    its downstream assets are analysed with. ``cached`` lineages whose key still matches are reused."""
    known: dict[str, Sequence[str] | None] = dict(schemas)
    cached = cached or {}
    result: dict[str, TableLineage] = {}
    for item in graph:
        if item.kind != "sql":
            continue
        upstream_schemas = {up: known.get(up) for up in item.upstream}
        previous = cached.get(item.name)
        if previous is not None and previous.key == lineage_key(item, upstream_schemas):
            lineage = previous
        else:
            lineage = sql_lineage(item, upstream_schemas)
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

    >>> a = TableLineage("a", ("x",), {"x": ("raw.id",)})
    >>> b = TableLineage("b", ("y",), {"y": ("a.x", "raw.name")})
    >>> sorted(trace({"a": a, "b": b}, "b", "y").origins)
    ['raw.id', 'raw.name']
    """
    origins: set[str] = set()
    unknown: set[str] = set()
    frontier = [(asset, column)]
    seen: set[tuple[str, str]] = set()
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        lineage = lineages.get(current[0])
        if lineage is not None and (current[1] in lineage.unknown or lineage.columns is None):
            unknown.add(f"{current[0]}.{current[1]}")
            continue
        sources = lineage.direct.get(current[1]) if lineage is not None else None
        if sources is None:
            if current != (asset, column):
                origins.add(f"{current[0]}.{current[1]}")
            continue
        frontier += [tuple(source.rsplit(".", 1)) for source in sources]  # type: ignore[misc]
    return Trace(frozenset(origins), frozenset(unknown))


def parse_column(text: str, assets: Iterable[str]) -> tuple[str, str] | None:
    """Split ``asset.column`` where the asset name itself may be dotted (``finance.orders.amount``)."""
    names = set(assets)
    head, _, tail = text.rpartition(".")
    return (head, tail) if head in names and tail else None

