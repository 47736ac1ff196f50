"""Declaring automation: schedules, file sensors and sensors, the values a definitions module holds.

Like ``@asset``, these return values and register nothing; discovery finds them at the top level of the
definitions module. Bad arguments raise :class:`DefinitionError` at once, with the file and line of the
declaration and how to fix it. Evaluating a sensor is :func:`assets_core.automation.sensors.evaluate_sensor`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

from assets_core.automation.cron import cron_problem, zone_problem
from assets_core.declaring.signatures import function_location
from assets_core.errors import DefinitionError, Location, SelectionError
from assets_core.imports import late_import

NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
DEFAULT_INTERVAL = 30  # seconds between two evaluations of a sensor
MAX_INTERVAL = 86_400.0  # a sensor looks at least once a day (and an infinite interval has no next tick)


@dataclass(frozen=True)
class RunRequest:
    """A run a sensor asks for: its ``selection`` (None: the sensor's own), one ``partition`` key, and a
    ``run_key`` that, once used, never starts a second run."""

    selection: str | None = None
    partition: str | None = None
    run_key: str | None = None

    def __post_init__(self) -> None:
        for name in ("selection", "partition", "run_key"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"RunRequest({name}={value!r}): {name} is text or None, not "
                                f"{type(value).__name__}; e.g. RunRequest(partition=str(day))")


class SensorContext:
    """What a sensor function receives: its saved ``cursor``, the time ``now`` and the project folder ``root``."""

    def __init__(self, name: str, cursor: str | None, now: datetime, root: Path):
        self.name = name
        self.cursor = cursor
        self.now = now
        self.root = root

    def update_cursor(self, value: str) -> None:
        """Save ``value`` as the cursor the next evaluation receives (with the runs this one requests)."""
        if not isinstance(value, str):
            raise TypeError(f"update_cursor takes text, not {type(value).__name__} {value!r}; "
                            "save str(value) or json.dumps(value)")
        self.cursor = value

    def __repr__(self) -> str:
        return f"SensorContext({self.name!r}, cursor={self.cursor!r}, now={self.now.isoformat()})"


SensorReturn: TypeAlias = "RunRequest | list[RunRequest] | None"


@dataclass(frozen=True, eq=False)
class Schedule:
    """At each tick of ``cron`` (in ``timezone``), materialize what is stale in ``selection``."""

    name: str
    cron: str
    selection: str
    timezone: str = "UTC"
    catchup: bool = False
    max_catchup: int = 100
    location: Location | None = None

    @property
    def trigger(self) -> str:
        """The trigger recorded on the runs this schedule starts."""
        return f"schedule:{self.name}"


@dataclass(frozen=True, eq=False)
class FileSensor:
    """A new or changed file matching ``path`` (a glob, relative to the project folder unless absolute)
    starts a run of ``selection``."""

    name: str
    path: str
    selection: str
    interval_seconds: float = DEFAULT_INTERVAL
    location: Location | None = None

    @property
    def trigger(self) -> str:
        return f"sensor:{self.name}"


@dataclass(frozen=True, eq=False)
class Sensor:
    """A function ``(context) -> RunRequest | list[RunRequest] | None`` evaluated every ``interval_seconds``."""

    name: str
    selection: str
    fn: Callable[[SensorContext], Any]
    interval_seconds: float = DEFAULT_INTERVAL
    location: Location | None = None

    @property
    def trigger(self) -> str:
        return f"sensor:{self.name}"

    def __call__(self, context: SensorContext) -> Any:
        """Call the sensor's function directly, e.g. in a unit test."""
        return self.fn(context)


Automation: TypeAlias = Schedule | FileSensor | Sensor


def schedule(name: str, cron: str, selection: str, *, timezone: str = "UTC", catchup: bool = False,
             max_catchup: int = 100) -> Schedule:
    """Declare a schedule: at each tick of ``cron`` in ``timezone``, materialize what is stale in ``selection``
    (a selection in the command's syntax, e.g. ``'+revenue'``). See :func:`~assets_core.automation.cron.due_ticks`
    for catch-up after downtime.

    >>> nightly = schedule("nightly", "0 2 * * *", "+revenue", timezone="Europe/Paris")
    >>> nightly.trigger, nightly.catchup
    ('schedule:nightly', False)
    """
    location = _caller()
    what = f"schedule '{name}'"
    _check_name("schedule", name, location)
    _check_selection(what, selection, location)
    for problem in (cron_problem(cron), zone_problem(timezone)):
        if problem:
            raise DefinitionError(f"{what}: {problem}", location=location)
    if not isinstance(max_catchup, int) or max_catchup < 1:
        raise DefinitionError(f"{what} has max_catchup={max_catchup!r}; give a whole number of ticks of at "
                              "least 1 (the most missed ticks one evaluation runs)", location=location)
    return Schedule(name, cron, selection, timezone, bool(catchup), max_catchup, location)


def file_sensor(name: str, path: str | os.PathLike[str], selection: str, *,
                interval_seconds: float = DEFAULT_INTERVAL) -> FileSensor:
    """Declare a file sensor: a new or changed file matching the glob ``path`` starts a run of ``selection``.

    >>> landed = file_sensor("landed", "incoming/*.csv", "raw_orders+")
    >>> landed.trigger, landed.interval_seconds
    ('sensor:landed', 30)
    """
    location = _caller()
    what = f"file sensor '{name}'"
    _check_name("file sensor", name, location)
    _check_selection(what, selection, location)
    _check_interval(what, interval_seconds, location)
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).strip():
        raise DefinitionError(f"{what} has path={path!r}; give a glob of the files to watch, e.g. "
                              "'incoming/*.csv' (relative to the project folder)", location=location)
    return FileSensor(name, os.fspath(path), selection, interval_seconds, location)


