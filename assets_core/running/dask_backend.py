"""Running a run's tasks on a Dask cluster: each task is a call straight to a worker, not a task of the cluster's
scheduler.

The run places one :class:`~assets_core.running.performer.Performer` (a Dask actor) on each worker of the cluster,
through the scheduler, once; the performer adds a handler of the run's to its worker (named after :data:`OP` and the
run's performers, as Dask's own shuffle extension adds its own), and each task is then sent, pickled, to a worker
that has a thread free (or soon: see below), whose answer comes back on the same connection. The performer keeps
the tables its worker stored or read for the run (:mod:`~assets_core.running.kept`), so a task there reads those
inputs without going to storage; a worker with a free thread takes, of the next tasks waiting, one whose inputs it
keeps (:mod:`~assets_core.running.placement`).
Going through the scheduler cost each task a dozen messages between four processes (submit, update the graph,
compute, finished, fetch the result through the scheduler, release): about 20 ms and 20 ms of CPU per trivial
task on a loaded 2-core machine, against 3 ms and 3 ms for a call. Pickled by the framework rather than by
Dask's serialization, a task and its answer cost 0.15 ms instead of 1 ms each to send and read.

Each worker is sent one task more than it has threads (:data:`~assets_core.running.dask_workers.AHEAD`): that one
waits there, so a thread done with a task begins the next without waiting for the answer to reach this process and
the next task to come back (0.9 ms a trivial task on a loaded 2-core machine). The worker says when it begins a task,
before it does (:mod:`~assets_core.running.ahead`), and the run may take back a task its worker has not begun: to
cancel it (a stopping run), or to give it to a worker with a thread free when none waits here. A task whose worker
dies, or leaves the cluster, after it began fails at once with :class:`~assets_core.running.remote.WorkerDied`, and
is retried as the asset's policy says; one that had not begun there, or never reached its worker, waits for another
(and that worker is sent no more: a closing worker refuses new tasks, but still answers those it began).
Workers that join the cluster (a dead one restarted by its nanny, even at its old address) get a performer of their
own and take tasks; a run started while every worker is busy (its threads full of other work) waits for one, as its
tasks do (:mod:`~assets_core.running.dask_workers`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import itertools
import logging
import pickle
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any

from assets_core.collector import collector_paused
from assets_core.errors import AssetsError, ProjectError
from assets_core.imports import late_import
from assets_core.running.ahead import BEGUN, TAKE_BACK, TAKEN_BACK
from assets_core.running.dask_workers import CONNECT_SECONDS, TAKE_BACK_AFTER, Worker, Workers, reachable, settle
from assets_core.running.placement import Placement, Waiting
from assets_core.running.remote import Task, WorkerDied, stored_inputs, stored_outputs

OP = "assets-perform"  # the handlers of workers with a performer (one per run): a pickled task in, its answer out
TAKE_BACK_SECONDS = 1.0  # how long cancelling a task waits for its worker to take it back (a stop waits for each)


class _Sent(Future[Any]):
    """A task's future: cancelled while it waits here, or on a worker that has not begun it (taken back)."""

    def __init__(self, backend: DaskBackend) -> None:
        super().__init__()
        self.backend = backend
        self.sent: tuple[Worker, int] | None = None  # the worker and ident of its call, until the worker begins it
        self.withdrawing = False  # being taken back to be cancelled

    def cancel(self) -> bool:
        return self.backend._cancel(self)

    def cancel_here(self) -> bool:
        return super().cancel()


