"""The Dask executor's tasks go straight to the cluster's workers: they wait for a worker when there is none, run
on workers that join, and fail (never hang) when their worker leaves the cluster while they run."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assets_core.application import usecases
from assets_core.application.workspace import Options, Workspace, open_workspace
from assets_core.declaring.loading import DefinitionsSource
from assets_core.running import remote
from assets_core.running.runs import RunResult, RunStatus

PROJECT = '''
import os
import time
from pathlib import Path
from typing import Any

from assets_core import asset

@asset
def quick():
    return {"x": 1}

@asset
def stuck():
    (Path(__file__).parent / "stuck.pid").write_text(str(os.getpid()))
    time.sleep(120)
    return {"x": 2}
'''


def _project(root: Path) -> None:
    (root / "defs.py").write_text(PROJECT)
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')


def _cluster(workers: int):  # type: ignore[no-untyped-def]
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None)


def test_a_task_waits_for_a_worker_and_runs_on_one_that_joins(tmp_path: Path) -> None:
    from assets_core.running.dask_backend import DaskBackend

    _project(tmp_path)
    workspace = open_workspace(Options(project=str(tmp_path)))
    source = workspace.project.source
    assert isinstance(source, DefinitionsSource)
    task = remote.Task("quick", "quick", workspace.project.code_versions["quick"], source,
                       workspace.project.storage, {}, {})
    with _cluster(0) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        try:
            waiting, cancelled = backend.submit(task), backend.submit(task)
            time.sleep(1.0)
            assert not waiting.done()  # no worker: it waits, and can still be cancelled
            assert cancelled.cancel()
            cluster.scale(1)
            (sent,) = waiting.result(timeout=60)
            assert sent.outcome.status == "materialized"
        finally:
            backend.close(abandon=False)
    workspace.catalog.close()


def test_a_task_whose_worker_leaves_the_cluster_while_it_runs_fails_and_never_hangs_the_run(tmp_path: Path) -> None:
    """The worker stops answering (SIGSTOP) and the scheduler removes it: its attempt fails with WorkerDied."""
    _project(tmp_path)
    with _cluster(1) as cluster:
        found: list[RunResult] = []
        workspace = open_workspace(Options(project=str(tmp_path)))
        run = threading.Thread(target=lambda: found.append(usecases.materialize(
            workspace, ["stuck"], executor="dask", dask_address=cluster.scheduler_address)))
        run.start()
        pid_file = tmp_path / "stuck.pid"
        # written whole, not just created
        _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), "the asset never started")
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGSTOP)
        try:
            (address,) = cluster.scheduler.workers
            cluster.sync(cluster.scheduler.remove_worker, address, stimulus_id="test", close=False)
            run.join(timeout=60)
            assert not run.is_alive(), "the run waited for a worker that had left the cluster"
        finally:
            os.kill(pid, signal.SIGKILL)
        (result,) = found
        (outcome,) = result.outcomes
        assert result.status == RunStatus.FAILED and outcome.status == "failed"
        assert "WorkerDied" in outcome.detail and "left the cluster" in outcome.detail
        workspace.catalog.close()


def test_a_task_sent_ahead_to_a_worker_that_dies_before_beginning_it_runs_on_another_and_is_no_failed_attempt(
        tmp_path: Path) -> None:
    """A one-thread worker is sent one task beyond the one it runs (it waits there for the thread), no more: killed,
    the worker fails the task it runs with WorkerDied, and the one it had not begun runs on the worker its nanny
    starts again, as does the task that waited here."""
    from assets_core.running.dask_backend import DaskBackend

    _project(tmp_path)
    workspace, (stuck, quick) = _tasks(tmp_path, "stuck", "quick")
    pid_file = tmp_path / "stuck.pid"
    with _cluster(1) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        try:
            running = backend.submit(stuck)
            # written whole, not just created
            _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), "the asset never started")
            ahead, here = backend.submit(quick), backend.submit(quick)
            time.sleep(0.5)
            (worker,) = backend._workers.values()
            assert len(worker.calls) == 2 and len(backend._waiting) == 1  # one sent ahead, one waits here
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
            with pytest.raises(remote.WorkerDied):
                running.result(timeout=60)
            for future in (ahead, here):
                (sent,) = future.result(timeout=60)
                assert sent.outcome.status == "materialized"
        finally:
            backend.close(abandon=True)
    workspace.catalog.close()


AHEAD = '''
import time
from pathlib import Path
from typing import Any

from assets_core import asset

@asset
def nap():
    (Path(__file__).parent / "nap.started").write_text("yes")
    time.sleep(3)
    return {"x": 1}

@asset
def mark():
    (Path(__file__).parent / "mark.ran").write_text("yes")
    return {"x": 2}
'''


def test_a_task_sent_ahead_is_never_begun_once_its_run_let_go_of_the_cluster(tmp_path: Path) -> None:
    """A run that stops abandons the task under way: the one sent ahead to the same worker never begins after it."""
    from assets_core.running.dask_backend import DaskBackend

    (tmp_path / "defs.py").write_text(AHEAD)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace, (nap, mark) = _tasks(tmp_path, "nap", "mark")
    with _cluster(1) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        backend.submit(nap)
        _wait_for(lambda: (tmp_path / "nap.started").exists(), "the asset never started")
        backend.submit(mark)
        time.sleep(0.5)
        (worker,) = backend._workers.values()
        assert len(worker.calls) == 2  # sent ahead, waiting there
        backend.close(abandon=True)
        time.sleep(5)  # the nap is over: the worker's thread is free
        assert not (tmp_path / "mark.ran").exists()
        with cluster.get_client() as client:  # the worker is still there, and serves others
            assert client.submit(lambda: 1 + 1).result(timeout=30) == 2
    workspace.catalog.close()


def test_a_task_sent_ahead_can_be_cancelled_by_a_stopping_run_until_it_begins(tmp_path: Path) -> None:
    """A run that stops cancels the tasks not begun (a stop starts nothing new): one sent ahead, waiting on its worker
    for the thread, is cancelled, never begins there, and the worker goes on taking the run's tasks."""
    from assets_core.running.dask_backend import DaskBackend

    (tmp_path / "defs.py").write_text(AHEAD)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace, (nap, mark) = _tasks(tmp_path, "nap", "mark")
    with _cluster(1) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        try:
            napping = backend.submit(nap)
            _wait_for(lambda: (tmp_path / "nap.started").exists(), "the asset never started")
            ahead = backend.submit(mark)
            time.sleep(0.5)
            (worker,) = backend._workers.values()
            assert len(worker.calls) == 2  # sent ahead, waiting there
            assert ahead.cancel(), "a task waiting on its worker for the thread could not be cancelled"
            assert not napping.cancel()  # begun: it cannot be
            (sent,) = napping.result(timeout=30)
            assert sent.outcome.status == "materialized"
            time.sleep(0.5)
            assert not (tmp_path / "mark.ran").exists()
            assert list(backend._workers.values()) == [worker]  # not taken for lost
            (sent,) = backend.submit(mark).result(timeout=30)
            assert sent.outcome.status == "materialized"
        finally:
            backend.close(abandon=False)
    workspace.catalog.close()


