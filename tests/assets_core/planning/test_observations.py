"""A block source's columns against the plain per-partition rules they stand for, on every mix of a file now or
not, a recording or not, the same or another version and fingerprint; and the recorded columns lined up with
any keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assets_core.planning.observations import PartitionObservations, recorded_versions
from assets_core.planning.recorded import RecordedPartitions

# Per partition: (fingerprint now, version now, last fingerprint, last version); None is "no file" / "never
# recorded", which come with a None fingerprint.
_NOW = st.one_of(st.just((None, None)), st.tuples(st.sampled_from(["f", "g"]), st.sampled_from(["v", "w"])))
_COLUMNS = st.lists(st.tuples(_NOW, _NOW), max_size=30)


def _block(rows: list[tuple[tuple[str | None, str | None], tuple[str | None, str | None]]]) -> PartitionObservations:
    nodes = tuple(f"e[{i}]" for i in range(len(rows)))
    return PartitionObservations(nodes, [f"/d/{i}" for i in range(len(rows))], [now[0] for now, _ in rows],
                                 [now[1] for now, _ in rows], [last[0] for _, last in rows],
                                 [last[1] for _, last in rows], lambda node: "/d/?")


@given(_COLUMNS)
def test_a_block_answers_as_each_partition_would_alone(rows: list) -> None:
    block = _block(rows)
    expected_versions = {f"e[{i}]": now[1] for i, (now, _) in enumerate(rows) if now[1] is not None}
    assert block.data_versions() == expected_versions
    assert block.data_versions(recorded_versions(block.nodes, block.last_versions)) == expected_versions
    assert block.changed() == {f"e[{i}]": block[f"e[{i}]"] for i, (now, last) in enumerate(rows)
                               if now[1] is not None and now != last}
    assert block.data_changed() == any(now[1] is not None and now[1] != last[1] for now, last in rows)
    unusual = {i: status.status.value for i, status in block.statuses().unusual.items()}
    assert unusual == {i: "missing" if now[1] is None else "stale" for i, (now, last) in enumerate(rows)
                       if now[1] is None or now[1] != last[1]}


@given(st.lists(st.sampled_from("abcdef"), unique=True), st.lists(st.sampled_from("abcdefgh"), unique=True))
def test_recorded_partitions_line_up_with_the_keys_asked_for(stored: list[str], asked: list[str]) -> None:
    recorded = RecordedPartitions(stored, [f"f{key}" for key in stored], [f"v{key}" for key in stored])
    fingerprints, versions = recorded.aligned(asked)
    assert fingerprints == [f"f{key}" if key in stored else None for key in asked]
    assert versions == [f"v{key}" if key in stored else None for key in asked]
