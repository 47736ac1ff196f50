"""Anomalies, judged against an asset's own history: a run far slower than usual, a row count that jumps or
collapses. Pure functions of the numbers; the executor fetches history only when a cheap test says it might
matter, so a normal run pays nothing."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_HISTORY = 5  # materializations needed before "usual" means anything
SLOWER = 5.0  # this many times the usual duration...
MIN_EXTRA_SECONDS = 1.0  # ...and at least this much longer, is anomalous
ROWS_FACTOR = 10.0  # this many times more, or fewer, rows than usual is anomalous
MIN_ROWS = 10  # ...when the usual count is at least this


@dataclass(frozen=True)
class Anomaly:
    asset: str
    kind: str  # duration | rows
    message: str


def might_be_slow(duration: float) -> bool:
    """Whether a duration is long enough to be worth comparing with history."""
    return duration >= MIN_EXTRA_SECONDS


def might_have_odd_rows(rows: int | None, previous: int | None) -> bool:
    """Whether a row count differs enough from the previous one to be worth comparing with history."""
    if rows is None or previous is None:
        return False
    low, high = sorted((rows, previous))
    return high >= MIN_ROWS and (low == 0 or high / low >= ROWS_FACTOR)


def slow_run(asset: str, duration: float, history: Sequence[float]) -> Anomaly | None:
    """A run that took far longer than the asset usually takes.

    >>> slow_run("orders", 1200, [120, 110, 130, 125, 118]).message
    'took 20m00s where it usually takes 2m00s (median of its last 5 materializations)'
    >>> slow_run("orders", 130, [120, 110, 130, 125, 118]) is None
    True
    """
    if len(history) < MIN_HISTORY:
        return None
    usual = statistics.median(history)
    if duration < SLOWER * usual or duration - usual < MIN_EXTRA_SECONDS:
        return None
    return Anomaly(asset, "duration", f"took {_clock(duration)} where it usually takes {_clock(usual)} "
                                      f"(median of its last {len(history)} materializations)")


def odd_rows(asset: str, rows: int, history: Sequence[int]) -> Anomaly | None:
    """A row count that jumped or collapsed against the usual one.

    >>> odd_rows("orders", 12, [1000, 1010, 990, 1005, 998]).message
    'has 12 rows where it usually has 1000 (median of its last 5): the row count collapsed'
    """
    if len(history) < MIN_HISTORY:
        return None
    usual = statistics.median(history)
    if usual < MIN_ROWS and rows < MIN_ROWS:
        return None
    if rows >= ROWS_FACTOR * max(usual, 1):
        change = "jumped"
    elif rows * ROWS_FACTOR <= usual:
        change = "collapsed"
    else:
        return None
    return Anomaly(asset, "rows", f"has {rows} rows where it usually has {usual:g} (median of its last "
                                  f"{len(history)}): the row count {change}")


def _clock(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
