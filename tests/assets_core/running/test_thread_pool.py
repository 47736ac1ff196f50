"""The run's thread pool: as many attempts at once as cores while they are quick, up to the run's workers once they
are slow; every attempt's result or error through its future; cancelled when not started at close."""

from __future__ import annotations

import threading
import time

import pytest

from assets_core.running import thread_pool
from assets_core.running.thread_pool import ThreadPool


class Counting:
    """Attempts that note how many run at once."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.ran: list[str] = []

    def __call__(self, name: str) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.pause)
        with self.lock:
            self.running -= 1
            self.ran.append(name)
        return name.upper()


def test_quick_attempts_run_no_more_at_once_than_the_cores(monkeypatch):
    monkeypatch.setattr(thread_pool, "STARVED_SECONDS", 30.0)  # however loaded the machine, no thread joins in
    attempts = Counting(pause=0.001)
    pool = ThreadPool(workers=6, run=attempts, cores=2)
    futures = [pool.submit(f"a{index}") for index in range(200)]
    assert [future.result(timeout=60) for future in futures] == [f"A{index}" for index in range(200)]
    pool.close(wait=True)
    assert attempts.most == 2 and sorted(attempts.ran) == sorted(f"a{index}" for index in range(200))


def test_slow_attempts_get_up_to_the_workers_threads_even_on_one_core():
    # Each waits for all the others: they can only finish if all run at once, on 4 threads with 1 core.
    barrier = threading.Barrier(4, timeout=20)
    pool = ThreadPool(workers=4, run=lambda name: barrier.wait(), cores=1)
    futures = [pool.submit(f"a{index}") for index in range(4)]
    assert sorted(future.result(timeout=30) for future in futures) == [0, 1, 2, 3]
    pool.close(wait=True)


def test_threads_that_joined_in_go_on_while_their_attempts_are_slow():
    attempts = Counting(pause=0.2)
    pool = ThreadPool(workers=4, run=attempts, cores=1)
    futures = [pool.submit(f"a{index}") for index in range(12)]
    for future in futures:
        future.result(timeout=60)
    pool.close(wait=True)
    assert attempts.most == 4
    # the one that always takes, the watch, and the 3 that joined in once and ran the later attempts too (a
    # thread that left after each attempt would be started again for the next)
    assert len(pool._threads) == 5


def test_an_error_of_an_attempt_reaches_its_future_alone():
    def run(name: str) -> str:
        if name == "bad":
            raise ValueError("no")
        return name

    pool = ThreadPool(workers=2, run=run, cores=2)
    bad, good = pool.submit("bad"), pool.submit("good")
    with pytest.raises(ValueError, match="no"):
        bad.result(timeout=30)
    assert good.result(timeout=30) == "good"
    pool.close(wait=True)


def test_closing_cancels_what_has_not_started_and_abandons_what_runs():
    release = threading.Event()
    started = threading.Event()

    def run(name: str) -> str:
        started.set()
        release.wait(30)
        return name

    pool = ThreadPool(workers=1, run=run, cores=1)
    running, waiting = pool.submit("running"), pool.submit("waiting")
    assert started.wait(30)
    pool.close(wait=False)  # returns at once: the running attempt is abandoned, not waited for
    assert waiting.cancelled() and not running.done()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit("late")
    release.set()
    assert running.result(timeout=30) == "running"
    pool.close(wait=True)  # a second close waits for the threads
    assert not any(thread.name.startswith("asset_") and thread.is_alive() for thread in pool._threads)


def test_a_closed_pool_leaves_no_thread_behind():
    before = threading.active_count()
    pool = ThreadPool(workers=5, run=str.upper, cores=2)
    assert [pool.submit(name).result(timeout=30) for name in ("a", "b")] == ["A", "B"]
    pool.close(wait=True)
    assert threading.active_count() == before
