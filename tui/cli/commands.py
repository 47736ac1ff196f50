"""The subcommands of ``assets``: each opens what it needs, does one thing, and prints text or JSON."""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assets_core.application import usecases
from assets_core.application.workspace import Options, Workspace, open_catalog_only, open_workspace
from assets_core.collector import collector_paused
from assets_core.imports import late_import
from assets_core.planning.plan import Plan, Status
from assets_core.planning.state import CheckRecord, split_node
from assets_core.planning.summary import PartitionSummary
from assets_core.running.runs import RunResult
from tui import formatting
from tui.cli import later
from tui.cli.interrupt import EXIT_INTERRUPTED, ctrl_c_stops
from tui.cli.json_text import print_json
from tui.formatting import Cell, escape, status_cell, table, visible

if TYPE_CHECKING:
    from rich.console import Console


PRINTED_AT_ONCE = 1000  # lines of markup rich parses in one call (a call per line costs far more)


def _print_lines(console: Console, lines: list[str]) -> None:
    """Print lines of markup; lines that know their plain text go straight to a file or pipe (no colours
    there), as rich would print them, and to a terminal a thousand at a time."""
    plain = getattr(lines, "plain", None)
    if plain is not None and not console.is_terminal and console.file is not None:
        console.file.write("".join(f"{visible(line)}\n" for line in plain))
        return
    for start in range(0, len(lines), PRINTED_AT_ONCE):
        console.print("\n".join(lines[start:start + PRINTED_AT_ONCE]))


def list_assets(args: argparse.Namespace, options: Options, console: Console) -> int:
    workspace = open_workspace(options, recover=False)  # definitions only: no run nor stored value is read
    graph = workspace.project.graph
    chosen = workspace.project.select(args.selection)
    items = [item for item in graph if item.name in chosen]
    if args.json:
        # tuples, which JSON writes as lists: copying four of them per asset took 0.4 s of 100,000 assets
        print_json([{"asset": i.name, "kind": i.kind, "group": i.group, "description": i.description,
                     "upstream": graph.upstream(i.name), "downstream": graph.downstream(i.name),
                     "tags": i.tags, "owners": i.owners} for i in items])
        return 0
    rows = [[i.name, i.kind, i.group, ", ".join(graph.upstream(i.name)) or "-"] for i in items]
    _print_lines(console, table(["asset", "kind", "group", "upstream"], rows))
    return 0


def status(args: argparse.Namespace, options: Options, console: Console) -> int:
    workspace = open_workspace(options, reads_state=True)
    statuses = usecases.statuses(workspace, args.selection, partition=args.partition)
    checks = workspace.catalog.latest_checks() if workspace.project.graph.checks else {}
    if args.json:
        print_json([_status_json(s, checks) for s in statuses])
        return 0
    found = [(s, _checks_of(s, checks)) for s in statuses]
    rows = [_status_row(workspace, s, checked, args.partitions) for s, checked in found]
    _print_lines(console, table(["asset", "status", "why"], rows))
    counts: dict[str, int] = {}
    for s, checked in found:
        counted = "source check failed" if _source_refusals(workspace, s, checked) else s.status
        counts[counted] = counts.get(counted, 0) + 1
    console.print(", ".join(f"{n} {name}" for name, n in sorted(counts.items())))
    return 0


def _source_refusals(workspace: Workspace, status: Status | PartitionSummary,
                     checks: list[CheckRecord]) -> list[CheckRecord]:
    """Of a source, its blocking checks that failed in the last run that read it (its readers were skipped)."""
    if workspace.project.graph[split_node(status.asset)[0]].kind != "source":
        return []
    return [c for c in checks if not c.passed and c.blocking]


def _status_json(status: Status | PartitionSummary, checks: dict[str, list[CheckRecord]]) -> dict[str, Any]:
    found = status.to_json()
    asset, partition = split_node(status.asset)
    if partition:
        found = {**found, "asset": asset, "partition": partition}
    if isinstance(status, PartitionSummary):  # its partitions' failed checks only: there may be very many
        failed = [c for c in _checks_of(status, checks) if not c.passed]
        if failed:
            found["checks"] = [{**_check_json(c), "partition": split_node(c.asset)[1]} for c in failed]
    elif status.asset in checks:
        found["checks"] = [_check_json(c) for c in checks[status.asset]]
    return found


