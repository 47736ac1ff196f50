"""The fingerprints of many files (size and modification time), found while the command does other work.

A source with a file per hour has 100,000 files, and a status that is always right must look at each one: one
``stat`` per file, some 4 µs of the kernel's time each here, 0.4 s in all. That time need not be spent waiting:
:func:`stat_files` gives the paths to a helper process (a new interpreter running this module, with nothing but
the standard library), which stats them on the other core, from the first, while this process reads the
catalog. When this process is done with that and asks for the :meth:`~PendingStats.result`, it stats the files
the helper has not reached yet, from the last, until the two meet; then the helper is stopped.

Paths and answers go through two in-memory files (``memfd``), never a pipe: writing to a pipe blocks once it
holds 64 KiB until the other side reads, so the helper would wait on this process (busy elsewhere) after a few
thousand files, and this process on the helper. The helper appends one line per chunk of :data:`CHUNK` paths;
this process reads what has been appended so far, and a reader never sees bytes past what a writer has
finished writing. What the helper says is taken only in whole lines of the expected length; a helper that cannot
start, dies, or says anything else leaves the rest to this process. Nothing else is ever taken from it.

The result is the same as :func:`stat_here` would give, file for file.
"""

from __future__ import annotations

import os
import sys
from stat import S_ISREG

if __name__ != "__main__":  # not in the helper, which starts sooner without them (subprocess: 10-20 ms)
    import subprocess
    from collections.abc import Sequence

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

    def __init__(self, paths: Sequence[str], helper: _Helper | None = None) -> None:
        self._paths = paths
        self._helper = helper

    def result(self) -> list[str | None]:
        """What :func:`stat_here` gives of the paths: the first ones as the helper found them, the others found
        here, from the last one back, until the two meet."""
        helper, self._helper = self._helper, None
        if helper is None:
            return stat_here(self._paths)
        front, back, behind = 0, len(self._paths), []
        try:
            while True:
                front = helper.take()
                if front >= back:
                    break
                low = max(front, back - CHUNK)
                behind.append(stat_here(self._paths[low:back]))
                back = low
        finally:
            helper.stop()
        return helper.found[:back] + [found for chunk in reversed(behind) for found in chunk]

    def __enter__(self) -> PendingStats:
        return self

    def __exit__(self, *exc_info: object) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.stop()


class _Helper:
    """A helper process and the in-memory file it appends its answers to, read so far."""

    def __init__(self, process: subprocess.Popen[bytes], answers: int, expected: int) -> None:
        self._process = process
        self._answers = answers  # this process's descriptor of the answers file
        self._read = 0  # bytes of it read so far
        self._expected = expected
        self._pending = b""  # the start of a line not yet whole
        self._open = True  # False once the helper said something wrong: nothing more is taken
        self.found: list[str | None] = []

    def take(self) -> int:
        """Read what the helper has appended; return how many paths its whole, well-formed chunks cover."""
        if self._open:
            data = os.pread(self._answers, 1 << 24, self._read)
            self._read += len(data)
            *lines, self._pending = (self._pending + data).split(b"\n")
            for line in lines:
                self._accept(line)
        return len(self.found)

    def _accept(self, line: bytes) -> None:
        size = min(CHUNK, self._expected - len(self.found))
        try:
            chunk = line.decode("ascii").split("\0")
        except UnicodeDecodeError:
            chunk = []
        if not self._open or size <= 0 or len(chunk) != size:
            self._open = False
            return
        self.found.extend([found or None for found in chunk] if "" in chunk else chunk)  # "": no file

    def stop(self) -> None:
        """End the helper (done or not), reap it, and let go of its answers."""
        self._process.kill()
        self._process.wait()
        os.close(self._answers)


def stat_files(paths: Sequence[str], helper_from: int = HELPER_FROM,
               executable: str | None = None) -> PendingStats:
    """Begin finding each path's fingerprint: in a helper process (``executable``, by default this interpreter,
    running this module) when there are at least ``helper_from`` paths and a second core to run it on; the rest
    here, when the result is asked for."""
    if not paths or len(paths) < helper_from or _cores() < 2 or not hasattr(os, "memfd_create"):
        return PendingStats(paths)
    if executable is None and (getattr(sys, "frozen", False) or not sys.executable):
        return PendingStats(paths)  # an embedded or frozen Python: its executable may run something else
    data = "\0".join(paths).encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
    names = os.memfd_create("assets-stat-paths")
    answers = os.memfd_create("assets-stat-answers")
    try:
        _write_all(names, data)
        os.lseek(names, 0, os.SEEK_SET)
        process = subprocess.Popen([executable or sys.executable, "-I", "-S", __file__, str(names), str(answers)],
                                   pass_fds=(names, answers), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # no interpreter to start (or no memory or process to spare): stat here instead
        os.close(answers)
        return PendingStats(paths)
    finally:
        os.close(names)
    return PendingStats(paths, _Helper(process, answers, len(paths)))


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _serve(names: int, answers: int) -> None:
    """The helper: stat the paths in the file ``names``, from the first, and append their fingerprints to the
    file ``answers``, a chunk a line (each line written whole by one write, or by several in order)."""
    with open(names, "rb") as given:
        paths = given.read().split(b"\0")
    for start in range(0, len(paths), CHUNK):
        found = stat_here(paths[start:start + CHUNK])
        _write_all(answers, "\0".join(fingerprint or "" for fingerprint in found).encode("ascii") + b"\n")


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
