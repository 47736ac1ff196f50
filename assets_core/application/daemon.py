"""The daemon: evaluates automation at every interval and runs what it requests, in worker processes.

One daemon is active per catalog: it holds the catalog's daemon lease and renews it from a thread of its own;
another waits as a standby and takes the lease over once it has not been renewed for one and a half
intervals (at once, when its holder's process is gone from this host). Runs go to worker processes
(:mod:`assets_core.application.worker`), so an asset that crashes or exhausts memory cannot take the daemon
down; each worker claims its request first, so a daemon restarted after a crash starts no request twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from assets_core.application.automation import Evaluation, evaluate
from assets_core.application.sensor_threads import SensorThreads
from assets_core.application.worker import EXIT_DONE, EXIT_FAILED, EXIT_NOTHING, options_argv
from assets_core.application.workspace import Options, Workspace, open_catalog_only, open_workspace
from assets_core.automation.records import FAILED, REQUESTED, DaemonLease, RequestRecord
from assets_core.errors import AssetsError, ProjectError
from assets_core.planning.state import now
from assets_core.running.recovery import HOST, process_alive

TICKS_KEPT = timedelta(days=7)  # skipped ticks (a sensor every 30 s makes 2,880 a day) older than this go
MAX_INTERVAL = 86_400.0  # seconds; a longer wait is a cron's job (assets daemon --once)
SENSOR_WAIT = 10.0  # seconds a tick waits for a sensor before going on without it (it runs on, and is not cut)
STOP_GRACE = 60.0  # seconds runs in flight get to stop once the daemon is told to stop


class Daemon:
    """The automation of one project (see the module docstring). ``say`` receives one line per event."""

    def __init__(self, options: Options, *, interval: float = 30.0, max_runs: int = 4,
                 say: Callable[[str], None] = print) -> None:
        if not 0 < interval <= MAX_INTERVAL or max_runs < 1:  # NaN too
            raise ProjectError(f"the daemon needs an interval above 0 s and at most {MAX_INTERVAL:g} s (a day), "
                               f"and at least 1 run at a time (got --interval {interval:g}, --max-runs {max_runs})")
        self.options, self.interval, self.max_runs, self.say = options, interval, max_runs, say
        self.holder = uuid.uuid4().hex
        self.stop = threading.Event()
        self.workers: dict[str, subprocess.Popen[bytes]] = {}  # request id -> its worker
        self.requests: dict[str, RequestRecord] = {}
        self.launched: set[str] = set()  # a request whose worker ended unclaimed waits for the next daemon
        self.sensors: SensorThreads[Any] = SensorThreads(wait=min(SENSOR_WAIT, self.interval))
        self.held: dict[str, int] = {}  # a paused automation -> how many of its requests wait, as last said
        self.leading = False
        self.followed: DaemonLease | None = None  # the active daemon's lease, as a standby last saw it

    # One evaluation, for --once and for system cron

    def once(self, at: datetime | None = None) -> Evaluation:
        """Evaluate one tick as of ``at`` (now by default), run what it requests (and what earlier ticks left
        pending), and return when those runs have finished."""
        if not self._lead(quiet=True):  # not 'standby': --once waits for nobody, it refuses
            catalog = open_catalog_only(self.options)
            try:
                lease = catalog.daemon_lease()
            finally:
                catalog.close()
            who = f"pid {lease.pid} on {lease.host}" if lease is not None else "another daemon"
            raise ProjectError(f"a daemon ({who}) is active on this catalog: its ticks run there; stop it first, "
                               "or wait for it")
        try:
            evaluation = self.tick(at or now())
            while self.workers or self._launch():
                self._reap(wait=0.2)
            return evaluation
        finally:
            self._release()

    def tick(self, at: datetime, sensors: SensorThreads[Any] | None = None) -> Evaluation:
        """Evaluate automation as of ``at`` with the definitions as they are now, and launch pending requests
        (``sensors``: each in a thread of its own, as the running daemon does)."""
        workspace = open_workspace(self.options)
        try:
            evaluation = evaluate(workspace, at, sensors)
            workspace.catalog.prune_ticks(at - TICKS_KEPT)  # what requested nothing is kept for a week
            for line in describe(evaluation):
                self.say(line)
            self._launch(workspace)
            return evaluation
        finally:
            workspace.catalog.close()

    # The loop

    def serve(self) -> None:
        """Evaluate at every interval until :attr:`stop` is set (SIGTERM, Ctrl-C), as the active daemon or,
        while another is, as its standby."""
        heartbeat = threading.Thread(target=self._heartbeat, name="daemon-lease", daemon=True)
        heartbeat.start()
        told_standby = False
        unavailable: str | None = None  # the catalog's error, as last said
        try:
            while not self.stop.is_set():
                try:
                    if not self._lead(quiet=told_standby):
                        told_standby = True
                        self.stop.wait(self.interval / 2)
                        continue
                    if told_standby and self.followed is not None:
                        self.say(f"active: the daemon of pid {self.followed.pid} stopped; this one runs the ticks now")
                    told_standby = False
                    try:
                        self.tick(now(), self.sensors)
                    except AssetsError as error:  # definitions broken by an edit: the next tick retries
                        self.say(f"tick failed: {error}; the next tick tries again")
                    self._wait_interval()
                    unavailable = None
                except AssetsError as error:  # the catalog unreachable or busy a while: the daemon lives on
                    if str(error) != unavailable:  # said once, not at every try
                        self.say(f"catalog unavailable: {error}; trying again every {self.interval / 2:g} s")
                    unavailable = str(error)
                    self.stop.wait(self.interval / 2)
        except KeyboardInterrupt:
            self.say("stopping: Ctrl-C")
        finally:
            self.stop.set()
            self._stop_workers()
            try:
                self._release()
            except AssetsError as error:  # the lease goes stale by itself: a standby takes over then
                self.say(f"the lease could not be given up: {error}")

    def _wait_interval(self) -> None:
        """Sleep until the next tick, waking only to see runs end (and start pending ones in their place)."""
        until = now() + timedelta(seconds=self.interval)
        while not self.stop.is_set() and self.leading and (left := (until - now()).total_seconds()) > 0:
            if self._reap(wait=min(5.0, left)):
                self._launch()

    # The lease

    def _lead(self, quiet: bool) -> bool:
        catalog = open_catalog_only(self.options)
        try:
            lease = catalog.daemon_lease()
            stale = self._takeover_after(lease)
            self.leading = stale is not None and \
                catalog.acquire_daemon_lease(self.holder, os.getpid(), HOST, now(), stale)
            self.followed = lease if not self.leading else self.followed
            if not self.leading and not quiet and lease is not None:
                when = "its process ends" if stale is None else \
                    f"it stops renewing its lease for {stale.total_seconds():g} s"
                self.say(f"standby: the daemon of pid {lease.pid} on {lease.host} is active; taking over if {when}")
            return self.leading
        finally:
            catalog.close()

    def _takeover_after(self, lease: DaemonLease | None) -> timedelta | None:
        """How stale another holder's lease must be to be taken over; None: not at all while its process lives.
        On this machine the holder's process says more than its heartbeat: gone, at once; alive (however late a
        loaded machine makes its renewals), never; silent for ten times the usual, its pid is taken to belong to
        another process by now."""
        stale = timedelta(seconds=1.5 * self.interval)
        if lease is None or lease.holder == self.holder or lease.host != HOST:
            return stale
        if not process_alive(lease.pid):
            return timedelta(0)
        return None if now() - lease.heartbeat_at < 10 * stale else stale

    def _heartbeat(self) -> None:
        while not self.stop.wait(self.interval / 3):
            if self.leading:
                try:
                    catalog = open_catalog_only(self.options)
                    try:
                        stale = timedelta(seconds=1.5 * self.interval)
                        self.leading = catalog.acquire_daemon_lease(self.holder, os.getpid(), HOST, now(), stale)
                    finally:
                        catalog.close()
                except AssetsError:  # the loop says why; this thread must outlive a catalog unavailable a while
                    self.leading = False  # not renewed: the loop asks for the lease again before its next tick

    def _release(self) -> None:
        catalog = open_catalog_only(self.options)
        try:
            catalog.release_daemon_lease(self.holder)
            self.leading = False
        finally:
            catalog.close()

    # The workers

    def _launch(self, workspace: Workspace | None = None) -> bool:
        """Start a worker for each pending request, as many as ``max_runs`` allows; return whether any runs.

        The requests of an automation paused since it made them wait, unstarted, until it is unpaused."""
        catalog = workspace.catalog if workspace is not None else open_catalog_only(self.options)
        try:
            paused = {name for name, state in catalog.automation_states().items() if state.paused}
            held: dict[str, int] = {}
            for request in catalog.pending_requests():
                if len(self.workers) >= self.max_runs:
                    break
                if request.origin in paused:
                    held[request.origin] = held.get(request.origin, 0) + 1
                    continue
                if request.request_id in self.launched:
                    continue
                self.launched.add(request.request_id)
                self.workers[request.request_id] = subprocess.Popen(
                    [sys.executable, "-m", "assets_core.application.worker", request.request_id,
                     *options_argv(self.options)], stdout=subprocess.DEVNULL)
                self.requests[request.request_id] = request
                self.say(f"started {_what(request)}")
            for origin, count in held.items():
                if self.held.get(origin) != count:  # said once, not at every launch
                    self.say(f"{origin} is paused: {count} run(s) it requested wait until it is unpaused")
            self.held = held
        finally:
            if workspace is None:
                catalog.close()
        return bool(self.workers)

    def _reap(self, wait: float) -> bool:
        """Wait up to ``wait`` seconds for a worker to end; say how each ended one's run went; return whether
        any ended."""
        ended = {request_id: worker.returncode for request_id, worker in self.workers.items()
                 if worker.poll() is not None}
        if not ended:
            self.stop.wait(wait if not self.workers else min(wait, 0.2))
            return False
        catalog = open_catalog_only(self.options)
        try:
            runs = catalog.request_runs(list(ended))
            for request_id, code in ended.items():
                request = self.requests.pop(request_id)
                del self.workers[request_id]
                recorded = _recorded_status(catalog, runs.get(request_id))
                if code == EXIT_NOTHING and recorded is None:  # an asset's os._exit(3) gives that code too
                    self.say(f"{_what(request)}: nothing was stale, no run")
                    continue
                how = {EXIT_DONE: "succeeded", EXIT_FAILED: "failed"}.get(code, f"ended with exit code {code}")
                if how.startswith("ended") and recorded is not None:
                    how += f" (its process died: the run is {recorded})"
                self.say(f"{_what(request)}: run {runs.get(request_id) or '(none)'} {how}")
        finally:
            catalog.close()
        return True

    def _stop_workers(self) -> None:
        """Ask every worker's run to stop (as Ctrl-C does: it ends interrupted), and wait for them a while."""
        for worker in self.workers.values():
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        deadline = now() + timedelta(seconds=STOP_GRACE)
        for worker in self.workers.values():
            remaining = (deadline - now()).total_seconds()
            try:
                worker.wait(max(0.0, remaining))
            except subprocess.TimeoutExpired:
                worker.kill()
        if self.workers:
            self.say(f"stopped {len(self.workers)} run(s) in flight")
        self.workers.clear()


def describe(evaluation: Evaluation) -> list[str]:
    """One line per tick worth telling (requests, failures); quiet ticks are recorded, not printed."""
    lines = []
    for tick in evaluation.ticks:
        if tick.status == REQUESTED:
            lines.append(f"{tick.kind} {tick.name}: {tick.reason}")
        elif tick.status == FAILED:
            lines.append(f"{tick.kind} {tick.name} failed: {tick.error or tick.reason}")
    lines += [f"alert not delivered: {problem}" for problem in evaluation.problems]
    lines += [f"sensor {name} has not returned yet: its result is recorded at the first tick after it does; the "
              "other automations go on" for name in evaluation.waiting]
    return lines


def _recorded_status(catalog: Any, run_id: str | None) -> str | None:
    """The status the catalog holds for the run a worker claimed its request for; None if it recorded no run."""
    if not run_id:
        return None
    try:
        return str(catalog.find_run(run_id).status)
    except AssetsError:
        return None


def _what(request: RequestRecord) -> str:
    partition = f" [{request.partition}]" if request.partition else ""
    return f"{request.trigger} run of {' '.join(request.selection)}{partition}"
