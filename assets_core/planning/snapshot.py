"""A snapshot: everything staleness was computed from, taken at one moment, which a plan and its run share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from assets_core.declaring.sources import Observation
from assets_core.planning.nodes import NodeGraph
from assets_core.planning.plan import Status, Versions
from assets_core.planning.state import AssetState


@dataclass(frozen=True)
class Snapshot:
    """The nodes (assets and partitions) at one moment, their recorded state, the versions now, the sources'
    observations, and the status of every node."""

    state: Mapping[str, AssetState]
    versions: Versions
    observations: Mapping[str, Observation]
    statuses: Mapping[str, Status]
    nodes: NodeGraph
