"""A project's settings: the ``[tool.assets]`` table of its pyproject.toml, checked whole against one schema.

The schema is declared once, as the dataclasses below: each field is a key, its type says what the key must
hold (``str``, ``int``, ``float``, ``bool``, ``tuple[str, ...]`` for a name or a list of names, or a nested
table), and its metadata adds bounds and choices. Every problem is reported at once, with the file and key.
"""

from __future__ import annotations

import builtins
import importlib
import json
import math
import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from assets_core.declaring.retry import RetryPolicy
from assets_core.errors import ProjectError, did_you_mean
from assets_core.imports import late_import
from assets_core.running.alerts import KINDS
from assets_core.running.openlineage import TRANSPORTS, OpenLineageSettings

EXECUTORS = ("threads", "processes", "dask")  # where a run's attempts execute (see assets_core.running.executors)


def at_least(minimum: float) -> dict[str, Any]:
    """Field metadata: the number must be at least ``minimum``."""
    return {"minimum": minimum}


def one_of(choices: tuple[str, ...]) -> dict[str, Any]:
    """Field metadata: each name must be one of ``choices``."""
    return {"choices": choices}


@dataclass(frozen=True)
class RetryTable:
    """``[tool.assets.retry]``: the project's default retry policy (see :class:`RetryPolicy`)."""

    max_attempts: int = field(default=1, metadata=at_least(1))
    delay: float = field(default=0.0, metadata=at_least(0))
    backoff: float = field(default=1.0, metadata=at_least(1))
    max_delay: float | None = field(default=None, metadata=at_least(0))
    jitter: float = field(default=0.0, metadata=at_least(0))
    retry_on: tuple[str, ...] = ("Exception",)  # exception names: builtin (ConnectionError) or module.Name


@dataclass(frozen=True)
class AlertsTable:
    """``[tool.assets.alerts]``: webhooks told of failures (the URLs are checked when the hooks are made)."""

    webhook: tuple[str, ...] = ()
    on: tuple[str, ...] = field(default=KINDS, metadata=one_of(KINDS))


@dataclass(frozen=True)
class OpenLineageTable:
    """``[tool.assets.openlineage]``: where each run's OpenLineage events go (see
    :mod:`assets_core.running.openlineage`); ``url`` alone means http."""

    transport: str | None = field(default=None, metadata=one_of(TRANSPORTS))  # http, file or console
    url: str | None = None  # http: the lineage server, e.g. http://localhost:5000
    endpoint: str = "api/v1/lineage"  # http: the path on the server
    path: str | None = None  # file: one JSON object per line is appended to it (relative to the project)
    namespace: str | None = None  # of the jobs and datasets (default: assets://<project folder's name>)
    timeout: float = field(default=5.0, metadata=at_least(0.1))  # seconds a request, and a run's end, waits


@dataclass(frozen=True)
class ProjectConfig:
    """The ``[tool.assets]`` table of a project's pyproject.toml (every key optional)."""

    root: Path = field(metadata={"key": False})  # the project folder, not a key of the table
    module: str | None = None
    file: str | None = None
    home: str | None = None
    catalog: str | None = None
    workers: int | None = field(default=None, metadata=at_least(1))
    durable: bool = False
    storage: str | None = None  # where stored values live: a folder or a URL (s3://bucket/prefix); default home/storage
    executor: str | None = field(default=None, metadata=one_of(EXECUTORS))  # threads (default), processes or dask
    dask_address: str | None = None  # the Dask scheduler for the dask executor (default: a local cluster per run)
    sql_folders: tuple[str, ...] = ()  # folders of .sql files, one SQL asset per file
    source_folders: tuple[str, ...] = ()  # folders of CSV/Parquet files, one source asset per file (dbt's seeds)
    dialect: str = "duckdb"  # the SQL dialect the .sql files are written in
    retry: RetryPolicy | None = field(default=None, metadata={"table": RetryTable})  # [tool.assets.retry]
    alerts: AlertsTable | None = field(default=None, metadata={"table": AlertsTable})  # [tool.assets.alerts]
    openlineage: OpenLineageSettings | None = field(default=None, metadata={"table": OpenLineageTable})

    @property
    def has_definitions(self) -> bool:
        return bool(self.module or self.file or self.sql_folders or self.source_folders)


def read_config(root: str | os.PathLike[str]) -> ProjectConfig:
    """Read ``[tool.assets]`` from ``root/pyproject.toml`` (an empty config when there is none).

    Raises :class:`ProjectError` naming the file and every key that is not what it must be.
    """
    root = Path(root).resolve()
    path = root / "pyproject.toml"
    if not path.is_file():
        return ProjectConfig(root)
    try:
        document = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"{path} cannot be read: {error}; fix the file (it must be valid TOML)") from error
    problems: list[str] = []
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        problems.append(f"[tool] must be a table, not {_shown(tool)}")
        tool = {}
    values = read_table(ProjectConfig, tool.get("assets", {}), "tool.assets", problems)
    if problems:
        raise ProjectError(_report(path, problems))
    return ProjectConfig(root, **values)


