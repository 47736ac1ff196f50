"""Full garbage collections while the user is idle, not in the middle of a keystroke.

Python's cyclic collector runs a full collection whenever enough objects have survived; with a big project
loaded and Textual's caches growing as the user browses, one takes 15 to 40 ms, and it falls inside whatever
keystroke allocated last. While the browser runs, full collections are therefore held back and made when no
key or mouse button was pressed for a moment (or, as a backstop, after many young collections in a row).
Young collections (a millisecond or two) still run as usual; memory freed by reference counting is freed at
once, as always.
"""

from __future__ import annotations

import gc
import time

IDLE_SECONDS = 0.5  # no input for this long: the user is reading, and a pause goes unnoticed
BACKSTOP = 300  # young collections since the last full one that force a full one, idle or not
TICK_SECONDS = 0.25  # how often the app asks whether to collect
HELD_BACK = 1_000_000  # a full-collection threshold no session reaches


class IdleCollector:
    """Holds back Python's full collections while started, and makes them when the user is idle."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._input = time.monotonic()
        self.collections = 0  # full collections made (for tests)

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, HELD_BACK)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def touched(self) -> None:
        """The user pressed something."""
        self._input = time.monotonic()

    def tick(self) -> bool:
        """Collect if due; returns whether it did."""
        pending = gc.get_count()[2]  # young (generation 1) collections since the last full one
        if pending == 0:
            return False
        if pending < BACKSTOP and time.monotonic() - self._input < IDLE_SECONDS:
            return False
        gc.collect()
        self.collections += 1
        return True
