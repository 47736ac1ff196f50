"""The run's thread pool: its steady threads (one, on a Python with the GIL) while attempts are quick, up to the
run's workers once they are slow; every attempt's result or error through its future; cancelled when not started
at close."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from assets_core.declaring.file_stats import usable_cores
from assets_core.running import thread_pool
from assets_core.running.executors import Threads
from assets_core.running.runs import Outcome
from assets_core.running.thread_pool import ThreadPool, steady_threads, waited


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


def test_quick_attempts_run_no_more_at_once_than_the_steady_threads(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 30.0)  # however loaded the machine, no attempt is slow
    together = threading.Barrier(3, timeout=20)  # the first three meet: all three steady threads take attempts
    attempts = Counting(pause=0.001)

    def run(name: str) -> str:
        if name in ("a0", "a1", "a2"):
            together.wait()
        return attempts(name)

    pool = ThreadPool(workers=6, run=run, steady=3)
    futures = [pool.submit(f"a{index}") for index in range(200)]
    assert [future.result(timeout=60) for future in futures] == [f"A{index}" for index in range(200)]
    pool.close(wait=True)
    assert attempts.most == 3 and sorted(attempts.ran) == sorted(f"a{index}" for index in range(200))


def test_slow_attempts_get_up_to_the_workers_threads_even_on_one_core():
    # Each waits for all the others: they can only finish if all run at once, on 8 threads with 1 core.
    barrier = threading.Barrier(8, timeout=20)
    pool = ThreadPool(workers=8, run=lambda name: barrier.wait(), steady=1)
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

    pool = ThreadPool(workers=4, run=run, steady=1)
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

    pool = ThreadPool(workers=2, run=run, steady=2)
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
    pool = ThreadPool(workers=1, run=run, steady=1)
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
    pool = ThreadPool(workers=2, run=run, steady=1)
    slow, held = pool.submit("slow"), pool.submit("held")
    assert held_begun.wait(30)
    slow_may_end.set()
    threading.Timer(0.3, held_may_end.set).start()
    pool.close(wait=True)  # returns only once "held" ended: its thread is waited for too
    assert held.done() and slow.result(timeout=30) == "slow"
    assert not _pool_threads() - before


def test_threads_that_joined_in_leave_once_the_slow_attempts_end_however_long_the_queue(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 0.2)  # a 1 ms attempt is never this slow, however loaded
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 0.1)  # nor counted as having waited
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
                if state["after"] > 10:  # each thread's first attempt after a slow one counts as slow
                    state["most_after"] = max(state["most_after"], state["running"])
        time.sleep(0.001)
        with lock:
            state["running"] -= 1
            state["quick_done"] += 1
        return name

    pool = ThreadPool(workers=4, run=run, steady=1)
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


def _all_done(pool: ThreadPool[str], count: int) -> None:
    """Submit ``count`` attempts at once, wait for every one, close the pool."""
    futures = [pool.submit(f"a{index}") for index in range(count)]
    for future in futures:
        future.result(timeout=60)
    pool.close(wait=True)


def test_slow_attempts_never_run_more_at_once_than_the_workers():
    attempts = Counting(pause=0.1)
    _all_done(ThreadPool(workers=4, run=attempts, steady=1), 20)
    assert attempts.most == 4


def test_workers_chosen_run_that_many_at_once_even_quick_ones(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 30.0)  # no attempt is slow: only the choice counts
    count = usable_cores() + 2
    barrier = threading.Barrier(count, timeout=20)  # met only if all of them run at once
    threads = Threads(count, lambda name: [Outcome(name, "materialized", str(barrier.wait()))])
    futures = [threads.submit(f"a{index}") for index in range(count)]
    assert sorted(future.result(timeout=30)[0].asset for future in futures) == sorted(f"a{i}" for i in range(count))
    threads.close(abandon=False)
    assert threads.capacity == count


def test_without_workers_chosen_quick_attempts_run_one_at_a_time(monkeypatch):
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: True, raising=False)
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 30.0)
    attempts = Counting(pause=0.002)
    threads = Threads(None, lambda name: [Outcome(attempts(name), "materialized")])
    futures = [threads.submit(f"a{index}") for index in range(100)]
    assert [future.result(timeout=60)[0].asset for future in futures] == [f"A{index}" for index in range(100)]
    threads.close(abandon=False)
    assert attempts.most == 1 and threads.capacity == max(4, usable_cores())


def test_steady_threads_are_one_with_the_gil_and_the_cores_without_it(monkeypatch):
    monkeypatch.delattr(sys, "_is_gil_enabled", raising=False)  # Python 3.12 and before: the GIL always
    assert steady_threads() == 1
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: True, raising=False)
    assert steady_threads() == 1
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)  # a free-threaded Python
    assert steady_threads() == usable_cores()
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 30.0)
    cores = usable_cores()
    together = threading.Barrier(cores, timeout=20)  # met only if as many as the cores run at once
    threads = Threads(None, lambda name: [Outcome(name, "materialized", str(together.wait()))])
    futures = [threads.submit(f"a{index}") for index in range(cores)]
    assert sorted(future.result(timeout=30)[0].asset for future in futures) == sorted(f"a{i}" for i in range(cores))
    threads.close(abandon=False)


def test_an_attempt_after_one_that_waited_in_the_same_thread_is_slow_from_its_start(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)  # only what waited counts
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 0.05)  # a quick attempt never does, however loaded
    began, release = threading.Event(), threading.Event()

    def run(name: str) -> None:
        if name == "waits":
            time.sleep(0.1)
        elif name == "held":
            began.set()
            release.wait(30)

    def held_is_slow() -> int:
        began.clear()
        release.clear()
        held = pool.submit("held")
        assert began.wait(30)
        slow = pool.slow()
        release.set()
        held.result(timeout=30)
        return slow

    pool = ThreadPool(workers=1, run=run, steady=1)
    try:
        pool.submit("quick").result(timeout=30)
        assert held_is_slow() == 0  # after a quick one
        pool.submit("waits").result(timeout=30)
        assert held_is_slow() == 1  # after one that waited 100 ms: slow at once
    finally:
        release.set()
        pool.close(wait=True)


def test_the_watch_looks_seldom_while_attempts_are_quick(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 30.0)
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 30.0)
    monkeypatch.setattr(thread_pool, "QUIET_SECONDS", 0.1)
    monkeypatch.setattr(thread_pool, "WATCH_SECONDS", 0.001)
    looks = []
    slow = ThreadPool.slow

    def counted(self):
        looks.append(1)
        return slow(self)

    monkeypatch.setattr(ThreadPool, "slow", counted)
    pool = ThreadPool(workers=4, run=lambda name: time.sleep(0.001), steady=1)
    began = time.monotonic()
    futures = [pool.submit(f"a{index}") for index in range(300)]
    for future in futures:
        future.result(timeout=60)
    took = time.monotonic() - began
    pool.close(wait=True)
    assert len(looks) <= took / 0.1 + 2  # at the faster pace: one look a millisecond


def test_once_the_watch_finds_a_slow_attempt_the_next_ones_get_threads_at_its_faster_pace(monkeypatch):
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 0.01)
    monkeypatch.setattr(thread_pool, "QUIET_SECONDS", 2.0)
    monkeypatch.setattr(thread_pool, "WATCH_SECONDS", 0.005)
    # Three attempts that wait for each other: none finishes, so only what the watch found can quicken it.
    together = threading.Barrier(3, timeout=20)
    began = time.monotonic()
    pool = ThreadPool(workers=3, run=lambda name: together.wait(), steady=1)
    futures = [pool.submit(f"a{index}") for index in range(3)]
    assert sorted(future.result(timeout=30) for future in futures) == [0, 1, 2]
    took = time.monotonic() - began
    pool.close(wait=True)
    # the first look after 2 s starts one thread, the next, moments later, the other (not 2 s later)
    assert 1.9 <= took < 3.5


def test_attempts_that_are_all_slow_get_as_many_threads_as_the_workers(monkeypatch):
    # Each attempt is under way for 20 ms only two thirds of its time: counting those alone, about three would
    # run at once, not the eight workers.
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 0.02)
    monkeypatch.setattr(thread_pool, "WATCH_SECONDS", 0.005)
    attempts = Counting(pause=0.06)
    pool = ThreadPool(workers=8, run=attempts, steady=1)
    _all_done(pool, 80)
    assert attempts.most == 8
    assert len(pool._waited) <= pool.steady  # nothing kept of the threads that joined in and left


def test_a_chain_of_quick_attempts_beside_a_slow_one_waits_for_no_quiet_look(monkeypatch):
    # The only steady thread is held: each quick attempt, submitted once the one before it ended (as the
    # scheduling loop does along a chain of assets), needs a thread that joined in, with the queue empty between.
    monkeypatch.setattr(thread_pool, "SLOW_SECONDS", 0.02)
    monkeypatch.setattr(thread_pool, "WATCH_SECONDS", 0.005)
    monkeypatch.setattr(thread_pool, "QUIET_SECONDS", 1.0)
    release = threading.Event()
    pool = ThreadPool(workers=2, run=lambda name: release.wait(30) if name == "held" else name, steady=1)
    held = pool.submit("held")
    pool.submit("first").result(timeout=30)  # after the watch's first (quiet) look
    began = time.monotonic()
    for index in range(20):
        assert pool.submit(f"q{index}").result(timeout=30) == f"q{index}"
    took = time.monotonic() - began
    release.set()
    held.result(timeout=30)
    pool.close(wait=True)
    assert took < 0.9  # a quiet look anywhere in the chain would take a second


def test_an_attempt_waited_if_it_computed_less_than_half_its_share_of_the_time(monkeypatch):
    assert waited(0.01, 0.0002, 1) and waited(0.01, 0.0002, 4)  # a 10 ms query, alone or with three others
    assert not waited(0.01, 0.009, 1) and not waited(0.01, 0.003, 4)  # computing, alone or sharing the GIL
    assert not waited(0.0009, 0.0, 1)  # too short to tell
    monkeypatch.setattr(thread_pool, "WAITED_SECONDS", 0.02)
    assert not waited(0.01, 0.0002, 1)
