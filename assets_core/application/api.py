"""The Python API, for notebooks, scripts and tests: the command's use cases as functions.

A run made here is the same as one made by ``assets materialize``: same home, storage, catalog and records,
shown by ``assets runs`` with the trigger ``python``.

>>> import assets_core
>>> sorted(name for name in ("materialize", "plan", "status", "load") if hasattr(assets_core, name))
['load', 'materialize', 'plan', 'status']
"""

from __future__ import annotations

import inspect
import os
import types
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from assets_core.application import usecases
from assets_core.application.workspace import Options, Workspace, open_catalog_only, open_storage, open_workspace
from assets_core.declaring.definitions import Asset
from assets_core.declaring.loading import DEFINITION_TYPES, Definition, collect_assets
from assets_core.errors import AssetsError, ProjectError, did_you_mean
from assets_core.planning.plan import Plan, Status
from assets_core.planning.state import node_name
from assets_core.planning.summary import PartitionSummary
from assets_core.running.runs import RunResult

Assets = Sequence[Definition] | Definition | types.ModuleType | None
Path = str | os.PathLike[str] | None
TRIGGER = "python"


def materialize(assets: Assets = None, selection: str | Iterable[str] | None = None, *, project: Path = None,
                home: Path = None, catalog: str | None = None, force: bool = False,
                workers: int | None = None, partition: str | None = None, storage: str | None = None,
                executor: str | None = None, dask_address: str | None = None, raise_on_error: bool = False,
                ) -> RunResult:
    """Materialize what is stale among ``assets`` (a list of assets, one asset, a module, or ``None`` for the project's
    own definitions), or only the ``selection`` (the command's syntax: ``"+report"``, ``["a", "tag:x"]``).

    Returns the run's result: ``run_id``, ``status`` and the asset names ``materialized``, ``skipped`` and
    ``failed``. ``project`` is the project folder (default: the current one), ``home`` where storage and
    catalog live (default: as the command chooses), ``catalog`` a catalog URL. ``partition`` runs only those
    partitions of the partitioned assets (``"2026-01-15"``, ``"2026-01-01..2026-01-31"``, ``"eu,us"``); a
    partition is named ``asset[key]`` in the result. ``storage`` is where stored values live (a folder, or a
    URL such as ``s3://bucket/prefix``); ``executor`` where assets run (``threads``, ``processes`` or ``dask``,
    at ``dask_address`` or on a local cluster): both default as the command chooses. ``raise_on_error`` raises a
    :class:`~assets_core.errors.MaterializationError` naming the first asset that failed (after the run, which
    records every outcome as ever), as Dagster's ``materialize`` does, instead of returning a failed result.
    """
    with _workspace(assets, project, home, catalog, storage) as workspace:
        result = usecases.materialize(workspace, _words(selection), force=force, trigger=TRIGGER, workers=workers,
                                      partition=partition, executor=executor, dask_address=dask_address)
    return result.raise_for_failure() if raise_on_error else result


def plan(assets: Assets = None, selection: str | Iterable[str] | None = None, *, project: Path = None,
         home: Path = None, catalog: str | None = None, force: bool = False, partition: str | None = None,
         storage: str | None = None) -> Plan:
    """What :func:`materialize` would run, in order, each step with its reasons (``assets plan --json``)."""
    with _workspace(assets, project, home, catalog, storage) as workspace:
        return usecases.plan(workspace, _words(selection), force, partition=partition)


def status(assets: Assets = None, selection: str | Iterable[str] | None = None, *, project: Path = None,
           home: Path = None, catalog: str | None = None,
           partition: str | None = None, storage: str | None = None) -> list[Status | PartitionSummary]:
    """The status of each selected asset with its reasons (``assets status --json``): a partitioned asset's
    as a summary of its partitions, or with ``partition`` each of those partitions' own."""
    with _workspace(assets, project, home, catalog, storage) as workspace:
        return usecases.statuses(workspace, _words(selection), partition)


