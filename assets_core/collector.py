"""Pausing Python's cyclic garbage collector while many long-lived objects are made at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    Making thousands of objects at once (loading a project's assets, decoding 10,000 catalog rows) sets off
    the collector over and over, each full pass walking every object of the process: a third of the time of
    such a phase. The objects made there are not garbage, so pausing it loses nothing; it runs again after
    (Mercurial's util.nogc does the same for big containers).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freezing:
            gc.freeze()
        if enabled:
            gc.enable()


_freezing = False


def freeze_after_pauses() -> None:
    """For a process that runs one command and ends (the ``assets`` command): from now on, the end of a paused
    block freezes every object (:func:`gc.freeze`), to live until the process ends without any later collection
    walking it again. Else the collector, on again, first walks all the block made: 0.2 s of a no-op
    materialize of 100,000 assets, and more in each full pass of the run that follows. Not for a process that
    keeps going (the browser, the daemon), where the cyclic garbage of what it loaded again would stay."""
    global _freezing
    _freezing = True
