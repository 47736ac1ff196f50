"""What the catalog last recorded of a partitioned source's partitions, as columns rather than one entry each.

A source with a file per hour has 100,000 partitions, and every command compares each file with its last
observation. The catalog keeps those observations together, one row per source, and hands them over as three
lists; :meth:`RecordedPartitions.aligned` lines them up with the partitions a command knows of now, without a
step per partition when the two list the same keys in the same order (the usual case).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat


@dataclass(frozen=True)
class RecordedPartitions:
    """The last recorded observation of each observed partition of one source: partition ``keys[i]`` was last
    seen as ``fingerprints[i]``, holding data version ``versions[i]``. Each key once.

    >>> recorded = RecordedPartitions(["1", "2"], ["f1", "f2"], ["v1", "v2"])
    >>> recorded.aligned(["1", "2"]), recorded.aligned(["0", "2"])
    ((['f1', 'f2'], ['v1', 'v2']), ([None, 'f2'], [None, 'v2']))
    """

    keys: Sequence[str]
    fingerprints: Sequence[str]
    versions: Sequence[str]

    @classmethod
    def of(cls, observed: Iterable[tuple[str, str, str]]) -> RecordedPartitions:
        """The columns of ``(key, fingerprint, data version)`` triples (a key given twice: its last triple)."""
        found = {key: (fingerprint, version) for key, fingerprint, version in observed}
        return cls(list(found), [pair[0] for pair in found.values()], [pair[1] for pair in found.values()])

    def aligned(self, keys: Sequence[str]) -> tuple[list[str | None], list[str | None]]:
        """The recorded fingerprint and data version of each of ``keys`` (None: never recorded), in their order."""
        if len(keys) == len(self.keys) and list(keys) == list(self.keys):
            return list(self.fingerprints), list(self.versions)
        index = {key: i for i, key in enumerate(self.keys)}
        at = list(map(index.get, keys))
        fingerprints: list[str | None] = [None if i is None else self.fingerprints[i] for i in at]
        versions: list[str | None] = [None if i is None else self.versions[i] for i in at]
        return fingerprints, versions


def nothing_recorded(keys: Sequence[str]) -> tuple[list[str | None], list[str | None]]:
    """What :meth:`RecordedPartitions.aligned` gives when nothing was ever recorded of a source."""
    return list(repeat(None, len(keys))), list(repeat(None, len(keys)))
