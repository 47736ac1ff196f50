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

Each worker is sent one task more than it has threads (:data:`AHEAD`): that one waits there, so a thread done with
a task begins the next without waiting for the answer to reach this process and the next task to come back (0.9 ms
a trivial task on a loaded 2-core machine). The worker says when it begins a task, before it does. A task whose
worker dies, or leaves the cluster, after it began fails at once with :class:`~assets_core.running.remote.WorkerDied`,
and is retried as the asset's policy says; one that had not begun there, or never reached its worker, waits for
another. Until it begins, a task sent ahead can be cancelled (a stopping run starts nothing new), as can one
waiting here: its call ends, and the worker begins none whose connection is closed; so does a run that lets go of
the cluster leave the tasks sent ahead unbegun. Workers that join the cluster (a dead one restarted by its nanny,
even at its old address) get a performer of their own and take tasks; a run started while every worker is busy
(its threads full of other work) waits for one, as its tasks do.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import gc
import logging
import pickle
import socket
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from assets_core.collector import collector_paused
from assets_core.errors import AssetsError, ProjectError
from assets_core.imports import late_import
from assets_core.running.performer import BEGUN, Performer, loads_here
from assets_core.running.placement import Placement, Waiting
from assets_core.running.remote import Task, WorkerDied, stored_inputs, stored_outputs

CONNECT_SECONDS = 10  # how long a run waits for the Dask scheduler it is pointed at
WATCH_SECONDS = 0.5  # how often the run asks the scheduler which workers the cluster has
PLACE_SECONDS = 30  # how long a run waits at its start for the workers to take its performer
OP = "assets-perform"  # the handlers of workers with a performer (one per run): a pickled task in, its answer out
AHEAD = 1  # tasks sent to a worker beyond its threads: they wait there, and a thread done with one begins the next


@dataclass(eq=False)
class _Worker:
    """A worker of the cluster with this run's performer on it, and the calls it is answering."""

    address: str
    threads: int
    performer: Any  # the Dask future of its performer: the performer lives as long as the run holds it
    calls: set[asyncio.Task[None]] = field(default_factory=set)

    def free(self) -> int:
        return self.threads + AHEAD - len(self.calls)


