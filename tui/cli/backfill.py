"""``assets backfill``, ``assets backfills`` and ``assets partitions``: ranges of partitions as one recorded,
resumable piece of work, and the keys of dynamic partitions."""

from __future__ import annotations

import argparse
import functools
from typing import TYPE_CHECKING, Any

from assets_core.application import backfills, usecases
from assets_core.application.workspace import Options, open_catalog_only, open_workspace
from assets_core.errors import SelectionError
from tui import formatting
from tui.cli import later
from tui.cli.commands import problem_lines, result_counts, run_reported
from tui.cli.interrupt import EXIT_INTERRUPTED
from tui.cli.json_text import print_json
from tui.formatting import escape, table

if TYPE_CHECKING:
    from rich.console import Console

KEYS = "FIRST..LAST, KEY or K1,K2"


def add_arguments(add: Any, positive: Any) -> None:
    """The three commands' arguments; ``add(name, help)`` makes a subcommand parser."""
    run = add("backfill", "run a range of partitions as one backfill, recorded and resumable")
    run.add_argument("selection", nargs="*", help="selection (default: every asset; --partition picks the keys)")
    run.add_argument("--partition", metavar="KEYS", help=f"the partitions to backfill ({KEYS})")
    run.add_argument("--reprocess", choices=backfills.REPROCESS, default="stale",
                     help="which partitions of the range run: missing, stale (not fresh: the default), failed, all")
    run.add_argument("--dry-run", action="store_true", help="print what would run, and run nothing")
    run.add_argument("--resume", nargs="?", const="", metavar="ID",
                     help="finish a backfill: only what is not done (default: the latest unfinished one)")
    run.add_argument("-j", "--workers", type=positive,
                     help="partitions run at once (default, in threads: one at a time while they finish quickly, "
                          "up to max(4, cores) while they are slow; in processes or Dask: one per core)")
    listed = add("backfills", "list backfills with what is done, failed and remaining")
    listed.add_argument("--limit", type=positive, default=20, help="how many (default: 20)")
    keys = add("partitions", "list or add the keys of dynamic partitions")
    keys.add_argument("action", choices=("add", "list"), help="add keys, or list every set's keys")
    keys.add_argument("name", nargs="?", metavar="NAME", help="the dynamic partitions' name")
    keys.add_argument("keys", nargs="*", metavar="KEY", help="the keys to add")


def backfill(args: argparse.Namespace, options: Options, console: Console) -> int:
    workspace = open_workspace(options)
    if args.resume is not None:
        record = backfills.to_resume(workspace, args.resume or None)
        prepared = backfills.prepare_resume(workspace, record)
        start = functools.partial(backfills.resume_backfill, workspace, record, prepared)
        if not args.json:
            console.print(f"resuming backfill {record.backfill_id} ({escape(backfills.describe(record))}): "
                          f"{len(prepared.plan)} partition(s) left")
    else:
        if not args.partition:
            raise SelectionError("say which partitions to backfill with --partition FIRST..LAST")
        chosen = backfills.prepare_backfill(workspace, args.selection, args.partition, args.reprocess)
        record, prepared = chosen.record, chosen.prepared
        start = functools.partial(backfills.run_backfill, workspace, chosen)
    if args.dry_run:
        return _dry_run(args, console, prepared.plan)
    if not prepared.plan.steps:
        if args.json:
            print_json({"backfill_id": None, "run_id": None, "status": "success", "materialized": [], "skipped": [],
                        "failed": []})
        else:
            console.print("nothing to backfill: every chosen partition is done")
        return 0
    result = run_reported(args, console, len(prepared.plan), start)
    if args.json:
        print_json({"backfill_id": record.backfill_id, **result.to_json()})
    else:
        console.print(f"backfill {record.backfill_id}: {result_counts(result)} (run {result.run_id})")
        for line in problem_lines(result):
            console.print(line)
    if result.status == "interrupted":
        later.stderr().print(f"backfill {record.backfill_id} interrupted; finish it with: "
                                   f"assets backfill --resume {record.backfill_id}")
        return EXIT_INTERRUPTED
    if result.failed and not args.json:
        console.print(f"retry the failed partitions with: assets backfill --resume {record.backfill_id}")
    return 1 if result.failed else 0


def _dry_run(args: argparse.Namespace, console: Console, plan: Any) -> int:
    if args.json:
        print_json({"dry_run": True, "steps": [step.to_json() for step in plan.steps]})
        return 0
    rows = [[str(i), step.asset, "; ".join(r.detail for r in step.reasons)] for i, step in enumerate(plan.steps, 1)]
    for line in table(["#", "partition", "why"], rows):
        console.print(line)
    console.print(f"{len(plan.steps)} partition(s) would run (dry run: nothing ran)")
    return 0


def list_backfills(args: argparse.Namespace, options: Options, console: Console) -> int:
    catalog = open_catalog_only(options)
    found = backfills.backfills(catalog, args.limit)
    if args.json:
        print_json([{"backfill_id": r.backfill_id, "status": r.status, "selection": list(r.selection),
                     "partitions": r.partitions, "reprocess": r.reprocess, "targets": len(r.targets),
                     "created_at": r.created_at.isoformat(),
                     "ended_at": r.ended_at.isoformat() if r.ended_at else None, **p.to_json()}
                    for r, p in found])
        return 0
    if not found:
        console.print("no backfills yet: try 'assets backfill --partition FIRST..LAST'")
        return 0
    rows: list[list[Any]] = [[r.backfill_id, formatting.status_cell(r.status) if r.status != "done" else "✓ done",
                              formatting.moment(r.created_at), str(p.done), str(p.failed), str(p.remaining),
                              backfills.describe(r)] for r, p in found]
    for line in table(["backfill", "status", "started", "done", "failed", "remaining", "what"], rows):
        console.print(line)
    return 0


def partitions(args: argparse.Namespace, options: Options, console: Console) -> int:
    workspace = open_workspace(options)
    if args.action == "add":
        if not args.name:
            raise SelectionError("name the dynamic partitions: assets partitions add NAME KEY...")
        added = usecases.add_partitions(workspace, args.name, args.keys)
        if args.json:
            print_json({"name": args.name, "added": added})
        else:
            console.print(f"added {len(added)} key(s) to '{escape(args.name)}'"
                          + (f" ({len(args.keys) - len(added)} already there)" if len(added) < len(args.keys) else ""))
        return 0
    found = workspace.catalog.dynamic_partitions()
    if args.name:
        found = {args.name: found.get(args.name, [])}
    if args.json:
        print_json(found)
        return 0
    for name, keys in found.items():
        console.print(f"{escape(name)}: {escape(', '.join(keys)) or '(no keys yet)'}")
    if not found:
        console.print("no dynamic partitions have keys yet: assets partitions add NAME KEY...")
    return 0