def load(name: str, *, partition: str | None = None, project: Path = None, home: Path = None,
         catalog: str | None = None, storage: str | None = None) -> Any:
    """The latest stored value of an asset (of one partition of it, with ``partition``: a key such as
    ``"2026-01-15"``): a polars DataFrame for a table, else the JSON value."""
    options = _options(project, home, catalog, storage)
    node = node_name(name, partition or "")
    records = open_catalog_only(options)
    try:
        record = records.read_state([node]).get(node)
        if record is None or record.materialization is None:
            _check_loadable(options, name, partition)
            hint = "" if partition else \
                "; if it is partitioned, name the partition: load(name, partition='KEY') (see 'assets status')"
            raise AssetsError(f"asset '{node}' has no stored value in this home; "
                              f"materialize it first (assets materialize +{name}){hint}")
        location = record.materialization.location
    finally:
        records.close()
    return open_storage(options).read(location)


def _check_loadable(options: Options, name: str, partition: str | None) -> None:
    """Nothing is stored under that name: if the project's definitions load, say whether the name is no asset
    (a misspelling) or a partition was asked of an unpartitioned asset (only on this path: a load reads no code)."""
    try:
        workspace = open_workspace(options, read_only=True)
    except AssetsError:
        return  # definitions given in Python only, or broken: the plain message stands
    try:
        graph = workspace.project.graph
        if name not in graph:
            raise AssetsError(f"'{name}' is not an asset{did_you_mean(name, graph.names)}")
        if partition and graph[name].partitions is None:
            raise AssetsError(f"asset '{name}' is not partitioned; load it without partition=")
    finally:
        workspace.catalog.close()


@contextmanager
def _workspace(assets: Assets, project: Path, home: Path, catalog: str | None,
               storage: str | None) -> Iterator[Workspace]:
    workspace = open_workspace(_options(project, home, catalog, storage), _definitions(assets))
    try:
        yield workspace
    finally:
        workspace.catalog.close()


def _options(project: Path, home: Path, catalog: str | None, storage: str | None = None) -> Options:
    return Options(project=os.fspath(project) if project is not None else None,
                   home=os.fspath(home) if home is not None else None, catalog=catalog, storage=storage)


def _definitions(assets: Assets) -> list[Definition] | None:
    if assets is None:
        return None
    if isinstance(assets, types.ModuleType):
        return list(collect_assets(assets))
    if isinstance(assets, DEFINITION_TYPES):  # one asset alone
        return [assets]
    odd = [value for value in assets if not isinstance(value, DEFINITION_TYPES)]
    if odd:
        raise ProjectError(f"materialize() takes assets (made with @asset, source_asset, sql_asset, checks) or a "
                           f"module of them; got a {type(odd[0]).__name__}")
    _check_upstreams_given(assets)
    return list(assets)


def _check_upstreams_given(assets: Sequence[Definition]) -> None:
    """An upstream declared beside an asset in its module but left out of the list: say so (the graph would
    call it no asset at all)."""
    given = {value.name for value in assets if isinstance(value, Asset)}
    for item in assets:
        if not isinstance(item, Asset) or item.fn is None:
            continue
        missing = [up for up in item.upstream if up not in given]
        module = inspect.getmodule(item.fn) if missing else None
        if module is None:
            continue
        beside = {value.name for value in collect_assets(module) if isinstance(value, Asset)}  # not checks
        for upstream in (up for up in missing if up in beside):
            raise ProjectError(
                f"asset '{item.name}' reads '{upstream}', which is not among the assets given; add it to the "
                f"list, or pass the module and select: materialize({module.__name__}, '{item.name}') reads "
                f"'{upstream}' from storage, materialize({module.__name__}, '+{item.name}') runs it too")


def _words(selection: str | Iterable[str] | None) -> list[str]:
    if selection is None:
        return []
    return [selection] if isinstance(selection, str) else list(selection)
