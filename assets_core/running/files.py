"""Writing files whole in one folder: a reader sees the old file or the new one, never half of one.

A new file is written unnamed and linked into place where Linux allows it (``O_TMPFILE``: a crash leaves nothing
behind, and it is one directory operation), else written under a temporary name and renamed into place.
``durable`` also flushes each file and the folder to disk (survives power loss, not only a killed process).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from assets_core.running.content import holds
from assets_core.running.leftovers import temporary_name


class AtomicFiles:
    """Whole-file writes into the folder ``root``."""

    def __init__(self, root: str, durable: bool = False) -> None:
        self._root = root
        self.durable = durable
        self.unnamed = hasattr(os, "O_TMPFILE")  # until the file system says it cannot

    def create(self, final: str, data: memoryview, version: str) -> None:
        """Write a new file whole, then give it its name: first as an unnamed file linked into place (Linux's
        O_TMPFILE: a crash leaves nothing behind, and it is one directory operation), else through a named
        temporary file renamed into place. A file already under that name is kept if it holds these bytes,
        else replaced (renamed over, so no reader sees a half-written file)."""
        proc = _proc_folder()
        anonymous = self._anonymous() if proc is not None else None
        if anonymous is None:
            with self.temporary() as temp:
                self._fill(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), data)
                self.rename(temp, final)
            return
        descriptor = anonymous
        try:
            self._write_all(descriptor, data)
            try:
                os.link(str(descriptor), final, src_dir_fd=proc, follow_symlinks=True)
            except FileExistsError:  # stored before, by this or another writer: kept unless it was corrupted
                if not self._reuse(final, version, len(data)):
                    with self.temporary() as temp:
                        os.link(str(descriptor), temp, src_dir_fd=proc, follow_symlinks=True)
                        self.rename(temp, final)
        finally:
            os.close(descriptor)
        if self.durable:
            self.sync_folder()

    def _reuse(self, final: str, version: str, size: int) -> bool:
        """Keep a file already stored under its name if it holds these bytes, stamped as written now (a prune that
        began earlier leaves it: see :meth:`prune`); False when it must be written again (corrupted, or taken
        away by a prune meanwhile)."""
        if not holds(final, version, size):
            return False
        try:
            os.utime(final)
        except FileNotFoundError:
            return False
        return True

    def _anonymous(self) -> int | None:
        """An unnamed file in the storage folder, or None where the system has none to give."""
        if not self.unnamed:
            return None
        try:
            return os.open(self._root, os.O_WRONLY | os.O_TMPFILE, 0o644)
        except OSError:  # this file system has no unnamed files
            self.unnamed = False
            return None

    def _fill(self, descriptor: int, data: memoryview) -> None:
        try:
            self._write_all(descriptor, data)
        finally:
            os.close(descriptor)

    def _write_all(self, descriptor: int, data: memoryview) -> None:
        written = 0
        while written < len(data):
            written += os.write(descriptor, data[written:])
        if self.durable:
            os.fsync(descriptor)

    def sync_folder(self) -> None:
        descriptor = os.open(self._root, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def rename(self, temp: str, final: str, sync_file: bool = False) -> None:
        """Give a written temporary file its name (``sync_file``: flush its bytes to disk first, if durable)."""
        if self.durable and sync_file:
            descriptor = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        os.replace(temp, final)
        if self.durable:
            self.sync_folder()

    @contextlib.contextmanager
    def temporary(self) -> Iterator[str]:
        """A temporary file name in the storage folder, removed when the write fails (renamed into place
        otherwise)."""
        temp = os.path.join(self._root, temporary_name(os.getpid()))
        try:
            yield temp
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise


_PROC_FOLDERS: dict[int, int | None] = {}  # process id -> its /proc/self/fd (a forked child opens its own)


def _proc_folder() -> int | None:
    """A descriptor of this process's /proc/self/fd, or None where there is none."""
    pid = os.getpid()
    if pid not in _PROC_FOLDERS:
        try:
            _PROC_FOLDERS[pid] = os.open("/proc/self/fd", os.O_RDONLY) if hasattr(os, "O_TMPFILE") else None
        except OSError:
            _PROC_FOLDERS[pid] = None
    return _PROC_FOLDERS[pid]
