"""The run's worker threads: up to ``workers`` attempts at once, but one at a time while attempts finish quickly.

Python runs the bytecode of one thread at a time (the GIL). More threads help only while attempts wait (on a
database, the network, a sleep) or compute without the GIL, which slow attempts do. Quick ones gain nothing from
them and lose to them: each system call of one thread hands the GIL to another, a thread's wake-up every time.
On a 2-core machine, a run of 10,000 small assets took a quarter longer with two threads than with one, the
scheduling loop in the main thread being the other. So one thread takes attempts as they come (``steady``; as
many as the cores on a Python without the GIL); and for every slow attempt under way, one more thread may take
the attempts waiting in the queue, up to ``workers`` in all: a slow attempt gives its place to another, as the
run's ``workers`` asks. An attempt is slow once under way for :data:`SLOW_SECONDS`, or from its start if the
one before it in the same thread :func:`waited`: assets that each wait 3 or 10 ms for a database are then all
counted, not only those past 5 ms, and as many run at once as the workers allow. Attempts that compute are
not counted so from their start (with more threads each would only take longer, its share of the GIL smaller),
only once under way for 5 ms. A thread that joined in leaves once it is no longer wanted (fewer slow attempts
under way than threads that joined in, its own next one counted if its last one waited) or the queue is
empty. Attempts that wait for each other (a barrier, a queue between two assets) therefore all run, a
moment later.

A watch thread starts the threads that join in. It looks every :data:`WATCH_SECONDS` while some attempt under
way is slow, and every :data:`QUIET_SECONDS` while none is: each look takes the GIL from the thread at work,
which would cost a run of small assets a few percent at the faster pace.

No thread waits for the queue with a timeout. In CPython 3.11, ``SimpleQueue.get(timeout=...)`` can wait for
ever when its deadline passes while another thread takes the attempt that woke it (the time left, negative,
then means no limit): a close of the pool hung on such a thread.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from assets_core.declaring.file_stats import usable_cores

SLOW_SECONDS = 0.005  # an attempt under way this long is slow: another thread may take the next one
WATCH_SECONDS = 0.0025  # how often the watch looks for slow attempts while it finds some
QUIET_SECONDS = 0.05  # how often it looks while it finds none
WAITED_SECONDS = 0.001  # an attempt shorter than this never counts as having waited

T = TypeVar("T")


def cancel_waiting(waiting: queue.SimpleQueue[tuple[Future[Any], Any] | None]) -> None:
    """Cancel the future of every task left in a pool's queue (the ends put there for its threads are dropped)."""
    while True:
        try:
            item = waiting.get_nowait()
        except queue.Empty:
            return
        if item is not None:
            item[0].cancel()


def waited(took: float, computed: float, together: int) -> bool:
    """Whether an attempt that took ``took`` seconds, ``computed`` of them computing in its own thread, while
    ``together`` attempts were under way, waited (on the network, a database, a sleep) more than it computed:
    its thread computed less than half of its share of the time (Python runs one thread at a time).

    >>> waited(0.003, 0.0001, 1), waited(0.003, 0.0028, 1), waited(0.008, 0.0019, 4), waited(0.0005, 0.0, 1)
    (True, False, False, False)
    """
    return took >= WAITED_SECONDS and computed * together < took / 2


def steady_threads() -> int:
    """How many threads take quick attempts: one where Python has the GIL, else one per usable core."""
    gil = getattr(sys, "_is_gil_enabled", None)  # Python 3.13 and later
    return 1 if gil is None or gil() else usable_cores()