def _checks_of(status: Status | PartitionSummary, checks: dict[str, list[CheckRecord]]) -> list[CheckRecord]:
    """The latest check results of an asset, or of every partition of a partitioned asset."""
    if not isinstance(status, PartitionSummary):
        return checks.get(status.asset, [])
    prefix = f"{status.asset}["
    return [c for node, found in checks.items() if node.startswith(prefix) for c in found]


def _status_row(workspace: Workspace, status: Status | PartitionSummary, checks: list[CheckRecord],
                ranges: bool = False) -> list[str | Cell]:
    kind = workspace.project.graph[split_node(status.asset)[0]].kind
    cell = formatting.asset_status_cell(kind, status.status)
    if isinstance(status, PartitionSummary):
        why = [status.line()]
        if ranges:
            why += [f"{kind}: {_spans(spans)}" for kind, spans in status.ranges.items() if kind != "fresh"]
        why += [r.detail for r in status.reasons]
    else:
        why = [r.detail for r in status.reasons]
    warned = [c for c in checks if not c.passed and not c.blocking]
    if isinstance(status, PartitionSummary):
        by_check: dict[str, list[CheckRecord]] = {}
        for c in warned:
            by_check.setdefault(c.check, []).append(c)
        why += [f"warning: check '{name}' failed on {len(found)} partition(s), e.g. {found[0].asset}: "
                f"{found[0].message}" for name, found in by_check.items()]
    else:
        why += [f"warning: check '{c.check}' failed: {c.message}" for c in warned]
    # A source's checks run in each run that reads it; a blocking one stops its readers.
    why += [f"check '{c.check}' failed in the last run that read it: {c.message}"
            for c in _source_refusals(workspace, status, checks)]
    return [status.asset, cell, "; ".join(why) or "-"]


def _spans(spans: tuple[tuple[str, str], ...]) -> str:
    """Key ranges as ``a..b, c`` (at most the first 20, then how many more)."""
    shown = [first if first == last else f"{first}..{last}" for first, last in spans[:20]]
    more = f" and {len(spans) - 20} more" if len(spans) > 20 else ""
    return ", ".join(shown) + more


def _check_json(check: CheckRecord) -> dict[str, Any]:
    return {"check": check.check, "passed": check.passed, "blocking": check.blocking, "message": check.message,
            "run_id": check.run_id, "at": check.created_at, "metadata": dict(check.metadata)}


def plan(args: argparse.Namespace, options: Options, console: Console) -> int:
    workspace = open_workspace(options, reads_state=True)
    result = usecases.plan(workspace, args.selection, force=args.force, partition=args.partition)
    if args.json:
        print_json([step.to_json() for step in result.steps])
        return 0
    if not result.steps:
        _print_lines(console, nothing_to_do(result))
        return 0
    rows = [[str(i), step.asset, "; ".join(r.detail for r in step.reasons)] for i, step in enumerate(result.steps, 1)]
    _print_lines(console, table(["#", "asset", "why"], rows))
    console.print(f"{len(result.steps)} asset(s) would run")
    return 0


def materialize(args: argparse.Namespace, options: Options, console: Console) -> int:
    # Loading, saving the definitions and planning make many long-lived objects and no garbage: the collector's
    # passes over them cost a third of a no-op run of 100,000 assets. It runs again before any asset does (and
    # in the assets command, does not walk them again: see one_command_process).
    with collector_paused(kept=True):
        workspace = open_workspace(options, reads_state=True)
        if args.resume is not None:
            resumed = usecases.resumption(workspace, args.resume or None)
            if not args.json:
                _print_lines(console, _resumption_lines(resumed))
            if not resumed.assets:
                if args.json:
                    print_json({"run_id": None, "status": "success", "materialized": [], "skipped": [], "failed": []})
                return 0
            prepared = usecases.prepare_resume(workspace, resumed)
            start = functools.partial(usecases.resume, workspace, resumed, prepared=prepared, executor=args.executor,
                                      dask_address=args.dask_address)
        else:
            prepared = usecases.prepare(workspace, args.selection, args.force, args.partition)
            start = functools.partial(usecases.materialize, workspace, args.selection, force=args.force,
                                      trigger="manual", prepared=prepared, executor=args.executor,
                                      dask_address=args.dask_address)
    planned = prepared.plan
    result = run_reported(args, console, len(planned), start)
    if args.json:
        print_json(result.to_json())
    else:
        _summarize(console, result, planned)
    if result.status == "interrupted":
        _say_interrupted(result)
        return EXIT_INTERRUPTED
    return 1 if result.failed else 0


