"""A function's syntax for its code version (:mod:`assets_core.planning.versioning`): found in its file's lines as
``inspect`` finds it, normalized (no docstrings, decorators or name), and the outside names it reads."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import tokenize
import types
from collections.abc import Callable
from typing import Any

_DEFINITION = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")


def parse_lines(lines: list[str], code: types.CodeType) -> ast.AST | None:
    """A function's normalized tree from its file's lines, found as ``inspect.getsource`` finds it."""
    start = code.co_firstlineno - 1
    while 0 < start < len(lines) and not _DEFINITION.match(lines[start]):
        start -= 1
    if not 0 <= start < len(lines):
        return None
    try:
        return parse_source(textwrap.dedent("".join(inspect.getblock(lines[start:]))))
    except (IndexError, SyntaxError, IndentationError, tokenize.TokenError):
        return None


def parse_function(fn: Callable[..., Any]) -> ast.AST | None:
    try:
        return parse_source(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None


def parse_source(source: str) -> ast.AST | None:
    module = ast.parse(source)
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return normalize(node)
    return None


def normalize(node: ast.AST) -> ast.AST:
    """Drop what does not change behaviour: docstrings, decorators (metadata), and the function's name."""
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = child.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                child.body = body[1:] or [ast.Pass()]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node.decorator_list = []
        node.name = "_"
    return node


def dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def loaded_names(node: ast.AST) -> frozenset[str]:
    """Names the function reads from outside itself, including ``module.attr`` pairs.

    Parameters and names it assigns are its own (a parameter named like an asset is that asset's value, not
    a reference to the asset's code), so they are left out.
    """
    names: set[str] = set()
    own: set[str] = set()
    declared: set[str] = set()  # `global NAME`: assigned here, yet the module's, read from outside
    for child in ast.walk(node):
        if isinstance(child, ast.Global):
            declared.update(child.names)
        elif isinstance(child, ast.arg):
            own.add(child.arg)
        elif isinstance(child, ast.Name) and not isinstance(child.ctx, ast.Load):
            own.add(child.id)
        elif isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, ast.Attribute) and (dotted := _dotted(child)) is not None:
            names.add(dotted)
    own -= declared
    return frozenset(n for n in names if n.partition(".")[0] not in own)


def _dotted(node: ast.Attribute) -> str | None:
    """``a.b.c`` for an attribute chain on a name (a module's helper reached through its package), else None."""
    parts = [node.attr]
    value = node.value
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    return ".".join([value.id, *reversed(parts)]) if isinstance(value, ast.Name) else None


def class_tree(cls: type) -> ast.AST | None:
    try:
        return normalize(ast.parse(textwrap.dedent(inspect.getsource(cls))))
    except (OSError, TypeError, SyntaxError):
        return None
