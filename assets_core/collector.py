"""Pausing Python's cyclic garbage collector while many long-lived objects are made at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(kept: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    Making thousands of objects at once (loading a project's assets, decoding 10,000 catalog rows) sets off
    the collector over and over, each full pass walking every object of the process: a third of the time of
    such a phase. The objects made there are not garbage, so pausing it loses nothing; it runs again after
    (Mercurial's util.nogc does the same for big containers).

    ``kept``: what the block made lives until the process ends, if it is one that runs one command and ends
    (see :func:`one_command_process`): then it is frozen at the block's end, out of every later collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if kept and _one_command:
            gc.freeze()
        if enabled:
            gc.enable()


_one_command = False


def one_command_process() -> None:
    """Say that this process runs one command and ends (the ``assets`` command, but for the browser and the
    daemon, which keep going): from now on, a pause whose objects are ``kept`` freezes every object at its end
    (:func:`gc.freeze`), which then lives until the process ends without any collection walking it again.
    Else the collector, on again, first walks all the block made: 0.2 s of a no-op materialize of 100,000
    assets, and more in each full pass of the run that follows. Only the command's own pauses say ``kept``
    (loading and planning): a pause inside a run (a read of the catalog) would freeze the run's objects too,
    and the cyclic garbage among them would stay."""
    global _one_command
    _one_command = True
