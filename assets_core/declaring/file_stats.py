"""The fingerprints of many files (size and modification time), found while the command does other work.

A source with a file per hour has 100,000 files, and a status that is always right must look at each one: one
``stat`` per file, some 4 µs of the kernel's time each here, 0.4 s in all. That time need not be spent waiting:
:func:`stat_files` gives the paths to a helper process (a new interpreter running this module, with nothing but
the standard library), which stats them on the other core, from the first, while this process reads the
catalog. When this process is done with that and asks for the :meth:`~PendingStats.result`, it stats the files
the helper has not reached yet, from the last, until the two meet; then the helper is stopped.

The result is the same as :func:`stat_here` would give, file for file. What the helper says is taken only in
whole chunks of the expected length; a helper that cannot start, dies, or says anything else leaves the rest to
this process. Nothing else is ever taken from it.

Run as a script, this module is that helper: paths separated by NUL bytes on stdin; on stdout, one line per
chunk of :data:`CHUNK` paths (the last may be shorter), their fingerprints (empty: no regular file) separated by
NUL bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from stat import S_ISREG

HELPER_FROM = 20_000  # fewer files than this are stat'ed here: starting a helper costs more than it saves
CHUNK = 1000  # paths the helper answers at once, and this process stats between two looks at the answers


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
    """Stats under way in a helper process (or to be found here): :meth:`result` finishes them. As a context
    manager, it stops a helper whose answer was never asked for (the command failed meanwhile)."""

    def __init__(self, paths: Sequence[str], helper: subprocess.Popen[bytes] | None) -> None:
        self._paths = paths
        self._helper = helper

    def result(self) -> list[str | None]:
        """What :func:`stat_here` gives of the paths: the first ones as the helper found them, the others found
        here, from the last one back, until the two meet."""
        helper, self._helper = self._helper, None
        if helper is None:
            return stat_here(self._paths)
        answers = _Answers(helper, len(self._paths))
        front, back, behind = 0, len(self._paths), []
        try:
            while True:
                front = answers.take()
                if front >= back:
                    break
                low = max(front, back - CHUNK)
                behind.append(stat_here(self._paths[low:back]))
                back = low
        finally:
            _stop(helper)
        return answers.found[:back] + [found for chunk in reversed(behind) for found in chunk]

    def __enter__(self) -> PendingStats:
        return self

    def __exit__(self, *exc_info: object) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            _stop(helper)


class _Answers:
    """The helper's whole chunks read so far, without waiting for more."""

    def __init__(self, helper: subprocess.Popen[bytes], expected: int) -> None:
        assert helper.stdout is not None
        self._pipe = helper.stdout.fileno()
        os.set_blocking(self._pipe, False)
        self._expected = expected
        self._pending = b""
        self._open = True  # False once the helper ended or said something wrong: nothing more is taken
        self.found: list[str | None] = []

    def take(self) -> int:
        """Read what the helper has sent; return how many paths its whole, well-formed chunks cover."""
        while self._open:
            try:
                data = os.read(self._pipe, 1 << 20)
            except BlockingIOError:  # nothing more yet
                break
            if not data:
                self._open = False
                break
            *lines, self._pending = (self._pending + data).split(b"\n")
            for line in lines:
                self._accept(line)
        return len(self.found)

    def _accept(self, line: bytes) -> None:
        if not self._open:
            return
        size = min(CHUNK, self._expected - len(self.found))
        try:
            chunk = line.decode("ascii").split("\0")
        except UnicodeDecodeError:
            chunk = []
        if size <= 0 or len(chunk) != size:
            self._open = False
            return
        self.found.extend(found or None for found in chunk)


def stat_files(paths: Sequence[str], helper_from: int = HELPER_FROM,
               executable: str | None = None) -> PendingStats:
    """Begin finding each path's fingerprint: in a helper process (``executable``, by default this interpreter,
    running this module) when there are at least ``helper_from`` paths and a second core to run it on; the rest
    here, when the result is asked for."""
    if not paths or len(paths) < helper_from or _cores() < 2:
        return PendingStats(paths, None)
    if executable is None and (getattr(sys, "frozen", False) or not sys.executable):
        return PendingStats(paths, None)  # an embedded or frozen Python: its executable may run something else
    try:
        helper = subprocess.Popen([executable or sys.executable, "-I", "-S", __file__], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:  # no interpreter to start (or no process to spare): stat here instead
        return PendingStats(paths, None)
    data = "\0".join(paths).encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
    threading.Thread(target=_send, args=(helper, data), name="stat-helper-input", daemon=True).start()
    return PendingStats(paths, helper)


def _send(helper: subprocess.Popen[bytes], data: bytes) -> None:
    """Give the helper its paths (from a thread of its own: a helper slow to read them holds nobody up)."""
    assert helper.stdin is not None
    try:
        with helper.stdin:
            helper.stdin.write(data)
    except OSError:  # the helper is gone (or was stopped): it says nothing more, and the files are stat'ed here
        pass


def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _stop(helper: subprocess.Popen[bytes]) -> None:
    """End the helper (done or not) and reap it."""
    helper.kill()
    helper.wait()
    if helper.stdout is not None:
        helper.stdout.close()


def _serve() -> None:
    """The helper: stat the paths read from stdin, from the first, and write their fingerprints, a chunk a line."""
    names = sys.stdin.buffer.read().split(b"\0")
    out = sys.stdout.buffer
    for start in range(0, len(names), CHUNK):
        found = stat_here(names[start:start + CHUNK])
        out.write("\0".join(fingerprint or "" for fingerprint in found).encode("ascii") + b"\n")
        out.flush()


if __name__ == "__main__":
    _serve()
