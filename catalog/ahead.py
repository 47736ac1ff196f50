"""Reading the rows of every asset's recorded state in a helper process, while this one loads the definitions.

At 100,000 assets, fetching the rows :meth:`~catalog.quick.QuickCatalog.read_state` decodes takes about 0.4 s of
one core, and loading the definitions most of a second of the other. A command that reads the state of every
asset (``status``, ``plan``, ``materialize``, the browser) therefore opens its catalog first and starts a
helper, a bare Python (``-I -S``: no site, no project) that runs the same statements in one read transaction
and writes the rows, :mod:`marshal`-ed, into an anonymous file in memory (see :func:`_answer_file`): our own
child's output, never a file anyone can see or open. The command takes the rows when it reads the state.

Not through a pipe: at 100,000 assets the answer is some 34 MB, and a pipe holds 64 KB, so the helper could not
finish ahead: it waited for the command to read, and the command then spent 0.1 s taking the answer through the
pipe. Into the file, the helper writes all of it and ends while the definitions load; the command maps the file
and decodes it from there, never copying it.

Asked to, the helper also lists a folder (the storage's) once it has read the rows, for the check that every
recorded value is still stored (0.08 s of a status of 100,000 assets, now taken on the other core). A listing
taken after the rows were read, with nothing recorded since, shows every stored value those rows name, unless it
is gone: as a listing taken by the command itself after reading them would. The listing names the folder by its
device and inode, and the command's storage uses it only if its own folder is that one (not merely one reached by
the same words: a path through a link, a working folder the definitions changed).

The rows (and the listing) are used only if they are what the catalog holds *then*. SQLite's ``PRAGMA
data_version`` of one connection changes whenever any other connection commits (another process, or this one's
SQLAlchemy catalog); it is read on this process's connection before the helper starts and again after it has
finished: equal, nothing was committed in between, so the helper's rows, read in between, are the catalog's now.
Any doubt (a change, a helper that failed or was killed, output that does not decode, another connection) and the
caller reads the rows itself, as it always did.
"""

from __future__ import annotations

import contextlib
import marshal
import mmap
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from assets_core.planning.evidence import Listing

# Run by a bare interpreter: argv is the catalog's URI (read-only), the busy timeout in seconds, a folder to list
# once the rows are read ("": none), the statements. Of the folder: its device and inode, and the names of its
# files, read through one open descriptor (so they are of one folder, whatever its path leads to meanwhile); none
# when it cannot be read (or is missing), and the command looks itself.
HELPER = """\
import marshal, os, sqlite3, sys
uri, timeout, folder, *statements = sys.argv[1:]
connection = sqlite3.connect(uri, uri=True, timeout=float(timeout), isolation_level=None)
connection.execute("BEGIN")
rows = [connection.execute(statement).fetchall() for statement in statements]
connection.execute("COMMIT")
listing = None
try:
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if folder else None
except OSError:
    descriptor = None
if descriptor is not None:
    try:
        found = os.fstat(descriptor)
        with os.scandir(descriptor) as entries:
            listing = [found.st_dev, found.st_ino, [entry.name for entry in entries if entry.is_file()]]
    except OSError:
        pass
    finally:
        os.close(descriptor)
sys.stdout.buffer.write(marshal.dumps([rows, listing]))
"""


class Answer(NamedTuple):
    """What a helper read: the rows of each statement, and the listing of the folder it was asked to list (None:
    none asked, or it could not be read), taken after the rows were read."""

    rows: list[list[tuple[Any, ...]]]
    listing: Listing | None


