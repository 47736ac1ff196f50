"""Which partitions of an upstream a partition of an asset reads, and the inverse: pure functions of two partitionings.

Dimensions pair up as follows: a time dimension maps to the other side's time dimension by overlapping windows;
a static or dynamic dimension maps to an equal partitioning on the other side, key by key. When several could pair,
the one with the same dimension name wins. An upstream dimension with no counterpart is read whole; a downstream
dimension with no counterpart is ignored. Two partitionings with no dimension in common cannot be mapped.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from assets_core.declaring.partitions import NO_DYNAMIC, MultiPartitions, PartitionError, Partitions
from assets_core.declaring.time_partitions import TimePartitions
from assets_core.errors import DefinitionError

Dimensions = tuple[tuple[str, Partitions], ...]
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class UpstreamSlice:
    """What one partition reads of one upstream.

    Attributes:
        keys: the upstream partitions read, in order (empty when `whole`).
        whole: the upstream is unpartitioned and is read all at once.
        missing_before_start: how many upstream (time) partitions of a window fall before the upstream's first
            partition; they are left out, which is allowed but worth reporting.
        missing_after_end: how many fall after the upstream's last one (its ``end``, or not complete yet);
            left out too, and reported alike.
    """

    keys: tuple[str, ...]
    whole: bool = False
    missing_before_start: int = 0
    missing_after_end: int = 0


def dimensions_of(partitions: Partitions) -> Dimensions:
    """The named dimensions of a partitioning; a single partitioning is one dimension named ''."""
    return partitions.dimensions if isinstance(partitions, MultiPartitions) else (("", partitions),)


def check_mapping(down: Partitions | None, up: Partitions | None, window: tuple[int, int] | None = None) -> str | None:
    """The problem with an asset partitioned by `down` reading an upstream partitioned by `up`, or None if fine.

    >>> from assets_core.declaring.partitions import StaticPartitions
    >>> print(check_mapping(StaticPartitions(["a"]), StaticPartitions(["b"])))
    static [a] cannot read static [b] partition by partition: ...
    """
    if window is not None:
        problem = _window_problem(down, up, window)
        if problem:
            return problem
    if down is None or up is None:
        return None
    pairs, problem = _pairs(down, up)
    if problem is None and window is not None:
        time = _time_dimension(down)
        up_time = next((j for j, i in pairs.items() if i == time), None)
        if up_time is None or not isinstance(dimensions_of(up)[up_time][1], TimePartitions):
            problem = f"a window of partitions needs a time dimension upstream, and {up.describe()} has none"
    return problem


def upstream_keys(
    down: Partitions | None,
    key: str | None,
    up: Partitions | None,
    *,
    now: datetime,
    dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC,
    window: tuple[int, int] | None = None,
) -> UpstreamSlice:
    """The upstream partitions that partition `key` of an asset reads (all of them when the asset is unpartitioned).

    `window=(a, b)` shifts the key's own time dimension by a..b of its own partitions and reads the union.
    Upstream partitions not complete as of `now` are left out.

    >>> from assets_core.declaring.time_partitions import DailyPartitions, WeeklyPartitions
    >>> now = datetime.fromisoformat("2026-02-01T00:00+00:00")
    >>> upstream_keys(WeeklyPartitions("2026-01-05"), "2026-01-12", DailyPartitions("2026-01-01"), now=now).keys
    ('2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15', '2026-01-16', '2026-01-17', '2026-01-18')
    """
    if up is None:
        return UpstreamSlice((), whole=True)
    _raise_problem(down, up, window)
    if down is None:
        return UpstreamSlice(tuple(up.keys(now, dynamic)))
    parts = _parts(down, key, now, dynamic)
    pairs = _pairs(down, up)[0]
    down_dims, chosen, missing, after = dimensions_of(down), [], 0, 0
    for j, (_, partitions) in enumerate(dimensions_of(up)):
        i = pairs.get(j)
        if i is None:
            chosen.append(partitions.keys(now, dynamic))
        elif isinstance(partitions, TimePartitions):
            down_time = down_dims[i][1]
            assert isinstance(down_time, TimePartitions)
            keys, before_start, after_end = _overlapping(down_time, parts[i], partitions, now, window or (0, 0))
            chosen.append(keys)
            missing += before_start
            after += after_end
        else:
            chosen.append([parts[i]])
    return UpstreamSlice(tuple("|".join(combination) for combination in itertools.product(*chosen)), False, missing,
                         after)


def downstream_keys(
    up: Partitions | None,
    up_key: str | None,
    down: Partitions | None,
    *,
    now: datetime,
    dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC,
    window: tuple[int, int] | None = None,
) -> tuple[str, ...]:
    """Every partition of an asset that reads partition `up_key` of its upstream, in order: the inverse of
    `upstream_keys`. An unpartitioned asset has no partitions, so it gives () (the asset itself reads it).

    >>> from assets_core.declaring.time_partitions import DailyPartitions
    >>> now = datetime.fromisoformat("2026-02-01T00:00+00:00")
    >>> days = DailyPartitions("2026-01-01")
    >>> downstream_keys(days, "2026-01-10", days, now=now, window=(-2, 0))
    ('2026-01-10', '2026-01-11', '2026-01-12')
    """
    if down is None:
        return ()
    _raise_problem(down, up, window)
    if up is None:
        return tuple(down.keys(now, dynamic))
    parts = _parts(up, up_key, now, dynamic)
    readers = {i: j for j, i in _pairs(down, up)[0].items()}
    up_dims, chosen = dimensions_of(up), []
    for i, (_, partitions) in enumerate(dimensions_of(down)):
        j = readers.get(i)
        if j is None:
            chosen.append(partitions.keys(now, dynamic))
        elif isinstance(partitions, TimePartitions):
            up_time = up_dims[j][1]
            assert isinstance(up_time, TimePartitions)
            chosen.append(_readers(up_time, parts[j], partitions, now, window or (0, 0)))
        else:
            chosen.append([parts[j]])
    return tuple("|".join(combination) for combination in itertools.product(*chosen))


TimeRead = tuple[tuple[tuple[int, int], ...], int, int]  # (start, stop) positions, before start, after end


def time_reads(down: TimePartitions, indexes: Sequence[int], up: TimePartitions, *, now: datetime,
               window: tuple[int, int] | None = None) -> list[TimeRead]:
    """:func:`upstream_keys` of many partitions at once, for a time partitioning reading another: for each of
    ``down``'s windows ``indexes`` (as :meth:`~TimePartitions.indexes_between` gives them), the slices of
    ``up.keys(now)`` it reads, as ``(start, stop)`` positions in that list, and how many windows fell before the
    first and after the last.

    >>> from assets_core.declaring.time_partitions import DailyPartitions, HourlyPartitions
    >>> now = datetime.fromisoformat("2026-01-04T00:00+00:00")
    >>> days = DailyPartitions("2026-01-01")
    >>> time_reads(days, [days.index_of("2026-01-02")], HourlyPartitions("2026-01-01T12:00"), now=now)
    [(((12, 36),), 0, 0)]
    """
    _raise_problem(down, up, window)
    first, last = up.bounds(now)
    existing = up.indexes_between(first, last)
    shifts = range(window[0], window[1] + 1) if window else range(0, 1)
    covered = _Covered(down, up)
    found: list[TimeRead] = []
    for index in indexes:
        spans = [covered(down.step(index, shift)) for shift in shifts]
        slices, before, after = [], 0, 0
        for low, high in _merged(spans) if len(spans) > 1 else spans:
            start, stop = bisect.bisect_left(existing, low), bisect.bisect_right(existing, high)
            if start < stop:
                slices.append((start, stop))
            if low < first:
                before += sum(map(up.exists, range(low, min(high, first - 1) + 1)))
            if high > last:
                after += sum(map(up.exists, range(max(low, last + 1), high + 1)))
        found.append((tuple(slices), before, after))
    return found


class _Covered:
    """The first and last index of ``up``'s windows that each window of ``down`` overlaps, the start of each
    window of ``down`` found once (it is where the one before it ends). Both laid out in UTC, a clock that never
    skips or repeats an hour, a window's local start is its moment: no time zone is consulted."""

    def __init__(self, down: TimePartitions, up: TimePartitions) -> None:
        self._down, self._up = down, up
        self._starts: dict[int, datetime] = {}
        self._utc = down.timezone == up.timezone == "UTC"

    def __call__(self, index: int) -> tuple[int, int]:
        if self._utc:
            local_index = self._up._index_of_local
            return local_index(self._start(index)), local_index(self._start(index + 1) - _TICK)
        return self._up.index_at(self._start(index)), self._up.index_at(self._start(index + 1) - _TICK)

    def _start(self, index: int) -> datetime:
        found = self._starts.get(index)
        if found is None:  # local time (naive) in UTC, else the moment (aware)
            found = self._down._local_start(index) if self._utc else self._down.start_at(index)
            self._starts[index] = found
        return found


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive index ranges merged where they overlap or touch, in order.

    >>> _merged([(4, 6), (1, 2), (3, 3), (8, 9)])
    [(1, 6), (8, 9)]
    """
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def _overlapping(
    down: TimePartitions, key: str, up: TimePartitions, now: datetime, window: tuple[int, int]
) -> tuple[list[str], int, int]:
    """The complete upstream keys overlapping the shifted windows of `key`, and how many fell before the start
    and after the last one."""
    index = down.index_of(key)
    first, last = up.bounds(now)
    found: set[int] = set()
    missing = after = 0
    for shift in range(window[0], window[1] + 1):
        span = down.window_at(down.step(index, shift))
        for candidate in range(up.index_at(span.start), up.index_at(span.end - _TICK) + 1):
            if candidate in found or not up.exists(candidate):
                continue
            found.add(candidate)
            if candidate < first:
                missing += 1
            elif candidate > last:
                after += 1
    return [up.key_at(candidate) for candidate in sorted(found) if first <= candidate <= last], missing, after


def _readers(up: TimePartitions, key: str, down: TimePartitions, now: datetime, window: tuple[int, int]) -> list[str]:
    """The downstream keys whose shifted windows overlap upstream `key`'s window."""
    span = up.window(key)
    first, last = down.bounds(now)
    found: set[int] = set()
    for overlapped in range(down.index_at(span.start), down.index_at(span.end - _TICK) + 1):
        if down.exists(overlapped):
            found.update(down.step(overlapped, -shift) for shift in range(window[0], window[1] + 1))
    return [down.key_at(index) for index in sorted(found) if first <= index <= last]


