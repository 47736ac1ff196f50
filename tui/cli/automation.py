"""``assets daemon``, ``assets ticks`` and ``assets automation``: running automation, and looking at it."""

from __future__ import annotations

import argparse
import signal
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from assets_core.application.workspace import Options, open_catalog_only, open_workspace
from assets_core.errors import ProjectError, SelectionError, did_you_mean
from assets_core.imports import LazyModule
from assets_core.planning.state import now
from tui.cli import later
from tui.cli.json_text import print_json
from tui.formatting import escape, table

if TYPE_CHECKING:
    from rich.console import Console

    from assets_core.application import automation_status
    from assets_core.application import daemon as daemons
    from assets_core.automation.records import TickRecord
else:  # imported by the commands that use them, not by every command's parser
    automation_status = LazyModule("assets_core.application.automation_status")
    daemons = LazyModule("assets_core.application.daemon")


def add_arguments(add: Any, positive: Any) -> None:
    """The three commands' arguments; ``add(name, help)`` makes a subcommand parser."""
    daemon = add("daemon", "run schedules, sensors and asset conditions: evaluate them at every interval")
    daemon.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                        help="seconds between two evaluations (default: 30)")
    daemon.add_argument("--max-runs", type=positive, default=4, metavar="N", help="runs at once (default: 4)")
    daemon.add_argument("--once", action="store_true",
                        help="evaluate one tick, wait for the runs it starts, and exit (for system cron or CI)")
    daemon.add_argument("--now", metavar="ISO_TIME", help="with --once: evaluate as if it were this time")
    ticks = add("ticks", "list the latest automation ticks: what was evaluated, what it requested, and why")
    ticks.add_argument("name", nargs="?", help="only this schedule's, sensor's or 'automation' ticks")
    ticks.add_argument("--limit", type=positive, default=20, help="how many (default: 20)")
    listed = add("automation", "list schedules, sensors and conditions; pause or unpause one")
    listed.add_argument("action", nargs="?", choices=("pause", "unpause"), help="pause or unpause NAME")
    listed.add_argument("name", nargs="?", help="a schedule, a sensor, or 'automation' (every asset's conditions)")


def daemon(args: argparse.Namespace, options: Options, console: Console) -> int:
    if args.now and not args.once:
        raise ProjectError("--now works with --once: a running daemon evaluates at the real time")
    told = later.stderr() if args.json else console  # stdout: the JSON alone
    runner = daemons.Daemon(options, interval=args.interval, max_runs=args.max_runs,
                    say=lambda line: told.print(f"{now():%Y-%m-%d %H:%M:%S} {escape(line)}"))
    if args.once:
        evaluation = runner.once(_moment(args.now) if args.now else None)
        if args.json:
            print_json({"at": evaluation.at.isoformat(), "ticks": [_tick_json(t) for t in evaluation.ticks]})
        return 0

    def stop(number: int, frame: FrameType | None) -> None:
        console.print("stopping: SIGTERM; runs in flight are asked to stop")
        runner.stop.set()

    signal.signal(signal.SIGTERM, stop)
    console.print(f"daemon started (interval {args.interval:g} s, at most {args.max_runs} runs at once); Ctrl-C stops it")
    runner.serve()
    return 0


def ticks(args: argparse.Namespace, options: Options, console: Console) -> int:
    catalog = open_catalog_only(options)
    try:
        found = catalog.list_ticks(args.name, limit=args.limit)
        known = set(catalog.automation_states())
    finally:
        catalog.close()
    if args.name and not found and args.name not in known:
        raise SelectionError(f"no automation named '{args.name}' has ticks{did_you_mean(args.name, known)}; "
                             "'assets automation' lists them")
    if args.json:
        print_json([_tick_json(tick) for tick in found])
        return 0
    if not found:
        console.print("no ticks yet: 'assets daemon' evaluates automation (or 'assets daemon --once')")
        return 0
    rows = [[f"{tick.evaluated_at:%Y-%m-%d %H:%M:%S}", tick.name, tick.status, str(len(tick.requests)),
             escape(tick.error or tick.reason)] for tick in found]
    for line in table(["at (UTC)", "name", "status", "runs", "why"], rows):
        console.print(line)
    return 0


def automation(args: argparse.Namespace, options: Options, console: Console) -> int:
    workspace = open_workspace(options)
    if args.action is not None:
        if not args.name:
            raise ProjectError(f"say what to {args.action}: assets automation {args.action} NAME")
        entry = automation_status.set_paused(workspace, args.name, args.action == "pause")
        if args.json:
            print_json(entry.to_json())
        else:
            console.print(f"{entry.kind} {entry.name} {'paused' if entry.paused else 'unpaused'}")
        return 0
    at = now()
    entries = automation_status.overview(workspace, at)
    lease = workspace.catalog.daemon_lease()
    alive = automation_status.daemon_alive(lease, at)
    if args.json:
        daemon_json = None if lease is None else {"pid": lease.pid, "host": lease.host, "alive": alive,
                                                  "heartbeat_at": lease.heartbeat_at.isoformat()}
        print_json({"daemon": daemon_json, "automation": [entry.to_json() for entry in entries]})
        return 0
    if not entries:
        console.print("no schedules, sensors or asset conditions are declared")
    rows = [[entry.name, entry.kind, "paused" if entry.paused else "active", escape(entry.detail),
             _when(entry.last_tick.evaluated_at) + f" {entry.last_tick.status}" if entry.last_tick else "-",
             _when(entry.next_tick) if entry.next_tick else "-"] for entry in entries]
    for line in table(["name", "kind", "state", "when", "last tick", "next tick"], rows) if rows else []:
        console.print(line)
    if alive and lease is not None:
        console.print(f"daemon: running (pid {lease.pid} on {lease.host})")
    else:
        console.print("daemon: [yellow]not running[/]; start it with 'assets daemon'")
    return 0


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ProjectError(f"--now '{text}' is not a time; write e.g. 2026-03-29T02:00+02:00 or 2026-03-29T00:00Z")
    if moment.tzinfo is None:
        raise ProjectError(f"--now '{text}' has no time zone; add one, e.g. {text}+00:00")
    return moment


def _tick_json(tick: TickRecord) -> dict[str, Any]:
    return {"tick_id": tick.tick_id, "name": tick.name, "kind": tick.kind, "status": tick.status,
            "reason": tick.reason, "error": tick.error, "evaluated_at": tick.evaluated_at.isoformat(),
            "scheduled_for": tick.scheduled_for.isoformat() if tick.scheduled_for else None,
            "requests": [{"request_id": r.request_id, "trigger": r.trigger, "selection": list(r.selection),
                          "partition": r.partition, "run_key": r.run_key, "status": r.status, "run_id": r.run_id}
                         for r in tick.requests]}
