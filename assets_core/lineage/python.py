"""Column lineage of Python (polars) assets, read off the query plan of the function run on empty frames.

Each upstream is handed to the function as a LazyFrame of its schema whose rows are never read: a polars IO
source that fails if anything asks for its data, so ``.collect()`` (and ``.to_list()``, ``.item()``, a loop over
rows...) is caught rather than traced wrong. The LazyFrame the function returns is walked through polars' IR
(``NodeTraverser``, the resolved plan polars hands to its GPU engine: every column named, every node with its
schema) without optimizations, so the plan is the one the code wrote. Each node becomes a mapping output
column -> {(upstream asset, column): how}, ``how`` one of copied, transformed, aggregated; columns used only to
filter, join, group or sort are gathered apart (``used``: those that feed no column of known lineage).
Anything the walk does not understand makes the columns it touches unknown, with the reason: never a wrong
answer. Two approximations are on the safe side: a struct's fields each carry the whole struct's origins, and
the function is run once, so code that branches on something else than its inputs' schemas is traced along
the branch taken (``previous`` is None; ``context`` is a stand-in, for unpartitioned assets only).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import logging
import marshal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
from polars.io.plugins import register_io_source

from assets_core.declaring.definitions import Asset, Output
from assets_core.imports import late_import
from assets_core.lineage.guard import guarded
from assets_core.lineage.polars_plan import AGGREGATED, COPIED, TRANSFORMED, Frame, Opaque, PlanReader, Unknown
from assets_core.lineage.sql import Origin, TableLineage
from assets_core.planning.versioning import digest

Typed = Sequence[tuple[str, str]]  # a schema: (column, dtype as polars prints it)
DECLARED = "declared"
HOW = (COPIED, TRANSFORMED, AGGREGATED, DECLARED)  # the ways a column comes from an upstream column
_ANALYSIS = "1"  # bump when the reading of plans changes, so cached lineages are traced again
_DTYPES: dict[str, Any] = {name: value for name, value in vars(pl).items()
                           if isinstance(value, type) and issubclass(value, pl.DataType)}
_DTYPE_NODES = (ast.Expression, ast.Call, ast.Name, ast.Constant, ast.keyword, ast.Dict, ast.List, ast.Tuple,
                ast.Load, ast.UnaryOp, ast.USub)


def python_lineage(item: Asset, schemas: Mapping[str, Typed | None]) -> TableLineage:
    """The column lineage of a Python asset, given its upstream assets' typed schemas (None: not known).

    >>> from assets_core.declaring.definitions import asset
    >>> @asset
    ... def paid(orders):
    ...     return orders.filter(pl.col("status") == "paid").select("id", total=pl.col("amount") * 2)
    >>> lineage = python_lineage(paid, {"orders": [("id", "Int64"), ("amount", "Float64"), ("status", "String")]})
    >>> dict(lineage.how), lineage.used
    ({'id': {'orders.id': 'copied'}, 'total': {'orders.amount': 'transformed'}}, ('orders.status',))
    """
    return trace_python(item, schemas)[0]


def trace_python(item: Asset, schemas: Mapping[str, Typed | None]) -> tuple[TableLineage, list[tuple[str, str]] | None]:
    """The asset's lineage, and the typed schema its trace found (None when the trace failed)."""
    key = python_key(item, schemas)
    try:
        frame, output = _trace(item, schemas)
    except Opaque as why:
        return _declared(TableLineage(item.name, None, problem=str(why), key=key), item.lineage), None
    return _declared(_lineage(item.name, frame, key), item.lineage), output


def python_key(item: Asset, schemas: Mapping[str, Typed | None]) -> str:
    """What a Python asset's traced lineage depends on (but for the helpers and globals its code reads: the
    caller adds the code version): its function, its inputs' schemas, its declared lineage, polars' version."""
    upstream = [f"{parameter}={asset}={_schema_text(schemas.get(asset))}"
                for parameter, asset in sorted(item.inputs.items())]
    declared = sorted(f"{column}={','.join(origins)}" for column, origins in (item.lineage or {}).items())
    return digest("python", _ANALYSIS, pl.__version__, item.name, _code_text(item.fn), str(item.wants_context),
                  str(item.wants_previous), *upstream, *declared)


def parse_dtype(text: str) -> pl.DataType | None:
    """A dtype from the way polars prints it (None when it is not one): read by a restricted ``eval`` that
    only sees polars' dtype classes and literals.

    >>> parse_dtype("Datetime(time_unit='us', time_zone=None)"), parse_dtype("List(Int64)")
    (Datetime(time_unit='us', time_zone=None), List(Int64))
    >>> parse_dtype("__import__('os')") is None, parse_dtype("Nope") is None
    (True, True)
    """
    return _parse_dtype(text)