def read_table(schema: type, table: Any, where: str, problems: list[str]) -> dict[str, Any]:
    """The keys of the TOML ``table`` at ``[where]``, checked and converted against the dataclass ``schema``;
    each problem found is appended to ``problems``.

    >>> problems = []
    >>> read_table(RetryTable, {"max_attempts": 2.9, "retry_on": "ValueError"}, "tool.assets.retry", problems)
    {'retry_on': ('ValueError',)}
    >>> problems
    ['[tool.assets.retry] max_attempts must be a whole number of at least 1, not 2.9']
    """
    if not isinstance(table, dict):
        problems.append(f"[{where}] must be a table, not {_shown(table)}")
        return {}
    keys = {item.name: item for item in fields(schema) if item.metadata.get("key", True)}
    hints = typing.get_type_hints(schema)
    values: dict[str, Any] = {}
    for key, value in table.items():
        item = keys.get(key)
        if item is None:
            problems.append(f"[{where}] has an unknown key '{key}'{did_you_mean(key, keys)}; "
                            f"known keys: {', '.join(keys)}")
        elif "table" in item.metadata:
            before = len(problems)
            found = read_table(item.metadata["table"], value, f"{where}.{key}", problems)
            if len(problems) == before:
                values[key] = TABLES[item.metadata["table"]](found, f"{where}.{key}", problems)
        else:
            try:
                values[key] = _value(hints[key], item.metadata, value)
            except _Wrong as wrong:
                problems.append(f"[{where}] {key} must be {wrong}, not {_shown(value)}")
    return values


class _Wrong(Exception):
    """A value is not of its key's shape; the message says what it must be."""


def _value(hint: Any, metadata: Mapping[str, Any], value: Any) -> Any:
    """``value`` converted to the type ``hint`` (``X | None`` reads as ``X``: TOML has no null)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is bool:
        if not isinstance(value, bool):
            raise _Wrong("true or false")
        return value
    if hint in (int, float):
        return _number(hint, metadata.get("minimum"), value)
    if hint is str:
        choices = metadata.get("choices")
        if choices is not None and value not in choices:
            raise _Wrong(f"one of: {', '.join(choices)}")
        if not isinstance(value, str):
            raise _Wrong("a string")
        return value
    if typing.get_origin(hint) is tuple:  # tuple[str, ...]: one name, or a list of names
        return _names(metadata.get("choices"), value)
    raise TypeError(f"the configuration schema has a field of an unsupported type {hint}")


def _number(kind: type, minimum: float | None, value: Any) -> Any:
    shape = "a whole number" if kind is int else "a finite number"
    shape += "" if minimum is None else f" of at least {minimum:g}"
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed) or not math.isfinite(value) \
            or (minimum is not None and value < minimum):
        raise _Wrong(shape)
    return kind(value)


def _names(choices: tuple[str, ...] | None, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    shape = "a name or a list of names" if choices is None else f"one or a list of: {', '.join(choices)}"
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise _Wrong(shape)
    if choices is not None and not set(names) <= set(choices):
        raise _Wrong(shape)
    return tuple(names)


def _retry_policy(values: dict[str, Any], where: str, problems: list[str]) -> RetryPolicy | None:
    names = values.pop("retry_on", None)
    if names is None:
        return RetryPolicy(**values)
    classes = [_exception(name) for name in names]
    for name, found in zip(names, classes):
        if found is None:
            problems.append(f"[{where}] retry_on names '{name}', which is no exception class; "
                            "use a builtin name (ConnectionError) or module.Name")
    if None in classes:
        return None
    return RetryPolicy(**values, retry_on=tuple(c for c in classes if c is not None))


def _exception(name: str) -> type[BaseException] | None:
    module, _, attr = name.rpartition(".")
    try:
        with late_import():
            found = getattr(importlib.import_module(module) if module else builtins, attr)
    except (ImportError, AttributeError, ValueError):
        return None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _alerts(values: dict[str, Any], where: str, problems: list[str]) -> AlertsTable:
    return AlertsTable(**values)


def _openlineage(values: dict[str, Any], where: str, problems: list[str]) -> OpenLineageSettings | None:
    """The table's settings, once the keys it needs for its transport are there.

    >>> problems = []
    >>> _openlineage({"url": "http://localhost:5000"}, "tool.assets.openlineage", problems).transport
    'http'
    >>> _openlineage({"transport": "file"}, "tool.assets.openlineage", problems), problems
    (None, ['[tool.assets.openlineage] transport = "file" needs path, the file the events go to'])
    """
    table = OpenLineageTable(**values)
    transport = table.transport or ("http" if table.url else None)
    if transport is None:
        problems.append(f"[{where}] says nowhere to send the events: set url (a lineage server), "
                        "path (a file) or transport = \"console\"")
    elif transport == "http" and not (table.url or "").startswith(("http://", "https://")):
        problems.append(f"[{where}] url must start with http:// or https://, not {_shown(table.url)}" if table.url
                        else f"[{where}] transport = \"http\" needs url, e.g. url = \"http://localhost:5000\"")
    elif transport == "file" and not table.path:
        problems.append(f"[{where}] transport = \"file\" needs path, the file the events go to")
    else:
        return OpenLineageSettings(transport, table.url or "", table.endpoint, table.path or "",
                                   table.namespace or "", table.timeout)
    return None


# How a nested table's checked values become the config's value.
TABLES: dict[type, Callable[[dict[str, Any], str, list[str]], Any]] = {
    RetryTable: _retry_policy, AlertsTable: _alerts, OpenLineageTable: _openlineage}


def _shown(value: Any) -> str:
    """A value as TOML would spell it, near enough: ``"four"``, ``["defs.py"]``, ``2.9``."""
    return json.dumps(value, default=str)


def _report(path: Path, problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{path}: {problems[0]}"
    return f"{path} has {len(problems)} problems:\n" + "\n".join(f"  - {problem}" for problem in problems)

