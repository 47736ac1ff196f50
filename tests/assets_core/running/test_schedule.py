"""The scheduling loop's wait for finished attempts: every attempt is taken, in order; the loop is woken only when
the workers are about to run out of queued attempts, when a stop is asked, or by its own timeout; and what
finishes while the queue is long is still recorded and reported within the record buffer's delay."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from assets_core.application.project import Project
from assets_core.declaring.definitions import asset
from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.state import Event
from assets_core.running.runs import Outcome, RunSettings
from assets_core.running.schedule import Finished
from assets_core.running.storage import Storage

LONG = 30.0  # a wait that must end early, by a wake-up: far longer than any test takes


def _under_way(finished: Finished, count: int) -> list[Future[list[Outcome]]]:
    futures: list[Future[list[Outcome]]] = [Future() for _ in range(count)]
    for future in futures:
        future.set_running_or_notify_cancel()
        finished.submitted(future)
    return futures


def _timed_take(finished: Finished, timeout: float) -> tuple[list[Future[list[Outcome]]], float]:
    begun = time.monotonic()
    taken = finished.take(timeout)
    return taken, time.monotonic() - begun


def test_an_attempt_finishing_while_many_still_wait_for_a_worker_does_not_wake_the_loop():
    finished = Finished(capacity=1)
    futures = _under_way(finished, 5)
    futures[0].set_result([])  # 4 left: 1 running and 3 queued, more than the capacity
    taken, waited = _timed_take(finished, 0.3)
    assert taken == [futures[0]] and waited >= 0.3  # taken only once the wait timed out


def test_the_loop_is_woken_once_the_queue_is_about_to_run_dry():
    finished = Finished(capacity=1)
    futures = _under_way(finished, 5)
    futures[0].set_result([])
    futures[1].set_result([])  # 3 left
    assert finished.take(0) == futures[:2]
    futures[2].set_result([])  # 2 left: 1 running and 1 queued, no more than the capacity
    taken, waited = _timed_take(finished, LONG)
    assert taken == [futures[2]] and waited < LONG / 2


def test_every_attempt_finished_in_other_threads_is_taken_once_in_the_order_they_finished():
    finished = Finished(capacity=2)
    futures = _under_way(finished, 400)
    order: list[Future[list[Outcome]]] = []
    lock = threading.Lock()

    def finish(future: Future[list[Outcome]]) -> None:
        with lock:  # the order they finished in, as the done callbacks see it
            order.append(future)
            future.set_result([])

    with ThreadPoolExecutor(4) as pool:
        for future in futures:
            pool.submit(finish, future)
        taken: list[Future[list[Outcome]]] = []
        begun = time.monotonic()
        while len(taken) < len(futures):
            taken += finished.take(LONG)
    assert taken == order
    assert time.monotonic() - begun < LONG / 2  # the last ones woke it: it never waited out LONG


def test_a_cancelled_attempt_counts_as_finished():
    finished = Finished(capacity=1)
    futures = [Future() for _ in range(3)]
    for future in futures:
        finished.submitted(future)
    futures[0].cancel()  # 2 left: wakes the loop
    taken, waited = _timed_take(finished, LONG)
    assert taken == [futures[0]] and waited < LONG / 2


def test_a_stop_ends_the_wait_at_once_and_a_stopping_run_is_woken_by_every_attempt():
    finished = Finished(capacity=1)
    futures = _under_way(finished, 10)
    threading.Timer(0.1, finished.wake).start()
    taken, waited = _timed_take(finished, LONG)
    assert taken == [] and waited < LONG / 2
    finished.eager()
    assert finished.take(LONG) == []  # eager() wakes the loop itself
    futures[0].set_result([])  # 9 left, yet it wakes the loop
    taken, waited = _timed_take(finished, LONG)
    assert taken == [futures[0]] and waited < LONG / 2


def test_without_a_known_capacity_every_finished_attempt_wakes_the_loop():
    finished = Finished(capacity=None)
    futures = _under_way(finished, 10)
    futures[0].set_result([])
    taken, waited = _timed_take(finished, LONG)
    assert taken == [futures[0]] and waited < LONG / 2


def test_what_finishes_while_the_queue_is_long_is_reported_long_before_the_queue_runs_dry(tmp_path):
    # One worker and 12 independent assets: when the first is done, 11 wait for the worker, and it does not wake
    # the loop. The next to run waits until the first is reported (recorded and told to the listener): the loop's
    # own timeout and the buffer's delay must see to it within a fraction of a second, not once the queue runs
    # dry (never, here) nor at the run's next heartbeat.
    reported = threading.Event()
    begun = itertools.count()

    def listener(event: Event) -> None:
        if event.kind == "materialized":
            reported.set()

    def make(index: int):
        def body():
            if next(begun) > 0 and not reported.wait(3.0):
                raise RuntimeError("the first asset was not reported within 3 seconds of finishing")
            return [index]
        body.__name__ = f"a{index:02d}"
        return asset(body)

    project = Project([make(index) for index in range(12)], tmp_path, Storage(tmp_path / "storage"), MemoryCatalog())
    result = project.materialize(settings=RunSettings(workers=1), listener=listener)
    assert result.status == "success", result.to_json()
    assert len(result.materialized) == 12
