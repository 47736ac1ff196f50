"""Reading a SELECT's scopes (sqlglot's): a scope's sources by name, its projections, the alias list that renames
its outputs, and the columns an expression reads outside its nested SELECTs. Helpers of :mod:`.sql`'s tracer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, ScopeType


def named_source(scope: Scope, name: str) -> tuple[str, exp.Table | Scope] | None:
    """A scope's source by name, matched as SQL matches unquoted names: case-insensitively."""
    if name in scope.sources:
        return name, scope.sources[name]
    for key, source in scope.sources.items():
        if key.lower() == name.lower():
            return key, source
    return None


How = TypeVar("How")


def star_options(star: exp.Star, outputs: list[tuple[str, How | exp.Expr]]) -> list[tuple[str, How | exp.Expr]]:
    """A ``*``'s outputs less its ``exclude``/``except`` columns, with its ``replace`` expressions and its
    ``rename`` names (DuckDB, Snowflake, BigQuery), matched case-insensitively.

    >>> import sqlglot
    >>> star = sqlglot.parse_one("select * exclude (b) rename (c as d) from t", read="duckdb").selects[0]
    >>> [name for name, _ in star_options(star, [("a", 1), ("B", 2), ("c", 3)])]
    ['a', 'd']
    """
    excluded = {column.name.lower() for column in star.args.get("except_") or ()}
    replaced = {alias.alias.lower(): alias.this for alias in star.args.get("replace") or ()}
    renamed = {alias.this.name.lower(): alias.alias for alias in star.args.get("rename") or ()}
    return [(renamed.get(name.lower(), name), replaced.get(name.lower(), how))
            for name, how in outputs if name.lower() not in excluded]


def alias_columns(scope: Scope) -> list[str]:
    """The column alias list of a CTE or derived table (``t (a, b)``), which renames its outputs by position."""
    parent = scope.expression.parent
    alias = parent.args.get("alias") if isinstance(parent, (exp.CTE, exp.Subquery)) else None
    return [column.name for column in alias.columns] if isinstance(alias, exp.TableAlias) else []


def projections(scope: Scope) -> list[exp.Expr]:
    expression = scope.expression
    while isinstance(expression, exp.SetOperation):
        expression = expression.left
    return list(expression.selects) if isinstance(expression, exp.Select) else []


def value_columns(node: exp.Expr) -> Iterable[exp.Column]:
    """Columns of ``node`` outside any nested SELECT (those are traced through their own scope)."""
    if isinstance(node, exp.Column):
        yield node
        return
    for child in node.iter_expressions():
        if isinstance(child, (exp.Select, exp.Subquery, exp.SetOperation)):
            continue
        yield from value_columns(child)


def scope_of(scope: Scope, select: exp.Select) -> Scope | None:
    for inner in scope.subquery_scopes:
        if inner.expression is select:
            return inner
    return None


def recursive_ctes(root: Scope) -> dict[int, Scope]:
    """Each recursive CTE's scope, by its anchor. sqlglot gives the branch that reads the CTE a stand-in for it: a
    scope of the anchor alone, with no branches of its own; the tracer reads the CTE itself instead."""
    return {id(scope.expression.this): scope for scope in root.traverse() if scope.scope_type == ScopeType.CTE
            and isinstance(scope.expression, exp.SetOperation) and isinstance(scope.expression.parent, exp.CTE)}


def is_stand_in(scope: Scope) -> bool:
    """Whether ``scope`` is sqlglot's stand-in for a recursive CTE (see :func:`recursive_ctes`)."""
    parent = scope.expression.parent
    return scope.scope_type == ScopeType.CTE and isinstance(parent, exp.SetOperation) and isinstance(
        parent.parent, exp.CTE) and scope.expression is parent.this
