"""A worker process of the daemon: runs one recorded request, after claiming it, and exits.

    python -m assets_core.application.worker REQUEST_ID [--project DIR] [-m MODULE | -f FILE] [--home DIR]
        [--catalog URL] [--storage URL]

Running in a process of its own, an asset that crashes the interpreter or exhausts memory takes this process
down, never the daemon. The claim comes first: a request that another worker (of a daemon restarted since)
claimed already is left alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from assets_core.application import usecases
from assets_core.application.workspace import Options, open_workspace
from assets_core.automation.records import RequestRecord
from assets_core.errors import AssetsError
from assets_core.running.runs import RunStatus, new_run_id

EXIT_DONE, EXIT_FAILED, EXIT_ERROR, EXIT_NOTHING = 0, 1, 2, 3  # EXIT_NOTHING: nothing was stale


def options_argv(options: Options) -> list[str]:
    """The arguments that give a worker the daemon's options."""
    argv = []
    for flag, value in (("--project", options.project), ("--module", options.module), ("--file", options.file),
                        ("--home", options.home), ("--catalog", options.catalog), ("--storage", options.storage)):
        if value is not None:
            argv += [flag, value]
    return argv


def run_request(options: Options, request_id: str, stop: usecases.Stop | None = None) -> int:
    """Claim the request and run it (until ``stop`` is requested); the exit code says how the run went."""
    stop = stop or usecases.Stop()
    workspace = open_workspace(options)
    try:
        found = [r for r in workspace.catalog.pending_requests() if r.request_id == request_id]
        if not found:
            print(f"request {request_id} was claimed already, or is unknown: nothing to do", file=sys.stderr)
            return EXIT_DONE
        request: RequestRecord = found[0]
        run_id = new_run_id()
        if stop.requested:  # stopped before it began: the request waits, unclaimed, for the next daemon
            return EXIT_NOTHING
        if not workspace.catalog.claim_request(request_id, run_id):
            print(f"request {request_id} was claimed by another worker: nothing to do", file=sys.stderr)
            return EXIT_DONE
        result = usecases.materialize(workspace, request.selection, trigger=request.trigger,
                                      partition=request.partition, run_id=run_id, stop=stop)
        if result.run_id is None:
            return EXIT_NOTHING
        return EXIT_DONE if result.status == RunStatus.SUCCESS else EXIT_FAILED
    finally:
        workspace.catalog.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assets_core.application.worker")
    parser.add_argument("request")
    for flag in ("--project", "--module", "--file", "--home", "--catalog", "--storage"):
        parser.add_argument(flag)
    args = parser.parse_args(argv)
    options = Options(args.project, args.module, args.file, args.home, args.catalog, args.storage)
    stop = usecases.Stop()
    # The daemon stops its runs with SIGINT, and Ctrl-C at its terminal sends one more: each only asks the run
    # to stop (it records what finished and ends interrupted; the daemon kills a worker that does not end).
    # Set whatever the worker inherited: a daemon started in the background ('&') has SIGINT ignored.
    signal.signal(signal.SIGINT, lambda signum, frame: stop.request())
    try:
        return run_request(options, args.request, stop)
    except AssetsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the threads of assets a stopped run abandoned must not hold the process (Python joins them)