def _parts(partitions: Partitions, key: str | None, now: datetime, dynamic: Mapping[str, Sequence[str]]) -> list[str]:
    """A key of `partitions`, checked, split into one part per dimension."""
    if key is None:
        raise PartitionError(f"a partition of {partitions.describe()} is needed to say what it reads")
    partitions.check_key(key, now, dynamic)
    return list(partitions.split(key)) if isinstance(partitions, MultiPartitions) else [key]


def _raise_problem(down: Partitions | None, up: Partitions | None, window: tuple[int, int] | None) -> None:
    problem = check_mapping(down, up, window)
    if problem:
        raise DefinitionError(problem)


def _pairs(down: Partitions, up: Partitions) -> tuple[dict[int, int], str | None]:
    """For each upstream dimension with a counterpart downstream, that counterpart; and a problem, if any."""
    down_dims = dimensions_of(down)
    pairs: dict[int, int] = {}
    for j, (name, partitions) in enumerate(dimensions_of(up)):
        found = [i for i, (_, other) in enumerate(down_dims) if _compatible(partitions, other)]
        named = [i for i in found if name and down_dims[i][0] == name]
        found = named or found
        if len(found) > 1 or (found and found[0] in pairs.values()):
            return pairs, (f"{down.describe()} cannot tell which of its dimensions matches {partitions.describe()} "
                           f"upstream; give the matching dimensions the same name")
        if found:
            pairs[j] = found[0]
    if not pairs:
        return pairs, (f"{down.describe()} cannot read {up.describe()} partition by partition: they share no time "
                       "dimension and no equal partitioning; partition them alike or make one of them unpartitioned")
    return pairs, None


def _compatible(up: Partitions, down: Partitions) -> bool:
    return (isinstance(up, TimePartitions) and isinstance(down, TimePartitions)) or up == down


def _time_dimension(partitions: Partitions) -> int | None:
    """The position of the one time dimension, or None when there is none or more than one."""
    times = [i for i, (_, p) in enumerate(dimensions_of(partitions)) if isinstance(p, TimePartitions)]
    return times[0] if len(times) == 1 else None


def _window_problem(down: Partitions | None, up: Partitions | None, window: tuple[int, int]) -> str | None:
    if window[0] > window[1]:
        return f"the window {window} runs backwards; write it as ({window[1]}, {window[0]})"
    if down is None or _time_dimension(down) is None:
        shown = "an unpartitioned asset" if down is None else down.describe()
        return f"a window of partitions needs one time dimension downstream, and {shown} has none"
    if up is None:
        return "a window of partitions needs a partitioned upstream; drop the window to read it whole"
    return None
