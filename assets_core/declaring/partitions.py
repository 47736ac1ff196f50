"""How an asset is split into partitions: the partitionings, their keys, windows and the `--partition` selection.

Time windows are in the partitioning's time zone, so a daily window in Europe/Paris runs from local midnight to
the next local midnight (23 or 25 hours on DST days). Hourly keys are local wall-clock hours: an hour whose start
the clocks skip (spring forward) has no partition, and on fall-back the repeated local hour is one partition
covering both occurrences (2 hours). Windows are returned in UTC so that arithmetic and comparison are exact.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from assets_core.errors import DefinitionError, SelectionError, did_you_mean

NO_DYNAMIC: Mapping[str, Sequence[str]] = MappingProxyType({})
_RESERVED = ("|", ",", "..", "[", "]")
ZERO = timedelta(0)
_HOURS = tuple(f"T{hour:02d}:00" for hour in range(24))


class PartitionError(SelectionError):
    """A partition key or `--partition` value names no partition of an asset."""


@dataclass(frozen=True)
class Window:
    """The time a partition covers, from `start` (inclusive) to `end` (exclusive), both in UTC."""

    start: datetime
    end: datetime


class Partitions(ABC):
    """How an asset is split into partitions; every key is a string and the keys have one order."""

    @abstractmethod
    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        """Every key in order, as of `now` (time partitionings stop at the last complete window)."""

    @abstractmethod
    def placeholders(self, key: str) -> dict[str, str]:
        """Names for formatting a source file path with this key."""

    @abstractmethod
    def describe(self) -> str:
        """A short stable text naming this partitioning, used in code versions and messages."""

    def window(self, key: str) -> Window | None:
        """The time a key covers, or None when the partitioning has no time."""
        return None

    def dynamic_names(self) -> tuple[str, ...]:
        """The names of the dynamic partitionings whose keys this one needs in `dynamic`."""
        return ()

    def check_key(self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> None:
        """Raise `PartitionError` unless `key` is one of the keys as of `now`."""
        keys = self.keys(now, dynamic)
        if key not in keys:
            raise PartitionError(f"{self._not_a_key(key)}{self._hint(key, keys)}")

    def select(self, spec: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        """The keys a `--partition` value names: `KEY`, an inclusive range `FIRST..LAST`, or a list `K1,K2,...`.

        >>> StaticPartitions(["a", "b", "c", "d"]).select("a..b,d", datetime.now(timezone.utc))
        ['a', 'b', 'd']
        """
        keys = self.keys(now, dynamic)
        index = dict(zip(keys, range(len(keys))))
        spans = _spans(spec, lambda key: self._position(key, index, now, dynamic))
        return [keys[position] for start, stop in spans for position in range(start, stop)]

    def ranges(
        self, keys: Iterable[str], now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> list[tuple[str, str]]:
        """Compress some keys into maximal runs of consecutive keys, as inclusive `(first, last)` pairs in order.

        >>> StaticPartitions(["a", "b", "c", "d"]).ranges(["d", "a", "b"], datetime.now(timezone.utc))
        [('a', 'b'), ('d', 'd')]
        """
        every = self.keys(now, dynamic)
        index = dict(zip(every, range(len(every))))
        try:
            found = sorted(map(index.__getitem__, set(keys)))
        except KeyError as unknown:
            self._position(unknown.args[0], index, now, dynamic)
            raise
        return [(every[first], every[last]) for first, last in _runs(found)]

    def _position(
        self, key: str, index: Mapping[str, int], now: datetime, dynamic: Mapping[str, Sequence[str]]
    ) -> int:
        """Where `key` stands in the key order; raises the partitioning's own explanation when it is unknown."""
        position = index.get(key)
        if position is None:
            self.check_key(key, now, dynamic)
            raise PartitionError(self._not_a_key(key))
        return position

    def _not_a_key(self, key: str) -> str:
        return f"partition '{key}' is not a key of {self.describe()}"

    def _hint(self, key: str, keys: Sequence[str]) -> str:
        if not keys:
            return ": it has no keys yet"
        if len(keys) <= 10:
            return did_you_mean(key, keys) or f"; its keys are {', '.join(keys)}"
        return did_you_mean(key, keys) or f"; its keys run from {keys[0]} to {keys[-1]} ({len(keys)} keys)"


