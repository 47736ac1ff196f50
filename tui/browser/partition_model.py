"""What a partitioned asset shows, as plain values: a strip of its partitions coloured by status (compressed into
buckets when there are more partitions than cells) and the ranges of keys each status holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from assets_core.planning.summary import PartitionSummary

URGENCY = ("failed", "stale", "missing", "fresh")  # what a bucket of partitions shows: the first it holds
CELLS = {"fresh": ("█", "green"), "stale": ("▓", "yellow"), "missing": ("░", "dim"), "failed": ("✗", "red")}
UNKNOWN_CELL = ("?", "")


@dataclass(frozen=True)
class PartitionStates:
    """The partitions of one asset as of a snapshot: their keys and status words in key order, and the summary."""

    summary: PartitionSummary
    keys: tuple[str, ...]
    statuses: tuple[str, ...]


def buckets(statuses: Sequence[str], width: int) -> list[str]:
    """One status per cell: each partition's own when they fit in ``width`` cells, else, for each bucket of
    consecutive partitions (bucket sizes differ by at most one), the most urgent status in it (failed, then
    stale, then missing, then fresh).

    >>> buckets(["fresh", "stale", "fresh", "fresh", "missing", "failed", "fresh"], 3)
    ['stale', 'fresh', 'failed']
    >>> buckets(["fresh", "missing"], 10), buckets([], 5), buckets(["fresh"], 0)
    (['fresh', 'missing'], [], [])
    """
    total = len(statuses)
    if width <= 0 or total == 0:
        return []
    if total <= width:
        return list(statuses)
    cells = []
    for cell in range(width):
        found = set(statuses[cell * total // width:(cell + 1) * total // width])  # a C-speed pass per bucket
        cells.append(next((status for status in URGENCY if status in found), min(found)))
    return cells


def strip(statuses: Sequence[str], width: int) -> Text:
    """The strip of an asset's partitions in at most ``width`` cells; each status has its own mark as well as
    its colour.

    >>> strip(["fresh", "fresh", "stale", "missing", "failed"], 10).plain
    '██▓░✗'
    """
    text = Text(no_wrap=True, overflow="crop")
    for status in buckets(statuses, width):
        mark, colour = CELLS.get(status, UNKNOWN_CELL)
        text.append(mark, style=colour)
    return text


def strip_scale(total: int, width: int) -> str:
    """What one cell stands for, said under a compressed strip ("" when each cell is one partition).

    >>> strip_scale(366, 100), strip_scale(20, 100)
    ('1 cell ≈ 4 partitions, the most urgent shown', '')
    """
    if width <= 0 or total <= width:
        return ""
    return f"1 cell ≈ {round(total / width)} partitions, the most urgent shown"


@dataclass(frozen=True)
class KeyRange:
    """Consecutive partitions that share a status, from ``first`` to ``last`` (both included)."""

    status: str
    first: str
    last: str
    count: int

    @property
    def spec(self) -> str:
        """The range as ``--partition`` takes it.

        >>> KeyRange("stale", "2026-01-01", "2026-01-10", 10).spec, KeyRange("stale", "eu", "eu", 1).spec
        ('2026-01-01..2026-01-10', 'eu')
        """
        return self.first if self.first == self.last else f"{self.first}..{self.last}"


def key_ranges(states: PartitionStates) -> tuple[KeyRange, ...]:
    """The ranges of each status, the most urgent status first, each status's ranges in key order.

    >>> from assets_core.planning.plan import FRESH, MISSING
    >>> summary = PartitionSummary("e", MISSING, 4, {FRESH: 2, MISSING: 2},
    ...                            {FRESH: (("1", "1"), ("4", "4")), MISSING: (("2", "3"),)})
    >>> [(r.status, r.spec, r.count) for r in key_ranges(PartitionStates(summary, ("1", "2", "3", "4"), ()))]
    [('missing', '2..3', 2), ('fresh', '1', 1), ('fresh', '4', 1)]
    """
    position = {key: index for index, key in enumerate(states.keys)}
    found = []
    for status in sorted(states.summary.ranges, key=lambda s: URGENCY.index(s) if s in URGENCY else len(URGENCY)):
        for first, last in states.summary.ranges[status]:
            found.append(KeyRange(str(status), first, last, position[last] - position[first] + 1))
    return tuple(found)


def overview_rows(states: PartitionStates, width: int) -> list[tuple[str, Text]]:
    """The Overview's rows about an asset's partitions: the count of each status, the strip in ``width`` cells,
    and what a cell stands for when the strip is compressed.

    >>> from assets_core.planning.plan import FRESH, STALE
    >>> summary = PartitionSummary("e", STALE, 3, {FRESH: 2, STALE: 1}, {FRESH: (("1", "2"),), STALE: (("3", "3"),)})
    >>> [(label, text.plain) for label, text in overview_rows(PartitionStates(summary, ("1", "2", "3"),
    ...                                                        ("fresh", "fresh", "stale")), 2)]
    [('partitions', '2 fresh · 1 stale of 3'), ('', '█▓'), ('', '1 cell ≈ 2 partitions, the most urgent shown')]
    """
    rows = [("partitions", Text(states.summary.line())), ("", strip(states.statuses, width))]
    scale = strip_scale(len(states.statuses), width)
    if scale:
        rows.append(("", Text(scale, style="dim")))
    return rows