class _HookedLock:
    """The backend's lock, calling ``hook`` each time it is released (to act in the window right after a section)."""

    def __init__(self, hook: Callable[[], None]) -> None:
        self._inner, self._hook = threading.Lock(), hook

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._inner.acquire(blocking, timeout)

    def release(self) -> None:
        self._inner.release()
        self._hook()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _hook_lock(backend, hook: Callable[[], None]) -> None:  # type: ignore[no-untyped-def]
    hooked = _HookedLock(hook)
    with backend._lock:  # no section of the old lock under way meanwhile
        backend._lock, backend._idle = hooked, threading.Condition(hooked)  # type: ignore[arg-type]


def _ahead_tasks(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "defs.py").write_text(AHEAD)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    return _tasks(tmp_path, "nap", "mark")


def _tasks(tmp_path: Path, *names: str) -> tuple[Workspace, list[remote.Task]]:
    """The project's workspace, and a task of each asset named (its first attempt, reading nothing)."""
    workspace = open_workspace(Options(project=str(tmp_path)))
    source, versions = workspace.project.source, workspace.project.code_versions
    assert isinstance(source, DefinitionsSource)
    return workspace, [remote.Task(name, name, versions[name], source, workspace.project.storage, {}, {})
                       for name in names]


class _HeldWatch:
    """The run's look at the cluster's workers, held as between two looks: :meth:`hold` returns once the watch
    waits at its next look, so no look is under way (a look that began before the hold, and saw the cluster
    change meanwhile, would spoil what the test sets up); :meth:`release` lets it look again."""

    def __init__(self, backend: Any) -> None:
        self._open, self._parked, self._ask = threading.Event(), threading.Event(), backend._client.nthreads
        self._open.set()
        backend._client.nthreads = self._look

    def _look(self, *args: Any, **kwargs: Any) -> Any:
        while not self._open.is_set():
            self._parked.set()
            self._open.wait(0.05)
        return self._ask(*args, **kwargs)

    def hold(self) -> None:
        self._parked.clear()
        self._open.clear()
        _wait_for(self._parked.is_set, "the run's watch never came to look again")

    def release(self) -> None:
        self._open.set()


