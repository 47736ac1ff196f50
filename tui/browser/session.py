"""One project opened for browsing: its graph, the latest snapshot, and every read and action the panes need.

No Textual here. Taking a snapshot, computing column lineage, planning and running are slow and the app calls
them from worker threads; the other methods are quick, indexed catalog reads.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assets_core.running.execution import RunResult, RunSettings
from assets_core.planning.plan import Plan
from assets_core.application.project import Project, Snapshot
from assets_core.planning.state import Event, FailureRecord, MaterializationRecord
from catalog import RunView, SqlCatalog
from catalog.browse import LogLine, materialization_count, run_log
from tui import drawing
from tui.browser.tree_model import badge
from assets_core.application.workspace import Workspace

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

HISTORY = 50  # materializations read per asset: enough for the sparkline and a screenful of history


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

    @property
    def project(self) -> Project:
        return self.workspace.project

    @property
    def catalog(self) -> SqlCatalog:
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

    def plan(self, selection: str) -> tuple[Plan, Snapshot]:
        """What rematerializing a selection (``name`` or ``name+``) would run, from a new snapshot. The asset
        itself runs even when fresh, as a run started by hand does; what lies downstream runs because it
        does, and early cutoff skips what turns out unchanged."""
        self._refuse("rematerialize")
        snapshot = self.take_snapshot()
        return self.project.plan([selection], force=[selection.rstrip("+")], snapshot=snapshot), snapshot

    def run(self, selection: str, plan: Plan, snapshot: Snapshot, listener: Callable[[Event], None]) -> RunResult:
        """Run a plan made by :meth:`plan`; ``listener`` hears every event, in the thread that calls this."""
        self._refuse("rematerialize")
        self.workspace.save_definitions()
        settings = RunSettings(trigger="tui", selection=(selection,))
        if self.workspace.config.workers:
            settings = replace(settings, workers=self.workspace.config.workers)
        return self.project.run(plan, snapshot, settings, listener=listener)

    def lineages(self) -> dict[str, TableLineage]:
        """Column lineage of the SQL assets, with the catalog as cache (written back unless read-only)."""
        if self._lineages is None:
            cached = self.catalog.load_column_lineage()
            self._lineages = self.project.lineage(self.snapshot, cached, self.schemas())
            if not self.read_only:
                self.catalog.save_column_lineage(self._lineages)
        return self._lineages

    def lineages_if_known(self) -> dict[str, TableLineage] | None:
        """The column lineage if :meth:`lineages` computed it for the current snapshot, else ``None``."""
        return self._lineages

    def schemas(self) -> dict[str, tuple[str, ...] | None]:
        """The columns of every asset as far as known (a source's from its files)."""
        if self._schemas is None:
            self._schemas = self.project.schemas(self.snapshot)
        return self._schemas

    def runs(self, limit: int = 200) -> list[RunView]:
        return self.catalog.list_runs(limit=limit)

    def find_run(self, run_id: str) -> RunView:
        return self.catalog.find_run(run_id)

    def log(self, run_id: str, after: int = 0) -> list[LogLine]:
        return run_log(self.catalog, run_id, after)

    def draw(self, name: str | None) -> list[Path]:
        """Write the lineage of ``name`` (its upstream and downstream; all assets when ``None``) into the project
        folder: DOT always, SVG too when Graphviz's ``dot`` is installed. Returns the files written."""
        graph = self.project.graph
        if name is None:
            shown = set(graph.names)
        else:
            shown = {name} | graph.dag.ancestors([name]) | graph.dag.descendants([name])
        statuses = self.snapshot.statuses if self.snapshot is not None else {}
        nodes = []
        for item in graph:
            if item.name in shown:
                status = statuses.get(item.name)
                word = badge(item.kind, status.status if status is not None else None).word
                nodes.append(drawing.node(item.name, item.kind, word, item.group, target=item.name == name))
        edges = [(up, down) for down in shown for up in graph.upstream(down) if up in shown]
        picture = drawing.build_drawing(nodes, sorted(edges))
        stem = self.project.root / f"lineage-{name or 'all'}"
        written = [drawing.write_file(f"{stem}.dot", drawing.render(picture, "dot"))]
        if shutil.which("dot"):
            written.append(drawing.write_file(f"{stem}.svg", drawing.render(picture, "svg")))
        return written

    def _refuse(self, what: str) -> None:
        if self.read_only:
            raise PermissionError(f"the browser is read-only: it does not {what}")
