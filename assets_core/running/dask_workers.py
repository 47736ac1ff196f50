"""The workers a Dask run uses (:mod:`~assets_core.running.dask_backend`): the run's performer placed on each worker
of the cluster, on those that join it too, and the workers that die or leave it lost, with the calls they answered."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from assets_core.errors import ProjectError
from assets_core.imports import late_import
from assets_core.running.performer import Performer, loads_here
from assets_core.running.placement import Waiting

CONNECT_SECONDS = 10  # how long a run waits for the Dask scheduler it is pointed at
WATCH_SECONDS = 0.5  # how often the run asks the scheduler which workers the cluster has
PLACE_SECONDS = 30  # how long a run waits at its start for the workers to take its performer
TAKE_BACK_AFTER = 0.05  # s: a task waiting behind tasks under way that long goes to a worker with a thread free
AHEAD = 1  # tasks sent to a worker beyond its threads: they wait there, and a thread done with one begins the next


@dataclass(eq=False)
class Worker:
    """A worker of the cluster with this run's performer on it, and the calls it is answering."""

    address: str
    threads: int
    performer: Any  # the Dask future of its performer: the performer lives as long as the run holds it
    calls: set[asyncio.Task[None]] = field(default_factory=set)
    unbegun: dict[int, Any] = field(default_factory=dict)  # the calls whose task it has not begun, by ident
    began: float = 0.0  # when it last said it begins a task (time.monotonic())

    def free(self) -> int:
        return self.threads + AHEAD - len(self.calls)


class Workers:
    """The workers of the cluster that a run uses: the base of :class:`~assets_core.running.dask_backend.DaskBackend`,
    whose attributes these are."""

    _lock: threading.Lock
    _idle: threading.Condition
    _stop: threading.Event
    _client: Any
    _loop: Any
    _op: str
    _closed: bool
    _free: int  # tasks the workers in use may still be sent (see AHEAD)
    _waiting: collections.deque[Waiting]
    _workers: dict[str, Worker]
    _gone: dict[str, Worker]  # workers lost while still listed by the scheduler (their performer, their calls)
    _placing: dict[str, Any]  # workers whose performer is on its way (its Dask future)

    def _pump(self) -> None:
        raise NotImplementedError

    def _lose(self, worker: Worker, cancel: bool = True) -> None:
        """Stop sending tasks to a worker. Its calls under way are cancelled (``cancel``: it died, or left the
        cluster), or left to end on their own (it could not take a task: a closing worker refuses new ones but
        answers those it began; one that died breaks their connections) until the scheduler no longer lists it.
        Its address is not used again while the scheduler lists the worker that held the performer (see
        :meth:`_watch`)."""
        with self._lock:
            if self._workers.get(worker.address) is not worker:
                return
            del self._workers[worker.address]
            self._free -= worker.free()
            self._gone[worker.address] = worker
        if cancel:
            self._cancel_calls(worker)

    def _cancel_calls(self, worker: Worker) -> None:
        with self._lock:
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
                threads = self._client.nthreads()
            except Exception:  # noqa: BLE001, S112 - the scheduler out of reach for now: asked again later
                continue
            with self._lock:
                left = [worker for address, worker in self._workers.items()
                        if address not in threads or worker.performer.status != "finished"]
            for worker in left:
                self._lose(worker, cancel=False)  # its calls are cancelled below, with those of the others gone
            with self._lock:
                ended = [worker for address, worker in self._gone.items()
                         if address not in threads or worker.performer.status != "finished"]
                for worker in ended:
                    del self._gone[worker.address]
            for worker in ended:
                self._cancel_calls(worker)  # left the cluster: what it began there is lost
                worker.performer.release()
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
        return unplaceable(errors[0])

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
                    self._workers[address] = Worker(address, threads[address], performer)
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
            settle(left.outer, error=unplaceable(errors[0]))
        return errors


def unplaceable(error: BaseException) -> ProjectError:
    return ProjectError(f"cannot run the tasks on the Dask workers: the run's performer could not be placed on "
                        f"them ({type(error).__name__}: {error}); the scheduler and the workers need the project's "
                        "environment (this framework, the project's imports) installed")


def settle(outer: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    with contextlib.suppress(InvalidStateError):
        if error is None:
            outer.set_result(result)
        else:
            outer.set_exception(error)


def reachable(address: str) -> None:
    """Fail at once when a TCP scheduler address refuses connections (the client would retry until its timeout).

    >>> reachable("inproc://somewhere")  # other protocols are left to the client
    """
    parsed = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
    if parsed.scheme != "tcp" or not parsed.hostname or parsed.port is None:
        return
    socket.create_connection((parsed.hostname, parsed.port), timeout=CONNECT_SECONDS).close()