def _wait_for(what: Callable[[], object], why: str, state: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + 60
    while not what():
        assert time.monotonic() < deadline, f"{why} {state()}".strip()
        time.sleep(0.02)


def test_a_task_sent_ahead_cancelled_as_its_worker_says_it_begins_it_is_not_said_cancelled(tmp_path: Path) -> None:
    """The worker begins the task sent ahead: a cancel that comes right after the run reads "begun" (before it marks
    the future running) must fail, as the task runs there; said cancelled, the run would take it for never begun."""
    from assets_core.running.dask_backend import DaskBackend, _in_loop

    workspace, (nap, mark) = _ahead_tasks(tmp_path)
    with _cluster(1) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        try:
            napping = backend.submit(nap)
            _wait_for((tmp_path / "nap.started").exists, "the asset never started")
            ahead = backend.submit(mark)
            _wait_for(lambda: ahead.sent is not None, "never sent ahead")  # type: ignore[attr-defined]
            cancelled: list[bool] = []

            def cancel_once_begun() -> None:  # right after the section that reads "begun", in the loop's thread
                if not cancelled and ahead.sent is None and _in_loop(backend._loop):  # type: ignore[attr-defined]
                    cancelled.append(False)
                    cancelled[0] = ahead.cancel()

            _hook_lock(backend, cancel_once_begun)
            (sent,) = napping.result(timeout=30)
            _wait_for(lambda: cancelled, "the task sent ahead never began")
            assert cancelled == [False], "said cancelled, though its worker began it"
            (sent,) = ahead.result(timeout=30)
            assert sent.outcome.status == "materialized"
        finally:
            backend.close(abandon=False)
    workspace.catalog.close()


def test_cancelling_a_task_sent_ahead_to_a_frozen_worker_gives_up_within_a_second(tmp_path: Path) -> None:
    """A stopping run cancels each task sent ahead by asking its worker to take it back: a worker that does not
    answer (frozen) made each cancel wait 10 s. It now gives up within TAKE_BACK_SECONDS: not cancelled."""
    from assets_core.running.dask_backend import TAKE_BACK_SECONDS, DaskBackend

    _project(tmp_path)
    workspace, (stuck, quick) = _tasks(tmp_path, "stuck", "quick")
    pid_file = tmp_path / "stuck.pid"
    with _cluster(1) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        try:
            backend.submit(stuck)
            _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), "the asset never started")
            ahead = backend.submit(quick)
            _wait_for(lambda: len(next(iter(backend._workers.values())).calls) == 2, "the task was never sent ahead")
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                assert not ahead.cancel()  # no answer: it may have begun
                assert time.monotonic() - started < TAKE_BACK_SECONDS + 1.0
            finally:
                os.kill(pid, signal.SIGKILL)
        finally:
            backend.close(abandon=True)
    workspace.catalog.close()


