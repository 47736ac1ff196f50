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

A command that looks at the project (``assets status``) can begin even sooner: before it imports anything
else, it gives a helper the paths its last look stat'ed (kept in the home, :func:`remember` / :func:`recall`),
and :func:`stat_files` takes that helper over when the paths it needs now are exactly those, byte for byte
(:func:`stat_early`). Another path list, and the early helper is stopped and a new one begun.
"""

from __future__ import annotations

import os
import sys
from stat import S_ISREG

if __name__ != "__main__":  # not in the helper, which starts sooner without them (subprocess: 10-20 ms)
    import atexit
    import subprocess
    from collections.abc import Sequence
    from pathlib import Path

HELPER_FROM = 20_000  # fewer files than this are stat'ed here: starting a helper costs more than it saves
CHUNK = 1000  # paths the helper answers at once, and this process stats between two looks at the answers
HINT = "stat-paths"  # in a project's home: the paths its last look stat'ed through a helper (see stat_early)
HINT_LIMIT = 1 << 28  # a hint bigger than this is not read


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
    manager, it stops a helper whose answer was never asked for (the command failed meanwhile). ``joined``: the
    paths as the helper got them (None: no helper); ``early``: the helper began before this was asked for."""

    def __init__(self, paths: Sequence[str], helper: _Helper | None = None, joined: bytes | None = None,
                 early: bool = False) -> None:
        self._paths = paths
        self._helper = helper
        self.joined = joined
        self.early = early

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


def stat_files(paths: Sequence[str], helper_from: int | None = None,
               executable: str | None = None) -> PendingStats:
    """Begin finding each path's fingerprint: in a helper process (``executable``, by default this interpreter,
    running this module) when there are at least ``helper_from`` (:data:`HELPER_FROM`) paths and a second core
    to run it on; the rest here, when the result is asked for. A helper :func:`stat_early` began on exactly
    these paths is taken over; one begun on any others is stopped."""
    early, _early[:] = _early[:], []
    if not paths or len(paths) < (HELPER_FROM if helper_from is None else helper_from) or not _can_help(executable):
        for _, begun in early:
            begun.stop()
        return PendingStats(paths)
    joined = "\0".join(paths).encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
    for data, begun in early:
        if data == joined:
            return PendingStats(paths, begun, joined, early=True)
        begun.stop()
    helper = _launch(joined, len(paths), executable)
    return PendingStats(paths, helper, joined if helper is not None else None)


def stat_early(joined: bytes, helper_from: int | None = None, executable: str | None = None) -> bool:
    """Begin stat'ing the NUL-separated paths ``joined`` at once, in a helper, before this process knows which
    paths it will need (a command begins with the ones its last look needed: :func:`recall`): the next
    :func:`stat_files` takes the helper over if its paths are exactly these, and stops it otherwise. So the
    files are stat'ed while the command imports and loads the project, not after; what it gets is what a
    helper begun later would find. Return whether a helper began (not for fewer paths than ``helper_from``)."""
    count = joined.count(b"\0") + 1 if joined else 0
    if _early or count < (HELPER_FROM if helper_from is None else helper_from) or not _can_help(executable):
        return False
    helper = _launch(joined, count, executable)
    if helper is None:
        return False
    _early.append((joined, helper))
    atexit.register(_drop_early)  # never taken over (the command failed, or looked at nothing): stopped
    return True


def recall(home: str | os.PathLike[str]) -> bytes | None:
    """The paths the last look at the project with this home stat'ed through a helper (None: none kept)."""
    try:  # not blocking: a FIFO put there (or a device) is no list of paths, and must not hold the command up
        descriptor = os.open(os.path.join(home, HINT), os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        found = os.fstat(descriptor)
        if not S_ISREG(found.st_mode) or found.st_size > HINT_LIMIT:
            return None
        with open(descriptor, "rb", closefd=False) as kept:
            return kept.read()
    except OSError:
        return None
    finally:
        os.close(descriptor)


def remember(home: Path, joined: bytes) -> None:
    """Keep ``joined`` (:attr:`PendingStats.joined`) for :func:`recall`, replacing the file at once (a reader
    finds the old paths or the new ones); nothing where the home does not exist, is no folder, or cannot be
    written."""
    path = home / HINT
    temporary = home / f".{HINT}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as written:
            written.write(joined)
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:  # no folder to remove it from (the home is a file)
            pass


_early: list[tuple[bytes, _Helper]] = []  # the helper stat_early began, with its paths (one at most)


def _drop_early() -> None:
    early, _early[:] = _early[:], []
    for _, helper in early:
        helper.stop()


def _can_help(executable: str | None) -> bool:
    """Whether a helper can run: a second core, in-memory files, and an interpreter that runs this module (an
    embedded or frozen Python's executable may run something else)."""
    if usable_cores() < 2 or not hasattr(os, "memfd_create"):
        return False
    return executable is not None or not (getattr(sys, "frozen", False) or not sys.executable)


def _launch(joined: bytes, count: int, executable: str | None) -> _Helper | None:
    """A helper stat'ing the ``count`` NUL-separated paths ``joined`` (None: it cannot start)."""
    try:
        names = os.memfd_create("assets-stat-paths")
    except OSError:  # no file descriptor or memory to spare: stat here instead
        return None
    try:
        answers = os.memfd_create("assets-stat-answers")
    except OSError:
        os.close(names)
        return None
    try:
        _write_all(names, joined)
        os.lseek(names, 0, os.SEEK_SET)
        process = subprocess.Popen([executable or sys.executable, "-I", "-S", __file__, str(os.getpid()), str(names),
                                    str(answers)], pass_fds=(names, answers), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # no interpreter to start (or no memory or process to spare): stat here instead
        os.close(answers)
        return None
    finally:
        os.close(names)
    return _Helper(process, answers, count)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def usable_cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _serve(command: int, names: int, answers: int) -> None:
    """The helper: stat the paths in the file ``names``, from the first, and append their fingerprints to the
    file ``answers``, a chunk a line (each line written whole by one write, or by several in order); stop once
    the process ``command`` that began it is no longer its parent (it ended without stopping the helper: killed,
    or ``os._exit``, as an interrupted command ends, which skips the exit handlers)."""
    with open(names, "rb") as given:
        paths = given.read().split(b"\0")
    for start in range(0, len(paths), CHUNK):
        if os.getppid() != command:
            return
        found = stat_here(paths[start:start + CHUNK])
        _write_all(answers, "\0".join(fingerprint or "" for fingerprint in found).encode("ascii") + b"\n")


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
