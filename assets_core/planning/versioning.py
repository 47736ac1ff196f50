"""Code versions: a hash of what an asset's code does, blind to comments, docstrings and formatting.

A Python asset's code version covers its function's normalized syntax tree plus, followed transitively, the
project-local helper functions and classes and the module constants it uses. Descriptions, tags and
decorator arguments are metadata: changing them changes no version.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import os
import sys
import tokenize
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from assets_core.declaring.definitions import Asset
from assets_core.imports import late_import
from assets_core.planning.code_syntax import class_tree, dump, loaded_names, parse_function, parse_lines
from assets_core.planning.version_cache import VersionCache

_CONSTANT_TYPES = (int, float, complex, str, bytes, bool, type(None))
_LIBRARY_ROOTS = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def digest(*parts: str | bytes) -> str:
    """A short stable hash of the parts.

    >>> digest("a", "b") == digest("a", "b") != digest("ab")
    True
    """
    h = hashlib.sha256()
    for part in parts:
        _feed(h, part)
    return h.hexdigest()[:32]


def _feed(h: Any, part: str | bytes) -> None:
    data = part.encode() if isinstance(part, str) else part
    h.update(b"%d:" % len(data))
    h.update(data)


class CodeVersioner:
    """Computes code versions, caching the expensive parsing per code object across assets."""

    def __init__(self, root: str | os.PathLike[str], cache: VersionCache | None = None):
        self.root = os.path.realpath(root)
        self.cache = cache if cache is not None else VersionCache()
        self._files: dict[str, tuple[str, list[str]] | None] = {}  # file -> (digest of its bytes, its lines)
        self._trees: dict[types.CodeType, tuple[str, frozenset[str]]] = {}
        self._local: dict[int, tuple[Any, bool]] = {}  # id -> (object kept alive, is it project-local?)
        self._prefixes: dict[types.CodeType, tuple[Any, tuple[str, ...]]] = {}
        # (id of a module's globals, name) -> reference; kept as long as this versioner, which lives for one
        # computation of the project's versions, while no module changes
        self._globals: dict[tuple[int, str], str | None] = {}
        self._wholes: dict[tuple[types.CodeType, int, str], str] = {}  # see _function

    def version(self, item: Asset) -> str:
        """The code version of one asset ("" for a source asset, whose version is its data)."""
        if item.kind == "source":
            return ""
        if item.kind == "sql":
            with late_import():  # sqlglot is loaded only by projects with SQL assets
                from assets_core.declaring.sql import normalized_sql

            return digest("sql", item.dialect, normalized_sql(item))
        if item.fn is None:
            return digest(item.kind)
        return self._callable(item.fn, set(), item.kind)

    def _callable(self, fn: Callable[..., Any], seen: set[int], kind: str) -> str:
        """A function's version; a partial's is its function's and bound arguments', an instance's its class's."""
        if isinstance(fn, types.FunctionType):
            return self._function(fn, seen, kind)
        if isinstance(fn, functools.partial):
            arguments = [self._value(value, seen) for value in fn.args]
            arguments += [f"{key}={self._value(value, seen)}" for key, value in sorted(fn.keywords.items())]
            return digest("partial", self._callable(fn.func, seen, kind), *arguments)
        return digest(kind, type(fn).__qualname__, self._value(type(fn), seen))

    def versions(self, assets: Iterable[Asset]) -> dict[str, str]:
        """The code version of each asset, by name: a function known already as a whole (see :meth:`_whole`)
        is looked up here, without the calls :meth:`version` makes to find it (a factory's 100,000 assets)."""
        found = {}
        wholes = self._wholes
        for item in assets:
            fn = item.fn
            whole = _whole(fn, item.kind) if isinstance(fn, types.FunctionType) and item.kind not in _NOT_CALLED \
                else None
            known = wholes.get(whole) if whole is not None else None
            found[item.name] = known if known is not None else self.version(item)
        return found

    def _function(self, fn: Callable[..., Any], seen: set[int], kind: str = "function") -> str:
        code = fn.__code__
        whole = _whole(fn, kind)
        if whole is not None and whole in self._wholes:
            return self._wholes[whole]
        source = _source_code(fn)  # the code its tree is parsed from (a decorated function's, unwrapped)
        key = self._tree_key(source)
        names = self.cache.names(key) if key is not None else None
        if names is None:
            names = self._prefix(fn, source)[1]
        references = []
        shared = True
        for name in names:
            reference, kept = self._reference(fn, code, name, seen)
            shared = shared and kept
            if reference is not None:
                references.append(reference)
        cached = digest(key, kind, *references) if key is not None else None
        version = self.cache.version(cached) if cached is not None else None
        if version is None:
            prefix, names = self._prefix(fn, source)
            hashed = prefix.copy()  # the same bytes as digest(tree, kind, *references), the tree hashed once
            _feed(hashed, kind)
            for reference in references:
                _feed(hashed, reference)
            version = hashed.hexdigest()[:32]
            if key is not None and cached is not None:
                self.cache.remember(key, names, cached, version)
        if whole is not None and shared:
            self._wholes[whole] = version
        return version

    def _tree_key(self, code: types.CodeType) -> str | None:
        """What a function's tree is known by in the cache: its file's content and its place in it (None when
        its file cannot be read, e.g. code made by exec)."""
        found = self._file(code.co_filename)
        return None if found is None else f"{found[0]}:{code.co_firstlineno}:{code.co_qualname}"

    def _file(self, filename: str) -> tuple[str, list[str]] | None:
        """A source file's digest and lines, read once per computation (the lines the trees are parsed from, so
        a cached tree and a parsed one come from the same bytes)."""
        if filename not in self._files:
            self._files[filename] = _read_source(filename)
        return self._files[filename]

    def _prefix(self, fn: Callable[..., Any], code: types.CodeType) -> tuple[Any, tuple[str, ...]]:
        """The hash of the function's tree, and the names it reads, sorted: once per code object (a factory
        making a thousand assets makes them all from one)."""
        cached = self._prefixes.get(code)
        if cached is None:
            tree, names = self._tree(fn, code)
            hashed = hashlib.sha256()
            _feed(hashed, tree)
            cached = self._prefixes[code] = (hashed, tuple(sorted(names)))
        return cached

    def _reference(self, fn: Callable[..., Any], code: types.CodeType, name: str,
                   seen: set[int]) -> tuple[str | None, bool]:
        """``name=fingerprint`` of a name the function reads (None if it resolves to nothing), and whether
        it was kept for the other functions of the module.

        A module global's fingerprint is kept, unless it is a project-local helper, whose fingerprint depends
        on what this asset's walk has already seen.
        """
        shared = name.partition(".")[0] not in code.co_freevars
        key = (id(fn.__globals__), name) if shared else None
        if key is not None and key in self._globals:
            return self._globals[key], True
        found, value = self._followed(functools.partial(_lookup, fn), name)
        reference = f"{name}={self._value(value, seen)}" if found else None
        if key is None or self._is_helper(value):
            return reference, False
        self._globals[key] = reference
        return reference, True

    def _is_helper(self, value: Any) -> bool:
        inner = value.fn if isinstance(value, Asset) else value
        return isinstance(inner, (types.FunctionType, type)) and self._is_local(inner)

    def _tree(self, fn: Callable[..., Any], code: types.CodeType) -> tuple[str, frozenset[str]]:
        cached = self._trees.get(code)
        if cached is None:
            found = self._file(code.co_filename)
            node = parse_function(fn) if found is None else parse_lines(found[1], code)
            cached = (dump(node), loaded_names(node)) if node is not None \
                else (_bytecode(code), frozenset(code.co_names))
            self._trees[code] = cached
        return cached

    def _value(self, value: Any, seen: set[int]) -> str:
        """A fingerprint of one referenced value: helpers by code, constants by value, libraries not at all."""
        if isinstance(value, Asset):
            value = value.fn
        if isinstance(value, _CONSTANT_TYPES):
            return repr(value)
        if isinstance(value, (tuple, list, frozenset, set, dict)):
            return _container(value)
        if not self._is_local(value) or id(value) in seen:
            return ""
        seen.add(id(value))
        if isinstance(value, types.FunctionType):
            return self._function(value, seen)
        if isinstance(value, type):
            return self._class(value, seen)
        if isinstance(value, types.ModuleType):
            return ""  # what a function uses of a module is followed through its `module.attr` names
        return ""

    def _class(self, cls: type, seen: set[int]) -> str:
        """A class's tree and, like a function's, the fingerprints of the names it reads (a method's helper)."""
        node, scope = class_tree(cls), _class_globals(cls)
        if node is None:
            return cls.__qualname__
        references = []
        for name in sorted(loaded_names(node)):
            found, value = self._followed(functools.partial(_lookup_in, scope), name)
            if found:
                references.append(f"{name}={self._value(value, seen)}")
        return digest(dump(node), *references)

    def _followed(self, lookup: Callable[[str], tuple[bool, Any]], name: str) -> tuple[bool, Any]:
        found, value = lookup(name)  # a chain through modules (pkg.util.helper): only into a project-local one
        return (self._is_local(lookup(name.rpartition(".")[0])[1]) if found and name.count(".") > 1 else found), value

    def _is_local(self, value: Any) -> bool:
        cached = self._local.get(id(value))
        if cached is None or cached[0] is not value:
            cached = (value, self._find_local(value))
            self._local[id(value)] = cached
        return cached[1]

    def _find_local(self, value: Any) -> bool:
        try:
            path = inspect.getsourcefile(value)
        except TypeError:
            return False
        if not path:
            return False
        path = os.path.realpath(path)
        return path.startswith(self.root + os.sep) and not path.startswith(_LIBRARY_ROOTS) \
            and "site-packages" not in path


_NOT_CALLED = ("source", "sql")  # the kinds whose version is not their function's (see CodeVersioner.version)


def _whole(fn: Callable[..., Any], kind: str) -> tuple[types.CodeType, int, str] | None:
    """What a function is known by as a whole, if it can be (None: it has a closure).

    Functions of one code object, reading one module's globals and no closure, are the same function: a
    factory's thousand assets are versioned once (unless a helper's walk depends on this asset's).
    """
    code = fn.__code__
    return None if code.co_freevars else (code, id(fn.__globals__), kind)


def _source_code(fn: Callable[..., Any]) -> types.CodeType:
    """The code object whose source is a function's (``inspect.getsource`` follows ``__wrapped__`` too)."""
    if not hasattr(fn, "__wrapped__"):
        return fn.__code__
    try:
        inner = inspect.unwrap(fn)
    except ValueError:  # a cycle of __wrapped__
        return fn.__code__
    return getattr(inner, "__code__", fn.__code__)


def _lookup(fn: Callable[..., Any], name: str) -> tuple[bool, Any]:
    """Resolve a name (or ``module.attr``) the way the function would: closure, then module globals."""
    base = name.partition(".")[0]
    code = fn.__code__
    if base not in code.co_freevars:
        return _lookup_in(getattr(fn, "__globals__", {}), name)
    cell = (fn.__closure__ or ())[code.co_freevars.index(base)]
    try:
        return _attributes(cell.cell_contents, name)
    except ValueError:  # an empty cell
        return False, None


def _lookup_in(scope: Mapping[str, Any], name: str) -> tuple[bool, Any]:  # a name (or module.attr) in globals
    base = name.partition(".")[0]
    return _attributes(scope[base], name) if base in scope else (False, None)


def _attributes(value: Any, name: str) -> tuple[bool, Any]:  # name's .attr parts from its first's value, in modules
    attr = name.partition(".")[2]
    for part in attr.split(".") if attr else ():
        if not isinstance(value, types.ModuleType) or not hasattr(value, part):
            return False, None
        value = getattr(value, part)
    return True, value


def _read_source(filename: str) -> tuple[str, list[str]] | None:
    """A Python file's digest and lines as ``inspect`` reads them (its declared encoding, universal newlines)."""
    try:
        with open(filename, "rb") as file:
            data = file.read()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        lines = io.StringIO(data.decode(encoding), newline=None).readlines()
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return None
    return digest(data), lines


def _bytecode(code: types.CodeType) -> str:
    consts = [_bytecode(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return digest(code.co_code, repr(consts), repr(code.co_names))


def _class_globals(cls: type) -> Mapping[str, Any]:
    """The globals its methods run in (none without a method: its body's names were read when it was defined)."""
    for member in vars(cls).values():
        inner = getattr(member, "fget", getattr(member, "__func__", member))
        if isinstance(inner, types.FunctionType) and inner.__module__ == cls.__module__:
            return inner.__globals__
    return {}


def _container(value: Any) -> str:
    if isinstance(value, Mapping):
        items = sorted(((repr(k), _container(v)) for k, v in value.items()))
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_container(v) for v in value)) + "}"
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(_container(v) for v in value) + "]"
    if isinstance(value, _CONSTANT_TYPES):
        return repr(value)
    return type(value).__qualname__
