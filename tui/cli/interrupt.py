"""Ctrl-C during ``assets materialize``: the first stops the run (it records what finished and ends
interrupted, within seconds), a second exits at once."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from assets_core.application.usecases import Stop

EXIT_INTERRUPTED = 128 + signal.SIGINT  # what a shell reports for a command ended by Ctrl-C

FIRST = (b"\ninterrupted: no asset starts now; what finished is recorded, the run ends as interrupted "
         b"(Ctrl-C again exits at once)\n")
SECOND = (b"\ninterrupted again: exiting at once (the next command marks the run interrupted; the next run "
          b"sweeps what it left)\n")


@contextmanager
def ctrl_c_stops(stop: Stop) -> Iterator[None]:
    """While inside: the first SIGINT requests ``stop``, a second ends the process at once."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may take signals
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        # os.write and os._exit only: the interrupted thread may hold any lock, a buffered stream's included
        if stop.requested:
            os.write(2, SECOND)
            os._exit(EXIT_INTERRUPTED)
        os.write(2, FIRST)
        stop.request()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
