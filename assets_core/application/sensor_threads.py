"""Sensors evaluated in threads of their own, so that one that hangs holds up no other automation.

A tick waits for a sensor a while; one still running then is left to run, is not started again, and its result
(its tick, requests and cursor) is recorded at the first tick after it returns. No sensor is cut short, however
long it takes, and none can stop the daemon's schedules, conditions and other sensors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    """One evaluation under way in a daemon thread (a hung one never keeps the process from exiting)."""

    def __init__(self, name: str, evaluation: Callable[[], T]) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None
        self._evaluation = evaluation
        threading.Thread(target=self._run, name=f"sensor-{name}", daemon=True).start()

    def _run(self) -> None:
        try:
            self.value = self._evaluation()
        except BaseException as error:  # handed to the tick that collects the result
            self.error = error
        finally:
            self.done.set()


class SensorThreads(Generic[T]):
    """Evaluations by sensor name; ``wait``: seconds a tick waits for one (None: until it returns)."""

    def __init__(self, wait: float | None) -> None:
        self.wait = wait
        self._under_way: dict[str, _Call[T]] = {}

    def call(self, name: str, evaluation: Callable[[], T]) -> tuple[bool, T | None]:
        """``(True, result)`` when the sensor's evaluation is done within the wait (a new one, or one started at an
        earlier tick that returned since), else ``(False, None)``: still under way, and not started again."""
        call = self._under_way.get(name)
        if call is None:
            call = self._under_way[name] = _Call(name, evaluation)
        if not call.done.wait(self.wait):
            return False, None
        del self._under_way[name]
        if call.error is not None:
            raise call.error
        return True, call.value

    def under_way(self) -> list[str]:
        """The sensors whose evaluation has not returned yet."""
        return [name for name, call in self._under_way.items() if not call.done.is_set()]
