"""A project: its asset graph joined to its storage and catalog, with the operations the front ends offer.

Planning stays pure (``plan.py``); this module does the I/O at the edges: observing source files, reading the
recorded state, checking that stored values still exist, and running the plan.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from assets_core.declaring.checks import Check, Freshness
from assets_core.declaring.definitions import Asset
from assets_core.declaring.file_stats import recall, remember, stat_files
from assets_core.declaring.sources import (
    GLOB_CHARACTERS,
    Observation,
    SourceMissingError,
    observe,
    observe_files,
    source_columns,
    source_schema,
)
from assets_core.imports import late_import
from assets_core.planning.evidence import listing_of, locations_of
from assets_core.planning.graph import AssetGraph
from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.nodes import NodeGraph, latest_record, select_nodes, uses_dynamic
from assets_core.planning.observations import PartitionObservations, recorded_versions, source_paths
from assets_core.planning.partition_status import NodeMap
from assets_core.planning.plan import Plan, Status, Versions, assess, source_path
from assets_core.planning.recorded import nothing_recorded
from assets_core.planning.selection import Selection, parse_selection
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.state import AssetState, Catalog, now, split_node
from assets_core.planning.steps import build_plan
from assets_core.planning.version_cache import CACHE_FILE, VersionCache
from assets_core.planning.versioning import CodeVersioner
from assets_core.running import observed
from assets_core.running.alerts import AlertHook
from assets_core.running.openlineage import OpenLineageSettings, ProjectColumns
from assets_core.running.ownership import check_owner
from assets_core.running.recovery import dead_runs, process_alive
from assets_core.running.runs import Listener, RunResult, RunSettings, RunStatus
from assets_core.running.stopping import Stop
from assets_core.running.storage import Storage, ValueStorage

if TYPE_CHECKING:
    from assets_core.automation.declarations import Automation
    from assets_core.declaring.loading import DefinitionsSource
    from assets_core.lineage.sql import TableLineage


class Project:
    """The assets of one project with the storage and catalog they are materialized into."""

    def __init__(self, definitions: Iterable[Asset | Check | Freshness | AlertHook | Automation],
                 root: str | os.PathLike[str] = ".", storage: ValueStorage | None = None,
                 catalog: Catalog | None = None, home: str | os.PathLike[str] | None = None):
        definitions = list(definitions)
        self.root = Path(root).resolve()
        self.home = Path(home) if home is not None else self.root / ".assets"
        self.graph = AssetGraph.build(d for d in definitions if not isinstance(d, AlertHook))
        self.hooks: list[AlertHook] = [d for d in definitions if isinstance(d, AlertHook)]
        self.storage = storage or Storage(self.home / "storage")
        self.catalog: Catalog = catalog if catalog is not None else MemoryCatalog()
        self._code_versions: dict[str, str] | None = None
        self.source: DefinitionsSource | None = None  # the files the definitions were loaded from, if any
        self.openlineage: OpenLineageSettings | None = None  # where runs send OpenLineage events (None: nowhere)
        self.read_only = False  # a read-only look: nothing written on disk, the code-version cache included

    @property
    def code_versions(self) -> dict[str, str]:
        if self._code_versions is None:  # computed once per command, with what earlier ones computed
            cache = VersionCache.read(self.home / CACHE_FILE)
            self._code_versions = CodeVersioner(self.root, cache).versions(self.graph)
            if not self.read_only:
                cache.write(self.home / CACHE_FILE)
        return self._code_versions

    def nodes(self, at: datetime) -> NodeGraph:
        """The assets and their partitions at one moment (with the dynamic partitions added so far)."""
        dynamic = self.catalog.dynamic_partitions() if uses_dynamic(self.graph) else {}
        return NodeGraph(self.graph, at, dynamic)

    def snapshot(self, names: Collection[str] | None = None) -> Snapshot:
        """Observe sources, read the recorded state, and assess every asset (every partition)."""
        at = now()
        nodes = self.nodes(at)
        in_blocks = [item.name for item in self.graph if item.is_source and _observed_in_block(item)]
        paths = {name: source_paths(self.graph[name], nodes.keys(name), str(self.root)) for name in in_blocks}
        every = [path for found in paths.values() for path in found]
        with stat_files(every) as pending:  # the files are stat'ed (by a helper, when there are many) while ...
            state = self.catalog.read_state(nodes.order(leave_out=in_blocks))  # ... the catalog is read
            single = self._observe(nodes, state)
            recorded = self.catalog.read_observed(in_blocks)
            lasts = {name: recorded[name].aligned(nodes.keys(name)) if name in recorded
                     else nothing_recorded(nodes.keys(name)) for name in in_blocks}
            nodes.map_reads()
            prepared = {name: recorded_versions(nodes.nodes(name), lasts[name][1]) for name in in_blocks}
            code, lost = self.code_versions, self._lost(state)
            fingerprints = dict(zip(paths, _split(pending.result(), [len(found) for found in paths.values()])))
            blocks = {name: self._observe_block(self.graph[name], nodes.nodes(name), paths[name],
                                                fingerprints[name], lasts[name]) for name in in_blocks}
        if pending.joined is not None and not pending.early and not self.read_only \
                and recall(self.home) != pending.joined:
            remember(self.home, pending.joined)  # the next look stats these from its start (see stat_early)
        sources: dict[str, str] = {}
        for name, block in blocks.items():  # the largest mapping is kept, the others added to it
            current = block.data_versions(prepared[name])
            sources, current = (current, sources) if len(current) > len(sources) else (sources, current)
            sources.update(current)
        sources.update((node, observation.data_version) for node, observation in single.items())
        versions = Versions(code, sources, lost, at)
        statuses = NodeMap(assess(nodes, state, versions, leave_out=blocks),
                           {name: block.statuses() for name, block in blocks.items()})
        return Snapshot(state, versions, NodeMap(single, blocks), statuses, nodes)

    def _lost(self, state: Mapping[str, AssetState]) -> set[str]:
        """The nodes whose recorded value is no longer in storage."""
        locations = locations_of(state)
        stored = self.storage.existing(locations.values(), listing_of(state))
        if stored.issuperset(locations.values()):  # the usual case: nothing lost, found without pairing nodes
            return set()
        return {node for node, location in locations.items() if location not in stored}

    def select(self, words: Iterable[str] | Selection, snapshot: Snapshot | None = None) -> set[str]:
        """The selected assets."""
        selection = words if isinstance(words, Selection) else parse_selection(words)
        statuses = snapshot.statuses if snapshot is not None else None
        if statuses is None and any(t.field == "status" for t in selection.terms):
            statuses = self.snapshot().statuses
        return selection.resolve(self.graph, statuses)

    def statuses(self, words: Iterable[str] = (), snapshot: Snapshot | None = None) -> list[Status]:
        """The status of each selected node (each asset, each partition), in dependency order."""
        snapshot = snapshot or self.snapshot()
        chosen = self.select(words, snapshot)
        return [snapshot.statuses[node] for node in snapshot.nodes.order() if split_node(node)[0] in chosen]

    def plan(self, words: Iterable[str] = (), force: bool | Collection[str] = False,
             snapshot: Snapshot | None = None, partitions: str | None = None) -> Plan:
        """What would run of the selection (``partitions``: only those partitions of its partitioned assets,
        as ``KEY``, ``FIRST..LAST`` or ``K1,K2``)."""
        snapshot = snapshot or self.snapshot()
        chosen = select_nodes(snapshot.nodes, self.select(words, snapshot), partitions)
        if force is not True and force:
            force = {node for node in chosen if split_node(node)[0] in force or node in force}
        return build_plan(snapshot.nodes, chosen, snapshot.statuses, snapshot.state, force)

    def materialize(self, words: Iterable[str] = (), settings: RunSettings | None = None,
                    listener: Listener | None = None) -> RunResult:
        """Plan the selection and run what is stale (everything selected with ``force``)."""
        words = list(words)
        settings = settings or RunSettings(selection=tuple(words))
        snapshot = self.snapshot()
        return self.run(self.plan(words, settings.force, snapshot), snapshot, settings, listener)

    def run(self, plan: Plan, snapshot: Snapshot, settings: RunSettings | None = None,
            listener: Listener | None = None, stop: Stop | None = None) -> RunResult:
        """Run a plan made from ``snapshot`` (until done, or until ``stop`` is requested). A plan with nothing to
        run and no source data change to record makes no run at all (a source whose file was only touched, its
        data the same, is hashed again by the next command)."""
        if not plan.steps and not observed.data_changed(snapshot.observations, snapshot.state):
            return RunResult(None, RunStatus.SUCCESS, ())
        with late_import():  # the runner (and polars with it) only when something runs
            from assets_core.running.environment import RunEnvironment
            from assets_core.running.execution import Execution

        self.claim_storage()  # before anything is written or recorded
        where = RunEnvironment(snapshot.nodes, self.storage, self.catalog, self.home, tuple(self.hooks), self.root.name,
                               self.source, self.openlineage, partial(self.columns, snapshot))
        execution = Execution(where, snapshot, settings or RunSettings(), listener, stop)
        return execution.run(plan)

    def claim_storage(self) -> None:
        """Claim the storage for this project's catalog before writing or deleting values there (see
        :func:`~assets_core.running.ownership.check_owner`, which raises when another catalog has it), and sweep
        the temporary files killed writers left there."""
        check_owner(self.storage, self.catalog.catalog_id())
        self.storage.sweep(process_alive)

    def recover(self, sweep: bool = True) -> list[str]:
        """Mark runs whose process died as interrupted (releasing their leases) and, with ``sweep``, delete the
        temporary files of killed writers; return the ids of the runs marked."""
        dead = dead_runs(self.catalog.running_runs(), now())
        for run in dead:
            self.catalog.end_run(run.run_id, "interrupted")
        if sweep:
            self.storage.sweep(process_alive)
        return [run.run_id for run in dead]

    def schemas(self, snapshot: Snapshot | None = None) -> dict[str, tuple[str, ...] | None]:
        """The columns of every non-SQL asset as far as known: a source's files, a declared schema, or the
        schema of the last materialization (SQL assets' columns are inferred by ``lineage``)."""
        snapshot = snapshot or self.snapshot()
        result: dict[str, tuple[str, ...] | None] = {}
        for item in self.graph:
            record = latest_record(snapshot.nodes, snapshot.state, item.name)
            if item.is_source:
                observation = snapshot.observations.get(snapshot.nodes.nodes(item.name)[-1])
                result[item.name] = source_columns(item, observation.files) if observation else None
            elif item.options.schema is not None:
                result[item.name] = tuple(item.options.schema)
            elif record is not None and record.schema is not None:
                result[item.name] = tuple(column for column, _ in record.schema)
            else:
                result[item.name] = None
        return result

    def columns(self, snapshot: Snapshot) -> ProjectColumns:
        """The columns of every asset as far as ``snapshot`` tells, with the SQL assets' column lineage and the
        Python assets' as stored in the catalog when it still holds (never traced here: tracing runs an
        asset's code, which a run's OpenLineage thread must not)."""
        with late_import():
            from assets_core.lineage.python import still_valid
            from assets_core.lineage.sql import project_lineage

        schemas = self.schemas(snapshot)
        lineages = project_lineage(self.graph, schemas)
        stored = getattr(self.catalog, "load_column_lineage", None)  # a catalog that keeps lineage (not in memory)
        python = [item for item in self.graph if item.kind == "python"]
        if stored is not None and python:
            cached: Mapping[str, TableLineage] = stored()
            typed = self.typed_schemas(snapshot)
            lineages.update({item.name: cached[item.name] for item in python if item.name in cached
                             and still_valid(item, typed, cached[item.name], self.code_versions[item.name])})
        return ProjectColumns(schemas, lineages)

    def lineage(self, snapshot: Snapshot | None = None, cached: Mapping[str, TableLineage] | None = None,
                schemas: Mapping[str, tuple[str, ...] | None] | None = None) -> dict[str, TableLineage]:
        """Column lineage of every SQL asset and of every Python asset (traced on empty frames of its upstreams'
        columns and types: :mod:`assets_core.lineage.python`); cached results whose code, SQL and upstream
        schemas are unchanged are reused. Pass ``schemas`` when the caller already has them: reading them opens
        source files."""
        with late_import():  # sqlglot's optimizer only when lineage is asked for
            from assets_core.lineage.sql import project_lineage

        snapshot = snapshot or self.snapshot()
        schemas = schemas if schemas is not None else self.schemas(snapshot)
        typed = self.typed_schemas(snapshot) if any(item.kind == "python" for item in self.graph) else None
        return project_lineage(self.graph, schemas, cached, typed, self.code_versions)

    def typed_schemas(self, snapshot: Snapshot) -> dict[str, tuple[tuple[str, str], ...] | None]:
        """The columns of every asset with their types, as far as known: a source's files, else the schema of
        its last materialization (None: not known)."""
        result: dict[str, tuple[tuple[str, str], ...] | None] = {}
        for item in self.graph:
            if item.is_source:
                observation = snapshot.observations.get(snapshot.nodes.nodes(item.name)[-1])
                result[item.name] = source_schema(item, observation.files) if observation else None
            else:
                record = latest_record(snapshot.nodes, snapshot.state, item.name)
                result[item.name] = tuple(record.schema) if record is not None and record.schema else None
        return result

    def _observe(self, nodes: NodeGraph, state: Mapping[str, AssetState]) -> dict[str, Observation]:
        """Observe every source node not observed in a block: a source's files, or a partition's own."""
        observations = {}
        for item in self.graph:
            if not item.is_source or _observed_in_block(item):
                continue
            for node in nodes.nodes(item.name):
                last = state.get(node, AssetState()).observation
                before = (last.fingerprint, last.data_version) if last is not None else None
                try:
                    observations[node] = observe(item, self.root, before, source_path(node, item))
                except SourceMissingError:
                    continue
        return observations

    def _observe_block(self, item: Asset, nodes: tuple[str, ...], paths: list[str], fingerprints: list[str | None],
                       last: tuple[list[str | None], list[str | None]]) -> PartitionObservations:
        """Observe a source with one file per partition (``nodes[i]``'s file is ``paths[i]``, its fingerprint
        now ``fingerprints[i]``) as one block of columns, beside the fingerprint and version last recorded of
        each (``last``)."""
        versions = observe_files(item, self.root, paths, fingerprints, *last)
        return PartitionObservations(nodes, paths, fingerprints, versions, *last, partial(source_path, item=item))


def _split(found: list[str | None], sizes: list[int]) -> list[list[str | None]]:
    """``found`` cut into consecutive parts of these sizes.

    >>> _split(["a", "b", "c"], [2, 0, 1])
    [['a', 'b'], [], ['c']]
    """
    parts, start = [], 0
    for size in sizes:
        parts.append(found[start:start + size])
        start += size
    return parts


def _observed_in_block(item: Asset) -> bool:
    """Whether a source is observed as one block: partitioned, one file (no glob) per partition."""
    return item.is_source and item.partitions is not None and not GLOB_CHARACTERS & set(item.path or "")
