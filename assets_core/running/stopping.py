"""Stopping a run early: a request that the run start nothing new, record what finished and end interrupted."""

from __future__ import annotations

from collections.abc import Callable

STOP_GRACE = 1.0  # seconds a stopping run waits for the assets under way before it abandons them


class Stop:
    """A request that a run stop, made from another thread (the browser's) or a signal handler (Ctrl-C).

    It takes no lock, so a signal handler may call :meth:`request` whatever the interrupted thread holds.

    >>> stop = Stop()
    >>> woken = []
    >>> stop.on_request(lambda: woken.append(True))
    >>> stop.request()
    >>> stop.requested, woken
    (True, [True])
    """

    def __init__(self) -> None:
        self.requested = False
        self._wakers: list[Callable[[], None]] = []

    def on_request(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when a stop is requested (at once if it was already)."""
        self._wakers.append(wake)
        if self.requested:
            wake()

    def request(self) -> None:
        """Ask the run to stop; the wakers must be safe in a signal handler (SimpleQueue.put is)."""
        self.requested = True
        for wake in tuple(self._wakers):
            wake()
