"""The ``assets`` command: parse the arguments, run one subcommand, print its answer, exit with its code.

Exit codes: 0 success, 1 an asset failed, 2 bad usage, bad definitions or another error the user can fix.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from assets_core.application import catalogs
from assets_core.application.workspace import Options
from assets_core.collector import collector_paused, one_command_process
from assets_core.declaring.config import EXECUTORS
from assets_core.errors import AssetsError
from assets_core.imports import late_import
from tui.cli import automation, backfill, commands, lineage
from tui.cli.arguments import whole_number
from tui.cli.ending import end_process
from tui.cli.interrupt import EXIT_INTERRUPTED
from tui.cli.json_text import json_text
from tui.cli.later import later
from tui.cli.later import stderr as stderr_console
from tui.formatting import escape

if TYPE_CHECKING:
    from rich.console import Console

    from assets_core.application.catalogs import WorkspaceCatalog

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_READER_GONE = 128 + signal.SIGPIPE  # what a shell reports for a Unix tool ended by SIGPIPE
POSITIVE = whole_number(1)
KEYS = "KEY, FIRST..LAST or K1,K2"
LOOKS = frozenset({"list", "status", "plan"})  # commands that only read, briefly: run without the cyclic collector
KEEPS_GOING = frozenset({"daemon", "tui"})  # commands that run until stopped, loading again and again


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("project")
    where.add_argument("--project", metavar="DIR", help="the project folder (default: the current folder)")
    where.add_argument("-m", "--module", help="load assets from this module (importable from the project folder)")
    where.add_argument("-f", "--file", help="load assets from this Python file")
    where.add_argument("--home", metavar="DIR",
                       help="where storage and catalog live (default: <project>/.assets; env ASSETS_HOME)")
    where.add_argument("--catalog", metavar="URL",
                       help="SQLAlchemy URL of the catalog (default: SQLite in the home; env ASSETS_CATALOG)")
    where.add_argument("--storage", metavar="URL",
                       help="where stored values live: a folder or a URL such as s3://bucket/prefix (default: "
                            "the home's storage folder; env ASSETS_STORAGE)")
    where.add_argument("--json", action="store_true", help="print machine-readable JSON")

    parser = argparse.ArgumentParser(
        prog="assets", description="Declare data assets, materialize what is stale, browse the catalog.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    add("list", "list the assets with their kind, group and upstreams").add_argument(
        "selection", nargs="*", help="selection (default: everything)")
    state = add("status", "show whether each asset is fresh, stale, missing or failed, and why")
    state.add_argument("selection", nargs="*", help="selection, e.g. +orders, orders+, group:x, tag:x, status:stale")
    state.add_argument("--partition", metavar="KEYS", help=f"each of these partitions' own status ({KEYS})")
    state.add_argument("--partitions", action="store_true", help="list the key ranges of each status")
    plan = add("plan", "show what materialize would run, in order, and why")
    plan.add_argument("selection", nargs="*", help="selection (default: everything)")
    plan.add_argument("--force", action="store_true", help="plan every selected asset, stale or not")
    plan.add_argument("--partition", metavar="KEYS", help=f"only these partitions ({KEYS})")
    run = add("materialize", "materialize the stale and missing assets of the selection")
    run.add_argument("selection", nargs="*", help="selection (default: everything)")
    run.add_argument("--force", action="store_true", help="rerun every selected asset, stale or not")
    run.add_argument("--partition", metavar="KEYS",
                     help=f"only these partitions of the partitioned assets ({KEYS}); default: every stale one")
    run.add_argument("-j", "--workers", type=POSITIVE,
                     help="assets run at once (default, in threads: one at a time while they finish quickly, "
                          "up to max(4, cores) while they are slow; in processes or Dask: one per core)")
    run.add_argument("--executor", choices=EXECUTORS,
                     help="where assets run: threads of this process (default), a pool of processes (for "
                          "CPU-bound Python), or a Dask cluster; also ASSETS_EXECUTOR, [tool.assets] executor")
    run.add_argument("--dask-address", metavar="ADDRESS",
                     help="the Dask scheduler for --executor dask, e.g. tcp://10.0.0.5:8786 (default: a local "
                          "cluster, one worker per core); also ASSETS_DASK_ADDRESS")
    run.add_argument("--resume", nargs="?", const="", metavar="RUN_ID",
                     help="rerun only what a run did not finish (default: the last failed or interrupted run)")
    runs = add("runs", "list recent runs")
    runs.add_argument("--limit", type=POSITIVE, default=20, help="how many runs (default: 20)")
    logs = add("logs", "show the log of one run")
    logs.add_argument("run_id", metavar="RUN_ID", help="a run id, or a unique prefix of one")
    logs.add_argument("--asset", help="only this asset's lines")
    logs.add_argument("--level", help="only these levels, e.g. WARNING,ERROR")
    show = add("show", "show one asset: definition, status, latest materialization, history")
    show.add_argument("asset", metavar="ASSET")
    show.add_argument("--head", type=POSITIVE, metavar="N", help="also print the first N rows of its value")
    show.add_argument("--history", type=POSITIVE, default=10, metavar="N", help="materializations listed (10)")
    show.add_argument("--partition", metavar="KEY", help="one partition of a partitioned asset: its status, "
                      "materializations and rows")
    prune = add("prune", "delete stored versions older than the newest N of each asset")
    prune.add_argument("selection", nargs="*", help="selection (default: everything)")
    prune.add_argument("--keep", type=POSITIVE, default=3, metavar="N",
                       help="stored versions kept per asset, newest first (default: 3; the latest is always kept)")
    lineage.add_arguments(add("lineage", lineage.HELP))
    backfill.add_arguments(add, POSITIVE)
    automation.add_arguments(add, POSITIVE)
    browse = add("tui", "browse assets, lineage, history and runs in the terminal; rematerialize from it")
    browse.add_argument("asset", nargs="?", metavar="ASSET", help="open on this asset")
    browse.add_argument("--read-only", action="store_true", help="offer nothing that changes anything")
    return parser


HANDLERS: dict[str, Callable[[argparse.Namespace, Options, Console], int]] = {
    "list": commands.list_assets,
    "status": commands.status,
    "plan": commands.plan,
    "materialize": commands.materialize,
    "runs": commands.runs,
    "logs": commands.logs,
    "show": commands.show,
    "prune": commands.prune,
    "lineage": lineage.lineage,
    "backfill": backfill.backfill,
    "backfills": backfill.list_backfills,
    "partitions": backfill.partitions,
    "daemon": automation.daemon,
    "ticks": automation.ticks,
    "automation": automation.automation,
    "tui": commands.tui,
}


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    """Run the command line; return the exit code (also the process's, when run as ``assets``).

    ``own_process``: the command is the process (``assets``), so what it sets up for --json stays until the
    process ends, when threads an asset left running may still print."""
    args = build_parser().parse_args(argv)
    catalogs.wire(_project_catalog, ["sqlite"], ahead=_project_catalog_ahead)
    options = Options(args.project, args.module, args.file, args.home, args.catalog, args.storage)
    # The console keeps the real stdout: during a run, sys.stdout is swapped to capture what assets print.
    console = later(sys.stdout)
    stdout = sys.stdout
    if getattr(args, "json", False):
        sys.stdout = _CommandThreadOnly(stdout, sys.stderr)
    # A look at the project makes next to no cyclic garbage, but hundreds of thousands of young objects (one per
    # partition): the collector's passes over them cost a tenth of a 100,000-partition status.
    paused = collector_paused(kept=True) if args.command in LOOKS else contextlib.nullcontext()
    if own_process and args.command not in KEEPS_GOING:
        one_command_process()  # what the command's pauses made lives until it ends: no collection walks it again
    try:
        with paused:
            code = HANDLERS[args.command](args, options, console)
        sys.stdout.flush()  # a reader gone away shows here, where it is handled, not in the interpreter's last flush
        return code
    except AssetsError as error:
        if getattr(args, "json", False):
            print(json_text({"error": str(error), "type": type(error).__name__}))
        stderr_console().print(f"[red]error:[/] {escape(str(error))}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _reader_gone()
    finally:
        if not own_process:
            sys.stdout = stdout


def _project_catalog(url: str) -> WorkspaceCatalog:
    """This project's catalog, which the command ships with: no need to look for it among the installed
    packages' entry points."""
    with late_import():
        from catalog.quick import open_catalog

    return open_catalog(url)


def _project_catalog_ahead(url: str, folder: str | None) -> WorkspaceCatalog | None:
    """This project's catalog opened ahead, for a command that reads every asset's state (see open_ahead)."""
    with late_import():
        from catalog.quick import open_ahead

    return open_ahead(url, folder)


class _CommandThreadOnly(io.TextIOBase):
    """stdout while a command prints JSON: a thread other than the command's (one an asset started and left
    printing) writes to stderr instead, which says so once per thread, so the JSON on stdout stays whole."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self._told: set[int] = set()

    def write(self, text: str) -> int:
        if threading.current_thread() is threading.main_thread():
            return self.out.write(text)
        thread = threading.current_thread()
        if thread.ident not in self._told:
            self._told.add(thread.ident or 0)
            self.err.write(f"[output of thread '{thread.name}', which is not the command's, follows on stderr "
                           "to keep the JSON on stdout whole]\n")
        return self.err.write(text)

    def flush(self) -> None:
        self.out.flush()
        self.err.flush()

    def isatty(self) -> bool:
        return self.out.isatty()

    def fileno(self) -> int:
        return self.out.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.out, "encoding", "utf-8")


def _reader_gone() -> int:
    """The reader of the output went away (``assets runs --json | head -1``): stop quietly, as Unix tools do."""
    try:
        # What is still buffered would fail again when the interpreter flushes it at exit: send it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (output captured in a test): nothing to flush there
        pass
    return EXIT_READER_GONE


def entry() -> None:
    """The ``assets`` command."""
    # What the imports made lives as long as the process: kept out of the cyclic collector's full passes,
    # which would otherwise walk it again and again while a big project loads (0.1 s of a 10,000-asset
    # status). Only here, not in main(), which tests call many times in one process.
    gc.freeze()
    code = main(own_process=True)
    if code == EXIT_INTERRUPTED:
        # Threads of assets that would not stop must not hold the process (the interpreter joins them).
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    end_process(code)  # as sys.exit(code), without freeing every object one by one (0.3 s of a big project)


if __name__ == "__main__":
    entry()