class ReadAhead:
    """One helper process reading the rows of some statements; :meth:`answer` takes them (or None), once."""

    def __init__(self, process: subprocess.Popen[bytes], answer: int, connection: sqlite3.Connection,
                 version: int) -> None:
        self._process = process
        self._answer: int | None = answer  # the file descriptor of the helper's answer (None: closed)
        self._connection = connection
        self._version = version

    @classmethod
    def start(cls, path: Path, connection: sqlite3.Connection, statements: Sequence[str],
              timeout: float, folder: str | os.PathLike[str] | None = None) -> ReadAhead | None:
        """A helper reading the rows of ``statements`` from the SQLite file ``path``, whose rows will be
        checked against ``connection`` (this process's own to that file), then listing ``folder`` if given;
        None where no helper can start."""
        if not _bare_python():
            return None
        uri = f"{path.resolve().as_uri()}?mode=ro"  # the helper never creates nor changes the file
        if uri.startswith("file://") and not uri.startswith("file:///"):  # a network share's, SQLite's refusal
            return None
        version = _data_version(connection)
        if version is None:
            return None
        try:
            answer = _answer_file()
        except OSError:  # no memory or file to spare: the caller reads the rows itself
            return None
        try:
            process = subprocess.Popen([sys.executable, "-I", "-S", "-c", HELPER, uri, str(timeout),
                                        "" if folder is None else os.fspath(folder),
                                        *statements],
                                       stdin=subprocess.DEVNULL, stdout=answer, stderr=subprocess.DEVNULL)
        except OSError:  # no process to spare: the caller reads the rows itself
            os.close(answer)
            return None
        return cls(process, answer, connection, version)

    def answer(self, connection: sqlite3.Connection | None) -> Answer | None:
        """What the helper read, or None unless its rows are surely what ``connection`` would read now."""
        try:
            self._process.wait()
        except BaseException:  # Ctrl-C while waiting: the helper is not waited for
            self.cancel()
            raise
        try:
            if self._process.returncode != 0 or connection is not self._connection:
                return None
            if _data_version(connection) != self._version:  # another connection committed since the helper started
                return None
            found = _decoded(self._answer)
            if found is None:
                return None
            rows, listing = found
            return Answer(rows, None if listing is None else ((listing[0], listing[1]), listing[2]))
        finally:
            self._close()

    def cancel(self) -> None:
        """Stop the helper (its rows are not wanted)."""
        self._process.kill()
        self._process.wait()
        self._close()

    @property
    def ended(self) -> bool:
        """Whether the helper was done with: its process ended and waited for, its answer closed."""
        return self._process.returncode is not None and self._answer is None

    def _close(self) -> None:
        if self._answer is not None:
            os.close(self._answer)
            self._answer = None


def _answer_file() -> int:
    """A new anonymous file for the helper's answer, open for reading and writing: in memory where the system
    makes one (Linux), else a temporary file that no folder lists (removed as it is made, on POSIX systems)."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("assets-read-ahead", os.MFD_CLOEXEC)
    with tempfile.TemporaryFile() as made:  # its descriptor outlives the file object, which closes its own
        return os.dup(made.fileno())


def _decoded(answer: int | None) -> tuple[list[list[tuple[Any, ...]]], list[Any] | None] | None:
    """The helper's answer in the file ``answer``, decoded in place (None: empty, or not what it writes)."""
    if answer is None:
        return None
    size = os.fstat(answer).st_size
    if not size:
        return None
    with contextlib.suppress(EOFError, ValueError, TypeError, OSError), \
            mmap.mmap(answer, size, access=mmap.ACCESS_READ) as mapped:
        found = marshal.loads(mapped)
        if isinstance(found, list) and len(found) == 2 and isinstance(found[0], list) and (found[1] is None or (
                isinstance(found[1], list) and len(found[1]) == 3 and isinstance(found[1][2], list))):
            return found[0], found[1]
    return None


def _bare_python() -> bool:
    """Whether ``sys.executable`` is a Python to run a helper with (not an application made of it, nor a
    program that embeds it, such as uWSGI)."""
    name = os.path.basename(sys.executable or "").lower()
    return not getattr(sys, "frozen", False) and name.startswith(("python", "pypy"))


def _data_version(connection: sqlite3.Connection) -> int | None:
    try:
        [(version,)] = connection.execute("PRAGMA data_version").fetchall()
    except sqlite3.Error:
        return None
    return int(version)
