"""Ending the ``assets`` process without freeing, one by one, every object it made.

Python's own exit does four things: it joins the threads that are not daemons (first running what
``concurrent.futures`` registered to stop its idle workers), runs the ``atexit`` handlers, flushes every open
file, and then frees every object of the process one at a time. The last step gives nothing back that the
operating system does not take back at once when the process ends, and it is slow for a big project: 0.3 to
0.45 s of a 100,000-asset ``status``. :func:`end_process` does the first three and skips the last.

Nothing is lost by skipping it. Every write the framework makes is complete before a command returns (stored
values are renamed into place, catalog writes are committed), a file an asset or a definitions module left open
is flushed here as the interpreter would have flushed it, and Python does not promise to call ``__del__`` for
objects still alive at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import os
import sys
import threading
from typing import NoReturn


def end_process(code: int) -> NoReturn:
    """End the process with exit code ``code``, as ``sys.exit(code)`` would at the top of the program, but
    without the interpreter's final freeing of every object."""
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter calls first at exit
    if shutdown is None:  # another Python than CPython's: let it end as it does
        sys.exit(code)
    shutdown()
    atexit._run_exitfuncs()
    flush_open_files()
    os._exit(code)


def flush_open_files() -> int:
    """Flush every open file object of the process (stdout and stderr last); return how many were flushed."""
    gc.unfreeze()  # objects frozen at start-up are in no generation gc.get_objects() lists
    flushed = 0
    holding = _holding_classes()
    files = [found for found in gc.get_objects() if type(found) in holding]  # one quick pass over them all
    for stream in files:
        if stream is not sys.stdout and stream is not sys.stderr and _flush(stream):
            flushed += 1
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None and _flush(stream):
            flushed += 1
    return flushed


# The file objects that hold written data back (raw files do not; a text file's flush flushes its buffer too).
# Concrete classes, not io.IOBase, whose isinstance (an abstract class's) would cost more than the rest of the
# walk over a big project's objects.
_HOLDING = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom, io.BufferedRWPair)


def _holding_classes() -> frozenset[type]:
    """The classes of :data:`_HOLDING` and every subclass of them defined so far: a file object is one of these
    exactly when ``isinstance(stream, _HOLDING)``, and a look in a set costs half of that ``isinstance`` on the
    few hundred thousand objects of a big project."""
    found: set[type] = set()
    waiting: list[type] = list(_HOLDING)
    while waiting:
        cls = waiting.pop()
        if cls not in found:
            found.add(cls)
            waiting.extend(cls.__subclasses__())
    return frozenset(found)


def _flush(stream: object) -> bool:
    with contextlib.suppress(Exception):  # closed, detached, a reader gone away: nothing left to flush there
        if not getattr(stream, "closed", True):
            stream.flush()  # type: ignore[attr-defined]
            return True
    return False
