"""Evaluating a sensor: call the user's function once and turn whatever happens into a :class:`SensorResult`.

Nothing here raises because of the user's code: an exception (even ``SystemExit``) or a wrong return value
becomes the result's ``error``, a message with the user's file and line, and the cursor is left as it was, so
a failed evaluation loses nothing. ``KeyboardInterrupt`` still stops the process.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from assets_core.automation.declarations import RunRequest, Sensor, SensorContext, check_selection_text
from assets_core.errors import Location


@dataclass(frozen=True)
class SensorResult:
    """What one evaluation of a sensor asks for.

    ``requests`` carry an explicit selection (the sensor's own when the function gave none), each ``run_key``
    once. ``cursor`` is the cursor to save with them: the new one, or the old one when the evaluation failed.
    ``error`` says what went wrong, where; ``traceback`` keeps the user's traceback for the log.
    """

    requests: tuple[RunRequest, ...]
    cursor: str | None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def evaluate_sensor(sensor: Sensor, cursor: str | None, now: datetime, root: str | os.PathLike[str]) -> SensorResult:
    """Call ``sensor``'s function with a :class:`SensorContext` and normalize what it returns.

    >>> from datetime import timezone
    >>> from assets_core.automation.declarations import sensor
    >>> @sensor("counter", "orders")
    ... def counter(context):
    ...     context.update_cursor(str(int(context.cursor or 0) + 1))
    ...     return RunRequest(partition="a", run_key="a-" + context.cursor)
    >>> result = evaluate_sensor(counter, "41", datetime(2026, 1, 1, tzinfo=timezone.utc), ".")
    >>> result.cursor, result.requests
    ('42', (RunRequest(selection='orders', partition='a', run_key='a-42'),))
    """
    root = Path(root)
    context = SensorContext(sensor.name, cursor, now, root)
    try:
        returned = sensor.fn(context)
    except (Exception, SystemExit) as error:  # the user's bug is recorded on the tick, never raised here
        where = _raising_line(error, sensor, root)
        message = f"sensor '{sensor.name}' ({where}) raised {type(error).__name__}: {error}{_KEPT}"
        return SensorResult((), cursor, message, "".join(traceback.format_exception(error)))
    requests, problem = _normalized(sensor, returned)
    if problem:
        return SensorResult((), cursor, f"sensor '{sensor.name}' ({sensor.location}) {problem}{_KEPT}")
    return SensorResult(requests, context.cursor)


_KEPT = "; its cursor is kept and it is evaluated again at its next interval"


def _normalized(sensor: Sensor, returned: Any) -> tuple[tuple[RunRequest, ...], str | None]:
    """The requests, with the sensor's selection filled in and repeated run keys dropped, or a problem."""
    items = [] if returned is None else [returned] if isinstance(returned, RunRequest) else returned
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, RunRequest) for item in items):
        shown = repr(returned) if len(repr(returned)) <= 80 else repr(returned)[:77] + "..."
        return (), (f"returned {shown} ({type(returned).__name__}); return a RunRequest, a list of them, or None")
    requests: list[RunRequest] = []
    keys: set[str] = set()
    for item in items:
        if item.run_key is not None and item.run_key in keys:
            continue
        if item.selection is not None and check_selection_text(item.selection):
            return (), f"returned a RunRequest that {check_selection_text(item.selection)}"
        keys.add(item.run_key or "")
        requests.append(item if item.selection is not None else replace(item, selection=sensor.selection))
    return tuple(requests), None


def _raising_line(error: BaseException, sensor: Sensor, root: Path) -> Location | None:
    """The user's line that raised: the deepest frame in the project folder, else in the sensor's own file."""
    frames = traceback.extract_tb(error.__traceback__)[1:]  # the first frame is evaluate_sensor's call
    real_root = os.path.realpath(root)
    in_project = [f for f in frames if os.path.realpath(f.filename).startswith(real_root + os.sep)
                  and "site-packages" not in f.filename]
    own_file = sensor.location.file if sensor.location else None
    in_sensor = [f for f in frames if own_file and os.path.abspath(f.filename) == own_file]
    found = in_project or in_sensor
    if not found:
        return sensor.location
    chosen = found[-1]
    return Location(os.path.abspath(chosen.filename), chosen.lineno or 0)
