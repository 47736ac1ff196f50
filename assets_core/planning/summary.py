"""A partitioned asset's status in one line: how many partitions are fresh, stale, missing or failed, and
which ranges of keys each holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assets_core.declaring.definitions import Asset
from assets_core.planning.partition_status import NodeMap, PartitionStatuses
from assets_core.planning.plan import FAILED, FRESH, MISSING, STALE, AssetStatus, Reason, ReasonKind, Status
from assets_core.planning.snapshot import Snapshot

URGENCY = (FAILED, STALE, MISSING)  # a partitioned asset takes the most urgent status any partition has
REASONS_SHOWN = 3
# Reasons whose words are the same for every partition they apply to; the others (a file's name, versions)
# are shown once, as an example of those of their kind.
SHARED_DETAIL = (ReasonKind.MISSING, ReasonKind.CODE_CHANGED, ReasonKind.UPSTREAM_STALE, ReasonKind.UPSTREAM_FAILED,
                 ReasonKind.FORCED)
# Missing reasons that name the partition's own file: shown once, as an example of those that begin alike.
OWN_FILE = ("no file matches ", "its stored value ")


@dataclass(frozen=True)
class PartitionSummary:
    """The status of a partitioned asset: fresh when every partition is, else the most urgent of failed,
    stale and missing; with the count and the inclusive key ranges of each status."""

    asset: str
    status: AssetStatus
    total: int
    counts: Mapping[AssetStatus, int]
    ranges: Mapping[AssetStatus, tuple[tuple[str, str], ...]]
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def fresh(self) -> bool:
        return self.status == FRESH

    def line(self) -> str:
        """``340 fresh · 20 stale · 5 missing · 1 failed of 366`` (statuses with no partition left out)."""
        parts = [f"{self.counts[status]} {status}" for status in (FRESH, STALE, MISSING, FAILED)
                 if self.counts.get(status)]
        return f"{' · '.join(parts) or 'no partitions yet'} of {self.total}"

    def to_json(self) -> dict[str, Any]:
        counts = {str(status): self.counts.get(status, 0) for status in (FRESH, STALE, MISSING, FAILED)}
        ranges = {str(status): [list(span) for span in self.ranges.get(status, ())]
                  for status in (FRESH, STALE, MISSING, FAILED)}
        return {"asset": self.asset, "status": self.status, "reasons": [r.to_json() for r in self.reasons],
                "partitions": {"total": self.total, **counts, "ranges": ranges}}


def block_of(asset: str, keys: Sequence[str], statuses: Mapping[str, Status]) -> PartitionStatuses:
    """The statuses of an asset's partitions (``keys`` in order) as one block: the snapshot's own, when it holds
    them so (a source observed as one block), else made of them."""
    block = statuses.block(asset) if isinstance(statuses, NodeMap) else None
    if isinstance(block, PartitionStatuses):
        return block
    prefix = f"{asset}["
    found = [statuses[f"{prefix}{key}]"] for key in keys]  # node_name(asset, key), without a call per key
    return PartitionStatuses([s.asset for s in found], {i: s for i, s in enumerate(found) if not s.fresh})


def summarize(asset: str, keys: Sequence[str], statuses: Mapping[str, Status]) -> PartitionSummary:
    """Summarize the statuses of an asset's partitions, ``keys`` in order.

    >>> from assets_core.planning.plan import ReasonKind
    >>> missing = (Reason(ReasonKind.MISSING, "never materialized"),)
    >>> found = {"e[1]": Status("e[1]", FRESH), "e[2]": Status("e[2]", MISSING, missing),
    ...          "e[3]": Status("e[3]", MISSING, missing)}
    >>> summary = summarize("e", ["1", "2", "3"], found)
    >>> summary.line(), summary.status, summary.ranges[MISSING]
    ('1 fresh · 2 missing of 3', <AssetStatus.MISSING: 'missing'>, (('2', '3'),))
    """
    block = block_of(asset, keys, statuses)
    counts: Counter[AssetStatus] = Counter()
    ranges: dict[AssetStatus, list[tuple[str, str]]] = {}
    for status, first, last in block.runs():
        assert isinstance(status, AssetStatus)
        counts[status] += last - first + 1
        ranges.setdefault(status, []).append((keys[first], keys[last]))
    details: Counter[tuple[Any, str]] = Counter()
    first_detail: dict[Any, str] = {}  # reason kind (and own file) -> the first detail of that kind
    varied: set[tuple[Any, str]] = set()  # the details shown as an example of others that differ from them
    for index in sorted(block.unusual):
        for reason in block.unusual[index].reasons:
            own_file = next((start for start in OWN_FILE if reason.detail.startswith(start)), None)
            shared = reason.kind in SHARED_DETAIL and own_file is None
            group = (reason.kind, own_file)
            example = first_detail.setdefault(group, reason.detail)
            if not shared and reason.detail != example:
                varied.add((reason.kind, example))
            details[(reason.kind, reason.detail if shared else example)] += 1
    status = next((s for s in URGENCY if counts.get(s)), FRESH)
    reasons = tuple(Reason(kind, _counted(detail, n, (kind, detail) not in varied))
                    for (kind, detail), n in details.most_common(REASONS_SHOWN))
    return PartitionSummary(asset, status, len(keys), dict(counts),
                            {s: tuple(spans) for s, spans in ranges.items()}, reasons)


def _counted(detail: str, count: int, shared: bool) -> str:
    """A reason's words with how many partitions it applies to.

    >>> _counted("never materialized", 3, True), _counted("no file matches 'e_1.csv'", 3, False)
    ('never materialized (3 partitions)', "no file matches 'e_1.csv' (and 2 more partitions like it)")
    """
    if shared or count == 1:
        return f"{detail} ({count} partition{'s' if count > 1 else ''})"
    return f"{detail} (and {count - 1} more partition{'s' if count > 2 else ''} like it)"


def asset_status(snapshot: Snapshot, asset: str) -> Status | PartitionSummary:
    """An asset's status in a snapshot: its own, or the summary of its partitions' when it is partitioned."""
    return _status(snapshot, snapshot.nodes.assets[asset])


def asset_statuses(snapshot: Snapshot, chosen: Collection[str]) -> list[Status | PartitionSummary]:
    """:func:`asset_status` of each chosen asset, in dependency order (in one pass over the assets)."""
    return [_status(snapshot, item) for item in snapshot.nodes.assets if item.name in chosen]


def _status(snapshot: Snapshot, item: Asset) -> Status | PartitionSummary:
    if item.partitions is None:
        return snapshot.statuses[item.name]
    return summarize(item.name, snapshot.nodes.keys(item.name), snapshot.statuses)
