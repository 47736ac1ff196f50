"""Which waiting task a Dask worker with a free thread takes: of the first few waiting, the one with the most
stored inputs that worker keeps in memory (:mod:`~assets_core.running.kept`), so that fewer inputs are read back
from storage; the first waiting task is taken anyway once it has been passed over a few times."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

LOOKAHEAD = 16  # the waiting tasks a free thread chooses from, the first ones
PASSED_OVER = 16  # how many times the first waiting task may be passed over before it is taken
HOLDERS = 4  # the workers remembered as keeping a value (the last ones that stored or read it)


@dataclass(frozen=True)
class Waiting:
    """A task waiting for a worker: pickled, the future of its answer, and the stored values it reads."""

    task: bytes
    outer: Future[Any]
    inputs: tuple[str, ...] = ()


class Placement:
    """Where the run's stored values are kept (as far as this process knows: a worker may have dropped one since),
    and the choice of the next task for a worker. Used from one thread (the Dask client's event loop)."""

    def __init__(self) -> None:
        self._holders: dict[str, tuple[str, ...]] = {}
        self._passed = 0  # times the first waiting task was passed over

    def kept(self, address: str, locations: Iterable[str]) -> None:
        """The worker at ``address`` stored or read these values: it keeps them, unless too large or not tables."""
        for location in locations:
            holders = self._holders.get(location, ())
            if not holders or holders[0] != address:
                self._holders[location] = (address, *(h for h in holders if h != address))[:HOLDERS]

    def take(self, waiting: collections.deque[Waiting], address: str) -> Waiting:
        """Remove from ``waiting`` (not empty) the task the worker at ``address`` takes, and return it.

        >>> placement, waiting = Placement(), collections.deque([Waiting(b"1", Future(), ("a@1",)),
        ...                                                     Waiting(b"2", Future(), ("b@1", "c@1"))])
        >>> placement.kept("tcp://w:1", ["b@1"])
        >>> placement.take(waiting, "tcp://w:1").task, placement.take(waiting, "tcp://w:1").task
        (b'2', b'1')
        """
        chosen, best = 0, self._score(waiting[0], address)
        if best < len(waiting[0].inputs) and self._passed < PASSED_OVER:
            for index in range(1, min(LOOKAHEAD, len(waiting))):
                score = self._score(waiting[index], address)
                if score > best:
                    chosen, best = index, score
        if chosen == 0:
            self._passed = 0
            return waiting.popleft()
        self._passed += 1
        found = waiting[chosen]
        del waiting[chosen]
        return found

    def _score(self, waiting: Waiting, address: str) -> int:
        return sum(address in self._holders.get(location, ()) for location in waiting.inputs)
