"""Where a run works: what :class:`~assets_core.running.execution.Execution` is given besides its plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assets_core.declaring.loading import DefinitionsSource
from assets_core.planning.nodes import NodeGraph
from assets_core.planning.state import Catalog
from assets_core.running.alerts import AlertHook
from assets_core.running.openlineage import OpenLineageSettings, ProjectColumns
from assets_core.running.storage import ValueStorage


@dataclass(frozen=True)
class RunEnvironment:
    """Where and with what a run works: the project's graph, storage, catalog, home, alert hooks and where its
    OpenLineage events go."""

    graph: NodeGraph  # the assets and their partitions, as the snapshot saw them
    storage: ValueStorage
    catalog: Catalog
    home: Path
    hooks: tuple[AlertHook, ...] = ()
    project: str = ""  # the project's name, which alerts carry
    source: DefinitionsSource | None = None  # how worker processes load the definitions (None: not from files)
    openlineage: OpenLineageSettings | None = None  # None: no OpenLineage events
    columns: Callable[[], ProjectColumns] | None = None  # the project's columns, for the events' facets