def test_a_task_sent_ahead_behind_a_long_one_goes_to_a_worker_with_a_thread_free(tmp_path: Path) -> None:
    """A task sent ahead waits behind a long task on the only worker; a worker that joins, with a thread free and no
    task waiting here, takes it: it runs there at once rather than after the long task."""
    from assets_core.running.dask_backend import DaskBackend

    _project(tmp_path)
    workspace, (stuck, quick) = _tasks(tmp_path, "stuck", "quick")
    with _cluster(1) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        try:
            backend.submit(stuck)
            _wait_for(lambda: (tmp_path / "stuck.pid").exists(), "the asset never started")
            ahead = backend.submit(quick)
            time.sleep(0.5)
            (worker,) = backend._workers.values()
            assert len(worker.calls) == 2  # sent ahead, waiting there
            cluster.scale(2)
            (sent,) = ahead.result(timeout=30)  # the long task sleeps 120 s
            assert sent.outcome.status == "materialized"
        finally:
            backend.close(abandon=True)
    workspace.catalog.close()


GIVEN_BACK = '''
import os
import time
from pathlib import Path
from typing import Any

from assets_core import asset

@asset
def stuck():
    (Path(__file__).parent / "stuck.pid").write_text(str(os.getpid()))
    time.sleep(120)
    return {"x": 1}

@asset
def mark():
    with (Path(__file__).parent / "mark.ran").open("a") as ran:
        ran.write("ran\\n")
    return {"x": 2}
'''


def test_a_task_given_back_for_a_free_thread_as_it_is_cancelled_is_sent_nowhere_once_said_cancelled(
        tmp_path: Path) -> None:
    """A task sent ahead behind a long one is taken back for a worker that joins; cancelled as it comes back (its
    worker's answer read, the task waiting here again), it is cancelled here and never sent to the new worker: said
    cancelled, it never runs. (The new worker is stopped meanwhile, so a task sent to it cannot begin before the
    cancel is answered.)"""
    from assets_core.running.dask_backend import DaskBackend, _in_loop

    (tmp_path / "defs.py").write_text(GIVEN_BACK)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace, (stuck, mark) = _tasks(tmp_path, "stuck", "mark")
    with _cluster(1) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        joining = None
        try:
            backend.submit(stuck)
            _wait_for(lambda: (tmp_path / "stuck.pid").exists(), "the asset never started")
            ahead = backend.submit(mark)
            _wait_for(lambda: ahead.sent is not None, "never sent ahead")  # type: ignore[attr-defined]
            cancelled: list[bool] = []
            cancelling: list[threading.Thread] = []

            def back_here() -> bool:
                try:
                    return any(waiting.outer is ahead for waiting in list(backend._waiting))
                except RuntimeError:  # changed meanwhile: seen at the next release
                    return False

            def cancel_once_back() -> None:  # right after the task comes back here, in the loop's thread
                if cancelling or not _in_loop(backend._loop) or not back_here():
                    return
                assert joining is not None
                os.kill(joining.pid, signal.SIGSTOP)
                cancelling.append(threading.Thread(target=lambda: cancelled.append(ahead.cancel())))
                cancelling[0].start()
                deadline = time.monotonic() + 10
                while not (ahead.withdrawing or ahead.done()) and time.monotonic() < deadline:  # type: ignore[attr-defined]
                    time.sleep(0.001)

            _hook_lock(backend, cancel_once_back)
            joining = _worker_at(cluster.scheduler_address, _free_port())
            _wait_for(lambda: cancelled, "the task was never taken back, or its cancel never answered")
            os.kill(joining.pid, signal.SIGCONT)
            assert cancelled == [True]
            (sent,) = backend.submit(mark).result(timeout=60)  # after any other task of the run on that worker
            assert sent.outcome.status == "materialized"
            assert (tmp_path / "mark.ran").read_text() == "ran\n", "said cancelled, it ran all the same"
        finally:
            backend.close(abandon=True)
            if joining is not None:
                os.kill(joining.pid, signal.SIGCONT)
                joining.kill()
                joining.wait()
    workspace.catalog.close()


# Its nap lasts until its worker's threads take no new task (the worker told to close), and its long task 3 s more,
# so the worker still answers: the task sent ahead has its turn there then, whatever the load of the machine.
UNTIL_CLOSING = '''    from distributed import Worker
    (worker,) = Worker._instances
    deadline = time.monotonic() + 30
    while not worker.executors["default"]._shutdown and time.monotonic() < deadline:
        time.sleep(0.05)'''