class DaskBackend:
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
                _reachable(address)
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
        self._workers: dict[str, _Worker] = {}
        self._gone: dict[str, Any] = {}  # workers lost while still listed by the scheduler, with their performer
        self._placing: dict[str, Any] = {}  # workers whose performer is on its way (its Dask future)
        self._closed = False
        self._free = 0  # tasks the workers in use may still be sent (see AHEAD)
        self._woken = False  # the event loop is told to send waiting tasks (once is enough)
        self._stop = threading.Event()
        threads = self._client.nthreads()  # type: ignore[no-untyped-call]
        unplaced = self._start(threads) if threads else None  # a cluster without workers: tasks wait for some
        if unplaced is not None:  # before the run is recorded, as a cluster out of reach
            self._client.close()  # type: ignore[no-untyped-call]
            if self._cluster is not None:
                self._cluster.close()
            raise unplaced
        self._watcher = threading.Thread(target=self._watch, name="dask-workers", daemon=True)
        self._watcher.start()

    def submit(self, task: Any) -> Future[Any]:
        """Send a task to a worker once one has a thread free; the future gives what the worker sent back."""
        outer: Future[Any] = Future()
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
                _settle(left.outer, error=ProjectError("the run ended before the task was sent again"))
        try:
            if not abandon:  # the watch goes on meanwhile: a worker that leaves the cluster ends its calls
                with self._idle:
                    self._idle.wait_for(lambda: not any(w.calls for w in self._workers.values()))
            self._stop.set()
            self._watcher.join()
            self._client.close()  # type: ignore[no-untyped-call]
        finally:
            if self._cluster is not None:
                self._cluster.close()

    def _pump(self) -> None:
        """Send waiting tasks to workers with a free thread (in the client's event loop)."""
        with self._lock:
            self._woken = False
        while True:
            with self._lock:
                if self._closed or not self._waiting or self._free <= 0:
                    return
                worker = max(self._workers.values(), key=_Worker.free)
                waiting = self._placement.take(self._waiting, worker.address)
                outer = waiting.outer
                if outer.cancelled():  # cancelled while waiting
                    continue
                call = asyncio.ensure_future(self._call(worker, waiting))
                worker.calls.add(call)
                self._free -= 1
            outer.add_done_callback(functools.partial(self._withdraw, call))

    def _withdraw(self, call: asyncio.Task[None], outer: Future[Any]) -> None:
        """A task cancelled (a stopping run) before its worker began it: its call ends, so the worker never does."""
        if outer.cancelled():
            self._loop.add_callback(call.cancel)

    async def _call(self, worker: _Worker, waiting: Waiting) -> None:
        pool, task, outer = self._client.rpc, waiting.task, waiting.outer
        begun = False  # the worker said it begins the task (it may wait there for a thread first)
        try:
            try:
                comm: Any = await pool.connect(worker.address)
            except OSError:  # the task never reached the worker: it waits for another
                self._again(worker, waiting)
                return
            try:
                await comm.write({"op": self._op, "task": task, "reply": True}, serializers=pool.serializers,
                                 on_error="raise")
                first = await comm.read(deserializers=pool.deserializers)
                if first == BEGUN and not outer.running() and not outer.set_running_or_notify_cancel():
                    raise asyncio.CancelledError  # cancelled as it began: unwanted (running: sent again, see None)
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
        except (OSError, asyncio.CancelledError) as error:  # died, or left the cluster (cancelled by the watch)
            if not begun:  # it was waiting there for a thread: it waits for another worker, unless cancelled
                if not outer.cancelled():
                    self._again(worker, waiting)
                return
            self._lose(worker)
            left = isinstance(error, asyncio.CancelledError)
            why = "it left the cluster" if left else f"{type(error).__name__}: {error}"
            _settle(outer, error=WorkerDied(f"the Dask worker {worker.address} running it died ({why})"))
        except BaseException as error:  # noqa: BLE001 - told to the run as this attempt's failure
            _settle(outer, error=error)
        else:
            try:
                kind, answer = pickle.loads(reply)
            except Exception as error:  # noqa: BLE001 - an answer that cannot be read fails the attempt
                kind, answer = "error", f"its answer cannot be read ({type(error).__name__}: {error})"
            if kind == "ok":
                with contextlib.suppress(Exception):  # a hint for placing the next tasks; an odd answer fails later
                    self._placement.kept(worker.address, [*waiting.inputs, *stored_outputs(answer)])
                _settle(outer, answer)
            else:
                _settle(outer, error=AssetsError(f"the Dask worker {worker.address} could not run it: {answer}"))
        finally:
            with self._idle:
                worker.calls.discard(asyncio.current_task())
                if self._workers.get(worker.address) is worker:
                    self._free += 1
                self._idle.notify_all()
            self._pump()

    def _again(self, worker: _Worker, waiting: Waiting) -> None:
        """A task that never reached ``worker`` (lost) waits for another, first in line."""
        self._lose(worker)
        with self._lock:
            if not self._closed:
                self._waiting.appendleft(waiting)
                return
        _settle(waiting.outer, error=ProjectError("the run ended before the task was sent again"))

    def _lose(self, worker: _Worker) -> None:
        """Stop using a worker that died or left (its other calls end on their own, or are cancelled). Its address
        is not used again while the scheduler lists the worker that held the performer (see :meth:`_watch`)."""
        with self._lock:
            if self._workers.get(worker.address) is not worker:
                return
            del self._workers[worker.address]
            self._free -= worker.free()
            self._gone[worker.address] = worker.performer
            calls = list(worker.calls)
        for call in calls:
            self._loop.add_callback(call.cancel)

    def _watch(self) -> None:
        """Every :data:`WATCH_SECONDS`: lose the workers that left the cluster, use those that joined it.

        A worker restarted at the same address (by its nanny, or ``--worker-port``) may be back before the next look:
        the scheduler then no longer holds the run's performer, which it says was lost (its future erred) when it
        removed the worker that held it; the address is a new worker's, which gets a performer of its own."""
        while not self._stop.wait(WATCH_SECONDS):
            try:
                threads = self._client.nthreads()  # type: ignore[no-untyped-call]
            except Exception:  # noqa: BLE001, S112 - the scheduler out of reach for now: asked again later
                continue
            with self._lock:
                left = [worker for address, worker in self._workers.items()
                        if address not in threads or worker.performer.status != "finished"]
            for worker in left:
                self._lose(worker)
            with self._lock:
                ended = {address: performer for address, performer in self._gone.items()
                         if address not in threads or performer.status != "finished"}
                for address in ended:
                    del self._gone[address]
            for performer in ended.values():
                performer.release()
            self._place(threads)

    def _start(self, threads: dict[str, int]) -> ProjectError | None:
        """Place this run's performer on the workers listed, waiting up to :data:`PLACE_SECONDS` for one to take
        it. None when one has, or when those still placing it are busy (their threads full of other work: the
        tasks wait for them, as on a cluster without workers); else why not: the placing failed (its class cannot
        be loaded there, say), or the workers cannot read the task (Dask then never answers)."""
        with late_import():
            from distributed import wait

        errors = self._place(threads)
        deadline = time.monotonic() + PLACE_SECONDS
        while not self._workers and self._placing and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                wait(list(self._placing.values()), timeout=WATCH_SECONDS,  # type: ignore[no-untyped-call]
                     return_when="FIRST_COMPLETED")
            errors += self._placed(threads)
        if self._workers or (self._placing and self._busy()):
            return None
        if not errors:
            return ProjectError(f"no Dask worker took the run's performer within {PLACE_SECONDS} s: they cannot "
                                "load this framework (install the project's environment on them)")
        return _unplaceable(errors[0])

    def _busy(self) -> bool:
        """Whether a worker still placing the performer loads this framework (so it is busy, not unable to)."""
        try:
            answers = self._client.run(loads_here, workers=list(self._placing), on_error="return",
                                       callback_timeout=PLACE_SECONDS)
        except Exception:  # noqa: BLE001 - no answer: taken as unable
            return False
        return any(answer is True for answer in answers.values())

    def _place(self, threads: dict[str, int]) -> list[BaseException]:
        """Place this run's performer on each worker listed that has none yet, without waiting for it (on a busy
        worker it waits for a thread), and use those placed since (see :meth:`_placed`)."""
        with self._lock:
            new = [address for address in threads if address not in self._workers and address not in self._gone
                   and address not in self._placing and not self._closed]
        for address in new:
            self._placing[address] = self._client.submit(
                Performer, self._op, actor=True, workers=[address], allow_other_workers=False,
                key=f"assets-performer-{uuid.uuid4().hex}", pure=False)
        return self._placed(threads)

    def _placed(self, threads: dict[str, int]) -> list[BaseException]:
        """Use the workers whose performer is placed, give up on those that left the list, and send tasks; the
        errors of the performers that could not be placed. When no worker has one, nor may have, the waiting tasks
        fail with that reason rather than wait for ever."""
        with self._lock:
            ended = {address: performer for address, performer in self._placing.items()
                     if performer.status != "pending" or address not in threads}
            unused = []  # not placed: the worker died or left meanwhile, or the performer failed there
            for address, performer in ended.items():
                del self._placing[address]
                if performer.status == "finished" and not self._closed:
                    self._workers[address] = _Worker(address, threads[address], performer)
                    self._free += threads[address] + AHEAD
                else:
                    unused.append(performer)
        errors = [p.exception() for p in unused if p.status == "error"]
        for performer in unused:
            performer.release()
        with self._lock:
            failed = self._waiting if errors and not self._workers and not self._placing else collections.deque()
            if failed:
                self._waiting = collections.deque()
        self._loop.add_callback(self._pump)
        for left in failed:
            _settle(left.outer, error=_unplaceable(errors[0]))
        return errors


def _unplaceable(error: BaseException) -> ProjectError:
    return ProjectError(f"cannot run the tasks on the Dask workers: the run's performer could not be placed on "
                        f"them ({type(error).__name__}: {error}); the scheduler and the workers need the project's "
                        "environment (this framework, the project's imports) installed")


def _settle(outer: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    with contextlib.suppress(InvalidStateError):
        if error is None:
            outer.set_result(result)
        else:
            outer.set_exception(error)


def _reachable(address: str) -> None:
    """Fail at once when a TCP scheduler address refuses connections (the client would retry until its timeout).

    >>> _reachable("inproc://somewhere")  # other protocols are left to the client
    """
    parsed = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
    if parsed.scheme != "tcp" or not parsed.hostname or parsed.port is None:
        return
    socket.create_connection((parsed.hostname, parsed.port), timeout=CONNECT_SECONDS).close()
