"""The use cases, each written once: every front end (the command, the browser, the Python API, a scheduler)
calls these with an open :class:`~assets_core.application.workspace.Workspace`, then shows the answer its way.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assets_core.application.workspace import Workspace
from assets_core.declaring.config import EXECUTORS
from assets_core.errors import ProjectError, SelectionError, did_you_mean
from assets_core.imports import late_import
from assets_core.planning.graph import AssetGraph
from assets_core.planning.nodes import select_nodes
from assets_core.planning.plan import Plan, Status
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.state import RunRecord, RunView, now, split_node
from assets_core.planning.steps import build_plan
from assets_core.planning.summary import PartitionSummary, asset_statuses
from assets_core.running.recovery import live_runs
from assets_core.running.resume import unfinished
from assets_core.running.runs import Listener, RunResult, RunSettings, RunStatus
from assets_core.running.stopping import Stop as Stop  # re-exported: the front ends make one to stop a run

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage

RESUMABLE = ("failed", "interrupted")  # the run statuses --resume picks up without an id
RECENT_RUNS = 200  # runs looked through for the last one to resume


def statuses(workspace: Workspace, selection: Iterable[str] = (),
             partition: str | None = None) -> list[Status | PartitionSummary]:
    """The status of every selected asset (all by default), in dependency order, with its reasons; a
    partitioned asset's as a summary of its partitions' statuses. With ``partition`` (``KEY``, ``FIRST..LAST``
    or ``K1,K2``), the status of each of those partitions instead, named ``asset[key]``."""
    project = workspace.project
    snapshot = project.snapshot()
    chosen = project.select(selection, snapshot)
    nodes = snapshot.nodes
    if partition is not None:
        picked = select_nodes(nodes, chosen, partition, upward=False)  # those partitions and their readers
        return [snapshot.statuses[node] for node in nodes.order() if node in picked]
    return asset_statuses(snapshot, chosen)


def plan(workspace: Workspace, selection: Iterable[str] = (), force: bool | Collection[str] = False,
         snapshot: Snapshot | None = None, partition: str | None = None) -> Plan:
    """What :func:`materialize` would run, in order and why, and which selected assets wait on an unselected
    stale upstream."""
    return workspace.project.plan(selection, force, snapshot, partition)


def settings(workspace: Workspace, trigger: str, selection: Iterable[str] = (), force: bool = False,
             workers: int | None = None, run_id: str | None = None, executor: str | None = None,
             dask_address: str | None = None) -> RunSettings:
    """A run's settings: the project's retry policy, worker count and executor unless the caller chose them
    (the executor: ``executor``, then ASSETS_EXECUTOR, then ``[tool.assets] executor``, then threads; the Dask
    scheduler likewise, with ASSETS_DASK_ADDRESS). Unchosen workers are left to the executor (see
    :func:`~assets_core.running.executors.start`)."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        # refused here, before a run is recorded, rather than by the thread pool once it has begun
        raise ProjectError(f"workers must be a whole number of at least 1, not {workers!r}")
    config = workspace.config
    executor = executor or os.environ.get("ASSETS_EXECUTOR") or config.executor or "threads"
    if executor not in EXECUTORS:
        raise ProjectError(f"unknown executor '{executor}'{did_you_mean(executor, EXECUTORS)}; choose one of "
                           f"{', '.join(EXECUTORS)} (--executor, ASSETS_EXECUTOR or [tool.assets] executor)")
    address = dask_address or os.environ.get("ASSETS_DASK_ADDRESS") or config.dask_address
    return RunSettings(workers=workers or config.workers, force=force, trigger=trigger, selection=tuple(selection),
                       retry=config.retry, run_id=run_id, executor=executor, dask_address=address)


@dataclass(frozen=True)
class Prepared:
    """A plan ready to run, with the snapshot it was made from."""

    plan: Plan
    snapshot: Snapshot


def prepare(workspace: Workspace, selection: Iterable[str] = (),
            force: bool | Collection[str] = False, partition: str | None = None) -> Prepared:
    """Save the definitions as loaded now, take a snapshot and plan the selection: what a front end shows
    before it runs (a progress bar's length, the browser's plan modal)."""
    workspace.save_definitions()
    snapshot = workspace.project.snapshot()
    return Prepared(plan(workspace, selection, force, snapshot, partition), snapshot)


