"""After a crash: telling dead runs from live ones, and sweeping up what a killed process left behind.

A run recorded as ``running`` is dead when its process is gone from this machine, or, when it ran on another
machine (a shared catalog), when its heartbeat has been silent for longer than ``LEASE_TIMEOUT``. Dead runs are
marked ``interrupted`` and their leases released; the next ``materialize`` finishes their work, since what they
did not record is simply still stale.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from datetime import datetime

from assets_core.planning.state import RunRecord, is_live

HOST = socket.gethostname()


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, but belongs to someone else
        return True
    return True


def is_dead(run: RunRecord, at: datetime, host: str = HOST,
            alive: Callable[[int], bool] = process_alive) -> bool:
    """Whether a run recorded as running has in fact died.

    >>> from datetime import datetime, timedelta, timezone
    >>> start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> run = RunRecord("r", "manual", (), "running", start, pid=42, host="here", heartbeat_at=start)
    >>> is_dead(run, start, "here", alive=lambda pid: False), is_dead(run, start, "here", alive=lambda pid: True)
    (True, False)
    >>> is_dead(run, start + timedelta(minutes=5), "elsewhere", alive=lambda pid: True)
    True
    """
    if run.status != "running":
        return False
    if run.host == host and run.pid is not None:
        return run.pid != os.getpid() and not alive(run.pid)
    return not is_live(run, at)


def dead_runs(runs: Iterable[RunRecord], at: datetime, host: str = HOST,
              alive: Callable[[int], bool] = process_alive) -> list[RunRecord]:
    return [run for run in runs if is_dead(run, at, host, alive)]


def live_runs(runs: Iterable[RunRecord], at: datetime, host: str = HOST,
              alive: Callable[[int], bool] = process_alive) -> list[RunRecord]:
    """The runs recorded as running that are still alive, judged as :func:`is_dead` judges them."""
    return [run for run in runs if run.status == "running" and not is_dead(run, at, host, alive)]
