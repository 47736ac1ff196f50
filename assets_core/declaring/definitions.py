"""Declaring assets: the ``@asset`` decorator, ``source_asset`` and the values they return.

``@asset`` returns a value (an :class:`Asset`); nothing is registered anywhere. Problems found while declaring
(an ``inputs`` key that is no parameter, a ``*args`` parameter, a bad name) are kept on the asset and reported
with every other definition error when the project loads.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from assets_core.declaring.additions import declared_lineage, partitioned
from assets_core.declaring.retry import RetryPolicy, retry_problems
from assets_core.declaring.signatures import signature
from assets_core.errors import DefinitionError, InvalidNameError, Location
from assets_core.frozen import EMPTY, Maker

if TYPE_CHECKING:
    from assets_core.automation.conditions import Condition
    from assets_core.declaring.partitions import Partitions

# \Z, not $: "$" also matches before a final newline, which would let "orders\n" through.
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
# A stored value's file is named <asset>@<32 hex digits>.parquet, and most file systems allow 255 bytes.
MAX_NAME_LENGTH = 255 - len("@") - 32 - len(".parquet")
IO_CHOICES = ("auto", "parquet", "json")
CONTEXT_PARAMETER = "context"  # a parameter with this name receives the run's AssetContext, not an upstream
PREVIOUS_PARAMETER = "previous"  # a parameter with this name receives the asset's own latest value (or None)


@dataclass(frozen=True)
class AssetOptions:
    """The rarely needed options of an asset, grouped so that ``@asset`` stays small."""

    retry: RetryPolicy | None = None
    io: str = "auto"  # "auto": Parquet for tables, JSON for other values; or force "parquet" / "json"
    schema: Mapping[str, str] | tuple[str, ...] | None = None  # its columns (and types), for column lineage
    # when the daemon materializes it by itself (on_cron, on_upstream_change, on_missing, with | and &); metadata:
    # it leaves the code version alone
    automation: Condition | None = None


@dataclass(frozen=True)
class Output:
    """An asset's value together with metadata to record alongside it."""

    value: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Upstream:
    """An upstream named in ``inputs`` with how much of it an asset reads: ``window=(-6, 0)`` reads the seven
    partitions up to the asset's own (its own time partitions, shifted), concatenated in order."""

    name: str
    window: tuple[int, int] | None = None