@functools.lru_cache(maxsize=1024)
def _parse_dtype(text: str) -> pl.DataType | None:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, _DTYPE_NODES) or (isinstance(node, ast.Name) and node.id not in _DTYPES):
            return None
    try:
        value = eval(compile(tree, "<dtype>", "eval"), {"__builtins__": {}}, dict(_DTYPES))
    except Exception:  # a dtype class called with the wrong arguments
        return None
    if isinstance(value, type) and issubclass(value, pl.DataType):
        value = value()
    return value if isinstance(value, pl.DataType) else None


class _Leaf:
    """An upstream's rows: a polars IO source that refuses to be read, and says it was asked."""

    def __init__(self, asset: str):
        self.asset = asset
        self.read = False

    def __call__(self, *_: Any) -> Any:
        self.read = True
        raise _DataRead(self.asset)


class _DataRead(Exception):
    """The function asked for an upstream's rows."""


def _trace(item: Asset, schemas: Mapping[str, Typed | None]) -> tuple[Frame, list[tuple[str, str]]]:
    if item.fn is None:
        raise Opaque(f"a {item.kind} asset has no function to trace")
    leaves: dict[str, _Leaf] = {}
    arguments: dict[str, Any] = {}
    for parameter, upstream in item.inputs.items():
        schema = _polars_schema(upstream, schemas.get(upstream))
        leaves[parameter] = _Leaf(upstream)
        try:
            arguments[parameter] = register_io_source(io_source=leaves[parameter], schema=schema)
        except Exception as error:
            raise Opaque(f"upstream '{upstream}' cannot stand as an empty LazyFrame: {_short(error)}") from error
    if item.wants_previous:
        arguments["previous"] = None  # the value of its first materialization
    with tempfile.TemporaryDirectory(prefix="assets-lineage-") if item.wants_context else nullcontext() as home:
        if item.wants_context:
            arguments["context"] = _context(item, home)
        result = _call(item.fn, arguments, leaves.values())
    if isinstance(result, Output):
        result = result.value
    if isinstance(result, pl.DataFrame):
        raise Opaque("its function returns a DataFrame, whose making has no plan to read: return the LazyFrame "
                     "(the framework collects it), or declare lineage=...")
    if not isinstance(result, pl.LazyFrame):
        raise Opaque(f"its function returns a {type(result).__name__}, not a LazyFrame or DataFrame")
    try:
        traverser = result._ldf.with_optimizations(pl.QueryOptFlags.none()._pyoptflags).visit()
    except Exception as error:  # a plan polars itself cannot resolve
        raise Opaque(f"polars cannot resolve its plan: {_short(error)}") from error
    try:
        frame = PlanReader(traverser, {id(leaf): leaf.asset for leaf in leaves.values()}).root()
    except Exception as error:  # the reader turns what it does not know into reasons; this is the last guard
        raise Opaque(f"the lineage cannot read its plan: {_short(error)}") from error
    return frame, [(name, str(dtype)) for name, dtype in frame.dtypes.items()]


def _call(fn: Callable[..., Any], arguments: Mapping[str, Any], leaves: Iterable[_Leaf]) -> Any:
    """Run the function on the empty frames; any failure, or any read of their rows, is the reason it cannot
    be traced."""
    effects: list[str] = []
    try:
        with _quiet(), guarded(effects):
            result = fn(**arguments)
    except BaseException as error:  # its own failures, even sys.exit or asyncio.CancelledError
        if isinstance(error, KeyboardInterrupt):  # a Ctrl-C stops the command
            raise
        if effects:
            raise Opaque(_effects(effects)) from error
        if any(leaf.read for leaf in leaves):
            raise Opaque(_READ) from error
        hint = (" (eager-only operations cannot be traced: its inputs are LazyFrames)"
                if isinstance(error, (AttributeError, TypeError)) else "")
        raise Opaque(f"running its function on empty frames raised {_short(error)}{hint}") from error
    if effects:
        raise Opaque(_effects(effects))
    if any(leaf.read for leaf in leaves):
        raise Opaque(_READ)
    return result


class _Discarded(io.TextIOBase):
    """Where a traced function's prints go: nowhere."""

    def write(self, text: str) -> int:
        return len(text)


_quieting = threading.Lock()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """While a function is traced, what it prints or logs goes nowhere: it would mix into the command's own
    output (a JSON document, for --json), after a run that already recorded its real output."""
    sink = _Discarded()
    with _quieting, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        before = logging.root.manager.disable
        logging.disable(logging.CRITICAL)
        try:
            yield
        finally:
            logging.disable(before)


def _effects(effects: list[str]) -> str:
    return (f"tracing stopped its function at {effects[0]}: a function traced for its lineage may not write "
            "files, connect, start processes, sleep, exit or run for long; declare lineage=...")


