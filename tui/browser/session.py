"""One project opened for browsing: its graph, the latest snapshot, and every read and action the panes need.

No Textual here. Taking a snapshot, computing column lineage, planning and running are slow and the app calls
them from worker threads; the other methods are quick, indexed catalog reads.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assets_core.application import automation_status, usecases
from assets_core.application.backfills import Progress, backfills
from assets_core.application.catalogs import WorkspaceCatalog
from assets_core.application.project import Project
from assets_core.application.workspace import Workspace
from assets_core.automation.records import DaemonLease, TickRecord
from assets_core.lineage.columns import ColumnGraph
from assets_core.lineage.view import asset_view
from assets_core.planning.nodes import latest_record
from assets_core.planning.plan import Plan, Status
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.state import BackfillRecord, Event, FailureRecord, MaterializationRecord
from assets_core.planning.summary import asset_status, block_of, summarize
from assets_core.running.runs import RunResult
from catalog import RunView
from catalog.browse import LogLine, materialization_count, run_log
from tui import drawing
from tui.browser.automation_model import AutomationView
from tui.browser.partition_model import PartitionStates

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

HISTORY = 50  # materializations read per asset: enough for the sparkline and a screenful of history
BACKFILLS = 5  # backfills the runs screen shows, the latest
TICKS = 30  # ticks the automation screen shows of one schedule, sensor or the conditions, the latest


@dataclass(frozen=True)
class AssetRecords:
    """The recorded past of one asset the detail pane shows."""

    history: tuple[MaterializationRecord, ...]  # newest first, at most HISTORY
    failure: FailureRecord | None  # the latest failed attempt, when the latest attempt failed
    total: int = 0  # materializations the catalog holds, of which ``history`` is the newest


class Browser:
    """The project behind the browser. ``read_only`` refuses every method that changes anything."""

    def __init__(self, workspace: Workspace, read_only: bool = False):
        self.workspace = workspace
        self.read_only = read_only
        self.snapshot: Snapshot | None = None
        self._lineages: dict[str, TableLineage] | None = None
        self._schemas: dict[str, tuple[str, ...] | None] | None = None
        self._columns: tuple[dict[str, TableLineage], ColumnGraph] | None = None  # and the lineages it is of
        self.stop = usecases.Stop()  # the stop of the run under way (a new one per run)
        self._idle = threading.Event()  # set while no run is under way
        self._idle.set()

    @property
    def project(self) -> Project:
        return self.workspace.project

    @property
    def catalog(self) -> WorkspaceCatalog:
        return self.workspace.catalog

    def take_snapshot(self) -> Snapshot:
        """Observe the sources, read the recorded state and assess every asset (slow: a worker thread's job)."""
        self.snapshot = self.project.snapshot()
        self._lineages = self._schemas = None  # the columns of materialized assets may have changed
        return self.snapshot

    def records(self, name: str) -> AssetRecords:
        """An asset's latest materializations and, when its last attempt failed, that failure."""
        history = tuple(self.catalog.asset_history(name, limit=HISTORY))
        failure = None
        if self.snapshot is not None:
            own = self.snapshot.state.get(name)
            failure = own.failure if own is not None else None
        total = materialization_count(self.catalog, name) if len(history) == HISTORY else len(history)
        return AssetRecords(history, failure, total)

    def plan(self, selection: str, partition: str | None = None) -> tuple[Plan, Snapshot]:
        """What rematerializing a selection (``name``, ``name+`` or ``+name``) would run, from a new snapshot. The asset
        itself runs even when fresh, as a run started by hand does; what lies downstream runs because it
        does, and early cutoff skips what turns out unchanged. ``partition`` (``KEY`` or ``FIRST..LAST``)
        runs only those partitions of a partitioned asset."""
        self._refuse("rematerialize")
        prepared = usecases.prepare(self.workspace, [selection], force=[selection.strip("+")], partition=partition)
        self.snapshot, self._lineages, self._schemas = prepared.snapshot, None, None
        return prepared.plan, prepared.snapshot

    def run(self, selection: str, plan: Plan, snapshot: Snapshot, listener: Callable[[Event], None],
            partition: str | None = None) -> RunResult:
        """Run a plan made by :meth:`plan` (with the same ``partition``); ``listener`` hears every event, in the
        thread that calls this."""
        self._refuse("rematerialize")
        self.stop = usecases.Stop()
        self._idle.clear()
        try:
            return usecases.materialize(self.workspace, [selection], force=[selection.strip("+")], trigger="tui",
                                        listener=listener, prepared=usecases.Prepared(plan, snapshot),
                                        stop=self.stop, partition=partition)
        finally:
            self._idle.set()

    def partitions(self, name: str) -> PartitionStates | None:
        """The status of each partition of a partitioned asset, as of the latest snapshot (``None`` for an
        unpartitioned asset, or before the first snapshot)."""
        snapshot = self.snapshot
        if snapshot is None or self.project.graph[name].partitions is None:
            return None
        keys = snapshot.nodes.keys(name)
        statuses = snapshot.statuses
        return PartitionStates(summarize(name, keys, statuses), tuple(keys),
                               tuple(block_of(name, keys, statuses).in_order()))

    def interrupt(self, wait: float = 0.0) -> bool:
        """Stop the run under way, as Ctrl-C stops the command's: it starts nothing new, records what finished
        and ends interrupted. Waits up to ``wait`` seconds for it to end; returns whether the latest run was
        stopped (now or by an earlier call)."""
        if not self._idle.is_set():
            self.stop.request()
        self._idle.wait(wait)
        return self.stop.requested

    def lineages(self) -> dict[str, TableLineage]:
        """Column lineage of the SQL assets, with the catalog as cache (written back unless read-only), and the
        column graph made of it (slow on a big project, so made here, in the worker thread that asks)."""
        if self._lineages is None:
            lineages = usecases.column_lineage(self.workspace, self.snapshot, self.schemas(), save=not self.read_only)
            self._columns = (lineages, ColumnGraph.build(self.project.graph, lineages, self.schemas()))
            self._lineages = lineages
        return self._lineages

    def lineages_if_known(self) -> dict[str, TableLineage] | None:
        """The column lineage if :meth:`lineages` computed it for the current snapshot, else ``None``."""
        return self._lineages

    def column_graph(self) -> ColumnGraph:
        """The columns of every asset and the lineage between them, as of :meth:`lineages`."""
        lineages = self.lineages()
        if self._columns is None or self._columns[0] is not lineages:
            self._columns = (lineages, ColumnGraph.build(self.project.graph, lineages, self.schemas()))
        return self._columns[1]

    def schemas(self) -> dict[str, tuple[str, ...] | None]:
        """The columns of every asset as far as known (a source's from its files)."""
        if self._schemas is None:
            self._schemas = self.project.schemas(self.snapshot)
        return self._schemas

    def runs(self, limit: int = 200) -> list[RunView]:
        return self.catalog.list_runs(limit=limit)

    def backfills(self, limit: int = BACKFILLS) -> list[tuple[BackfillRecord, Progress]]:
        """The latest backfills, newest first, each with what it has done, failed and left to do."""
        return backfills(self.catalog, limit)

    def find_run(self, run_id: str) -> RunView:
        return self.catalog.find_run(run_id)

    def log(self, run_id: str, after: int = 0) -> list[LogLine]:
        return run_log(self.catalog, run_id, after)

    def automation(self, at: datetime) -> AutomationView:
        """Every schedule, sensor and set of conditions as of ``at``, and the lease of the daemon if one is alive."""
        return AutomationView(tuple(automation_status.overview(self.workspace, at)), self.daemon(at))

    def daemon(self, at: datetime) -> DaemonLease | None:
        """The lease of the catalog's daemon if it is alive at ``at`` (None: no daemon is running)."""
        lease = self.catalog.daemon_lease()
        return lease if automation_status.daemon_alive(lease, at) else None

    def has_automation(self) -> bool:
        """Whether the project declares a schedule, a sensor or an asset's condition."""
        graph = self.project.graph
        return bool(graph.schedules or graph.sensors) or any(item.options.automation is not None for item in graph)

    def ticks(self, name: str, limit: int = TICKS) -> list[TickRecord]:
        """The latest ticks of one schedule, sensor or the conditions (``automation``), newest first."""
        return self.catalog.list_ticks(name, limit=limit)

    def set_paused(self, name: str, paused: bool) -> None:
        """Pause or unpause a schedule, a sensor or the assets' conditions."""
        self._refuse("pause or unpause automation")
        automation_status.set_paused(self.workspace, name, paused)

    def draw(self, name: str | None) -> list[Path]:
        """Write the lineage of ``name`` (its upstream and downstream; all assets when ``None``) into the project
        folder, or a new temporary folder when read-only: DOT always, SVG too when Graphviz's ``dot`` is
        installed. Returns the files written."""
        shown = asset_statuses(self.snapshot) if self.snapshot is not None else {}
        statuses = {n: s.status for n, s in shown.items()}
        picture = drawing.draw_view(asset_view(self.project.graph, name), self.project.graph, statuses)
        folder = Path(tempfile.mkdtemp(prefix="assets-lineage-")) if self.read_only else self.project.root
        stem = folder / f"lineage-{name or 'all'}"
        written = [drawing.write_file(f"{stem}.dot", drawing.render(picture, "dot"))]
        if shutil.which("dot"):
            written.append(drawing.write_file(f"{stem}.svg", drawing.render(picture, "svg")))
        return written

    def _refuse(self, what: str) -> None:
        if self.read_only:
            raise PermissionError(f"the browser is read-only: it does not {what}")


def asset_statuses(snapshot: Snapshot) -> Mapping[str, Status]:
    """The status of every asset by name: a snapshot's own when no asset has partitions, else with each
    partitioned asset's status summarizing its partitions' (the snapshot has one status per partition)."""
    nodes = snapshot.nodes
    if not nodes.partitioned:
        return snapshot.statuses
    found: dict[str, Status] = {}
    for name in nodes.assets.names:
        status = asset_status(snapshot, name)
        found[name] = status if isinstance(status, Status) else Status(name, status.status, status.reasons)
    return found


def materialized_at(snapshot: Snapshot) -> dict[str, datetime]:
    """When each asset was last materialized (a partitioned asset: any of its partitions)."""
    found = {name: own.materialization.created_at for name, own in snapshot.state.items()
             if own.materialization is not None}
    if snapshot.nodes.partitioned:
        for item in snapshot.nodes.assets:
            if item.partitions is not None and (latest := latest_record(snapshot.nodes, snapshot.state, item.name)):
                found[item.name] = latest.created_at
    return found