class ThreadPool(Generic[T]):
    """Threads running ``run(name)`` for each submitted name: ``steady`` of them at all times (by default
    :func:`steady_threads`), and one more for each slow attempt, up to ``workers``."""

    def __init__(self, workers: int, run: Callable[[str], T], steady: int | None = None) -> None:
        self._run = run
        self.workers = max(1, workers)
        self.steady = min(self.workers, max(1, steady or steady_threads()))
        self._queue: queue.SimpleQueue[tuple[Future[T], str] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _closing, _spares and _started
        self._closing = False
        self._stopped = threading.Event()  # set once closing: ends the watch's wait
        self._spares: set[threading.Thread] = set()  # the threads that joined in and still take attempts
        self._started: list[threading.Thread] = []  # every one that joined in and may not have ended yet
        # thread -> when its attempt began; each thread sets and removes only its own (single dict operations)
        self._begun: dict[threading.Thread, float] = {}
        self._waited: dict[threading.Thread, bool] = {}  # thread -> whether its last attempt waited (the same)
        self._threads = [threading.Thread(target=self._take_always, name=f"asset_{index}")
                         for index in range(self.steady)]
        if self.workers > self.steady:
            self._threads.append(threading.Thread(target=self._watch, name="assets-pool-watch"))
        try:
            for thread in self._threads:
                thread.start()
        except BaseException:
            self._threads = [thread for thread in self._threads if thread.ident is not None]
            self.close(wait=False)
            raise

    def submit(self, name: str) -> Future[T]:
        """Run ``run(name)`` in one of the threads; its future gives what it returned (or raised)."""
        future: Future[T] = Future()
        with self._lock:  # never after the ends that close puts in the queue
            if self._closing:
                raise RuntimeError("cannot submit an attempt to a closed thread pool")
            self._queue.put((future, name))
        return future

    def close(self, wait: bool) -> None:
        """Cancel what has not started, stop the threads once their attempts are done, and wait for them if
        ``wait`` (else they are abandoned: an attempt that will not stop must not hold the run)."""
        with self._lock:
            first, self._closing = not self._closing, True
            spares = list(self._started)  # none joins in once closing
        if first:
            self._stopped.set()
            cancel_waiting(self._queue)
            for _ in range(self.steady):
                self._queue.put(None)  # the end, for each thread that always takes
        if wait:
            for thread in [*self._threads, *spares]:
                if thread is not threading.current_thread():
                    thread.join()

    def _wanted(self) -> int:
        """How many threads may take attempts now: the steady ones, and one more for each slow attempt."""
        return min(self.workers, self.steady + self.slow())

    def slow(self) -> int:
        """How many attempts under way are slow: under way for :data:`SLOW_SECONDS`, or after one that waited in
        the same thread."""
        now, waited_before = time.monotonic(), self._waited
        return sum(1 for thread, begun in self._begun.copy().items()  # a copy taken in one step
                   if now - begun >= SLOW_SECONDS or waited_before.get(thread, False))

    def _take_always(self) -> None:
        while (item := self._queue.get()) is not None:
            self._perform(*item)

    def _watch(self) -> None:
        """While attempts wait in the queue, start a thread for each slow attempt under way."""
        pace = QUIET_SECONDS
        while not self._stopped.wait(pace):
            wanted = self._wanted()  # more than the steady threads (the watch runs only if it can be): slow ones
            pace = WATCH_SECONDS if wanted > self.steady else QUIET_SECONDS
            waiting = self._queue.qsize()
            if wanted == self.steady or not waiting:
                continue
            with self._lock:
                if self._closing:
                    return
                joining = min(wanted - self.steady - len(self._spares), waiting)
                self._started = [thread for thread in self._started if thread.is_alive()]
                for _ in range(max(0, joining)):
                    thread = threading.Thread(target=self._take_while_wanted, name="asset_spare")
                    try:
                        thread.start()
                    except Exception:  # noqa: BLE001 - no more threads to be had: the ones there go on
                        break
                    self._spares.add(thread)
                    self._started.append(thread)

    def _take_while_wanted(self) -> None:
        """Take attempts while slow ones keep this thread wanted and some wait in the queue."""
        me = threading.current_thread()
        try:
            while not self._closing:
                with self._lock:  # this thread's next attempt is slow from its start if its last one waited
                    if self.steady + len(self._spares) > self._wanted() + self._waited.get(me, False):
                        self._spares.discard(me)  # now, so that the next spare to ask counts without it
                        return  # fewer slow attempts now: one thread too many, this one
                try:  # never a wait with a timeout (see the module's text)
                    item = self._queue.get_nowait()
                except queue.Empty:
                    return
                if item is None:  # an end meant for a thread that always takes
                    self._queue.put(None)
                    return
                self._perform(*item)
        finally:
            with self._lock:
                self._spares.discard(me)
            self._waited.pop(me, None)

    def _perform(self, future: Future[T], name: str) -> None:
        if not future.set_running_or_notify_cancel():  # cancelled while it waited
            return
        me, computed = threading.current_thread(), time.thread_time()
        self._begun[me] = begun = time.monotonic()
        try:
            result = self._run(name)
        except BaseException as error:  # noqa: BLE001 - handed to whoever waits for the future, as an executor does
            self._end(me, begun, computed)
            future.set_exception(error)
        else:
            self._end(me, begun, computed)
            future.set_result(result)

    def _end(self, me: threading.Thread, begun: float, computed: float) -> None:
        it_waited = waited(time.monotonic() - begun, time.thread_time() - computed, len(self._begun))
        del self._begun[me]
        self._waited[me] = it_waited
