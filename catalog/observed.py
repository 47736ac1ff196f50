"""The latest observation of each partition of a source, kept as one row per source (``observed_partitions``).

``asset_state`` points each partition's node at its latest observation; reading those of a source with a file
per hour took 100,000 joined rows at every command. The same observations are also kept here, one row per
source holding three JSON lists (keys, fingerprints, data versions, item ``i`` of each about one partition),
written in the very transaction that moves the pointers (:func:`record`), so that the two always agree: a
process killed at any moment leaves both as they were, or both as they became.

Read without SQLAlchemy (:data:`SELECT`, :func:`decode`), for the quick catalog too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from assets_core.imports import late_import
from assets_core.planning.recorded import RecordedPartitions
from assets_core.planning.state import ObservationRecord

if TYPE_CHECKING:
    from catalog.transactions import WriteTransaction

COLUMNS = ("keys", "fingerprints", "data_versions")
SELECT = "SELECT asset, keys, fingerprints, data_versions FROM observed_partitions WHERE asset IN ({marks})"


def decode(keys: str, fingerprints: str, versions: str) -> RecordedPartitions:
    """The partitions of a row, as its columns hold them."""
    return RecordedPartitions(json.loads(keys), json.loads(fingerprints), json.loads(versions))


def encode(asset: str, recorded: RecordedPartitions) -> dict[str, Any]:
    """The row of a source's partitions (plain ASCII JSON: any key, stored the same on every database)."""
    dump = json.JSONEncoder(separators=(",", ":")).encode
    return {"asset": asset, "keys": dump(list(recorded.keys)), "fingerprints": dump(list(recorded.fingerprints)),
            "data_versions": dump(list(recorded.versions))}


def merged(stored: RecordedPartitions | None, records: Iterable[ObservationRecord]) -> RecordedPartitions:
    """``stored`` with what ``records`` (of one source's partitions) observed: a partition recorded again takes its
    place, a new one comes after the others; of two records of one partition, the later counts.

    >>> old = RecordedPartitions(["1", "2"], ["f1", "f2"], ["v1", "v2"])
    >>> merged(old, [ObservationRecord("e", "r", "v3", "f3", "3"), ObservationRecord("e", "r", "w2", "g2", "2")])
    RecordedPartitions(keys=['1', '2', '3'], fingerprints=['f1', 'g2', 'f3'], versions=['v1', 'w2', 'v3'])
    """
    keys = list(stored.keys) if stored is not None else []
    fingerprints = list(stored.fingerprints) if stored is not None else []
    versions = list(stored.versions) if stored is not None else []
    index = {key: i for i, key in enumerate(keys)}
    for record in records:
        at = index.get(record.partition)
        if at is None:
            index[record.partition] = len(keys)
            keys.append(record.partition)
            fingerprints.append(record.fingerprint)
            versions.append(record.data_version)
        else:
            fingerprints[at], versions[at] = record.fingerprint, record.data_version
    return RecordedPartitions(keys, fingerprints, versions)


def record(transaction: WriteTransaction, records: Sequence[ObservationRecord]) -> None:
    """Keep the partitions' observations among ``records`` in their sources' rows, in the write transaction
    that records them (writers take turns: nobody changes a row between its reading and its writing here)."""
    with late_import():
        from catalog.models import OBSERVED_PARTITIONS

    partitioned: dict[str, list[ObservationRecord]] = {}
    for found in records:
        if found.partition:
            partitioned.setdefault(found.asset, []).append(found)
    if not partitioned:
        return
    rows = transaction.select_in(OBSERVED_PARTITIONS, ["asset", *COLUMNS], "asset", list(partitioned))
    stored = {row[0]: decode(*row[1:]) for row in rows}
    transaction.upsert_many(OBSERVED_PARTITIONS, "asset", [encode(asset, merged(stored.get(asset), given))
                                                           for asset, given in partitioned.items()])


def by_source(rows: Iterable[Sequence[Any]]) -> dict[str, RecordedPartitions]:
    """The partitions of each source, from rows of ``(asset, keys, fingerprints, data versions)``."""
    return {row[0]: decode(row[1], row[2], row[3]) for row in rows}
