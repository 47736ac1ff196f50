"""Time partitionings: daily, hourly, weekly and monthly windows of local time (the base class is in `partitions`).

Time windows are in the partitioning's time zone, so a daily window in Europe/Paris runs from local midnight to
the next local midnight (23 or 25 hours on DST days). Hourly keys are local wall-clock hours: an hour whose start
the clocks skip (spring forward) has no partition, and on fall-back the repeated local hour is one partition
covering both occurrences (2 hours). Windows are returned in UTC so that arithmetic and comparison are exact.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from assets_core.declaring.partitions import NO_DYNAMIC, PartitionError, Partitions, Window, _spans
from assets_core.errors import DefinitionError, did_you_mean

ZERO = timedelta(0)
_HOURS = tuple(f"T{hour:02d}:00" for hour in range(24))


@dataclass(frozen=True, init=False)
class TimePartitions(Partitions):
    """Partitions by time windows; a window's index counts windows of local wall-clock time."""

    start: datetime
    end: datetime | None
    timezone: str
    unit: ClassVar[str]
    example: ClassVar[str]
    timed: ClassVar[bool] = True

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
        return Window(self.start_at(index), self.start_at(index + 1))

    def start_at(self, index: int) -> datetime:
        """The start of the window with this index, in UTC."""
        return self._local_start(index).replace(tzinfo=self.zone).astimezone(timezone.utc)

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

    def indexes_between(self, first: int, last: int) -> list[int]:
        """The indexes of the windows that exist from `first` to `last` (those of `_keys_between`'s keys)."""
        return list(range(first, last + 1))

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

    @property
    def placeholder_names(self) -> tuple[str, ...]:
        return ("date",)

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

    def indexes_between(self, first: int, last: int) -> list[int]:
        found = list(range(first, last + 1))
        skipped = {day * 24 + hour for day in range(first // 24, last // 24 + 1)
                   for hour in _skipped_hours(self.timezone, day)}
        return [index for index in found if index not in skipped] if skipped else found

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


def _zone(name: str, unit: str) -> ZoneInfo:
    """The named time zone; raises `DefinitionError` with a suggestion when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, available_timezones()) or "; use an IANA name like 'Europe/Paris' or 'UTC'"
        raise DefinitionError(f"{unit} partitions: unknown time zone '{name}'{hint}") from None


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
