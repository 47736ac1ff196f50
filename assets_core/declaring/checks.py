"""Checks: assertions about an asset's data, run on each new value before it is published.

A *blocking* check that fails keeps the previous version live: the asset is ``failed`` with the check's message
and its downstream is skipped. A non-blocking one records a warning. ``@check`` turns a function into a check;
``not_null``, ``unique``, ``accepted_values``, ``row_count`` and ``expected_schema`` are ready-made ones, and
``freshness`` is a policy checked whenever status is computed: an asset older than its maximum age is stale.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from assets_core.declaring.definitions import Asset
from assets_core.errors import DefinitionError, Location, did_you_mean
from assets_core.imports import late_import

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one value."""

    passed: bool
    message: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Check:
    """A check attached to an asset: ``fn(value) -> CheckResult | bool``."""

    name: str
    asset: str
    fn: Callable[[Any], CheckResult | bool]
    blocking: bool = True
    description: str = ""
    location: Location | None = None

    def run(self, value: Any) -> CheckResult:
        """Run the check; an exception inside it, or an outcome that is neither a CheckResult nor a bool, is a
        failed check that says so (a Series, None or a string must not pass, nor fail the asset itself)."""
        try:
            outcome = self.fn(value)
            if isinstance(outcome, CheckResult):
                return _sound(outcome)
            if _is_bool(outcome):
                return CheckResult(bool(outcome), "" if outcome else "returned False")
        except Exception as error:  # the check's own bug must not pass silently
            return CheckResult(False, f"the check raised {type(error).__name__}: {error}")
        shown = "None" if outcome is None else f"a {type(outcome).__name__}"
        return CheckResult(False, f"returned {shown}, not a CheckResult or a bool; "
                                  f"return CheckResult(passed, message) or True/False")


def _is_bool(outcome: Any) -> bool:
    """A Python bool, or a library's own (``numpy.bool_``)."""
    return type(outcome).__name__ in ("bool", "bool_")


def _sound(result: CheckResult) -> CheckResult:
    """``result`` with a bool verdict, a text message and mapping metadata, or a failed result saying which is
    not (what the catalog records: a verdict of ``"False"`` could not be stored, and so ended the run)."""
    if not _is_bool(result.passed):
        return CheckResult(False, f"returned a CheckResult whose passed must be a bool, not a "
                                  f"{type(result.passed).__name__} ({result.passed!r})")
    if not isinstance(result.metadata, Mapping):
        return CheckResult(False, f"returned a CheckResult whose metadata must be a mapping, not a "
                                  f"{type(result.metadata).__name__}")
    if type(result.passed) is bool and isinstance(result.message, str):
        return result
    return CheckResult(bool(result.passed), str(result.message), result.metadata)


@dataclass(frozen=True, eq=False)
class Freshness:
    """A maximum age for an asset: older than that, it is stale and the next run rematerializes it."""

    asset: str
    max_age: timedelta
    location: Location | None = None


def check(asset: str | Asset, *, name: str | None = None, blocking: bool = True,
          description: str | None = None) -> Callable[[Callable[[Any], CheckResult | bool]], Check]:
    """Attach the decorated function to ``asset`` as a check of each new value.

    >>> @check("orders")
    ... def positive_amounts(orders):
    ...     return bool((orders["amount"] > 0).all())
    >>> import polars as pl
    >>> positive_amounts.run(pl.DataFrame({"amount": [1, -2]}))
    CheckResult(passed=False, message='returned False', metadata={})
    """
    target = asset.name if isinstance(asset, Asset) else asset

    def wrap(fn: Callable[[Any], CheckResult | bool]) -> Check:
        code = getattr(fn, "__code__", None)
        location = Location(os.path.abspath(code.co_filename), code.co_firstlineno) if code else None
        return Check(name or fn.__name__, target, fn, blocking, description or (fn.__doc__ or "").strip(), location)

    return wrap


def _caller(depth: int = 2) -> Location:
    """Where the user's code called the function that called this one (``depth`` frames up)."""
    frame = sys._getframe(depth)
    return Location(os.path.abspath(frame.f_code.co_filename), frame.f_lineno)


def _frame(value: Any) -> pl.DataFrame:
    with late_import():  # polars only when a check runs: loading definitions must not import it
        import polars as pl

    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, pl.DataFrame):
        return value
    raise TypeError(f"this check needs a table, got a {type(value).__name__}")


def not_null(asset: str | Asset, *columns: str, blocking: bool = True) -> Check:
    """No null in the given columns.

    >>> import polars as pl
    >>> not_null("t", "a").run(pl.DataFrame({"a": [1, None, None]})).message
    "column 'a' has 2 null value(s)"
    """
    def run(value: Any) -> CheckResult:
        frame = _frame(value)
        nulls = {c: int(frame[c].null_count()) for c in columns}
        bad = {c: n for c, n in nulls.items() if n}
        message = "; ".join(f"column '{c}' has {n} null value(s)" for c, n in bad.items())
        return CheckResult(not bad, message, {"nulls": nulls})

    return _ready("not_null", asset, run, blocking, f"no nulls in {', '.join(columns)}")


