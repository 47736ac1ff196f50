"""The observations of a partitioned source, kept as columns: one list per field, not one object per partition.

A source with a file per hour has 100,000 partitions. Each command must look at every file (its size and
modification time) to keep staleness right, but need not make an object of each: what it compares, records
and reports comes from a few lists, and an :class:`Observation` is made only for a partition that is read.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_, ne

from assets_core.declaring.definitions import Asset
from assets_core.declaring.sources import Observation
from assets_core.planning.partition_status import PartitionStatuses
from assets_core.planning.plan import MISSING, STALE, Reason, ReasonKind, Status, source_path
from assets_core.planning.state import node_name


@dataclass(frozen=True, eq=False)
class PartitionObservations(Mapping[str, Observation]):
    """What each partition's file holds now (``versions[i]`` is None when partition ``nodes[i]`` has no file),
    beside what the catalog last recorded of it (``last_fingerprints[i]`` and ``last_versions[i]``, None when
    nothing). As a mapping: the observation of each partition with a file.

    >>> found = PartitionObservations(("e[1]", "e[2]"), ["e_1.csv", "e_2.csv"], ["4:1", None], ["v1", None],
    ...                               ["4:0", None], ["v1", None], lambda node: "e_?.csv")
    >>> list(found), found["e[1]"].data_version, found.changed(), found.data_changed()
    (['e[1]'], 'v1', {'e[1]': Observation(data_version='v1', fingerprint='4:1', paths=('e_1.csv',))}, False)
    >>> [(s.asset, s.status.value) for s in found.statuses().unusual.values()]
    [('e[2]', 'missing')]
    """

    nodes: Sequence[str]
    paths: Sequence[str]
    fingerprints: Sequence[str | None]
    versions: Sequence[str | None]
    last_fingerprints: Sequence[str | None]
    last_versions: Sequence[str | None]
    pattern: Callable[[str], str] | None = None  # node -> the path its file is looked for at (said when none)
    _index: dict[str, int] | None = field(default=None, repr=False)

    def __getitem__(self, node: str) -> Observation:
        found = self._index
        if found is None:  # made whole, then published: a run's threads read it at once, never half made
            found = {name: i for i, name in enumerate(self.nodes)}
            object.__setattr__(self, "_index", found)
        index = found[node]
        version, fingerprint = self.versions[index], self.fingerprints[index]
        if version is None or fingerprint is None:
            raise KeyError(node)
        return Observation(version, fingerprint, (self.paths[index],))

    def __iter__(self) -> Iterator[str]:
        return (node for node, version in zip(self.nodes, self.versions) if version is not None)

    def __len__(self) -> int:
        return len(self.versions) - self.versions.count(None)

    def data_versions(self, recorded: dict[str, str | None] | None = None) -> dict[str, str]:
        """The data version of each partition that has a file: ``recorded`` (each node's last recorded version,
        :func:`recorded_versions`, made while the files were stat'ed) brought up to date in place, a step only
        per partition whose version changed; without it, made here the same way.

        >>> block = PartitionObservations(("e[1]", "e[2]", "e[3]"), ["1", "2", "3"], ["f", None, "g"],
        ...                               ["v1", None, "w3"], ["f", "f", None], ["v1", "v2", None])
        >>> block.data_versions(), block.data_versions(recorded_versions(block.nodes, block.last_versions))
        ({'e[1]': 'v1', 'e[3]': 'w3'}, {'e[1]': 'v1', 'e[3]': 'w3'})
        """
        found = recorded if recorded is not None else recorded_versions(self.nodes, self.last_versions)
        nodes, versions = self.nodes, self.versions
        for index in self._differing(versions, self.last_versions):
            found[nodes[index]] = versions[index]
        if None in versions:  # no file now: no version (whether one was recorded or not)
            for index in compress(range(len(versions)), map(is_, versions, repeat(None))):
                del found[nodes[index]]
        return found  # type: ignore[return-value]  # no None left

    def changed(self) -> dict[str, Observation]:
        """The observations that differ from the recorded one (or have none): the ones a run records."""
        differ = set(self._differing(self.versions, self.last_versions))
        differ.update(self._differing(self.fingerprints, self.last_fingerprints))
        return {self.nodes[index]: self[self.nodes[index]] for index in sorted(differ)
                if self.versions[index] is not None}

    def data_changed(self) -> bool:
        """Whether any partition's file holds other data than recorded (a file only touched keeps its version)."""
        return any(self.versions[index] is not None for index in self._differing(self.versions, self.last_versions))

    def statuses(self) -> PartitionStatuses:
        """Each partition fresh, unless its file is missing, not observed yet, or changed since observed."""
        unusual = {index: self._unusual(index) for index in self._differing(self.versions, self.last_versions)}
        if None in self.versions:  # a file missing, and never recorded either: found by no comparison
            unusual.update((index, self._unusual(index)) for index in compress(range(len(self.versions)),
                                                                             map(is_, self.versions, repeat(None))))
        return PartitionStatuses(self.nodes, dict(sorted(unusual.items())))

    def _unusual(self, index: int) -> Status:
        node, version, last = self.nodes[index], self.versions[index], self.last_versions[index]
        if version is None:
            path = self.pattern(node) if self.pattern is not None else "?"
            return Status(node, MISSING, (Reason(ReasonKind.MISSING, f"no file matches '{path}'"),))
        if last is None:
            return Status(node, STALE, (Reason(ReasonKind.SOURCE_CHANGED, "not observed yet"),))
        return Status(node, STALE, (Reason(ReasonKind.SOURCE_CHANGED, "its files changed since last observed"),))

    @staticmethod
    def _differing(now: Sequence[str | None], last: Sequence[str | None]) -> Iterator[int]:
        """The indexes where two columns differ, found without a Python step per partition."""
        return compress(range(len(now)), map(ne, now, last))


def recorded_versions(nodes: Sequence[str], last_versions: Sequence[str | None]) -> dict[str, str | None]:
    """Each node's last recorded data version (None: none), by node, for
    :meth:`PartitionObservations.data_versions` to bring up to date."""
    return dict(zip(nodes, last_versions))


def source_paths(item: Asset, keys: Sequence[str], root: str) -> list[str]:
    """The absolute path of the file of each partition (by key) of a one-file-per-partition source
    (:func:`source_path` of each, joined to the project folder), the key put in without a call per partition
    when the path names it once.

    >>> from assets_core.declaring.definitions import source_asset
    >>> from assets_core.declaring.time_partitions import DailyPartitions
    >>> days = source_asset("e", "in/{date}_{{x}}.csv", partitions=DailyPartitions("2026-01-01"))
    >>> source_paths(days, ["2026-01-02"], "/p") == ["/p/" + source_path("e[2026-01-02]", days)]
    True
    >>> source_paths(days, ["2026-01-02"], "/p")
    ['/p/in/2026-01-02_{x}.csv']
    """
    template = item.path or ""
    top = "" if os.path.isabs(template) else root.rstrip(os.sep) + os.sep
    parts = list(string.Formatter().parse(template))
    named = [i for i, (_, field_name, spec, conversion) in enumerate(parts) if field_name is not None]
    assert item.partitions is not None
    if len(named) == 1 and not parts[named[0]][2] and not parts[named[0]][3] \
            and (parts[named[0]][1],) == item.partitions.placeholder_names:
        before = top + "".join(part[0] for part in parts[: named[0] + 1])
        after = "".join(part[0] for part in parts[named[0] + 1:])
        return [f"{before}{key}{after}" for key in keys]
    return [top + source_path(node_name(item.name, key), item) for key in keys]