def materialize(workspace: Workspace, selection: Iterable[str] = (), *, force: bool | Collection[str] = False,
                trigger: str = "manual", workers: int | None = None, listener: Listener | None = None,
                prepared: Prepared | None = None, stop: Stop | None = None,
                partition: str | None = None, run_id: str | None = None, executor: str | None = None,
                dask_address: str | None = None) -> RunResult:
    """Run what is stale in the selection (``force``: every selected asset, or the named ones; ``partition``:
    only those partitions of its partitioned assets), and store the
    column lineage of SQL assets after the run. ``prepared`` runs what :func:`prepare` returned (for the same
    selection) instead of preparing again. Once ``stop`` is requested (Ctrl-C, a browser closing), the run
    starts nothing new, records what finished and ends interrupted (see :class:`Stop`)."""
    selection = list(selection)
    prepared = prepared or prepare(workspace, selection, force, partition)
    run_settings = settings(workspace, trigger, selection, force is True, workers, run_id, executor, dask_address)
    result = workspace.project.run(prepared.plan, prepared.snapshot, run_settings, listener=listener, stop=stop)
    if result.status != RunStatus.INTERRUPTED:
        refresh_column_lineage(workspace)
    return result


@dataclass(frozen=True)
class Resumption:
    """What resuming a run would run: the assets it planned and did not finish that are still defined, and
    that no later run materialized since it began."""

    run: RunView
    assets: tuple[str, ...]
    gone: tuple[str, ...]  # planned and unfinished, but no longer defined
    since: tuple[str, ...] = ()  # planned and unfinished, but materialized since by later runs (a resume...)


def resumption(workspace: Workspace, run_id: str | None = None) -> Resumption:
    """The run to resume (default: the last failed or interrupted one) and what it left undone."""
    catalog = workspace.catalog
    if run_id:
        run = catalog.find_run(run_id)
    else:
        candidates = [r for r in catalog.list_runs(limit=RECENT_RUNS) if r.status in RESUMABLE]
        if not candidates:
            raise SelectionError("there is no failed or interrupted run to resume; see 'assets runs'")
        run = candidates[0]
    if not run.plan:
        raise SelectionError(f"run {run.run_id} recorded no plan (it was made by an older release), so it "
                             "cannot be resumed; run 'assets materialize' instead")
    nodes = workspace.project.nodes(now())  # a plan names assets and partitions (asset[key])
    left = unfinished(run.plan, catalog.run_events(run.run_id),
                      lambda node: nodes.upstream(node) if node in nodes else ())
    state = catalog.read_state(left)  # a run stays failed once resumed: what was done since is not done again
    since = tuple(node for node in left if node in state and state[node].made_since(run.started_at))
    done = set(since)
    left = [node for node in left if node not in done]
    return Resumption(run, tuple(n for n in left if n in nodes), tuple(n for n in left if n not in nodes), since)


def prepare_resume(workspace: Workspace, resumed: Resumption) -> Prepared:
    """:func:`prepare` for :func:`resume`: what resuming would run (every asset or partition left undone,
    fresh or not)."""
    return prepare_nodes(workspace, resumed.assets)


def prepare_nodes(workspace: Workspace, nodes: Iterable[str]) -> Prepared:
    """:func:`prepare` for named nodes (assets, or partitions ``asset[key]``), each run fresh or not; those no
    longer defined are left out. What resuming a run or a backfill runs."""
    workspace.save_definitions()
    snapshot = workspace.project.snapshot()
    chosen = [node for node in nodes if node in snapshot.nodes]
    return Prepared(build_plan(snapshot.nodes, chosen, snapshot.statuses, snapshot.state, set(chosen)), snapshot)


def resume(workspace: Workspace, resumed: Resumption, *, workers: int | None = None,
           listener: Listener | None = None, prepared: Prepared | None = None, stop: Stop | None = None,
           executor: str | None = None, dask_address: str | None = None) -> RunResult:
    """Rerun what a run left undone (every such asset runs, fresh or not); ``prepared`` as
    :func:`prepare_resume` returned it, ``stop`` as for :func:`materialize`."""
    return materialize(workspace, resumed.assets, force=True, trigger="resume", workers=workers, listener=listener,
                       executor=executor, dask_address=dask_address,
                       prepared=prepared or prepare_resume(workspace, resumed), stop=stop)


