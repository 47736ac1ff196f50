"""The run's worker threads: up to the run's ``workers`` attempts at once, but no more than the machine's cores
while attempts finish quickly.

Python runs the bytecode of one thread at a time (the GIL). Threads beyond the cores help only while attempts
wait (on a database, the network, a sleep) or compute without the GIL, which long attempts do. Short ones gain
nothing from them and lose to them: each system call of one thread hands the GIL to another, a thread's wake-up
every time (a tenth of a run of small assets). So ``cores`` threads take attempts as they come; once attempts
wait in the queue and none was submitted nor finished for :data:`STARVED_SECONDS`, the ones under way are slow,
and more threads join in, up to ``workers``, as the run asks. Each goes on while its own attempts are slow.
Attempts that wait for each other (a barrier, a queue between two assets) therefore all run, a moment later.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from assets_core.declaring.file_stats import usable_cores

STARVED_SECONDS = 0.05  # no attempt submitted nor finished for this long, and some wait: the others join in

T = TypeVar("T")


class ThreadPool(Generic[T]):
    """Threads running ``run(name)`` for each submitted name: ``cores`` of them at all times, and up to ``workers``
    while the attempts under way are slow."""

    def __init__(self, workers: int, run: Callable[[str], T], cores: int | None = None) -> None:
        self._run = run
        self._queue: queue.SimpleQueue[tuple[Future[T], str] | None] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._moved_at = time.monotonic()  # the last time an attempt was submitted or finished
        self.steady = max(1, min(workers, cores or usable_cores()))
        self._spare = max(0, workers - self.steady)  # the threads that may join in, not running now
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._take_always, name=f"asset_{index}")
                         for index in range(self.steady)]
        if self._spare:
            self._threads.append(threading.Thread(target=self._watch, name="asset_watch"))
        for thread in self._threads:
            thread.start()

    def submit(self, name: str) -> Future[T]:
        """Run ``run(name)`` in one of the threads; its future gives what it returned (or raised)."""
        if self._closing.is_set():
            raise RuntimeError("cannot submit an attempt to a closed thread pool")
        future: Future[T] = Future()
        self._moved_at = time.monotonic()
        self._queue.put((future, name))
        return future

    def close(self, wait: bool) -> None:
        """Cancel what has not started, stop the threads once their attempts are done, and wait for them if
        ``wait`` (else they are abandoned: an attempt that will not stop must not hold the run)."""
        if not self._closing.is_set():
            self._closing.set()
            self._cancel_waiting()
            for _ in range(self.steady):
                self._queue.put(None)  # the end, for each thread that always takes
        if wait:
            with self._lock:
                threads = list(self._threads)
            for thread in threads:
                thread.join()

    def _cancel_waiting(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[0].cancel()

    def _starved(self) -> bool:
        return time.monotonic() - self._moved_at >= STARVED_SECONDS

    def _take_always(self) -> None:
        while (item := self._queue.get()) is not None:
            self._perform(*item)

    def _watch(self) -> None:
        """While attempts wait and none was submitted nor finished for a while, start more threads."""
        while not self._closing.wait(STARVED_SECONDS):
            if not self._starved():
                continue
            with self._lock:
                joining = min(self._spare, self._queue.qsize())
                self._spare -= joining
                started = [threading.Thread(target=self._take_while_slow, name=f"asset_{len(self._threads) + index}")
                           for index in range(joining)]
                self._threads += started
            for thread in started:
                thread.start()

    def _take_while_slow(self) -> None:
        """Take attempts while they are slow: until one of this thread's own was quick and the others are not
        starved of threads."""
        slow = True
        try:
            while (slow or self._starved()) and not self._closing.is_set():
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    return
                if item is None:  # an end meant for a thread that always takes
                    self._queue.put(None)
                    return
                begun = time.monotonic()
                self._perform(*item)
                slow = time.monotonic() - begun >= STARVED_SECONDS
        finally:
            with self._lock:
                self._spare += 1

    def _perform(self, future: Future[T], name: str) -> None:
        if not future.set_running_or_notify_cancel():  # cancelled while it waited
            return
        try:
            result = self._run(name)
        except BaseException as error:  # noqa: BLE001 - handed to whoever waits for the future, as an executor does
            self._moved_at = time.monotonic()
            future.set_exception(error)
        else:
            self._moved_at = time.monotonic()
            future.set_result(result)
