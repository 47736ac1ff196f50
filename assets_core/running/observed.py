"""What a run records of its sources: the observations (of a source, or of each of its partitions) that
changed since the catalog's."""

from __future__ import annotations

from collections.abc import Mapping

from assets_core.declaring.sources import Observation
from assets_core.planning.observations import PartitionObservations
from assets_core.planning.partition_status import NodeMap
from assets_core.planning.state import AssetState, ObservationRecord, split_node


def changed(observations: Mapping[str, Observation], state: Mapping[str, AssetState]) -> dict[str, Observation]:
    """The observations whose data or fingerprint differ from the last recorded one (or that have none)."""
    single, blocks = _parts(observations)
    found = {}
    for block in blocks:
        found.update(block.changed())
    for node, observation in single.items():
        own = state.get(node)
        last = own.observation if own is not None else None
        if last is None or (last.data_version, last.fingerprint) != (observation.data_version, observation.fingerprint):
            found[node] = observation
    return found


def data_changed(observations: Mapping[str, Observation], state: Mapping[str, AssetState]) -> bool:
    """Whether any source holds other data than recorded (a file only touched keeps its data version)."""
    single, blocks = _parts(observations)
    if any(block.data_changed() for block in blocks):
        return True
    for node, observation in changed(single, state).items():
        own = state.get(node)
        if own is None or own.observation is None or own.observation.data_version != observation.data_version:
            return True
    return False


def records(run_id: str, observations: Mapping[str, Observation]) -> list[ObservationRecord]:
    """The records of these observations, made in run ``run_id``."""
    made = []
    for node, observation in observations.items():
        asset, key = split_node(node)
        made.append(ObservationRecord(asset, run_id, observation.data_version, observation.fingerprint, key))
    return made


def _parts(observations: Mapping[str, Observation]) -> tuple[Mapping[str, Observation], list[PartitionObservations]]:
    """The observations held one by one, and the blocks of partitioned sources' (which know what they recorded)."""
    if not isinstance(observations, NodeMap):
        return observations, []
    blocks = [block for block in observations.blocks.values() if isinstance(block, PartitionObservations)]
    return observations.single, blocks