CLOSING = AHEAD.replace("    time.sleep(3)", UNTIL_CLOSING) + f'''
@asset
def long():
    (Path(__file__).parent / "long.started").write_text("yes")
{UNTIL_CLOSING}
    time.sleep(3)
    return {{"x": 3}}
'''


def test_a_task_sent_ahead_to_a_worker_that_closes_before_it_begins_runs_on_another(tmp_path: Path) -> None:
    """A worker told to close finishes the tasks it runs, its threads taking no new one: the task sent ahead to it,
    which would begin when a first task ends (the other still running, so the worker not closed yet), is not begun
    there but runs on another worker. The run's watch is held, as between two looks, so it sees nothing meanwhile."""
    from assets_core.running.dask_backend import DaskBackend

    (tmp_path / "defs.py").write_text(CLOSING)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace, (nap, mark, long) = _tasks(tmp_path, "nap", "mark", "long")
    with _cluster(0) as cluster:
        closing = _worker_at(cluster.scheduler_address, _free_port(), threads=2)
        try:
            backend = DaskBackend(cluster.scheduler_address, 1)
            watch = _HeldWatch(backend)
            try:
                longer = backend.submit(long)
                _wait_for(lambda: (tmp_path / "long.started").exists(), "the asset never started")
                watch.hold()
                napping = backend.submit(nap)
                _wait_for(lambda: (tmp_path / "nap.started").exists(), "the asset never started")
                ahead = backend.submit(mark)  # (sent with nap, it could reach the thread first, and run)
                (address,) = cluster.scheduler.workers
                cluster.loop.add_callback(cluster.scheduler.close_worker, address)
                (sent,) = napping.result(timeout=90)  # answered: the worker waits for its threads to close
                assert sent.outcome.status == "materialized"
                _wait_for(lambda: any(waiting.outer is ahead for waiting in list(backend._waiting)),
                          "the task sent ahead never came back",  # it had its turn there, and was not begun
                          lambda: f"ahead={ahead!r} ran={(tmp_path / 'mark.ran').exists()} "
                                  f"waiting={list(backend._waiting)!r} workers={backend._workers!r} "
                                  f"free={backend._free} sent={getattr(ahead, 'sent', None)!r}")
                assert not (tmp_path / "mark.ran").exists()
                assert not ahead.running(), "said begun, though it never began: a stop could not cancel it"
                watch.release()
                cluster.scale(1)  # a new worker process: its start-up alone takes long on a loaded machine
                (sent,) = ahead.result(timeout=90)
                assert sent.outcome.status == "materialized"
                longer.exception(timeout=90)  # answered, or lost with its worker
            finally:
                watch.release()
                backend.close(abandon=True)
        finally:
            closing.kill()
            closing.wait()
    workspace.catalog.close()


# Its task lasts until the test lets it end.
HELD = AHEAD + '''
@asset
def held():
    folder = Path(__file__).parent
    (folder / "held.started").write_text("yes")
    deadline = time.monotonic() + 60
    while not (folder / "held.go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"x": 4}
'''