def prune(workspace: Workspace, selection: Iterable[str] = (), keep: int = 1) -> dict[str, list[str]]:
    """Delete all but the newest ``keep`` recorded versions of each selected asset (of a partitioned asset: and
    never the latest version of any partition); return what was removed.

    Nothing a running run may still read or has written goes: an asset that a live run (judged as recovery
    judges it) plans, or reads as an upstream of what it plans, keeps every version, and a file written or
    reused since the prune began stays (a run that began after the prune looked at the runs wrote it). The
    folder is listed first, then the runs read, then each asset's history, so a run that recorded a version
    after the listing is seen either as live or in the history. See the README's storage section.

    Raises:
        StorageOwnedError: the storage belongs to another catalog (see :meth:`Project.claim_storage`); nothing
            is deleted.
    """
    project = workspace.project
    project.claim_storage()  # another catalog's values are not its to judge
    since = project.storage.clock()
    listed = project.storage.versions()
    removed: dict[str, list[str]] = {}
    for name in sorted(project.select(selection)):
        if project.graph[name].is_source or name not in listed:
            continue
        in_use = assets_in_use(project.graph, live_runs(workspace.catalog.running_runs(), now()))
        if in_use is None or name in in_use:  # read again for each asset: a run may have begun meanwhile
            continue
        kept = [record.location for record in workspace.catalog.asset_history(name, limit=keep)]
        if project.graph[name].partitions is not None:  # the newest versions overall, and each partition's own
            state = workspace.catalog.read_state(project.nodes(now()).nodes(name))
            kept += [own.materialization.location for own in state.values() if own.materialization is not None]
        gone = project.storage.prune(name, kept, listed[name], since)
        if gone:
            removed[name] = gone
    return removed


def assets_in_use(graph: AssetGraph, runs: Iterable[RunRecord]) -> set[str] | None:
    """The assets these runs may write (their plans) or read (the upstreams of what they plan); None when one
    of them recorded no plan (an older release), so that any asset may be in use.

    >>> from assets_core.declaring.definitions import asset
    >>> from assets_core.planning.state import now
    >>> a, b, c = asset(lambda: 1, name="a"), asset(lambda a: a, name="b"), asset(lambda: 2, name="c")
    >>> graph = AssetGraph.build([a, b, c])
    >>> sorted(assets_in_use(graph, [RunRecord("r", "manual", (), "running", now(), plan=("b",))]))
    ['a', 'b']
    """
    used: set[str] = set()
    for run in runs:
        if not run.plan:
            return None
        for node in run.plan:  # an asset, or one partition of it (asset[key])
            name = split_node(node)[0]
            used.add(name)
            used.update(graph.upstream(name) if name in graph else ())
    return used


def recover(workspace: Workspace) -> list[str]:
    """Mark runs whose process died as interrupted and sweep killed writers' files from the storage, once it is
    found to be this catalog's (see :meth:`Project.claim_storage`); return the runs marked."""
    marked = workspace.project.recover(sweep=False)
    workspace.project.claim_storage()
    return marked


def column_lineage(workspace: Workspace, snapshot: Snapshot | None = None,
                   schemas: Mapping[str, tuple[str, ...] | None] | None = None,
                   save: bool = True) -> dict[str, TableLineage]:
    """The column lineage of every SQL asset, with the catalog as cache (stored again only when changed,
    and never when ``save`` is false)."""
    cached = workspace.catalog.load_column_lineage()
    lineages = workspace.project.lineage(snapshot, cached, schemas)
    if save:
        workspace.catalog.save_column_lineage(lineages)
    return lineages


def refresh_column_lineage(workspace: Workspace) -> None:
    """Store the column lineage of the project's SQL assets after a run; a project without any pays nothing."""
    if any(item.kind == "sql" for item in workspace.project.graph):
        column_lineage(workspace)


def add_partitions(workspace: Workspace, name: str, keys: Sequence[str]) -> list[str]:
    """Add keys to the dynamic partitions called ``name`` (``DynamicPartitions(name)`` in some asset); return
    the keys that were new."""
    with late_import():
        from assets_core.declaring.partitions import DynamicPartitions, MultiPartitions

    known: dict[str, DynamicPartitions] = {}
    for item in workspace.project.graph:
        found = item.partitions
        dimensions = [d for _, d in found.dimensions] if isinstance(found, MultiPartitions) else [found]
        known.update({d.name: d for d in dimensions if isinstance(d, DynamicPartitions)})
    if name not in known:
        hint = did_you_mean(name, known) or (f"; the project's are {', '.join(sorted(known))}" if known else
                                             "; declare DynamicPartitions(name) on an asset first")
        raise SelectionError(f"no asset has dynamic partitions called '{name}'{hint}")
    if not keys:
        raise SelectionError("give at least one key to add")
    for key in keys:
        known[name].check_new_key(key)
    return workspace.catalog.add_dynamic_partitions(name, list(keys))