@dataclass(frozen=True, eq=False)
class Asset:
    """A declared asset: how it is made, from which upstreams, and how it is described.

    ``kind`` is ``"python"`` (made by ``fn``), ``"sql"`` (a SELECT in ``sql``, see ``assets_core.declaring.sql``) or
    ``"source"`` (files at ``path`` the framework observes).
    """

    name: str
    kind: str
    inputs: Mapping[str, str] = EMPTY  # parameter -> upstream asset
    deps: tuple[str, ...] = ()  # upstreams that run first but are not passed in
    group: str = "default"
    description: str = ""
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    options: AssetOptions = AssetOptions()
    fn: Callable[..., Any] | None = None
    path: str | None = None
    read_options: Mapping[str, Any] = EMPTY  # passed to polars when a source is read
    sql: str | None = None
    dialect: str = "duckdb"
    location: Location | None = None
    upstream_locations: Mapping[str, Location] = EMPTY  # where each upstream is named
    problems: tuple[DefinitionError, ...] = ()
    wants_context: bool = False
    wants_previous: bool = False
    partitions: Partitions | None = None
    windows: Mapping[str, tuple[int, int]] = EMPTY  # upstream asset -> partitions window
    time_column: str | None = None  # the column that says which time partition a row belongs to
    backfill: str = "per_partition"  # or "single_run": a range of partitions in one call
    lineage: Mapping[str, tuple[str, ...]] | None = None  # declared column lineage: column -> "upstream.column"s
    # Every upstream asset, inputs first, without repeats: asked for several times per asset in every
    # assessment, so computed once, when the asset is made.
    upstream: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # kind == "source", asked as often; the class's False unless set (one field less to set at every asset)
    is_source: bool = field(init=False, default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        upstream = tuple(self.inputs.values())
        if self.deps or len(set(upstream)) < len(upstream):  # a repeat (rare) is dropped, its first place kept
            upstream = tuple(dict.fromkeys([*upstream, *self.deps]))
        _set(self, "upstream", upstream)
        if self.kind == "source":
            _set(self, "is_source", True)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the asset's function directly, e.g. in a unit test."""
        if self.fn is None:
            raise TypeError(f"asset '{self.name}' is a {self.kind} asset and cannot be called")
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Asset({self.name!r}, kind={self.kind!r}, upstream={list(self.upstream)!r})"


def asset(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    inputs: Mapping[str, str | Upstream] | None = None,
    deps: Iterable[str] = (),
    group: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | Mapping[str, str] = (),
    owners: Iterable[str] = (),
    options: AssetOptions | None = None,
    partitions: Partitions | None = None,
    time_column: str | None = None,
    backfill: str = "per_partition",
    automation: Condition | None = None,
    lineage: Mapping[str, Sequence[str]] | None = None,
) -> Any:
    """Declare the decorated function as an asset whose parameters name its upstream assets (``automation``:
    when the daemon materializes it by itself, e.g. ``on_upstream_change() | on_missing()``; ``lineage``: where
    some of its columns come from, ``{"total": ["orders.amount"]}``, which wins over the traced lineage; both are
    metadata and leave the code version alone).

    >>> @asset(group="demo")
    ... def numbers():
    ...     return [1, 2, 3]
    >>> numbers.name, numbers.group, numbers.upstream
    ('numbers', 'demo', ())
    >>> @asset(inputs={"xs": "numbers"})
    ... def total(xs):
    ...     return sum(xs)
    >>> total.upstream
    ('numbers',)
    """

    if automation is not None:
        options = replace(options or AssetOptions(), automation=automation)
    # One tuple for the closure to hold rather than a cell per argument: a factory's assets each make a decorator.
    declared = (name, inputs or {}, deps, group, description, tags, owners, options, lineage, partitions, time_column,
                backfill)

    def wrap(func: Callable[..., Any]) -> Asset:
        return _python_asset(func, *declared)

    return wrap(fn) if fn is not None else wrap


def _python_asset(
    func: Callable[..., Any],
    name: str | None,
    inputs: Mapping[str, str | Upstream],
    deps: Iterable[str],
    group: str | None,
    description: str | None,
    tags: Iterable[str] | Mapping[str, str],
    owners: Iterable[str],
    options: AssetOptions | None,
    lineage: Mapping[str, Sequence[str]] | None,
    partitions: Partitions | None,
    time_column: str | None,
    backfill: str,
) -> Asset:
    asset_name = name or func.__name__
    location, parameters, variadic = signature(func)
    resolved, windows, mapped, odd = _resolved(parameters, inputs)
    # Only the fields that differ from their defaults: a factory's assets mostly leave them all, and each one
    # passed costs the Maker a look (100,000 assets: 1 s less with 5 fields passed than with all 15).
    fields: dict[str, Any] = {"name": asset_name, "kind": "python", "inputs": resolved, "fn": func,
                              "location": location}
    problems = _problems(func, asset_name, location, parameters, variadic, inputs, mapped, odd, options)
    if problems:
        fields["problems"] = tuple(problems)
    if deps:
        fields["deps"] = tuple(deps)
    if group or "." in asset_name:
        fields["group"] = group or default_group(asset_name)
    if description is not None or func.__doc__:
        fields["description"] = description if description is not None else _first_paragraph(func.__doc__)
    if tags:
        fields["tags"] = normalize_tags(tags)
    if owners:
        fields["owners"] = tuple(owners)
    if options is not None:
        fields["options"] = options
    if CONTEXT_PARAMETER in parameters and CONTEXT_PARAMETER not in inputs:
        fields["wants_context"] = True
    if PREVIOUS_PARAMETER in parameters and PREVIOUS_PARAMETER not in inputs:
        fields["wants_previous"] = True
    if windows:
        fields["windows"] = windows
    made = _make_asset.made(fields)
    if lineage is not None:
        made = declared_lineage(made, lineage)
    return partitioned(made, partitions, time_column, backfill)


def _problems(func: Callable[..., Any], name: str, location: Location, parameters: tuple[str, ...],
              variadic: tuple[str, ...], inputs: Mapping[str, str | Upstream], mapped: int, odd: list[str],
              options: AssetOptions | None) -> list[DefinitionError]:
    """The problems of a function's declaration: its ``*args`` / ``**kwargs``, its ``inputs`` mapped to no
    asset (``odd``) or naming no parameter (fewer ``mapped`` than given), its options and its name."""
    if not (variadic or odd or mapped < len(inputs) or options is not None) and isinstance(name, str) \
            and _valid_name(name):
        return []  # the usual case, decided at once (a factory's assets are made in a few microseconds): each
        # check below must have its condition here
    problems = [DefinitionError(
        f"has parameter '{parameter}', which names no upstream; declare each upstream as a named "
        "parameter (or list extra ones in deps=...)", asset=name, location=location) for parameter in variadic]
    problems.extend(DefinitionError(
        f"maps inputs['{key}'] to {inputs[key]!r}, which names no asset; give the upstream asset's name, or "
        "Upstream(name, window=...)", asset=name, location=location) for key in odd)
    known = ", ".join(parameters) or "none"
    problems.extend(DefinitionError(
        f"maps inputs['{key}'], but '{key}' is not a parameter of {func.__name__}() (its parameters: {known})",
        asset=name, location=location) for key in inputs if key not in parameters)
    if options is not None:
        problems += _option_problems(name, location, options)
    if not (isinstance(name, str) and _valid_name(name)):
        problems += name_problems(name, location)
    return problems


def _resolved(parameters: tuple[str, ...], inputs: Mapping[str, str | Upstream]) \
        -> tuple[dict[str, str], dict[str, tuple[int, int]] | None, int, list[str]]:
    """Each parameter's upstream (``context`` and ``previous`` are none, unless mapped), the windows read, how many
    keys of ``inputs`` are parameters, and the parameters mapped to something that names no asset (left out). One
    pass: an asset of a factory is made in a few microseconds."""
    resolved: dict[str, str] = {}
    windows: dict[str, tuple[int, int]] | None = None
    mapped = 0
    odd: list[str] = []
    for parameter in parameters:
        given = inputs.get(parameter, _UNMAPPED)
        if given is _UNMAPPED:
            if parameter not in _SPECIAL_PARAMETERS:
                resolved[parameter] = parameter
            continue
        mapped += 1
        if isinstance(given, str):
            resolved[parameter] = given
        elif isinstance(given, Upstream):
            if given.window:
                windows = windows or {}
                windows[given.name] = given.window
            resolved[parameter] = given.name
        else:
            odd.append(parameter)
    return resolved, windows, mapped, odd


_UNMAPPED: Any = object()
_set = object.__setattr__


_make_asset = Maker(Asset)
_NO_OPTIONS = Asset.options  # the default, shared
_SPECIAL_PARAMETERS = (CONTEXT_PARAMETER, PREVIOUS_PARAMETER)


def _valid_name(name: str) -> bool:
    """Whether :func:`name_problems` finds nothing, the usual case decided without the pattern (an ASCII
    identifier is exactly one part of :data:`NAME_PATTERN`).

    >>> [_valid_name(n) for n in ("orders", "finance.orders", "naïve", "x" * 300, "context", "1st")]
    [True, True, False, False, False, False]
    """
    if name.isidentifier() and name.isascii():
        return len(name) <= MAX_NAME_LENGTH and name != CONTEXT_PARAMETER
    return not name_problems(name, None)


def source_asset(
    name: str,
    path: str | os.PathLike[str],
    *,
    group: str | None = None,
    description: str = "",
    tags: Iterable[str] | Mapping[str, str] = (),
    owners: Iterable[str] = (),
    read_options: Mapping[str, Any] | None = None,
    partitions: Partitions | None = None,
) -> Asset:
    """Declare external data the framework observes but does not produce.

    ``path`` is a file or a glob, relative to the project folder unless absolute. CSV and Parquet files are
    read into a polars DataFrame (a glob's files are concatenated), with ``read_options`` passed to
    ``pl.read_csv`` / ``pl.read_parquet`` (e.g. ``{"schema_overrides": {"zip": pl.String}}``); any other file
    is passed on as its path.

    With ``partitions``, each partition is its own file: ``path`` names it with placeholders, ``{date}`` for a
    time partitioning's key (``{key}`` for static or dynamic keys, one per dimension name for multi partitions),
    and each partition is observed on its own, so a changed file makes only its partition's readers stale.

    >>> raw = source_asset("raw_orders", "data/orders.csv")
    >>> raw.kind, raw.path, raw.upstream
    ('source', 'data/orders.csv', ())
    """
    frame = sys._getframe(1)
    location = Location(os.path.abspath(frame.f_code.co_filename), frame.f_lineno)
    return Asset(
        name=name,
        kind="source",
        group=group or default_group(name),
        description=description,
        tags=normalize_tags(tags),
        owners=tuple(owners),
        path=os.fspath(path),
        read_options=dict(read_options or {}),
        location=location,
        problems=tuple(name_problems(name, location)),
        partitions=partitions,
    )


def default_group(name: str) -> str:
    """The group of an asset declared without one: its dotted prefix, else ``default``.

    >>> default_group("finance.orders"), default_group("orders")
    ('finance', 'default')
    """
    return name.rsplit(".", 1)[0] if "." in name else "default"


def normalize_tags(tags: Iterable[str] | Mapping[str, str]) -> tuple[str, ...]:
    """Tags as strings: ``{"tier": "gold"}`` becomes ``("tier=gold",)``.

    >>> normalize_tags({"tier": "gold"}), normalize_tags(["pii"])
    (('tier=gold',), ('pii',))
    """
    if isinstance(tags, Mapping):
        return tuple(f"{key}={value}" for key, value in tags.items())
    if isinstance(tags, str):
        return (tags,)
    return tuple(tags)


def name_problems(name: str, location: Location | None) -> list[DefinitionError]:
    """The problems with an asset name (empty when it is valid).

    >>> [len(name_problems(name, None)) for name in ("finance.orders", "orders\\n", "x" * 300, "context")]
    [0, 1, 1, 1]
    """
    if not (isinstance(name, str) and NAME_PATTERN.fullmatch(name)):
        message = ("is not a valid asset name: use letters, digits and underscores, optionally with a dotted prefix "
                   "such as 'finance.orders'")
    elif len(name) > MAX_NAME_LENGTH:
        message = (f"is {len(name)} characters long, more than the {MAX_NAME_LENGTH} its stored files' names can "
                   "hold; choose a shorter name")
    elif name == CONTEXT_PARAMETER:
        message = (f"cannot be named '{CONTEXT_PARAMETER}': a parameter of that name receives the run's context, "
                   "not an asset, so no asset could read it; choose another name")
    else:
        return []
    text = name if isinstance(name, str) else str(name)
    shown = text if len(text) <= 60 else text[:40] + "..."
    return [InvalidNameError(message, asset=repr(shown)[1:-1], location=location)]  # escaped: no raw newline


def _option_problems(name: str, location: Location, options: AssetOptions | None) -> list[DefinitionError]:
    if options is None:
        return []
    problems = []
    if options.io not in IO_CHOICES:
        problems.append(DefinitionError(
            f"has options.io={options.io!r}; choose one of {', '.join(IO_CHOICES)}", asset=name, location=location))
    if options.retry is not None:
        problems.extend(DefinitionError(f"has a retry policy whose {problem}", asset=name, location=location)
                        for problem in retry_problems(options.retry))
    return problems


@functools.lru_cache(maxsize=4096)  # a factory's thousand functions share one docstring
def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return inspect.cleandoc(doc).split("\n\n", 1)[0].replace("\n", " ").strip()