def unique(asset: str | Asset, *columns: str, blocking: bool = True) -> Check:
    """No two rows share the same values in the given columns.

    >>> import polars as pl
    >>> unique("t", "a").run(pl.DataFrame({"a": [1, 1, 2]})).message
    '1 duplicated value(s) of (a), e.g. 1'
    """
    def run(value: Any) -> CheckResult:
        frame = _frame(value).select(columns)
        duplicated = frame.filter(frame.is_duplicated()).unique(maintain_order=True)
        if duplicated.height == 0:
            return CheckResult(True)
        example = ", ".join(str(v) for v in duplicated.row(0))
        return CheckResult(False, f"{duplicated.height} duplicated value(s) of ({', '.join(columns)}), e.g. {example}",
                           {"duplicates": duplicated.height})

    return _ready("unique", asset, run, blocking, f"unique {', '.join(columns)}")


def accepted_values(asset: str | Asset, column: str, values: Iterable[Any], blocking: bool = True) -> Check:
    """Every value of ``column`` is one of ``values`` (nulls are left to ``not_null``).

    >>> import polars as pl
    >>> accepted_values("t", "s", ["a", "b"]).run(pl.DataFrame({"s": ["a", "c", "d", "c"]})).message
    "column 's' holds values outside the accepted ones: 'c', 'd'"
    """
    accepted = list(values)

    def run(value: Any) -> CheckResult:
        series = _frame(value)[column].drop_nulls()
        others = series.filter(~series.is_in(accepted)).unique(maintain_order=True).to_list()
        if not others:
            return CheckResult(True)
        shown = ", ".join(repr(v) for v in others[:5]) + (", ..." if len(others) > 5 else "")
        return CheckResult(False, f"column '{column}' holds values outside the accepted ones: {shown}",
                           {"unexpected": len(others)})

    return _ready("accepted_values", asset, run, blocking, f"{column} in {accepted!r}")


def row_count(asset: str | Asset, min: int | None = None, max: int | None = None, blocking: bool = True) -> Check:
    """The number of rows lies within ``[min, max]``.

    >>> import polars as pl
    >>> row_count("t", min=5).run(pl.DataFrame({"a": [1, 2]})).message
    '2 row(s), fewer than the minimum 5'
    """
    def run(value: Any) -> CheckResult:
        rows = len(value) if isinstance(value, (list, dict)) else _frame(value).height
        if min is not None and rows < min:
            return CheckResult(False, f"{rows} row(s), fewer than the minimum {min}", {"rows": rows})
        if max is not None and rows > max:
            return CheckResult(False, f"{rows} row(s), more than the maximum {max}", {"rows": rows})
        return CheckResult(True, "", {"rows": rows})

    return _ready("row_count", asset, run, blocking, f"rows within [{min}, {max}]")


def expected_schema(asset: str | Asset, columns: Mapping[str, Any], blocking: bool = True) -> Check:
    """The table has exactly these columns, with these polars types (as types or their names).

    >>> import polars as pl
    >>> expected_schema("t", {"a": pl.Int64}).run(pl.DataFrame({"a": ["x"], "b": [1]})).message
    "column 'a' is String, expected Int64; unexpected column 'b'"
    """
    wanted = {name: str(kind) for name, kind in columns.items()}

    def run(value: Any) -> CheckResult:
        actual = {name: str(kind) for name, kind in _frame(value).schema.items()}
        problems = [f"column '{c}' is missing" for c in wanted if c not in actual]
        problems += [f"column '{c}' is {actual[c]}, expected {t}" for c, t in wanted.items()
                     if c in actual and actual[c] != t]
        problems += [f"unexpected column '{c}'" for c in actual if c not in wanted]
        return CheckResult(not problems, "; ".join(problems), {"schema": actual})

    return _ready("expected_schema", asset, run, blocking, "columns and types as declared")


def freshness(asset: str | Asset, max_age: timedelta) -> Freshness:
    """A maximum age: older than ``max_age``, the asset is stale (reason ``overdue``)."""
    return Freshness(asset.name if isinstance(asset, Asset) else asset, max_age, _caller())


def _ready(kind: str, asset: str | Asset, run: Callable[[Any], CheckResult], blocking: bool,
           description: str) -> Check:
    target = asset.name if isinstance(asset, Asset) else asset
    return Check(kind, target, run, blocking, description, _caller(3))


def check_problems(checks: Iterable[Check | Freshness], assets: Mapping[str, Asset]) -> list[DefinitionError]:
    """Checks attached to assets that do not exist, and duplicate check names on one asset."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for item in checks:
        if item.asset not in assets:
            problems.append(DefinitionError(
                f"is attached to '{item.asset}', which is not an asset{did_you_mean(item.asset, assets)}",
                asset=getattr(item, "name", "freshness"), location=item.location))
        if isinstance(item, Check):
            if (item.asset, item.name) in seen:
                problems.append(DefinitionError(
                    f"is a second check named '{item.name}' on '{item.asset}'; name it (name=...)",
                    asset=item.name, location=item.location))
            seen.add((item.asset, item.name))
    return problems