def test_a_task_that_cannot_reach_its_worker_leaves_the_task_under_way_there_to_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that takes no new connection (as one told to close, before the tasks it runs end) is sent no more
    tasks: the task that could not reach it waits for another worker, and the one it runs is still answered, not
    failed as if the worker had died (which a task that cannot reach a worker does not show)."""
    from assets_core.running import dask_backend

    monkeypatch.setattr(dask_backend, "CONNECT_SECONDS", 2)  # how long the run tries to reach a worker
    (tmp_path / "defs.py").write_text(HELD)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace, (held, mark) = _tasks(tmp_path, "held", "mark")
    with _cluster(0) as cluster:
        worker = _worker_at(cluster.scheduler_address, _free_port(), threads=2)
        try:
            backend = dask_backend.DaskBackend(cluster.scheduler_address, 1)
            try:
                holding = backend.submit(held)
                _wait_for(lambda: (tmp_path / "held.started").exists(), "the asset never started")
                # what a worker told to close does first, before the tasks it runs end (a lambda: sent by value)
                backend._client.run(lambda dask_worker: dask_worker._stop_listeners())
                refused = backend.submit(mark)  # to the same worker: it has a thread free
                _wait_for(lambda: not backend._workers and any(waiting.outer is refused
                                                               for waiting in list(backend._waiting)),
                          "the task that could not reach the worker never came back")  # and the worker is unused
                assert not holding.done()
                (tmp_path / "held.go").write_text("yes")
                (sent,) = holding.result(timeout=60)
                assert sent.outcome.status == "materialized"
                assert not (tmp_path / "mark.ran").exists() and not refused.done()
            finally:
                backend.close(abandon=True)
        finally:
            worker.kill()
            worker.wait()
    workspace.catalog.close()


@pytest.mark.parametrize("abandon", [False, True])
def test_a_closed_backend_takes_no_task_and_cancels_those_waiting(tmp_path: Path, abandon: bool) -> None:
    from assets_core.errors import ProjectError
    from assets_core.running.dask_backend import DaskBackend

    _project(tmp_path)
    workspace = open_workspace(Options(project=str(tmp_path)))
    source = workspace.project.source
    assert isinstance(source, DefinitionsSource)
    task = remote.Task("quick", "quick", workspace.project.code_versions["quick"], source,
                       workspace.project.storage, {}, {})
    with _cluster(0) as cluster:
        backend = DaskBackend(cluster.scheduler_address, 1)
        waiting = backend.submit(task)
        backend.close(abandon=abandon)
        assert waiting.cancelled()
        with pytest.raises(ProjectError, match="closed"):
            backend.submit(task)
    workspace.catalog.close()


def test_a_kept_capture_stays_on_between_attempts_and_ends_when_released() -> None:
    import sys

    from assets_core.running.capture import capture

    original = sys.stdout
    release = remote.keep_capturing()
    try:
        assert sys.stdout is not original  # routed to the asset of the thread that prints, if any
        with remote._capturing:  # an attempt begins and ends
            pass
        assert sys.stdout is not original
        with capture() as captured:
            print("inside an attempt")
        assert captured.lines == [("INFO", "inside an attempt")]
    finally:
        release()
        release()  # a second call does nothing
    assert sys.stdout is original


def _forbid_the_framework_here() -> None:
    import sys

    sys.modules["assets_core.running.performer"] = None  # type: ignore[assignment]  # importing it fails


def test_a_cluster_whose_workers_cannot_load_the_framework_makes_no_run_and_never_hangs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that cannot read a task never answers Dask: the run gives up on it after PLACE_SECONDS."""
    from assets_core.running import dask_workers

    monkeypatch.setattr(dask_workers, "PLACE_SECONDS", 3)
    _no_run_on_workers_that(tmp_path, _forbid_the_framework_here, "no Dask worker took the run's performer within 3 s")


def _no_run_on_workers_that(tmp_path: Path, spoil: Callable[[], None], message: str) -> None:
    """With ``spoil`` run on every worker of a one-worker cluster first, a dask run fails with ``message`` before
    it is recorded."""
    from distributed import Client

    from assets_core.errors import ProjectError

    _project(tmp_path)
    workspace = open_workspace(Options(project=str(tmp_path)))
    with _cluster(1) as cluster, Client(cluster) as client:
        client.run(spoil)
        with pytest.raises(ProjectError, match=message):
            usecases.materialize(workspace, ["quick"], executor="dask", dask_address=cluster.scheduler_address)
    assert workspace.catalog.list_runs(limit=5) == []
    workspace.catalog.close()


def _break_the_performer_here() -> None:
    from assets_core.running import performer

    def broken() -> None:
        raise RuntimeError("this worker cannot capture")

    performer.keep_capturing = broken  # type: ignore[assignment]


def test_a_performer_that_fails_on_the_workers_makes_no_run_and_says_why(tmp_path: Path) -> None:
    _no_run_on_workers_that(tmp_path, _break_the_performer_here,
                            "could not be placed on them .RuntimeError: this worker cannot capture")


def test_a_worker_answers_a_task_it_cannot_run_with_the_reason_and_never_raises() -> None:
    import pickle

    from assets_core.running.performer import _answer

    kind, why = pickle.loads(_answer(b"not a pickled task"))
    assert kind == "error" and "UnpicklingError" in why


