"""Reading the rows of every asset's recorded state in a helper process, while this one loads the definitions.

At 100,000 assets, fetching the rows :meth:`~catalog.quick.QuickCatalog.read_state` decodes takes about 0.4 s of
one core, and loading the definitions most of a second of the other. A command that reads the state of every
asset (``status``, ``plan``, ``materialize``, the browser) therefore opens its catalog first and starts a
helper, a bare Python (``-I -S``: no site, no project) that runs the same statements in one read transaction
and hands the rows back through a pipe, :mod:`marshal`-ed (our own child's output, never a file). The command
takes the rows when it reads the state.

The rows are used only if they are what the catalog holds *then*. SQLite's ``PRAGMA data_version`` of one
connection changes whenever any other connection commits (another process, or this one's SQLAlchemy catalog); it
is read on this process's connection before the helper starts and again after it has finished: equal, nothing
was committed in between, so the helper's rows, read in between, are the catalog's now. Any doubt (a change, a
helper that failed or was killed, output that does not decode, another connection) and the caller reads the
rows itself, as it always did.
"""

from __future__ import annotations

import marshal
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

# Run by a bare interpreter: argv is the catalog's URI (read-only), the busy timeout in seconds, the statements.
HELPER = """\
import marshal, sqlite3, sys
uri, timeout, *statements = sys.argv[1:]
connection = sqlite3.connect(uri, uri=True, timeout=float(timeout), isolation_level=None)
connection.execute("BEGIN")
rows = [connection.execute(statement).fetchall() for statement in statements]
connection.execute("COMMIT")
sys.stdout.buffer.write(marshal.dumps(rows))
"""


class ReadAhead:
    """One helper process reading the rows of some statements; :meth:`rows` takes them (or None), once."""

    def __init__(self, process: subprocess.Popen[bytes], connection: sqlite3.Connection, version: int) -> None:
        self._process = process
        self._connection = connection
        self._version = version

    @classmethod
    def start(cls, path: Path, connection: sqlite3.Connection, statements: Sequence[str],
              timeout: float) -> ReadAhead | None:
        """A helper reading the rows of ``statements`` from the SQLite file ``path``, whose rows will be
        checked against ``connection`` (this process's own to that file); None where no helper can start."""
        if not _bare_python():
            return None
        uri = f"{path.resolve().as_uri()}?mode=ro"  # the helper never creates nor changes the file
        if uri.startswith("file://") and not uri.startswith("file:///"):  # a network share's, SQLite's refusal
            return None
        version = _data_version(connection)
        if version is None:
            return None
        try:
            process = subprocess.Popen([sys.executable, "-I", "-S", "-c", HELPER, uri, str(timeout), *statements],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:  # no process to spare: the caller reads the rows itself
            return None
        return cls(process, connection, version)

    def rows(self, connection: sqlite3.Connection | None) -> list[list[tuple[Any, ...]]] | None:
        """The rows of each statement, or None unless they are surely what ``connection`` would read now."""
        try:
            data = self._stream.read()
        except BaseException:  # Ctrl-C while waiting: the helper is not waited for
            self.cancel()
            raise
        self._end()
        if self._process.returncode != 0 or connection is not self._connection:
            return None
        if _data_version(connection) != self._version:  # another connection committed since the helper started
            return None
        try:
            found = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        return found if isinstance(found, list) else None

    def cancel(self) -> None:
        """Stop the helper (its rows are not wanted)."""
        self._process.kill()
        self._end()

    @property
    def _stream(self) -> IO[bytes]:
        stream = self._process.stdout
        assert stream is not None  # started with stdout=PIPE
        return stream

    def _end(self) -> None:
        self._stream.close()
        self._process.wait()


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
