"""Reading a SELECT's scopes (sqlglot's): a scope's sources by name, its projections, the alias list that renames
its outputs, and the columns an expression reads outside its nested SELECTs. Helpers of :mod:`.sql`'s tracer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp
from sqlglot.optimizer.scope import Scope


def named_source(scope: Scope, name: str) -> tuple[str, exp.Table | Scope] | None:
    """A scope's source by name, matched as SQL matches unquoted names: case-insensitively."""
    if name in scope.sources:
        return name, scope.sources[name]
    for key, source in scope.sources.items():
        if key.lower() == name.lower():
            return key, source
    return None


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