CHAIN = '''
import polars as pl
from assets_core import asset

@asset
def first():
    return pl.DataFrame({"x": [FIRST]})

@asset
def second(first):
    return first.with_columns(y=pl.col("x") * 2)

@asset
def third(second, first):
    return second.with_columns(z=pl.col("y") + first["x"])
'''


def _handlers(dask_worker) -> list[str]:  # type: ignore[no-untyped-def]
    return [op for op in dask_worker.handlers if op.startswith("assets-perform")]


def test_each_run_has_a_handler_of_its_own_on_the_workers_and_none_is_left_when_it_ends(tmp_path: Path) -> None:
    """The tables a worker keeps go with its run's performer: the next run, with a changed upstream, reads the new
    values (its own handler, its own tables), and a finished run leaves no handler, so nothing it kept, behind."""
    from distributed import Client

    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    with _cluster(1) as cluster, Client(cluster) as client:
        for value in (1, 5):
            (tmp_path / "defs.py").write_text(CHAIN.replace("FIRST", str(value)))
            workspace = open_workspace(Options(project=str(tmp_path)))
            result = usecases.materialize(workspace, executor="dask", dask_address=cluster.scheduler_address)
            assert result.status == RunStatus.SUCCESS
            (third,) = [o for o in result.outcomes if o.asset == "third"]
            assert third.stored is not None
            stored = workspace.project.storage.read(third.stored.location)
            assert stored.row(0, named=True) == {"x": value, "y": 2 * value, "z": 3 * value}
            workspace.catalog.close()
            deadline = time.monotonic() + 30
            while any(client.run(_handlers).values()):  # the performer is released as the run ends
                assert time.monotonic() < deadline, "a finished run left its handler on the worker"
                time.sleep(0.1)


RESTARTED = '''
import os
import time
from pathlib import Path
from typing import Any

from assets_core import asset

@asset
def quick():
    return {"pid": os.getpid()}

@asset
def slow():
    (Path(__file__).parent / "slow.pid").write_text(str(os.getpid()))
    time.sleep(60)
    return {"x": 2}
'''


