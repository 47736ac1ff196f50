"""The task a Dask worker with a free thread takes: of the first waiting, the one whose inputs it keeps the most of;
the first waiting task is never passed over for ever."""

from __future__ import annotations

import collections
from concurrent.futures import Future

from assets_core.running import placement
from assets_core.running.placement import Placement, Waiting

A, B = "tcp://a:1", "tcp://b:1"


def _waiting(*inputs: tuple[str, ...]) -> collections.deque[Waiting]:
    return collections.deque(Waiting(str(index).encode(), Future(), needs) for index, needs in enumerate(inputs))


def test_a_worker_takes_the_waiting_task_whose_inputs_it_keeps_and_else_the_first() -> None:
    chooser = Placement()
    chooser.kept(A, ["x@1"])
    chooser.kept(B, ["y@1", "x@1"])  # read by both: kept by both
    waiting = _waiting(("z@1",), ("y@1",), ("x@1", "y@1"), ("x@1",))
    assert chooser.take(waiting, A).task == b"2"  # keeps one of its two inputs: more than the others
    assert chooser.take(waiting, B).task == b"1"
    assert chooser.take(waiting, A).task == b"3"
    assert chooser.take(waiting, A).task == b"0"  # none kept: the first waiting
    assert not waiting


def test_only_the_first_few_waiting_are_looked_at() -> None:
    chooser = Placement()
    chooser.kept(A, ["far@1"])
    waiting = _waiting(*[()] * placement.LOOKAHEAD, ("far@1",))
    assert chooser.take(waiting, A).task == b"0"


def test_the_first_waiting_task_is_taken_once_it_was_passed_over_enough() -> None:
    chooser = Placement()
    chooser.kept(A, [f"kept@{index}" for index in range(placement.PASSED_OVER + 1)])
    waiting = _waiting(("elsewhere@1",), *[(f"kept@{index}",) for index in range(placement.PASSED_OVER + 1)])
    taken = [chooser.take(waiting, A).task for _ in range(placement.PASSED_OVER + 1)]
    assert b"0" not in taken[:-1] and taken[-1] == b"0"


def test_a_value_is_remembered_with_its_last_few_holders() -> None:
    chooser = Placement()
    workers = [f"tcp://w{index}:1" for index in range(placement.HOLDERS + 1)]
    for worker in workers:
        chooser.kept(worker, ["v@1"])
    waiting = _waiting(("other@1",), ("v@1",))
    assert chooser.take(collections.deque(waiting), workers[0]).task == b"0"  # the oldest holder is forgotten
    assert chooser.take(collections.deque(waiting), workers[-1]).task == b"1"