@dataclass(frozen=True, init=False)
class TimePartitions(Partitions):
    """Partitions by time windows; a window's index counts windows of local wall-clock time."""

    start: datetime
    end: datetime | None
    timezone: str
    unit: ClassVar[str]
    example: ClassVar[str]

    def __init__(
        self, start: str | date | datetime, end: str | date | datetime | None = None, timezone: str = "UTC"
    ) -> None:
        zone = _zone(timezone, self.unit)
        object.__setattr__(self, "timezone", timezone)
        object.__setattr__(self, "start", self._normalise(start, zone, "start"))
        object.__setattr__(self, "end", None if end is None else self._normalise(end, zone, "end"))
        if self.end is not None and self.end < self.start:
            raise DefinitionError(f"{self.unit} partitions end ({end}) before they start ({start})")

    def _normalise(self, moment: str | date | datetime, zone: ZoneInfo, name: str) -> datetime:
        """The start of the window containing `moment`, in `zone` (a naive moment is local time)."""
        if isinstance(moment, str):
            try:
                moment = datetime.fromisoformat(moment)
            except ValueError:
                raise DefinitionError(
                    f"{self.unit} partitions: {name} '{moment}' is not a date; write it like 2026-01-15 "
                    "or 2026-01-15T03:00"
                ) from None
        if not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day)
        aware = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
        return self.window_at(self.index_at(aware)).start.astimezone(zone)

    @cached_property
    def zone(self) -> ZoneInfo:
        """The time zone the windows are laid out in."""
        return ZoneInfo(self.timezone)

    @staticmethod
    @abstractmethod
    def _index_of_local(local: datetime) -> int:
        """The index of the window containing a naive local time."""

    @staticmethod
    @abstractmethod
    def _local_start(index: int) -> datetime:
        """The naive local start of a window."""

    @staticmethod
    @abstractmethod
    def key_at(index: int) -> str:
        """The key of the window with this index."""

    def exists(self, index: int) -> bool:
        """Whether the window's start exists in local time (always, but for hours the clocks skip)."""
        return True

    def index_at(self, moment: datetime) -> int:
        """The index of the window containing a time-zone-aware moment."""
        if moment.tzinfo is None:
            raise PartitionError(f"{self.describe()}: the moment {moment} needs a time zone")
        return self._index_of_local(moment.astimezone(self.zone).replace(tzinfo=None))

    def key_of(self, moment: datetime) -> str:
        """The key of the window containing a time-zone-aware moment (whether or not it is in range)."""
        return self.key_at(self.index_at(moment))

    @staticmethod
    def _parse(key: str) -> datetime:
        """A moment in the window a key names (raises ValueError when it names none)."""
        return datetime.fromisoformat(key)

    def index_of(self, key: str) -> int:
        """The index of a well-formed key; raises `PartitionError` naming the format otherwise."""
        try:
            index = self._index_of_local(self._parse(key))
        except ValueError:
            index = None
        if index is None or self.key_at(index) != key:
            raise PartitionError(f"{self._not_a_key(key)}: {self.unit} keys look like {self.example}")
        return index

    def window_at(self, index: int) -> Window:
        """The window with this index, in UTC; its end is where the next window starts."""
        zone = self.zone
        start = self._local_start(index).replace(tzinfo=zone).astimezone(timezone.utc)
        return Window(start, self._local_start(index + 1).replace(tzinfo=zone).astimezone(timezone.utc))

    def window(self, key: str) -> Window:
        """The time a key covers, in UTC."""
        index = self.index_of(key)
        if not self.exists(index):
            raise PartitionError(f"{self._not_a_key(key)}: the clocks in {self.timezone} skip that hour")
        return self.window_at(index)

    def step(self, index: int, count: int) -> int:
        """The index `count` existing windows after (or before, when negative) `index`."""
        direction = 1 if count >= 0 else -1
        for _ in range(abs(count)):
            index += direction
            while not self.exists(index):
                index += direction
        return index

    def bounds(self, now: datetime) -> tuple[int, int]:
        """The first and last index as of `now`: the last window ends at or before both `now` and `end`."""
        cutoff = now if self.end is None else min(now, self.end)
        return self.index_at(self.start), self.step(self.index_at(cutoff), -1)

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        first, last = self.bounds(now)
        return self._keys_between(first, last)

    def _keys_between(self, first: int, last: int) -> list[str]:
        return [self.key_at(index) for index in range(first, last + 1) if self.exists(index)]

    def check_key(self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> None:
        index = self.index_of(key)
        first, last = self.bounds(now)
        if not self.exists(index):
            raise PartitionError(f"{self._not_a_key(key)}: the clocks in {self.timezone} skip that hour")
        if index < first:
            raise PartitionError(f"{self._not_a_key(key)}: it is before the first partition {self.key_at(first)}")
        if index > last:
            latest = f"the last complete one is {self.key_at(last)}" if last >= first else "none is complete yet"
            raise PartitionError(f"{self._not_a_key(key)}: it is not complete yet ({latest})")

    def select(self, spec: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        """Like `Partitions.select`, but builds only the keys selected (from their indexes)."""

        def locate(key: str) -> int:
            self.check_key(key, now)
            return self.index_of(key)

        return [key for start, stop in _spans(spec, locate) for key in self._keys_between(start, stop - 1)]

    def placeholders(self, key: str) -> dict[str, str]:
        return {"date": key}

    def describe(self) -> str:
        text = f"{self.unit} from {self.key_of(self.start)}"
        if self.end is not None:
            text += f" to {self.key_of(self.end)}"
        return f"{text} in {self.timezone}"


class DailyPartitions(TimePartitions):
    """One partition per local day, keyed `2026-01-15`."""

    unit = "daily"
    example = "2026-01-15"

    @staticmethod
    def _index_of_local(local: datetime) -> int:
        return local.toordinal()

    @staticmethod
    def _local_start(index: int) -> datetime:
        return datetime.fromordinal(index)

    @staticmethod
    def key_at(index: int) -> str:
        return date.fromordinal(index).isoformat()


class HourlyPartitions(TimePartitions):
    """One partition per local wall-clock hour, keyed `2026-01-15T03:00`; see the module docstring for DST."""

    unit = "hourly"
    example = "2026-01-15T03:00"

    @staticmethod
    def _index_of_local(local: datetime) -> int:
        return local.toordinal() * 24 + local.hour

    @staticmethod
    def _local_start(index: int) -> datetime:
        return datetime.fromordinal(index // 24).replace(hour=index % 24)

    @staticmethod
    def key_at(index: int) -> str:
        return date.fromordinal(index // 24).isoformat() + _HOURS[index % 24]

    def exists(self, index: int) -> bool:
        return index % 24 not in _skipped_hours(self.timezone, index // 24)

    def _keys_between(self, first: int, last: int) -> list[str]:
        """Keys built per day from the date text and the hour suffixes, then trimmed to `first..last`."""
        if last < first:
            return []
        keys: list[str] = []
        for day in range(first // 24, last // 24 + 1):
            text, skipped = date.fromordinal(day).isoformat(), _skipped_hours(self.timezone, day)
            keys.extend([text + hour for at, hour in enumerate(_HOURS) if at not in skipped] if skipped else
                        [text + hour for hour in _HOURS])
        before = sum(map(self.exists, range(first // 24 * 24, first)))
        after = sum(map(self.exists, range(last + 1, last // 24 * 24 + 24)))
        return keys[before : len(keys) - after]


class WeeklyPartitions(TimePartitions):
    """One partition per local week starting on Monday, keyed by the Monday's date `2026-01-12`."""

    unit = "weekly"
    example = "2026-01-12 (a Monday)"

    @staticmethod
    def _index_of_local(local: datetime) -> int:
        return (local.toordinal() - 1) // 7

    @staticmethod
    def _local_start(index: int) -> datetime:
        return datetime.fromordinal(index * 7 + 1)

    @staticmethod
    def key_at(index: int) -> str:
        return date.fromordinal(index * 7 + 1).isoformat()


class MonthlyPartitions(TimePartitions):
    """One partition per local calendar month, keyed `2026-01`."""

    unit = "monthly"
    example = "2026-01"

    @staticmethod
    def _index_of_local(local: datetime) -> int:
        return local.year * 12 + local.month - 1

    @staticmethod
    def _local_start(index: int) -> datetime:
        return datetime(index // 12, index % 12 + 1, 1)

    @staticmethod
    def key_at(index: int) -> str:
        return f"{index // 12:04d}-{index % 12 + 1:02d}"

    @staticmethod
    def _parse(key: str) -> datetime:
        return datetime.fromisoformat(key + "-01")


@dataclass(frozen=True, init=False)
class StaticPartitions(Partitions):
    """A fixed list of keys, in the given order."""

    static_keys: tuple[str, ...]

    def __init__(self, keys: Iterable[str]) -> None:
        if isinstance(keys, str):
            raise DefinitionError(f"static partitions take a list of keys, not the text '{keys}'; write ['{keys}']")
        object.__setattr__(self, "static_keys", tuple(keys))
        if not self.static_keys:
            raise DefinitionError("static partitions need at least one key")
        problem = next(filter(None, (_text_problem(key, "static partition key") for key in self.static_keys)), None)
        if problem:
            raise DefinitionError(problem)
        duplicates = sorted(key for key, count in Counter(self.static_keys).items() if count > 1)
        if duplicates:
            raise DefinitionError(f"static partitions repeat the key(s) {', '.join(duplicates)}; keep each once")

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        return list(self.static_keys)

    def placeholders(self, key: str) -> dict[str, str]:
        return {"key": key}

    def describe(self) -> str:
        return f"static [{', '.join(self.static_keys)}]"


@dataclass(frozen=True)
class DynamicPartitions(Partitions):
    """Keys added at run time under `name`; they come from the `dynamic` argument, in the order given."""

    name: str

    def __post_init__(self) -> None:
        if not self.name:
            raise DefinitionError("dynamic partitions need a name")

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        return list(dict.fromkeys(dynamic.get(self.name, ())))

    def placeholders(self, key: str) -> dict[str, str]:
        return {"key": key}

    def describe(self) -> str:
        return f"dynamic '{self.name}'"

    def dynamic_names(self) -> tuple[str, ...]:
        return (self.name,)

    def check_new_key(self, key: str) -> None:
        """Raise `PartitionError` when a key about to be added is empty or holds a character `--partition` reserves."""
        problem = _text_problem(key, f"key of dynamic partitions '{self.name}'")
        if problem:
            raise PartitionError(problem)

    def _hint(self, key: str, keys: Sequence[str]) -> str:
        return super()._hint(key, keys) + f" (keys of '{self.name}' are added at run time)"


@dataclass(frozen=True, init=False)
class MultiPartitions(Partitions):
    """Named dimensions; a key joins the dimensions' keys with `|` in declaration order (`2026-01-15|eu`)."""

    dimensions: tuple[tuple[str, Partitions], ...]

    def __init__(self, **dimensions: Partitions) -> None:
        if len(dimensions) < 2:
            raise DefinitionError("multi partitions need at least two named dimensions, e.g. date=..., region=...")
        for name, partitions in dimensions.items():
            if not isinstance(partitions, Partitions) or isinstance(partitions, MultiPartitions):
                raise DefinitionError(f"multi partitions: dimension '{name}' must be a single partitioning")
        object.__setattr__(self, "dimensions", tuple(dimensions.items()))

    @property
    def dimension_names(self) -> tuple[str, ...]:
        """The dimensions' names, in declaration order."""
        return tuple(name for name, _ in self.dimensions)

    def split(self, key: str) -> tuple[str, ...]:
        """A key's parts, one per dimension; raises `PartitionError` when the count is wrong."""
        parts = tuple(key.split("|"))
        if len(parts) != len(self.dimensions):
            names = "|".join(self.dimension_names)
            raise PartitionError(f"{self._not_a_key(key)}: its keys look like {names}")
        return parts

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        every = [partitions.keys(now, dynamic) for _, partitions in self.dimensions]
        return ["|".join(parts) for parts in itertools.product(*every)]

    def check_key(self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> None:
        for (name, partitions), part in zip(self.dimensions, self.split(key)):
            try:
                partitions.check_key(part, now, dynamic)
            except PartitionError as error:
                raise PartitionError(f"{self._not_a_key(key)}: in dimension '{name}', {error}") from None

    def select(self, spec: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        """Whole keys (``2026-01-15|eu``, ranges and lists of them), or keys of one dimension: ``2026-01-15``
        or ``2026-01-01..2026-01-07`` names every region of those days, ``eu`` every day of that region.

        >>> grid = MultiPartitions(day=StaticPartitions(["d1", "d2"]), region=StaticPartitions(["eu", "us"]))
        >>> grid.select("d2", datetime.now(timezone.utc)), grid.select("d1|us", datetime.now(timezone.utc))
        (['d2|eu', 'd2|us'], ['d1|us'])
        """
        if "|" in spec:
            return super().select(spec, now, dynamic)
        for position, (_, partitions) in enumerate(self.dimensions):
            try:
                wanted = set(partitions.select(spec, now, dynamic))
            except PartitionError:
                continue
            return [key for key in self.keys(now, dynamic) if key.split("|")[position] in wanted]
        names = "|".join(self.dimension_names)
        raise PartitionError(f"{self._not_a_key(spec)}: give whole keys like {names}, or keys of one dimension")

    def window(self, key: str) -> Window | None:
        """The window of the key's time dimension when there is exactly one, else None."""
        times = [(part, p) for (_, p), part in zip(self.dimensions, self.split(key)) if isinstance(p, TimePartitions)]
        return times[0][1].window(times[0][0]) if len(times) == 1 else None

    def placeholders(self, key: str) -> dict[str, str]:
        return dict(zip(self.dimension_names, self.split(key)))

    def dynamic_names(self) -> tuple[str, ...]:
        return tuple(name for _, partitions in self.dimensions for name in partitions.dynamic_names())

    def describe(self) -> str:
        return "multi (" + ", ".join(f"{name}: {p.describe()}" for name, p in self.dimensions) + ")"


def _zone(name: str, unit: str) -> ZoneInfo:
    """The named time zone; raises `DefinitionError` with a suggestion when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, available_timezones()) or "; use an IANA name like 'Europe/Paris' or 'UTC'"
        raise DefinitionError(f"{unit} partitions: unknown time zone '{name}'{hint}") from None


def _spans(spec: str, locate: Callable[[str], int]) -> list[tuple[int, int]]:
    """The half-open spans of positions a `--partition` value names, sorted and joined where they overlap;
    `locate` gives a key's position (or raises `PartitionError` explaining why it has none)."""
    spans: list[tuple[int, int]] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            raise PartitionError(f"--partition '{spec}' has an empty item; write KEY, FIRST..LAST or K1,K2")
        first, _, last = item.partition("..")
        start = locate(first.strip())
        stop = locate(last.strip()) if last else start
        if start > stop:
            raise PartitionError(f"--partition range '{item}' runs backwards; write it as {last}..{first}")
        spans.append((start, stop + 1))
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Sorted distinct positions as inclusive runs of consecutive ones.

    >>> _runs([1, 2, 3, 5, 7, 8])
    [(1, 3), (5, 5), (7, 8)]
    """
    starts = [0] + [at for at in range(1, len(positions)) if positions[at] != positions[at - 1] + 1]
    ends = [at - 1 for at in starts[1:]] + [len(positions) - 1]
    return [(positions[start], positions[end]) for start, end in zip(starts, ends)] if positions else []


@lru_cache(maxsize=1024)
def _skipped_hours(timezone_name: str, day: int) -> frozenset[int]:
    """The local hours whose start the clocks skip on the day with this ordinal (cached: asked once per hour).

    >>> sorted(_skipped_hours("Europe/Paris", date(2026, 3, 29).toordinal()))
    [2]
    >>> _skipped_hours("Europe/Paris", date(2026, 10, 25).toordinal())
    frozenset()
    """
    zone = ZoneInfo(timezone_name)
    if (zone.utcoffset(datetime.fromordinal(day + 1)) or ZERO) <= (zone.utcoffset(datetime.fromordinal(day)) or ZERO):
        return frozenset()
    starts = [datetime.fromordinal(day).replace(hour=hour, tzinfo=zone) for hour in range(24)]
    return frozenset(hour for hour, start in enumerate(starts)
                     if start.astimezone(timezone.utc).astimezone(zone).hour != hour)


def _text_problem(key: str, what: str) -> str | None:
    """Why a key is unusable (empty, or holding a character the `--partition` syntax reserves), or None."""
    if not key:
        return f"a {what} is empty; give every key some text"
    reserved = [mark for mark in _RESERVED if mark in key]
    if reserved:
        return f"the {what} '{key}' holds {reserved[0]!r}, which --partition reserves; rename it"
    return None

