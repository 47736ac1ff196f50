"""``assets show ASSET``: one asset's definition, status, latest materialization, history and rows."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from assets_core.application.project import Project
from assets_core.application.workspace import Workspace
from assets_core.declaring.definitions import Asset
from assets_core.declaring.sources import SourceMissingError, read_source, source_files
from assets_core.errors import SelectionError, StorageError, did_you_mean
from assets_core.planning.plan import Status, source_path
from assets_core.planning.state import CheckRecord, MaterializationRecord, node_name, split_node
from assets_core.planning.summary import PartitionSummary, asset_status
from tui import formatting
from tui.formatting import escape, table

if TYPE_CHECKING:
    from rich.console import Console


def show_asset(workspace: Workspace, name: str, args: argparse.Namespace, console: Console,
               print_json: Callable[[Any], None]) -> int:
    project = workspace.project
    graph = project.graph
    if name not in graph:
        raise SelectionError(f"'{name}' is not an asset{did_you_mean(name, graph.names)}")
    item = graph[name]
    snapshot = project.snapshot()
    partition = getattr(args, "partition", None)
    if partition is None:
        status: Status | PartitionSummary = asset_status(snapshot, name)
        history = workspace.catalog.asset_history(name, limit=args.history)
        keys = snapshot.nodes.keys(name) if item.is_source and item.partitions is not None else []
    else:
        keys = [_partition_of(snapshot.nodes.keys(name) if item.partitions is not None else None, name, partition)]
        status = snapshot.statuses[node_name(name, partition)]
        history = _partition_history(workspace, name, partition, args.history)
    latest = history[0] if history else None
    head, head_partition = _head(project, item, latest, args.head, keys) if args.head else (None, None)
    checks = _latest_checks(workspace, name, partition, item.partitions is not None)
    by_partition = partition is None and item.partitions is not None
    if args.json:
        print_json({
            "asset": name, **({"partition": partition} if partition is not None else {}), "kind": item.kind,
            "group": item.group, "description": item.description,
            "upstream": list(graph.upstream(name)), "downstream": list(graph.downstream(name)),
            "tags": list(item.tags), "owners": list(item.owners), "location": str(item.location or ""),
            "code_version": project.code_versions[name],
            **{key: value for key, value in status.to_json().items() if key != "asset"},
            "latest": _record_json(latest) if latest else None,
            "history": [_record_json(r) for r in history],
            "checks": [{"check": c.check, **({"partition": split_node(c.asset)[1]} if by_partition else {}),
                        "passed": c.passed, "blocking": c.blocking, "message": c.message, "run_id": c.run_id}
                       for c in checks],
            **({"head": head.to_dicts() if isinstance(head, pl.DataFrame) else head} if args.head else {}),
        })
        return 0
    titled = name if partition is None else f"{name}[{partition}]"
    console.print(f"[bold]{escape(titled)}[/]  {formatting.asset_status_cell(item.kind, status.status).markup()}  "
                  f"{escape(item.kind)} asset in group {escape(item.group)}")
    fields = [("description", item.description), ("defined at", str(item.location or "")),
              ("upstream", ", ".join(graph.upstream(name))), ("downstream", ", ".join(graph.downstream(name))),
              ("tags", ", ".join(item.tags)), ("owners", ", ".join(item.owners)),
              ("source path", item.path or ""), ("code version", project.code_versions[name])]
    for label, value in fields:
        if value:
            console.print(f"  {label:<12} {escape(value)}")
    if isinstance(status, PartitionSummary):
        console.print(f"  partitions: {status.line()}")
    for reason in status.reasons:
        console.print(f"  [yellow]{'why':<12}[/] {escape(reason.kind)}: {escape(reason.detail)}")
    if checks and by_partition:  # each partition's latest results, from as many runs: what did not pass
        console.print(f"[bold]checks[/] (the latest of each partition: {sum(c.passed for c in checks)} passed)")
        for c in checks:
            if not c.passed:
                mark = "[red]✗ failed[/]" if c.blocking else "[yellow]! warning[/]"
                console.print(f"  {mark} {escape(c.check)} {escape(f'[{split_node(c.asset)[1]}]')}: "
                              f"{escape(c.message)} (run {escape(c.run_id)})")
    elif checks:
        console.print(f"[bold]checks[/] (run {escape(checks[0].run_id)})")
        for c in checks:
            mark = "[green]✓ passed[/]" if c.passed else ("[red]✗ failed[/]" if c.blocking else "[yellow]! warning[/]")
            console.print(f"  {mark} {escape(c.check)}" + (f": {escape(c.message)}" if c.message else ""))
    if latest is not None:
        _print_latest(console, latest)
        console.print("[bold]history[/]")
        partitioned = any(r.partition for r in history)  # then each line says which partition it made
        rows = [[r.run_id, *([r.partition or "-"] if partitioned else []), formatting.moment(r.created_at),
                 formatting.duration(r.duration), "-" if r.rows is None else str(r.rows), r.data_version[:12]]
                for r in history]
        for line in table(["run", *(["partition"] if partitioned else []), "at", "took", "rows", "data version"],
                          rows):
            console.print("  " + line)
    if head is not None:
        of = f" of partition {escape(head_partition)}" if head_partition else ""
        console.print(f"[bold]first {args.head} rows{of}[/]")
        console.print(escape(str(head)), markup=False)
    return 0


def _latest_checks(workspace: Workspace, name: str, partition: str | None, partitioned: bool) -> list[CheckRecord]:
    """The latest check results of the asset, of its one partition, or of each of its partitions (which the
    catalog records under the partition's node name, ``sales[us]``)."""
    if partition is not None:
        node = node_name(name, partition)
        return workspace.catalog.latest_checks(node).get(node, [])
    if not partitioned:
        return workspace.catalog.latest_checks(name).get(name, [])
    prefix = f"{name}["
    return [c for node, found in workspace.catalog.latest_checks().items() if node.startswith(prefix) for c in found]


def _partition_of(keys: Sequence[str] | None, name: str, partition: str) -> str:
    """``partition``, checked to be a partition of the asset (SelectionError: it is not, or the asset has none)."""
    if keys is None:
        raise SelectionError(f"'{name}' is not partitioned, so --partition {partition} names nothing of it; "
                             f"leave --partition out")
    if partition not in set(keys):
        raise SelectionError(f"'{partition}' is not a partition of '{name}' (it has {len(keys)}, from "
                             f"'{keys[0]}' to '{keys[-1]}'){did_you_mean(partition, keys[-1000:])}" if keys else
                             f"'{name}' has no partitions yet, so not '{partition}'")
    return partition


def _partition_history(workspace: Workspace, name: str, partition: str, wanted: int) -> list[MaterializationRecord]:
    """The latest ``wanted`` materializations of one partition, newest first (the asset's history read in ever
    larger pieces until it holds that many of this partition, or ends)."""
    limit = wanted
    while True:
        found = workspace.catalog.asset_history(name, limit=limit)
        mine = [record for record in found if record.partition == partition]
        if len(mine) >= wanted or len(found) < limit:
            return mine[:wanted]
        limit *= 8


def _print_latest(console: Console, record: MaterializationRecord) -> None:
    console.print("[bold]latest materialization[/]")
    fields = [("run", record.run_id), *([("partition", record.partition)] if record.partition else []),
              ("at", formatting.moment(record.created_at)), ("took", formatting.duration(record.duration)),
              ("rows", "-" if record.rows is None else str(record.rows)),
              ("size", formatting.size(record.bytes)), ("data version", record.data_version),
              ("stored at", record.location)]
    if record.schema:
        fields.append(("schema", ", ".join(f"{c}: {t}" for c, t in record.schema)))
    fields += [(str(key), str(value)) for key, value in record.metadata.items()]
    for label, value in fields:
        console.print(f"  {escape(label):<12} {escape(value)}")


def _head(project: Project, item: Asset, record: MaterializationRecord | None, rows: int,
          keys: Sequence[str] = ()) -> tuple[Any, str | None]:
    """The first ``rows`` rows of the asset's value, and the partition they are of (a partitioned source: its
    last partition that has a file); a file that cannot be read is a StorageError, which the command reports
    with exit 2 (a stored value is checked against its name by ``Storage.read``)."""
    partition = record.partition if record is not None else None
    if item.is_source:
        files, partition = _source_head_files(project, item, keys)
        value = read_source(item, files, lazy=True)
        where, fix = ", ".join(map(str, files)), "fix the file, or pass read_options to source_asset(...)"
    elif record is None:
        return None, None
    else:
        value = project.storage.read(record.location, lazy=record.location.endswith(".parquet"))
        where, fix = str(project.storage.path(record.location)), f"assets materialize --force {item.name}"
    if isinstance(value, pl.LazyFrame):
        try:
            return value.head(rows).collect(), partition
        except (OSError, pl.exceptions.PolarsError) as error:  # a scan reads the file only when collected
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StorageError(f"cannot read the first {rows} rows of '{item.name}' from {where} ({detail}); "
                               f"{fix}") from error
    if isinstance(value, list):
        return value[:rows], partition
    return value, partition


def _source_head_files(project: Project, item: Asset, keys: Sequence[str]) -> tuple[tuple[Path, ...], str | None]:
    """The files a source's rows are shown from: all of them, or a partitioned source's last partition that has
    files (its path names the partition, so it is no glob of them all); no partition with files is the usual
    SourceMissingError, naming the last one's path."""
    if not keys:
        return source_files(item, project.root), None
    for key in reversed(keys):
        path = source_path(node_name(item.name, key), item)
        try:
            return source_files(item, project.root, path), key
        except SourceMissingError:
            continue
    return source_files(item, project.root, source_path(node_name(item.name, keys[-1]), item)), None


def _record_json(record: MaterializationRecord) -> dict[str, Any]:
    return {"run_id": record.run_id, "created_at": record.created_at, "data_version": record.data_version,
            "code_version": record.code_version, "upstream_versions": dict(record.upstream_versions),
            "rows": record.rows, "bytes": record.bytes, "duration": record.duration, "location": record.location,
            "schema": [list(c) for c in record.schema] if record.schema else None,
            "metadata": dict(record.metadata), "partition": record.partition}
