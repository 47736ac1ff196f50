"""Reading a function's signature for ``@asset``: where it is defined, its named parameters (each names an
upstream) and its ``*args`` / ``**kwargs`` ones."""

from __future__ import annotations

import inspect
import os
import types
from collections.abc import Callable
from typing import Any

from assets_core.errors import Location


def signature(func: Callable[..., Any]) -> tuple[Location, tuple[str, ...], tuple[str, ...]]:
    """Where a function is defined, its named parameters, and its ``*args`` / ``**kwargs`` ones."""
    code = getattr(func, "__code__", None)
    if code is None or not isinstance(func, types.FunctionType):
        named, variadic = _parameters(func)
        return function_location(func), tuple(named), tuple(variadic)
    found = _SIGNATURES.get(id(code))
    if found is None or found[0] is not code:
        if len(_SIGNATURES) >= 4096:  # a daemon reloading edited definitions makes new code objects
            _SIGNATURES.clear()
        found = _SIGNATURES[id(code)] = (code, _code_signature(code))
    return found[1]


# Every function of one code object (a factory's thousand assets share one) has the same file, line and
# parameters: read once per code object, known by its identity (hashing a code object hashes its bytecode).
_SIGNATURES: dict[int, tuple[types.CodeType, tuple[Location, tuple[str, ...], tuple[str, ...]]]] = {}


def _code_signature(code: types.CodeType) -> tuple[Location, tuple[str, ...], tuple[str, ...]]:
    count = code.co_argcount + code.co_kwonlyargcount
    named = code.co_varnames[:count]
    variadic = []
    if code.co_flags & inspect.CO_VARARGS:
        variadic.append("*" + code.co_varnames[count])
        count += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        variadic.append("**" + code.co_varnames[count])
    return Location(os.path.abspath(code.co_filename), code.co_firstlineno), named, tuple(variadic)


def _parameters(func: Callable[..., Any]) -> tuple[list[str], list[str]]:
    """A callable's named parameters, and its ``*args`` / ``**kwargs`` ones."""
    parameters = inspect.signature(func).parameters.values()
    named = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return named, [str(p) for p in parameters if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def function_location(func: Callable[..., Any]) -> Location:
    code = getattr(func, "__code__", None)
    if code is None:
        return Location("<unknown>")
    return Location(os.path.abspath(code.co_filename), code.co_firstlineno)