_READ = ("its function reads its inputs' rows (.collect(), .to_list(), .item(), a loop over rows...), so its "
         "result depends on the data, not on a plan")


def _polars_schema(asset: str, typed: Typed | None) -> dict[str, pl.DataType]:
    if typed is None:
        raise Opaque(f"upstream '{asset}' has no known schema yet (it is not materialized, or not a table: a source "
                     "file that is not CSV or Parquet); materialize it, or declare lineage=...")
    schema: dict[str, pl.DataType] = {}
    for column, text in typed:
        dtype = parse_dtype(text)
        if dtype is None:
            raise Opaque(f"upstream '{asset}' has column '{column}' of dtype '{text}', which is not a polars dtype")
        schema[column] = dtype
    return schema


def _context(item: Asset, home: str | None) -> Any:
    with late_import():
        from assets_core.running.context import AssetContext

    if item.partitions is not None:
        raise Opaque("it is partitioned and reads its context, so its plan may differ from one partition to "
                     "another; declare lineage=...")
    return AssetContext(item.name, "lineage", Path(home or "."))


def _lineage(asset: str, frame: Frame, key: str) -> TableLineage:
    direct: dict[str, tuple[str, ...]] = {}
    how: dict[str, dict[str, str]] = {}
    unknown: dict[str, str] = {}
    origins: set[Origin] = set()
    for column, found in frame.columns.items():
        if isinstance(found, Unknown):
            unknown[column] = found.why
            continue
        origins.update(found)
        how[column] = {f"{up}.{col}": kind for (up, col), kind in sorted(found.items())}
        direct[column] = tuple(how[column])
    used = tuple(sorted(f"{up}.{col}" for up, col in frame.used - origins))
    return TableLineage(asset, tuple(frame.columns), direct, unknown, key=key, how=how, used=used)


def _declared(lineage: TableLineage, declared: Mapping[str, tuple[str, ...]] | None) -> TableLineage:
    """The lineage with the declared columns' origins in place of the traced ones. When the trace failed, only
    the declared columns are known: ``columns`` lists them and ``problem`` says why the others are not."""
    if not declared:
        return lineage
    columns = lineage.columns if lineage.columns is not None else tuple(declared)
    columns += tuple(column for column in declared if column not in columns)
    direct, how = dict(lineage.direct), dict(lineage.how)
    for column, origins in declared.items():
        direct[column] = tuple(sorted(origins))
        how[column] = {origin: DECLARED for origin in direct[column]}
    unknown = {column: why for column, why in lineage.unknown.items() if column not in declared}
    return TableLineage(lineage.asset, columns, direct, unknown, lineage.problem, lineage.key, how, lineage.used)


@functools.lru_cache(maxsize=4096)
def _code_digest(code: Any) -> str:
    return digest(marshal.dumps(code))


def _code_text(fn: Callable[..., Any] | None) -> str:
    """The function's code, and the constants it closes over (other closed-over values by type alone: the
    code version the caller adds covers them)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return repr(fn)
    cells = [cell.cell_contents for cell in getattr(fn, "__closure__", None) or () if _filled(cell)]
    return _code_digest(code) + "|" + "|".join(
        repr(value) if isinstance(value, (int, float, str, bool, type(None))) else type(value).__name__
        for value in cells)


def _filled(cell: Any) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:  # a cell not yet bound
        return False
    return True


def _schema_text(typed: Typed | None) -> str:
    return "?" if typed is None else ",".join(f"{column}:{dtype}" for column, dtype in typed)


def _short(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip().splitlines()[0]
    return text if len(text) <= 200 else text[:197] + "..."


def traced_or_cached(item: Asset, types: dict[str, Sequence[tuple[str, str]] | None],
            previous: TableLineage | None, code_version: str) -> TableLineage:
    """A Python asset's lineage (``previous`` when its key still matches); an asset with no typed schema of its
    own is traced each time, and the schema its trace found stands in for it, for its downstream assets."""
    upstream = {up: types.get(up) for up in item.inputs.values()}
    materialized = types.get(item.name) is not None
    if materialized and still_valid(item, types, previous, code_version):
        assert previous is not None
        return previous
    lineage, output = trace_python(item, upstream)
    if not materialized:
        types[item.name] = output
    return replace(lineage, key=digest(lineage.key, code_version))


def still_valid(item: Asset, types: Mapping[str, Sequence[tuple[str, str]] | None],
                previous: TableLineage | None, code_version: str) -> bool:
    """Whether a Python asset's stored lineage still holds: made from the same code (version) and the same
    typed schemas of its inputs. Checked without running its code."""
    if previous is None:
        return False
    upstream = {up: types.get(up) for up in item.inputs.values()}
    return previous.key == digest(python_key(item, upstream), code_version)