def _worker_at(scheduler: str, port: int, threads: int = 1):  # type: ignore[no-untyped-def]
    """A ``dask worker`` process (no nanny, one thread unless told) listening on 127.0.0.1:``port``."""
    import subprocess
    import sys

    command = [str(Path(sys.executable).parent / "dask"), "worker", scheduler, "--no-nanny", "--host", "127.0.0.1",
               "--worker-port", str(port), "--nthreads", str(threads), "--no-dashboard"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("running", [False, True])
def test_a_worker_restarted_at_the_same_address_between_two_looks_gets_a_new_performer_and_takes_tasks(
        tmp_path: Path, running: bool) -> None:
    """kill -9, then a new worker at the same address before the run's watch looks again (held here, so that it
    cannot see the gap): the run notices that the worker is not the one holding its performer, places a new one
    there, and no task fails but the one that was running when the worker died (WorkerDied)."""
    from assets_core.running.dask_backend import DaskBackend

    (tmp_path / "defs.py").write_text(RESTARTED)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace, (quick, slow) = _tasks(tmp_path, "quick", "slow")
    port = _free_port()
    with _cluster(0) as cluster:
        worker = _worker_at(cluster.scheduler_address, port)
        try:
            backend = DaskBackend(cluster.scheduler_address, 1)
            watch = _HeldWatch(backend)
            try:
                (first,) = backend.submit(quick).result(timeout=30)
                assert first.outcome.status == "materialized"
                running_one = backend.submit(slow) if running else None
                if running:
                    _wait_for(lambda: (tmp_path / "slow.pid").exists(), "the asset never started")
                watch.hold()
                worker.kill()
                worker.wait()
                if running_one is not None:
                    with pytest.raises(remote.WorkerDied):
                        running_one.result(timeout=60)
                worker = _worker_at(cluster.scheduler_address, port)
                deadline = time.monotonic() + 20
                back = cluster.scheduler.workers.get(f"tcp://127.0.0.1:{port}")
                while back is None or back.pid != worker.pid:  # registered at the scheduler
                    back = cluster.scheduler.workers.get(f"tcp://127.0.0.1:{port}")
                    assert time.monotonic() < deadline, "the worker did not come back"
                    time.sleep(0.05)
                after = [backend.submit(quick) for _ in range(3)]
                time.sleep(0.5)
                watch.release()
                for future in after:
                    (sent,) = future.result(timeout=60)
                    assert sent.outcome.status == "materialized"
                    assert sent.outcome.stored is not None
            finally:
                watch.release()
                backend.close(abandon=True)
        finally:
            worker.kill()
            worker.wait()
    workspace.catalog.close()


def test_a_worker_that_leaves_is_noticed_at_once_while_a_busy_new_worker_takes_the_performer_slowly(
        tmp_path: Path) -> None:
    """A worker joins with its one thread busy (another client's long task), so the run's performer waits there
    behind it; meanwhile the worker running the run's task stops answering and the scheduler removes it: the task
    fails with WorkerDied within seconds, not once the placing has waited PLACE_SECONDS."""
    from distributed import Client

    from assets_core.running.dask_backend import DaskBackend

    (tmp_path / "defs.py").write_text(RESTARTED)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace = open_workspace(Options(project=str(tmp_path)))
    source = workspace.project.source
    assert isinstance(source, DefinitionsSource)
    slow = remote.Task("slow", "slow", workspace.project.code_versions["slow"], source, workspace.project.storage,
                       {}, {})
    port = _free_port()
    with _cluster(1) as cluster, Client(cluster) as other:
        (first,) = cluster.scheduler.workers
        busy = other.submit(time.sleep, 30, workers=[f"tcp://127.0.0.1:{port}"], pure=False)  # once it joins
        backend = DaskBackend(cluster.scheduler_address, 1)
        joined = None
        pid = None
        try:
            running = backend.submit(slow)
            deadline = time.monotonic() + 30
            pid_file = tmp_path / "slow.pid"
            _wait_for(lambda: pid_file.exists() and pid_file.read_text(), "the asset never started")
            pid = int((tmp_path / "slow.pid").read_text())
            joined = _worker_at(cluster.scheduler_address, port)
            while busy.status == "pending" and not cluster.scheduler.tasks[busy.key].processing_on:
                assert time.monotonic() < deadline, "the new worker never took the long task"
                time.sleep(0.05)
            time.sleep(1.5)  # the run's watch has seen the new worker and is placing its performer there
            os.kill(pid, signal.SIGSTOP)
            cluster.sync(cluster.scheduler.remove_worker, first, stimulus_id="test", close=False)
            with pytest.raises(remote.WorkerDied, match="left the cluster"):
                running.result(timeout=5)
        finally:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
            backend.close(abandon=True)
            busy.cancel()
            if joined is not None:
                joined.kill()
                joined.wait()
    workspace.catalog.close()


NAPPING = '''
import time

from assets_core import asset

@asset
def quick():
    return {"x": 1}

@asset
def nap():
    time.sleep(6)
    return {"x": 2}
'''


def test_a_run_started_while_every_worker_is_busy_with_another_runs_task_waits_for_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The only worker's thread runs a long task of a first run, so the second run's performer waits there: the
    second run starts anyway once PLACE_SECONDS have passed (the worker loads the framework: it is busy, not
    broken), and its task runs when the thread is free, as tasks wait for a worker."""
    from assets_core.running import dask_workers
    from assets_core.running.dask_backend import DaskBackend

    monkeypatch.setattr(dask_workers, "PLACE_SECONDS", 2)
    (tmp_path / "defs.py").write_text(NAPPING)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace, (quick, nap) = _tasks(tmp_path, "quick", "nap")
    with _cluster(1) as cluster:
        first = DaskBackend(cluster.scheduler_address, 1)
        try:
            napping = first.submit(nap)
            time.sleep(1.0)  # under way on the worker's one thread
            second = DaskBackend(cluster.scheduler_address, 1)
            try:
                (sent,) = second.submit(quick).result(timeout=15)
                assert sent.outcome.status == "materialized"
                assert napping.done()  # it ran once the first run's task had ended
            finally:
                second.close(abandon=False)
        finally:
            first.close(abandon=False)
    workspace.catalog.close()
