"""How an asset is split into partitions: the base class and its keys, windows and `--partition` selection,
and the static, dynamic and multi partitionings. The time partitionings are in `time_partitions`."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from assets_core.errors import DefinitionError, SelectionError, did_you_mean

NO_DYNAMIC: Mapping[str, Sequence[str]] = MappingProxyType({})
_RESERVED = ("|", ",", "..", "[", "]")


class PartitionError(SelectionError):
    """A partition key or `--partition` value names no partition of an asset."""


@dataclass(frozen=True)
class Window:
    """The time a partition covers, from `start` (inclusive) to `end` (exclusive), both in UTC."""

    start: datetime
    end: datetime


class Partitions(ABC):
    """How an asset is split into partitions; every key is a string and the keys have one order."""

    timed: ClassVar[bool] = False
    """Whether this is a time partitioning (`TimePartitions`): a multi-partitioning takes its windows from its
    one timed dimension."""

    @abstractmethod
    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        """Every key in order, as of `now` (time partitionings stop at the last complete window)."""

    @abstractmethod
    def placeholders(self, key: str) -> dict[str, str]:
        """Names for formatting a source file path with this key."""

    @property
    def placeholder_names(self) -> tuple[str, ...]:
        """The names :meth:`placeholders` gives, whatever the key: ``key`` unless a partitioning says otherwise."""
        return ("key",)

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

        >>> from datetime import timezone
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

        >>> from datetime import timezone
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

        >>> from datetime import timezone
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
        times = [(part, p) for (_, p), part in zip(self.dimensions, self.split(key)) if p.timed]
        return times[0][1].window(times[0][0]) if len(times) == 1 else None

    def placeholders(self, key: str) -> dict[str, str]:
        return dict(zip(self.dimension_names, self.split(key)))

    @property
    def placeholder_names(self) -> tuple[str, ...]:
        return self.dimension_names

    def dynamic_names(self) -> tuple[str, ...]:
        return tuple(name for _, partitions in self.dimensions for name in partitions.dynamic_names())

    def describe(self) -> str:
        return "multi (" + ", ".join(f"{name}: {p.describe()}" for name, p in self.dimensions) + ")"


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


def _text_problem(key: str, what: str) -> str | None:
    """Why a key is unusable (empty, or holding a character the `--partition` syntax reserves), or None."""
    if not key:
        return f"a {what} is empty; give every key some text"
    reserved = [mark for mark in _RESERVED if mark in key]
    if reserved:
        return f"the {what} '{key}' holds {reserved[0]!r}, which --partition reserves; rename it"
    return None

