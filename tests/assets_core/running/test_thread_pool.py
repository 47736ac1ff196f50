"""The run's thread pool: as many attempts at once as cores while they are quick, up to the run's workers once they
are slow; every attempt's result or error through its future; cancelled when not started at close."""

from __future__ import annotations

import threading
import time

import pytest

from assets_core.declaring.file_stats import usable_cores
from assets_core.running import thread_pool
from assets_core.running.executors import Threads
from assets_core.running.runs import Outcome
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


def _pool_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith(("asset_", "assets-pool"))}


def test_quick_attempts_run_no_more_at_once_than_the_cores(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)  # however loaded the machine, no attempt is slow
    together = threading.Barrier(3, timeout=20)  # the first three meet: all three cores' threads take attempts
    attempts = Counting(pause=0.001)

    def run(name: str) -> str:
        if name in ("a0", "a1", "a2"):
            together.wait()
        return attempts(name)

    pool = ThreadPool(workers=6, run=run, cores=3)
    futures = [pool.submit(f"a{index}") for index in range(200)]
    assert [future.result(timeout=60) for future in futures] == [f"A{index}" for index in range(200)]
    pool.close(wait=True)
    assert attempts.most == 3 and sorted(attempts.ran) == sorted(f"a{index}" for index in range(200))


def test_slow_attempts_get_up_to_the_workers_threads_even_on_one_core():
    # Each waits for all the others: they can only finish if all run at once, on 8 threads with 1 core.
    barrier = threading.Barrier(8, timeout=20)
    pool = ThreadPool(workers=8, run=lambda name: barrier.wait(), cores=1)
    futures = [pool.submit(f"a{index}") for index in range(8)]
    assert sorted(future.result(timeout=30) for future in futures) == list(range(8))
    pool.close(wait=True)


def test_quick_attempts_go_on_while_a_slow_one_holds_the_only_core(monkeypatch):
    quick_done = threading.Event()
    joined = []
    take = ThreadPool._take_while_wanted

    def counted(self):
        joined.append(1)
        take(self)

    monkeypatch.setattr(ThreadPool, "_take_while_wanted", counted)

    def run(name: str) -> str:
        if name == "slow" and not quick_done.wait(30):
            raise AssertionError("the quick attempts waited behind the slow one")
        return name

    pool = ThreadPool(workers=4, run=run, cores=1)
    slow = pool.submit("slow")
    quick = [pool.submit(f"q{index}") for index in range(50)]
    assert [future.result(timeout=30) for future in quick] == [f"q{index}" for index in range(50)]
    quick_done.set()
    assert slow.result(timeout=30) == "slow"
    pool.close(wait=True)
    # one thread joined in for the slow attempt and took the quick ones, not a thread for each of them
    assert 1 <= len(joined) <= 10


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

    before = _pool_threads()
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
    assert not _pool_threads() - before


def test_closing_waits_for_a_thread_that_joined_in_and_leaves_no_thread_behind():
    slow_may_end, held_may_end, held_begun = threading.Event(), threading.Event(), threading.Event()

    def run(name: str) -> str:
        if name == "slow":
            slow_may_end.wait(30)
        else:  # taken by a thread that joined in: the only one that always takes holds "slow"
            held_begun.set()
            held_may_end.wait(30)
        return name

    before = _pool_threads()
    pool = ThreadPool(workers=2, run=run, cores=1)
    slow, held = pool.submit("slow"), pool.submit("held")
    assert held_begun.wait(30)
    slow_may_end.set()
    threading.Timer(0.3, held_may_end.set).start()
    pool.close(wait=True)  # returns only once "held" ended: its thread is waited for too
    assert held.done() and slow.result(timeout=30) == "slow"
    assert not _pool_threads() - before


def test_threads_that_joined_in_leave_once_the_slow_attempts_end_however_long_the_queue(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 0.2)  # a 1 ms attempt is never this slow, however loaded
    slow_may_end, ended = threading.Event(), threading.Event()
    lock = threading.Lock()
    state = {"running": 0, "most_after": 0, "after": 0, "quick_done": 0}

    def run(name: str) -> str:
        if name.startswith("slow"):
            slow_may_end.wait(30)
            return name
        with lock:
            state["running"] += 1
            if ended.is_set():
                state["after"] += 1
                state["most_after"] = max(state["most_after"], state["running"])
        time.sleep(0.001)
        with lock:
            state["running"] -= 1
            state["quick_done"] += 1
        return name

    pool = ThreadPool(workers=4, run=run, cores=1)
    slow = [pool.submit(f"slow{index}") for index in range(3)]
    quick = [pool.submit(f"q{index}") for index in range(600)]
    deadline = time.monotonic() + 30
    while state["quick_done"] < 5 and time.monotonic() < deadline:  # the fourth thread takes the quick ones
        time.sleep(0.01)
    slow_may_end.set()
    for future in slow:
        future.result(timeout=30)
    ended.set()
    for future in quick:
        future.result(timeout=60)
    pool.close(wait=True)
    # after the slow ones, the thread that always takes and at most one that has not yet seen it is not wanted
    assert state["after"] > 100 and state["most_after"] <= 2


def test_slow_attempts_never_run_more_at_once_than_the_workers():
    attempts = Counting(pause=0.1)
    pool = ThreadPool(workers=4, run=attempts, cores=1)
    futures = [pool.submit(f"a{index}") for index in range(20)]
    for future in futures:
        future.result(timeout=60)
    pool.close(wait=True)
    assert attempts.most == 4


def test_workers_chosen_run_that_many_at_once_even_quick_ones(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)  # no attempt is slow: only the choice counts
    count = usable_cores() + 2
    barrier = threading.Barrier(count, timeout=20)  # met only if all of them run at once
    threads = Threads(count, lambda name: [Outcome(name, "materialized", str(barrier.wait()))])
    futures = [threads.submit(f"a{index}") for index in range(count)]
    assert sorted(future.result(timeout=30)[0].asset for future in futures) == sorted(f"a{i}" for i in range(count))
    threads.close(abandon=False)
    assert threads.capacity == count


def test_without_workers_chosen_quick_attempts_run_as_many_at_once_as_the_cores(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)
    cores = usable_cores()
    together = threading.Barrier(cores, timeout=20)
    attempts = Counting(pause=0.001)

    def run(name: str) -> list[Outcome]:
        if int(name[1:]) < cores:
            together.wait()
        return [Outcome(attempts(name), "materialized")]

    threads = Threads(None, run)
    futures = [threads.submit(f"a{index}") for index in range(50)]
    assert [future.result(timeout=60)[0].asset for future in futures] == [f"A{index}" for index in range(50)]
    threads.close(abandon=False)
    assert attempts.most == cores and threads.capacity == max(4, cores)
