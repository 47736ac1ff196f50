"""Backfills: a range of partitions run as one recorded piece of work that survives Ctrl-C, a crash or
``kill -9`` and can be resumed, running only what is not done.

A backfill records its targets (the nodes it runs) in the catalog before it starts. What is done is read from
the catalog, never kept by the backfill itself: a target is done once a materialization of it was recorded
after the backfill began, and failed while its latest attempt since then failed (but once the backfill ended
having done them all, later runs' failures are theirs); resuming runs the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

from assets_core.application.catalogs import WorkspaceCatalog
from assets_core.application.usecases import Prepared, Stop, materialize, prepare_nodes
from assets_core.application.workspace import Workspace
from assets_core.errors import SelectionError
from assets_core.planning.nodes import select_nodes
from assets_core.planning.plan import FAILED, FRESH, MISSING
from assets_core.planning.state import BackfillRecord, split_node
from assets_core.planning.steps import build_plan
from assets_core.running.runs import Listener, RunResult, RunStatus

REPROCESS = ("missing", "stale", "failed", "all")  # which partitions of the range a backfill runs
TRIGGER = "backfill"
UNFINISHED = ("running", "failed", "interrupted")


@dataclass(frozen=True)
class Progress:
    """How far a backfill got: targets done, failed (latest attempt since it began), and remaining."""

    done: int
    failed: int
    remaining: int
    failed_nodes: tuple[str, ...] = ()
    remaining_nodes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, int]:
        return {"done": self.done, "failed": self.failed, "remaining": self.remaining}


@dataclass(frozen=True)
class PreparedBackfill:
    """A backfill ready to run: its record (not yet stored) and the plan it runs."""

    record: BackfillRecord
    prepared: Prepared


def prepare_backfill(workspace: Workspace, selection: Iterable[str], partition: str,
                     reprocess: str = "stale") -> PreparedBackfill:
    """Choose the partitions of ``partition`` (``FIRST..LAST``, ``KEY`` or ``K1,K2``) of the selection that
    ``reprocess`` names (``missing``: never materialized; ``stale``: not fresh; ``failed``: whose last attempt
    failed; ``all``: every one, fresh or not) and plan them."""
    if reprocess not in REPROCESS:
        raise SelectionError(f"--reprocess {reprocess}: choose one of {', '.join(REPROCESS)}")
    selection = list(selection)
    workspace.save_definitions()
    project = workspace.project
    snapshot = project.snapshot()
    chosen = select_nodes(snapshot.nodes, project.select(selection, snapshot), partition)
    targets = {node for node in chosen if _wanted(snapshot.statuses[node].status, reprocess)}
    force = targets if reprocess == "all" else False
    plan = build_plan(snapshot.nodes, targets, snapshot.statuses, snapshot.state, force)
    record = BackfillRecord(uuid.uuid4().hex[:12], tuple(selection), partition, reprocess, "running",
                            tuple(plan.assets))
    return PreparedBackfill(record, Prepared(plan, snapshot))


def _wanted(status: str, reprocess: str) -> bool:
    if reprocess == "missing":
        return status == MISSING
    if reprocess == "failed":
        return status == FAILED
    return reprocess == "all" or status != FRESH


def run_backfill(workspace: Workspace, backfill: PreparedBackfill, *, workers: int | None = None,
                 listener: Listener | None = None, stop: Stop | None = None) -> RunResult:
    """Record the backfill, run it, and record how it ended (done, failed or interrupted)."""
    record = backfill.record
    workspace.catalog.begin_backfill(record)
    return _run(workspace, record, backfill.prepared, workers, listener, stop)


def _run(workspace: Workspace, record: BackfillRecord, prepared: Prepared, workers: int | None,
         listener: Listener | None, stop: Stop | None) -> RunResult:
    status = "interrupted"
    try:
        result = materialize(workspace, record.selection, force=prepared.plan.assets, trigger=TRIGGER,
                             workers=workers, listener=listener, prepared=prepared, stop=stop)
        if result.status != RunStatus.INTERRUPTED:
            status = "failed" if progress(workspace.catalog, record).failed else "done"
        return result
    finally:
        workspace.catalog.end_backfill(record.backfill_id, status)


def to_resume(workspace: Workspace, backfill_id: str | None = None) -> BackfillRecord:
    """The backfill to resume: the one named, else the latest that did not finish."""
    if backfill_id:
        return workspace.catalog.find_backfill(backfill_id)
    for record in workspace.catalog.list_backfills(limit=50):
        if record.status in UNFINISHED:
            return record
    raise SelectionError("there is no unfinished backfill to resume; see 'assets backfills'")


def prepare_resume(workspace: Workspace, record: BackfillRecord) -> Prepared:
    """What resuming a backfill runs: its targets not done yet (failed ones too), each forced to run."""
    left = progress(workspace.catalog, record)
    return prepare_nodes(workspace, [*left.failed_nodes, *left.remaining_nodes])


def resume_backfill(workspace: Workspace, record: BackfillRecord, prepared: Prepared, *,
                    workers: int | None = None, listener: Listener | None = None,
                    stop: Stop | None = None) -> RunResult:
    """Run what a backfill left undone, and record how it ended."""
    workspace.catalog.begin_backfill(replace(record, status="running", ended_at=None))
    return _run(workspace, record, prepared, workers, listener, stop)


def progress(catalog: WorkspaceCatalog, record: BackfillRecord) -> Progress:
    """How far the backfill got, from what the catalog recorded since it began. One that ended having done every
    target stays done: a later run's failed attempt at one of them is that run's, not the backfill's."""
    state = catalog.read_state(record.targets)
    settled = record.status == "done"
    failed: list[str] = []
    remaining: list[str] = []
    for node in record.targets:
        own = state.get(node)
        if own is not None and own.made_since(record.created_at, despite_failure=settled):
            continue
        attempt = own.failure if own is not None else None
        (failed if attempt is not None and attempt.created_at >= record.created_at else remaining).append(node)
    done = len(record.targets) - len(failed) - len(remaining)
    return Progress(done, len(failed), len(remaining), tuple(failed), tuple(remaining))


def backfills(catalog: WorkspaceCatalog, limit: int = 20) -> list[tuple[BackfillRecord, Progress]]:
    """The latest backfills, newest first, each with its progress; one that ended failed or interrupted shows
    as done once later runs (another backfill, a materialize) did what it left."""
    found = []
    for record in catalog.list_backfills(limit):
        done = progress(catalog, record)
        if record.status in ("failed", "interrupted") and not done.failed and not done.remaining:
            record = replace(record, status="done")
        found.append((record, done))
    return found


def describe(record: BackfillRecord) -> str:
    """``events, daily: 2026-01-01..2026-03-31 (stale)``"""
    assets = sorted({split_node(node)[0] for node in record.targets})
    return f"{', '.join(assets) or '-'}: {record.partitions} ({record.reprocess})"

