"""Tasks sent ahead to a Dask worker (:mod:`~assets_core.running.dask_backend`): a worker is sent one task more than it
has threads, which waits there for a thread. The worker says when it begins a task (:data:`BEGUN`, the first message
of its answer), and the run may take back a task that has not begun (to cancel it, or to give it to a worker with a
thread free): the worker's answer to that is final, so a task taken back never begins there, and one begun is never
taken back."""

from __future__ import annotations

import asyncio
import collections

BEGUN = "begun"  # the first message of a task's answer: the worker begins it (the second is the answer)
TAKEN_BACK = "taken back"  # the only message of the answer to a task taken back: never begun there
TAKE_BACK = "-take-back"  # added to a run's handler name: the handler that takes back a task by its ident


class Turns:
    """The tasks of one run on one worker, by ident: each waits its turn for one of the run's ``threads`` there,
    unless taken back meanwhile (or before it arrived). Used from the worker's event loop only, so whether a task
    begins or is taken back is decided once.

    >>> async def main():
    ...     turns = Turns(1)
    ...     first, second = await turns.begin(1), asyncio.ensure_future(turns.begin(2))
    ...     await asyncio.sleep(0)  # the second waits for the thread
    ...     back = turns.take_back(2), turns.take_back(1), turns.take_back(3)
    ...     return first, await second, back, await turns.begin(3)
    >>> asyncio.run(main())
    (True, False, (True, False, True), False)
    """

    def __init__(self, threads: int) -> None:
        self._free = threads
        self._waiting: collections.OrderedDict[int, asyncio.Future[bool]] = collections.OrderedDict()
        self._begun: set[int] = set()
        self._taken: set[int] = set()  # taken back before they arrived

    async def begin(self, ident: int) -> bool:
        """Wait for a thread: True when the task begins (call :meth:`end` once it has), False when taken back."""
        if ident in self._taken:
            self._taken.discard(ident)
            return False
        if self._free > 0 and not self._waiting:
            self._free -= 1
            self._begun.add(ident)
            return True
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = turn
        try:
            return await turn
        except asyncio.CancelledError:
            self._waiting.pop(ident, None)
            if turn.done() and not turn.cancelled() and turn.result():  # handed a thread it will not use
                self.end()
            raise

    def end(self) -> None:
        """A task that began has ended (or will not run after all): its thread goes to the next one waiting."""
        while self._waiting:
            ident, turn = self._waiting.popitem(last=False)
            if not turn.done():
                self._begun.add(ident)
                turn.set_result(True)
                return
        self._free += 1

    def take_back(self, ident: int) -> bool:
        """Take back a task unless it began: True when it never will here."""
        if ident in self._begun:
            return False
        turn = self._waiting.pop(ident, None)
        if turn is None:
            self._taken.add(ident)
        elif not turn.done():
            turn.set_result(False)
        return True