def run_reported(args: argparse.Namespace, console: Console, steps: int, start: Callable[..., RunResult]) -> RunResult:
    """Run ``start`` (a use case that runs a plan of ``steps``) with a progress bar, or line by line when not
    at a terminal, or silently for ``--json``; the first Ctrl-C stops it."""
    reporter: Any = contextlib.nullcontext()
    if not args.json:
        with late_import():  # rich's progress bar: only when something runs
            from tui.cli.progress import BarReporter, LineReporter

        reporter = BarReporter(console, steps) if console.is_terminal else LineReporter(console)
    stop = usecases.Stop()
    with reporter, ctrl_c_stops(stop):
        result: RunResult = start(workers=args.workers, listener=None if args.json else reporter, stop=stop)
    if stop.requested and result.status != "interrupted":  # Ctrl-C as the last asset finished: nothing was left
        later.stderr().print(f"the run had already finished when Ctrl-C came: it ends {result.status}, "
                             "not interrupted")
    return result


def _say_interrupted(result: Any) -> None:
    """On stderr, what a Ctrl-C left: the assets abandoned under way, and how to finish the run."""
    err = later.stderr()
    if result.abandoned:
        err.print(f"abandoned {len(result.abandoned)} asset(s) still running: {escape(', '.join(result.abandoned))} "
                  "(they did not stop in time; nothing of theirs is recorded, and a resume runs them again)")
    err.print(f"run {result.run_id} interrupted; finish it with: assets materialize --resume {result.run_id}")


def _resumption_lines(resumed: usecases.Resumption) -> list[str]:
    run = resumed.run
    lines = [f"no longer defined, left out: {', '.join(resumed.gone)}"] if resumed.gone else []
    left = len(resumed.assets) + len(resumed.gone)
    since = f"{len(resumed.since)} asset(s) it left were materialized since, by later runs" if resumed.since else ""
    if left:
        lines.append(f"resuming run {run.run_id}: {len(resumed.assets)} of its {len(run.plan)} asset(s) to run"
                     + (f" ({since})" if since else ""))
    else:
        lines.append(f"run {run.run_id} has nothing left to do" + (f": {since}" if since else ""))
    return lines


def nothing_to_do(planned: Plan) -> list[str]:
    """What to say when a plan runs nothing: every selected asset is fresh, or some wait on an upstream that
    is stale but not selected."""
    if not planned.waiting:
        return ["nothing to do: every selected asset is fresh"]
    lines = []
    for step in planned.waiting:
        upstream = sorted({r.upstream for r in step.reasons if r.upstream})
        named = ", ".join(f"'{up}'" for up in upstream) or "its upstream"
        lines.append(f"nothing runs for '{step.asset}': it is stale, and waits on {named}, which "
                     f"{'is' if len(upstream) < 2 else 'are'} not selected; '+{step.asset}' would run "
                     f"{'both' if len(upstream) == 1 else 'them all'}")
    return lines


def result_counts(result: RunResult) -> str:
    """``3 materialized, 0 skipped, 1 failed`` (and the warnings, if any)."""
    warnings = len(result.warnings)
    return (f"{len(result.materialized)} materialized, {len(result.skipped)} skipped, {len(result.failed)} failed"
            + (f", {warnings} warning(s)" if warnings else ""))


def problem_lines(result: RunResult) -> list[str]:
    """A line for each asset that failed, then one for each non-blocking check that failed (a warning), then one
    for each thing its subscribers could not do (an alert undelivered, lineage events dropped)."""
    lines = [f"  [red]✗ {escape(o.asset)}[/]: {escape(o.detail)}" for o in result.outcomes if o.status == "failed"]
    lines += [f"  [yellow]! {escape(asset)}[/]: non-blocking check '{escape(check)}' failed: {escape(message)}"
              for asset, check, message in result.warnings]
    return lines + [f"  [yellow]! {escape(notice)}[/]" for notice in result.notices]