class DaskBackend(Workers):
    """Tasks on a ``dask.distributed`` cluster: the one at ``address``, or a local one started for the run with
    one single-threaded worker process per core. No more tasks are under way on a worker than it has threads,
    and :data:`AHEAD` more waiting there; the others wait here, cancellable, in the loop's order, except that a
    free thread may take one of the next few waiting ahead of the first (:mod:`~assets_core.running.placement`)."""

    def __init__(self, address: str | None, workers: int) -> None:
        try:
            with late_import(), collector_paused():
                from distributed import Client, LocalCluster

                # The ~100,000 objects of that import live as long as the process: frozen, before the collector
                # is on again, they are out of its later full passes and of the one at exit (0.2 s of CPU).
                gc.freeze()
        except ImportError as error:
            raise ProjectError(f"the dask executor needs dask.distributed, which is not installed ({error}); "
                               "install it with: pip install 'assets[dask]'") from error
        self._cluster: Any = None
        try:
            if address:
                reachable(address)
                self._client = Client(address, timeout=f"{CONNECT_SECONDS}s")  # type: ignore[no-untyped-call]
            else:
                self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=logging.ERROR)  # type: ignore[no-untyped-call]
                self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
        except BaseException as error:
            if self._cluster is not None:  # started, then the client failed: not left running
                self._cluster.close()
            if not isinstance(error, (OSError, TimeoutError)):
                raise
            where = f"the Dask scheduler at {address}" if address else "a local Dask cluster"
            raise ProjectError(f"cannot reach {where} ({error}); start the scheduler ('dask scheduler') and "
                               "its workers, fix --dask-address / ASSETS_DASK_ADDRESS, or leave it out to "
                               "start a local cluster") from error
        self._loop: Any = self._client.loop
        self._op = f"{OP}-{uuid.uuid4().hex}"  # this run's handler on each worker
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # told when a call ends
        self._waiting: collections.deque[Waiting] = collections.deque()
        self._placement = Placement()
        self._workers: dict[str, Worker] = {}
        self._gone: dict[str, Worker] = {}  # workers lost while still listed by the scheduler
        self._placing: dict[str, Any] = {}  # workers whose performer is on its way (its Dask future)
        self._closed = False
        self._free = 0  # tasks the workers in use may still be sent (see AHEAD)
        self._woken = False  # the event loop is told to send waiting tasks (once is enough)
        self._idents = itertools.count(1)  # of the calls: a worker takes back a task by its ident
        self._rebalancing: set[int] = set()  # idents being taken back for a worker with a thread free
        self._looking_again = False  # a look for a task to take back is due (see _rebalance)
        self._stop = threading.Event()
        threads = self._client.nthreads()
        unplaced = self._start(threads) if threads else None  # a cluster without workers: tasks wait for some
        if unplaced is not None:  # before the run is recorded, as a cluster out of reach
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            raise unplaced
        self._watcher = threading.Thread(target=self._watch, name="dask-workers", daemon=True)
        self._watcher.start()

    def submit(self, task: Any) -> Future[Any]:
        """Send a task to a worker once one has a thread free; the future gives what the worker sent back."""
        outer = _Sent(self)
        pickled = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)  # one that cannot be sent fails here, alone
        inputs = stored_inputs(task) if isinstance(task, Task) else ()
        with self._lock:
            if self._closed:
                raise ProjectError("the Dask executor is closed")
            self._waiting.append(Waiting(pickled, outer, inputs))
            wake = self._free > 0 and not self._woken  # else the end of a call, or a new worker, sends it
            self._woken = self._woken or wake
        if wake:
            self._loop.add_callback(self._pump)
        return outer

    def close(self, abandon: bool) -> None:
        """Cancel the waiting tasks; wait for those under way (unless ``abandon``: a worker finishes them, but
        nobody listens), then let go of the cluster."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiting, self._waiting = list(self._waiting), collections.deque()
        for left in waiting:
            if not left.outer.cancel():  # sent once, to a worker that was gone: never ran
                settle(left.outer, error=ProjectError("the run ended before the task was sent again"))
        try:
            if not abandon:  # the watch goes on meanwhile: a worker that leaves the cluster ends its calls
                with self._idle:
                    self._idle.wait_for(lambda: not any(w.calls for w in self._workers.values()))
            self._stop.set()
            self._watcher.join()
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()

    def _pump(self) -> None:
        """Send waiting tasks to workers with a free thread (in the client's event loop); with none waiting, give
        a worker with a thread free a task sent ahead to another that has not begun it."""
        with self._lock:
            self._woken = False
        while True:
            with self._lock:
                if self._closed or self._free <= 0:
                    return
                if not self._waiting:
                    break
                worker = max(self._workers.values(), key=Worker.free)
                waiting = self._placement.take(self._waiting, worker.address)
                outer = waiting.outer
                if outer.cancelled():  # cancelled while waiting
                    continue
                ident = next(self._idents)
                call = asyncio.ensure_future(self._call(worker, waiting, ident))
                worker.calls.add(call)
                if isinstance(outer, _Sent):
                    outer.sent = (worker, ident)
                    worker.unbegun[ident] = outer
                self._free -= 1
        self._rebalance()

    def _rebalance(self) -> None:
        """With a thread free on a worker, and no task waiting here: take back a task waiting behind tasks that have
        been under way on their worker for :data:`TAKE_BACK_AFTER` (sooner, it would likely begin there before it
        could reach the free thread); with none yet, look again when the first one has."""
        now = time.monotonic()
        with self._lock:
            if self._closed or not any(len(worker.calls) < worker.threads for worker in self._workers.values()):
                return
            behind = [(worker.began + TAKE_BACK_AFTER, worker, ident) for worker in self._workers.values()
                      if len(worker.calls) > worker.threads for ident, outer in worker.unbegun.items()
                      if ident not in self._rebalancing and not outer.withdrawing]
            if not behind:
                return
            due, worker, ident = min(behind, key=lambda found: found[0])
            if due > now:
                if not self._looking_again:
                    self._looking_again = True
                    self._loop.call_later(due - now, self._look_again)
                return
            self._rebalancing.add(ident)
        asyncio.ensure_future(self._take_back(worker, ident))

    def _look_again(self) -> None:
        with self._lock:
            self._looking_again = False
        self._pump()

    async def _take_back(self, worker: Worker, ident: int) -> bool:
        """Ask ``worker`` to take back a task it has not begun: True when it never will (its call then ends)."""
        pool = self._client.rpc
        try:
            comm: Any = await pool.connect(worker.address)
            try:
                await comm.write({"op": self._op + TAKE_BACK, "ident": ident, "reply": True},
                                 serializers=pool.serializers, on_error="raise")
                answer = await comm.read(deserializers=pool.deserializers)
            except BaseException:
                comm.abort()
                raise
            finally:
                pool.reuse(worker.address, comm)
        except (OSError, asyncio.CancelledError):
            return False
        finally:
            with self._lock:
                self._rebalancing.discard(ident)
        return answer is True

    def _cancel(self, outer: _Sent) -> bool:
        """Cancel a task that has not begun: at once while it waits here, else when its worker takes it back."""
        with self._lock:
            if outer.sent is None or outer.running() or outer.done():
                return outer.cancel_here()
            worker, ident = outer.sent
            if outer.withdrawing or _in_loop(self._loop):  # the loop cannot wait for its own answer
                return False
            outer.withdrawing = True
        asked = asyncio.run_coroutine_threadsafe(self._take_back(worker, ident), self._loop.asyncio_loop)
        try:
            taken = asked.result(timeout=TAKE_BACK_SECONDS)
        except Exception:  # noqa: BLE001 - no answer in time (a frozen worker): it may have begun
            asked.cancel()
            taken = False
        with self._lock:  # no answer, but back here meanwhile (given back, or its worker lost): left to this cancel
            outer.withdrawing = taken or (outer.sent is None and not outer.running())
            return outer.withdrawing and outer.cancel_here()

    async def _call(self, worker: Worker, waiting: Waiting, ident: int) -> None:
        pool, task, outer = self._client.rpc, waiting.task, waiting.outer
        begun = False  # the worker said it begins the task (it may wait there for a thread first)
        try:
            try:
                comm: Any = await pool.connect(worker.address)
            except OSError:  # the task never reached the worker: it waits for another
                self._again(worker, waiting)
                return
            try:
                await comm.write({"op": self._op, "task": task, "ident": ident, "reply": True},
                                 serializers=pool.serializers, on_error="raise")
                first = await comm.read(deserializers=pool.deserializers)
                if first == BEGUN:
                    with self._lock:  # running in the same section: a cancel never finds it neither sent nor running
                        worker.began = time.monotonic()
                        worker.unbegun.pop(ident, None)
                        if isinstance(outer, _Sent):
                            outer.sent = None
                        wanted = outer.running() or outer.set_running_or_notify_cancel()  # running: sent again
                    if not wanted:
                        raise asyncio.CancelledError  # cancelled as it began: unwanted
                begun = first == BEGUN
                reply = await comm.read(deserializers=pool.deserializers) if begun else first
            except BaseException:
                comm.abort()  # never reused: an answer may still be on its way
                raise
            finally:
                pool.reuse(worker.address, comm)
            if reply is None:  # never ran it: no handler of the run there (another worker at its address), or closing
                self._again(worker, waiting)
                return
            if not begun and reply == TAKEN_BACK:  # to be cancelled, or for a worker with a thread free
                self._back(waiting)
                return
        except (OSError, asyncio.CancelledError) as error:  # died, or left the cluster (cancelled by the watch)
            if not begun:  # it was waiting there for a thread: it waits for another worker, unless cancelled
                if not outer.cancelled():
                    self._again(worker, waiting)
                return
            self._lose(worker)
            left = isinstance(error, asyncio.CancelledError)
            why = "it left the cluster" if left else f"{type(error).__name__}: {error}"
            settle(outer, error=WorkerDied(f"the Dask worker {worker.address} running it died ({why})"))
        except BaseException as error:  # noqa: BLE001 - told to the run as this attempt's failure
            settle(outer, error=error)
        else:
            try:
                kind, answer = pickle.loads(reply)
            except Exception as error:  # noqa: BLE001 - an answer that cannot be read fails the attempt
                kind, answer = "error", f"its answer cannot be read ({type(error).__name__}: {error})"
            if kind == "ok":
                with contextlib.suppress(Exception):  # a hint for placing the next tasks; an odd answer fails later
                    self._placement.kept(worker.address, [*waiting.inputs, *stored_outputs(answer)])
                settle(outer, answer)
            else:
                settle(outer, error=AssetsError(f"the Dask worker {worker.address} could not run it: {answer}"))
        finally:
            with self._idle:
                worker.calls.discard(asyncio.current_task())
                worker.unbegun.pop(ident, None)
                if isinstance(outer, _Sent) and outer.sent == (worker, ident):
                    outer.sent = None
                if self._workers.get(worker.address) is worker:
                    self._free += 1
                self._idle.notify_all()
            self._pump()

    def _back(self, waiting: Waiting) -> None:
        """A task its worker gave back unbegun (or never began) waits here again, first in line, unless it is being
        cancelled."""
        with self._lock:
            if self._withdrawn(waiting.outer):
                return
            if not self._closed:
                self._waiting.appendleft(waiting)
                return
        settle(waiting.outer, error=ProjectError("the run ended before the task was sent again"))

    def _withdrawn(self, outer: Future[Any]) -> bool:
        """A task back here (under the lock) is sent nowhere now: True when cancelled, or left to the cancel under way
        (whose take-back could otherwise find it sent again elsewhere, and cancel it here while it begins there)."""
        if isinstance(outer, _Sent):
            outer.sent = None
            return outer.cancelled() or outer.withdrawing and not outer.running()  # running: never cancelled
        return outer.cancelled()

    def _again(self, worker: Worker, waiting: Waiting) -> None:
        """A task that never ran on ``worker`` waits for another, first in line; the worker takes no more tasks, and
        those it began are not cancelled for this: a closing worker refuses new tasks but answers those it began
        (see :meth:`_lose`)."""
        self._lose(worker, cancel=False)
        self._back(waiting)


def _in_loop(loop: Any) -> bool:
    """Whether this thread runs the (tornado) event loop ``loop``."""
    try:
        return asyncio.get_running_loop() is loop.asyncio_loop
    except RuntimeError:
        return False