def sensor(name: str, selection: str = "", *,
           interval_seconds: float = DEFAULT_INTERVAL) -> Callable[[Callable[[SensorContext], Any]], Sensor]:
    """Declare the decorated function ``(context) -> RunRequest | list[RunRequest] | None`` as a sensor.

    >>> @sensor("new_orders", "raw_orders+")
    ... def new_orders(context):
    ...     return RunRequest(run_key="batch-1")
    >>> new_orders.trigger, new_orders.location.line > 0
    ('sensor:new_orders', True)
    """
    if callable(name):  # a bare @sensor: the function came as the name
        raise DefinitionError("@sensor needs a name and a selection, e.g. @sensor('new_orders', 'raw_orders+')",
                              location=function_location(name))

    def wrap(fn: Callable[[SensorContext], Any]) -> Sensor:
        location = function_location(fn) if callable(fn) else _caller()
        what = f"sensor '{name}'"
        if not callable(fn):
            raise DefinitionError(f"@sensor decorates a function (context) -> RunRequest | list | None, not "
                                  f"{fn!r}", location=location)
        _check_name("sensor", name, location)
        _check_selection(what, selection, location)
        _check_interval(what, interval_seconds, location)
        return Sensor(name, selection, fn, interval_seconds, location)

    return wrap


def check_selection_text(selection: str) -> str | None:
    """What is wrong with a selection's syntax, or None (whether its names exist is checked with the graph).

    >>> check_selection_text("+orders tag:pii") is None
    True
    """
    if not isinstance(selection, str) or not selection.strip():
        return (f"has selection={selection!r}; give the assets to run in the command's syntax, e.g. "
                "'+revenue', 'group:finance' or '*' for every asset")
    with late_import():  # the selection module sits above the graph, which imports this one
        from assets_core.planning.selection import parse_selection
    try:
        parse_selection([selection])
    except SelectionError as error:
        return f"has the selection '{selection}': {error}"
    return None


def _check_selection(what: str, selection: str, location: Location) -> None:
    problem = check_selection_text(selection)
    if problem:
        raise DefinitionError(f"{what} {problem}", location=location)


def _check_name(kind: str, name: str, location: Location) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise DefinitionError(f"{kind} name {name!r} is not a name: use letters, digits, '_', '-' and '.', "
                              "e.g. 'nightly_orders'", location=location)


def _check_interval(what: str, interval: float, location: Location) -> None:
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 < interval <= MAX_INTERVAL:
        raise DefinitionError(f"{what} has interval_seconds={interval!r}; give a positive number of seconds, at "
                              f"most {MAX_INTERVAL:g} (a day; default {DEFAULT_INTERVAL})", location=location)


def _caller() -> Location:
    """The file and line that called the public function that calls this."""
    frame = sys._getframe(2)
    return Location(os.path.abspath(frame.f_code.co_filename), frame.f_lineno)