def _summarize(console: Console, result: Any, planned: Plan) -> None:
    if result.run_id is None:  # no run was made: the plan ran nothing
        _print_lines(console, nothing_to_do(planned))
        return
    glyph, colour = formatting.STATUS_STYLE[result.status]
    console.print(f"[{colour}]{glyph} run {result.run_id} {result.status}[/]: {result_counts(result)}")
    for line in problem_lines(result):
        console.print(line)
    blocked = [o.asset for o in result.outcomes if o.blocked_by]
    if blocked:
        console.print(f"  [yellow]- skipped because an upstream failed[/]: {escape(', '.join(blocked))}")
    if result.failed:
        console.print(f"see the log: assets logs {result.run_id}")
        console.print(f"fix the cause, then resume: assets materialize --resume {result.run_id}")


def runs(args: argparse.Namespace, options: Options, console: Console) -> int:
    catalog = open_catalog_only(options)
    views = catalog.list_runs(limit=args.limit)
    if args.json:
        print_json([_run_json(v) for v in views])
        return 0
    if not views:
        console.print("no runs yet: try 'assets materialize'")
        return 0
    rows: list[list[str | Cell]] = [
        [v.run_id, status_cell(v.status), v.trigger, formatting.moment(v.started_at), formatting.duration(v.duration),
         str(v.materialized), str(v.skipped), str(v.failed), " ".join(v.selection) or "*"] for v in views]
    _print_lines(console, table(["run", "status", "trigger", "started", "took", "done", "skipped", "failed",
                                 "selection"], rows))
    return 0


def _run_json(view: Any) -> dict[str, Any]:
    return {"run_id": view.run_id, "status": view.status, "trigger": view.trigger,
            "selection": list(view.selection), "started_at": view.started_at, "ended_at": view.ended_at,
            "duration": view.duration, "materialized": view.materialized, "skipped": view.skipped,
            "failed": view.failed}


def logs(args: argparse.Namespace, options: Options, console: Console) -> int:
    catalog = open_catalog_only(options)
    run = catalog.find_run(args.run_id)
    levels = [level.strip().upper() for level in args.level.split(",")] if args.level else None
    events = catalog.run_events(run.run_id, asset=args.asset, levels=levels)
    if args.json:
        print_json({"run": _run_json(run), "events": [
            {"at": e.created_at, "asset": e.asset, "kind": e.kind, "level": e.level, "message": e.message}
            for e in events]})
        return 0
    console.print(f"run {run.run_id} ({run.status}, {run.trigger}, started {formatting.moment(run.started_at)})")
    for event in events:
        style = {"ERROR": "red", "WARNING": "yellow"}.get(event.level, "")
        head = f"{event.created_at.astimezone():%H:%M:%S} {event.level:<7} {event.asset or '-'} {event.kind}:"
        text = escape(f"{head} {event.message}")
        console.print(f"[{style}]{text}[/]" if style else text)
    return 0


def show(args: argparse.Namespace, options: Options, console: Console) -> int:
    with late_import():  # the one command that reads stored values
        from tui.cli.show import show_asset

    workspace = open_workspace(options)
    return show_asset(workspace, args.asset, args, console, print_json)



def prune(args: argparse.Namespace, options: Options, console: Console) -> int:
    removed = usecases.prune(open_workspace(options), args.selection, args.keep)
    if args.json:
        print_json({"removed": removed})
        return 0
    count = sum(len(v) for v in removed.values())
    console.print(f"removed {count} stored version(s) of {len(removed)} asset(s); kept the newest {args.keep} of each")
    return 0


def tui(args: argparse.Namespace, options: Options, console: Console) -> int:
    with late_import():  # Textual is loaded by the browser only
        from tui.browser.app import run_browser

    workspace = open_workspace(options, read_only=args.read_only, reads_state=True)  # its first look reads them all
    return run_browser(workspace, args.asset, args.read_only)
