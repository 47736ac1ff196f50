"""A pool of worker processes in which one that dies fails only the task it was running.

``concurrent.futures.ProcessPoolExecutor`` breaks whole when one worker dies: every task under way fails, and
the pool takes no more. Here each worker process is served by a thread of its own, over a pipe: when the
process dies (killed, out of memory, ``os._exit`` in an asset, a crash in C code) the pipe ends, that task
alone fails with :class:`~assets_core.running.remote.WorkerDied`, and the next task starts a new process.
When the coordinating process dies, its workers exit at once (a lifeline pipe on which nothing is sent ends).

Workers start from a fork server that has the framework (and polars) imported already, so each costs a fork,
not a new interpreter; where there is no fork server (Windows), they are spawned.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from assets_core.errors import AssetsError
from assets_core.running import remote
from assets_core.running.remote import WorkerDied
from assets_core.running.thread_pool import cancel_waiting

PRELOAD = ["assets_core.running.remote"]  # what the fork server imports once for every worker
JOIN_SECONDS = 5.0  # how long a closing pool waits for a worker to exit before it is killed
EXIT_ORPHANED = 70  # a worker's exit code when its coordinating process died


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _serve_tasks(connection: Connection, lifeline: Connection, function: Callable[[Any], Any]) -> None:
    """A worker process: run each task received, send back ("ok", result) or ("error", message), until the
    pipe ends or None arrives.

    Ctrl-C at a terminal reaches every process of the command: a worker leaves it to the coordinating process,
    which stops the run (and kills the workers whose assets will not stop). A worker whose coordinating process
    died (its ``lifeline``, on which nothing is ever sent, ends) exits at once, whatever it is running."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_coordinator, args=(lifeline,), daemon=True).start()
    remote.progress = lambda number: connection.send(("attempt", number))  # which attempt a death would end
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        except Exception as error:  # noqa: BLE001 - a task this process cannot unpickle: that task fails
            connection.send(("error", f"the task cannot be read here: {type(error).__name__}: {error}"))
            continue
        if task is None:
            return
        try:
            answer: tuple[str, Any] = ("ok", function(task))
        except BaseException as error:  # noqa: BLE001 - told to the coordinating process, which records it
            answer = ("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        try:
            connection.send(answer)
        except (EOFError, OSError):
            return
        except Exception as error:  # noqa: BLE001 - the answer cannot be pickled
            connection.send(("error", f"the worker's answer cannot be sent back: {type(error).__name__}: {error}"))


def _exit_with_coordinator(lifeline: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        while True:
            lifeline.recv()
    os._exit(EXIT_ORPHANED)


class ProcessPool:
    """``size`` worker processes running ``function`` (a module-level function) on the tasks submitted."""

    def __init__(self, size: int, function: Callable[[Any], Any], name: str = "asset-worker") -> None:
        self.function, self.name = function, name
        self._context = _context()
        self._tasks: queue.SimpleQueue[tuple[Future[Any], Any] | None] = queue.SimpleQueue()
        self._processes: dict[int, BaseProcess] = {}
        self._lifelines: dict[int, Connection] = {}  # the ends this process holds (and never writes to)
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [threading.Thread(target=self._serve, args=(index,), name=f"{name}-{index}", daemon=True)
                         for index in range(size)]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Any) -> Future[Any]:
        """Queue a task; its future is running once a worker took it (until then it can be cancelled). A closed
        pool takes none: the future fails at once."""
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(AssetsError("the pool of worker processes is closed: the run is over"))
            return future
        self._tasks.put((future, task))
        return future

    def close(self, abandon: bool = False) -> None:
        """Stop the workers once their tasks are done; with ``abandon``, kill those still running one (their
        futures fail with WorkerDied), and cancel the tasks not started."""
        if self._closed:
            return
        self._closed = True
        if abandon:
            cancel_waiting(self._tasks)
            with self._lock:
                for process in self._processes.values():
                    process.kill()
        for _ in self._threads:
            self._tasks.put(None)
        if not abandon:
            for thread in self._threads:
                thread.join()

    def _serve(self, index: int) -> None:
        process: BaseProcess | None = None
        connection: Connection | None = None
        try:
            while True:
                item = self._tasks.get()
                if item is None:
                    return
                future, task = item
                if not future.set_running_or_notify_cancel():
                    continue
                making: int | None = None
                if process is None or connection is None:
                    try:
                        process, connection = self._start(index)
                    except Exception as error:  # noqa: BLE001 - no process (out of memory?): that task fails
                        future.set_exception(WorkerDied(f"a worker process could not be started: {error}"))
                        continue
                try:
                    connection.send(task)
                    answer = connection.recv()
                    while answer[0] == "attempt":  # the worker begins an attempt
                        making = answer[1]
                        answer = connection.recv()
                except (EOFError, OSError):
                    future.set_exception(WorkerDied(self._death(process), making))
                    connection.close()
                    process, connection = None, None
                    continue
                except Exception as error:  # noqa: BLE001 - the task cannot be pickled: that task fails
                    future.set_exception(error)
                    continue
                status, payload = answer
                if status == "ok":
                    future.set_result(payload)
                else:  # not a death: tried again, it would fail again
                    future.set_exception(AssetsError(f"the worker failed outside the asset's code: {payload}"))
        finally:
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.send(None)
                connection.close()
            if process is not None:
                process.join(JOIN_SECONDS)
                if process.is_alive():
                    process.kill()
                    process.join()
                with self._lock:
                    self._processes.pop(index, None)
                    held = self._lifelines.pop(index, None)
                if held is not None:
                    held.close()

    def _start(self, index: int) -> tuple[BaseProcess, Connection]:
        mine, theirs = self._context.Pipe()
        lifeline, held = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_serve_tasks, args=(theirs, lifeline, self.function),
                                        name=f"{self.name}-{index}")  # not a daemon: an asset may start processes
        with self._lock:
            process.start()
            self._processes[index] = process
            old = self._lifelines.pop(index, None)
            self._lifelines[index] = held
        if old is not None:
            old.close()
        theirs.close()
        lifeline.close()
        return process, mine

    def _death(self, process: BaseProcess | None) -> str:
        """Why a worker's pipe ended: how its process ended."""
        if process is None:
            return "the worker process running it is gone"
        process.join(JOIN_SECONDS)
        code = process.exitcode
        with self._lock:
            self._processes = {i: p for i, p in self._processes.items() if p is not process}
        if code is None:
            process.kill()  # gone silent: not left running what nobody waits for
            return "the worker process running it stopped answering"
        if code < 0:
            signal_name = _signal_name(-code)
            return (f"the worker process running it was killed by {signal_name} (out of memory, or killed from "
                    "outside?)")
        return f"the worker process running it exited with code {code} (the asset called os._exit?)"


def _signal_name(number: int) -> str:
    """A signal's name.

    >>> _signal_name(9)
    'SIGKILL'
    """
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
