"""The fingerprints of many files (size and modification time), found while the command does other work.

A source with a file per hour has 100,000 files, and a status that is always right must look at each one: one
``stat`` per file, some 4 µs of the kernel's time each here, 0.4 s in all. That time need not be spent waiting:
:func:`stat_files` gives the paths to a helper process (a new interpreter running this module, with nothing but
the standard library), which stats them on the other core while this process reads the catalog, and sends back
what it found. The result is the same as :func:`stat_here` would give at that moment, file for file; whenever
the helper cannot give it (no second core, no interpreter to start, a helper that dies or answers short), the
files are stat'ed here instead. Nothing else is ever taken from the helper.

Run as a script, this module is that helper: paths separated by NUL bytes on stdin, and on stdout each path's
fingerprint (an empty one: no regular file), separated by NUL bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from stat import S_ISREG

HELPER_FROM = 20_000  # fewer files than this are stat'ed here: starting a helper costs more than it saves


def stat_here(paths: Sequence[str] | Sequence[bytes]) -> list[str | None]:
    """Each path's fingerprint, ``size:modification time in ns`` (None: no such file, or not a regular file),
    found in this process."""
    found: list[str | None] = []
    status = os.stat
    for path in paths:
        try:
            result = status(path)
        except OSError:  # no such file (or folder), or unreadable
            found.append(None)
            continue
        found.append(f"{result.st_size}:{result.st_mtime_ns}" if S_ISREG(result.st_mode) else None)
    return found


class PendingStats:
    """Stats under way in a helper process (or to be found here): :meth:`result` waits for them. As a context
    manager, it stops a helper whose answer was never asked for (the command failed meanwhile)."""

    def __init__(self, paths: Sequence[str], helper: subprocess.Popen[bytes] | None) -> None:
        self._paths = paths
        self._helper = helper

    def result(self) -> list[str | None]:
        """What :func:`stat_here` gives of the paths, found by the helper if it could, else here and now."""
        helper, self._helper = self._helper, None
        if helper is None:
            return stat_here(self._paths)
        answer = _answer(helper)
        if answer is None or len(answer) != len(self._paths):
            return stat_here(self._paths)
        return [found or None for found in answer]

    def __enter__(self) -> PendingStats:
        return self

    def __exit__(self, *exc_info: object) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.kill()
            _answer(helper)  # reaped, its pipe closed


def stat_files(paths: Sequence[str], helper_from: int = HELPER_FROM,
               executable: str | None = None) -> PendingStats:
    """Begin finding each path's size and modification time: in a helper process (``executable``, by default
    this interpreter, running this module) when there are at least ``helper_from`` paths and a second core to
    run it on; else later, here, when the result is asked for."""
    if not paths or len(paths) < helper_from or _cores() < 2:
        return PendingStats(paths, None)
    try:
        helper = subprocess.Popen([executable or sys.executable, "-I", "-S", __file__], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:  # no interpreter to start (or no process to spare): stat here instead
        return PendingStats(paths, None)
    try:
        assert helper.stdin is not None
        with helper.stdin:
            helper.stdin.write("\0".join(paths).encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()))
    except OSError:  # the helper is gone already: its answer will be short, so the files are stat'ed here
        pass
    return PendingStats(paths, helper)


def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _answer(helper: subprocess.Popen[bytes]) -> list[str] | None:
    """The helper's fingerprints, or None when it failed (ended with an error, or said something else)."""
    assert helper.stdout is not None
    with helper.stdout:
        data = helper.stdout.read()
    if helper.wait() != 0:
        return None
    try:
        return data.decode("ascii").split("\0")
    except UnicodeDecodeError:
        return None


def _serve() -> None:
    """The helper: stat the paths read from stdin, write their fingerprints to stdout."""
    names = sys.stdin.buffer.read().split(b"\0")
    sys.stdout.buffer.write("\0".join(found or "" for found in stat_here(names)).encode("ascii"))


if __name__ == "__main__":
    _serve()
