"""Durable storage of materialized values: Parquet for tables, JSON for the rest, written atomically.

Each value is stored in the storage folder under a name made of its asset and its content,
``<asset>@<data version>.parquet``, so earlier versions stay readable until pruned, and a value identical to
the last one costs no new file. A value is written to a temporary file in the same folder and renamed into
place: no reader ever sees a half-written file (:mod:`~assets_core.running.files`). ``durable=True`` also flushes
each file and the folder to disk (slower; survives power loss, not only a killed process). One flat folder keeps a
first materialization of many assets from paying a directory creation each.

The data version is a hash of the stored bytes (``assets_core.running.content``), so every read checks that a
file still holds what its name says: a corrupted one fails with a :class:`StorageError` that names the file and
the fix, and a write whose name is taken by different bytes replaces them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assets_core.errors import StorageError
from assets_core.imports import LazyModule
from assets_core.running.content import (
    bytes_versions,
    content_version,
    file_version,
    file_versions,
    version_of,
)
from assets_core.running.encoding import JSON_SUFFIX as JSON_SUFFIX
from assets_core.running.encoding import READ_WHOLE_BYTES, decoded_table
from assets_core.running.encoding import SMALL_TABLE_ROWS as SMALL_TABLE_ROWS
from assets_core.running.encoding import TABLE_SUFFIX as TABLE_SUFFIX
from assets_core.running.encoding import Encoded as Encoded
from assets_core.running.encoding import Stored as Stored
from assets_core.running.encoding import check_value as check_value
from assets_core.running.encoding import encoded as encoded
from assets_core.running.encoding import is_table as is_table
from assets_core.running.files import AtomicFiles
from assets_core.running.leftovers import sweep, temporary_name
from assets_core.running.ownership import claim_folder, read_mark
from assets_core.running.recovery import HOST

if TYPE_CHECKING:
    import polars as pl

    from assets_core.planning.evidence import Listing
else:
    pl = LazyModule("polars")  # a status reads no value: polars is imported by the first that is read or written

SEPARATOR = "@"  # between asset and version: never part of an asset name



WRITE_MODULES = ("pyarrow", "pyarrow.parquet")  # what writing a table imports: a run preloads them


LISTING_FROM = 200  # stored values checked at once from which the folder is listed rather than each stat-ed


class ValueStorage(Protocol):
    """Where stored values live: a local folder (:class:`Storage`) or an object store
    (:class:`~assets_core.running.object_storage.ObjectStorage`); what the rest of the framework relies on."""

    durable: bool

    @property
    def root(self) -> str | Path:
        """Where the storage is: its folder, or its URL."""
        ...

    def write(self, asset: str, value: Any, io: str = "auto") -> Stored:
        """Store ``value`` as the newest version of ``asset``, atomically."""
        ...

    def read(self, location: str, lazy: bool = False) -> Any:
        """Read a stored value back, checked against the version in its name."""
        ...

    def path(self, location: str) -> str | Path:
        """Where a stored value is, as a user would look for it."""
        ...

    def existing(self, locations: Iterable[str], listing: Listing | None = None) -> set[str]:
        """Which of these stored values are still there (``listing``: of a folder, taken after the state these
        locations come from was read, which a storage in that folder may look them up in instead)."""
        ...

    def versions(self) -> dict[str, list[str]]:
        """Every stored version of every asset, as locations by asset."""
        ...

    def prune(self, asset: str, keep: Iterable[str], listed: Iterable[str] | None = None,
              since: float | None = None) -> list[str]:
        """Delete the asset's stored versions not in ``keep``; return those removed."""
        ...

    def clock(self) -> float:
        """The storage's time now, as its files' times are stamped."""
        ...

    def sweep(self, alive: Callable[[int], bool], host: str = HOST) -> list[str]:
        """Delete what killed writers left; return what was deleted."""
        ...

    def owner(self) -> str | None:
        """The id of the catalog this storage belongs to, as its owner mark names it (None: no mark yet)."""
        ...

    def claim(self, catalog_id: str) -> str:
        """Mark the storage as the catalog ``catalog_id``'s unless it is marked already; return whose it is now
        (see :mod:`~assets_core.running.ownership`)."""
        ...


class Storage:
    """Stored values of every asset, in one folder."""

    def __init__(self, root: str | os.PathLike[str], durable: bool = False):
        self.root = Path(root)
        self.durable = durable
        self._root = os.fspath(root)
        self._made = False
        self.files = AtomicFiles(self._root, durable)

    def write(self, asset: str, value: Any, io: str = "auto") -> Stored:
        """Store ``value`` as the newest version of ``asset``."""
        check_value(asset, value, io)
        self._make_root()
        try:
            with encoded(asset, value, io, self.files.temporary) as encoding:
                if encoding.file is None:
                    return self._publish_bytes(asset, encoding)
                return self._publish_file(asset, encoding)
        except OSError as error:
            raise StorageError(
                f"cannot store asset '{asset}' in {self.root} ({error.strerror or error}); the previous version "
                "is untouched: free some space or fix the folder's permissions, then run again") from error
        except pl.exceptions.PolarsError as error:  # polars reports its own I/O failures (and a lazy query's)
            if isinstance(value, pl.LazyFrame) and "(os error" not in str(error):
                raise  # the asset's query failed while computed: its error, not one of storing (nothing was)
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StorageError(
                f"cannot store asset '{asset}' in {self.root} ({detail}); the previous version is untouched") from error

    def read(self, location: str, lazy: bool = False) -> Any:
        """Read a stored value back: a polars DataFrame (or LazyFrame) for tables, else the JSON value.

        The bytes are checked against the version in their name first, so a corrupted file (even one that
        would still parse) raises a :class:`StorageError` that names the file and the fix, never a polars error.
        """
        path = self.path(location)
        try:
            table = location.endswith(TABLE_SUFFIX)
            data = None if table and lazy else _contents(path, READ_WHOLE_BYTES if table else None)
            if data is None:  # a large table, or a lazy one: checked, then read by polars from the file
                self._verify(location, file_versions(str(path)))
                return pl.scan_parquet(path) if lazy else pl.read_parquet(path)
            self._verify(location, bytes_versions(data))  # the very bytes then decoded
            return decoded_table(data) if table else json.loads(data)
        except FileNotFoundError as error:
            raise StorageError(
                f"the stored value {path} is gone (deleted outside the framework?); "
                "materialize the asset again") from error
        except (OSError, ValueError, pl.exceptions.PolarsError) as error:
            raise StorageError(
                f"the stored value {path} cannot be read ({error}); it may be corrupted: "
                f"{_fix(location)}") from error

    def _verify(self, location: str, versions: Iterator[str]) -> None:
        """Raise a StorageError unless the content's version (current or earlier hash) is the one in its name."""
        expected = version_of(location)
        if not any(version == expected for version in versions):
            raise StorageError(
                f"the stored value {self.path(location)} is corrupted: its content no longer matches its data "
                f"version (changed outside the framework?); {_fix(location)}")

    def path(self, location: str) -> Path:
        if not _is_name(location):
            raise StorageError(f"the location '{location}' lies outside the storage folder {self.root}")
        return self.root / location

    def exists(self, location: str) -> bool:
        """Whether a stored value is still there (one ``stat``; :meth:`existing` checks many at once)."""
        return _is_name(location) and os.path.isfile(os.path.join(self._root, location))

    def existing(self, locations: Iterable[str], listing: Listing | None = None) -> set[str]:
        """Which of these stored values are still there: one listing of the folder when they are many (a
        directory read is cheaper than thousands of ``stat`` calls), else one ``stat`` each. A ``listing`` of
        this folder taken after the state these locations come from was read (see
        :func:`~assets_core.planning.evidence.listing_of`) is used as it is, instead of listing it again."""
        asked = locations if isinstance(locations, Collection) else list(locations)
        # The locations are looked up in the listing in their own order, not the listing's names in a set's:
        # in the order they were read, 100,000 cost half as much (a set's hash order makes each a cache miss).
        if listing is not None and listing[0] == self.identity():
            listed = set(listing[1])
            return {location for location in asked if location in listed and SEPARATOR in location}
        if len(asked) < LISTING_FROM:
            return {location for location in asked if self.exists(location)}
        stored = _stored_names(self._root)
        return {location for location in asked if location in stored}

    @property
    def folder(self) -> str:
        """The folder the values are stored in, as its path was given."""
        return self._root

    def identity(self) -> tuple[int, int] | None:
        """The folder's device and inode numbers, as a :data:`Listing` of it holds them (None: no folder)."""
        try:
            found = os.stat(self._root)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    def locations(self, asset: str) -> list[str]:
        """Every stored version of an asset, as locations."""
        prefix = asset + SEPARATOR
        try:
            names = os.listdir(self._root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if n.startswith(prefix) and n.endswith((TABLE_SUFFIX, JSON_SUFFIX)))

    def versions(self) -> dict[str, list[str]]:
        """Every stored version of every asset, as locations by asset, from one listing of the folder."""
        try:
            names = sorted(os.listdir(self._root))
        except FileNotFoundError:
            return {}
        found: dict[str, list[str]] = {}
        for name in names:
            if _is_name(name) and name.endswith((TABLE_SUFFIX, JSON_SUFFIX)):
                found.setdefault(name.rpartition(SEPARATOR)[0], []).append(name)
        return found

    def prune(self, asset: str, keep: Iterable[str], listed: Iterable[str] | None = None,
              since: float | None = None) -> list[str]:
        """Delete the asset's stored versions not in ``keep`` (of ``listed``, default: every one there now);
        return the removed locations.

        With ``since`` (a :meth:`clock` reading taken before the listing), a file written or reused at or after
        that moment is left: a writer that began after the caller looked at the running runs stored it, and
        will record it. Each file is first renamed aside and its time read there, so a writer either touched it
        before (it goes back) or finds it gone and writes it anew: no check-then-delete race.
        """
        keep = set(keep)
        candidates = self.locations(asset) if listed is None else listed
        return [location for location in candidates if location not in keep and self._delete(location, since)]

    def clock(self) -> float:
        """The storage folder's file-system time now (the clock that stamps its files, a file server's on a
        shared folder), read from a new temporary file's modification time."""
        self._make_root()
        temp = os.path.join(self._root, temporary_name(os.getpid()))
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            return os.fstat(descriptor).st_mtime
        finally:
            os.close(descriptor)
            os.unlink(temp)

    def _delete(self, location: str, since: float | None) -> bool:
        path = self.path(location)
        if since is None:
            path.unlink(missing_ok=True)
            return True
        aside = os.path.join(self._root, temporary_name(os.getpid()))  # swept like any leftover if killed here
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        if os.stat(aside).st_mtime >= since:  # stored again since the listing: it goes back
            with contextlib.suppress(FileExistsError):  # or was written anew meanwhile, with the same bytes
                os.link(aside, path)
            os.unlink(aside)
            return False
        os.unlink(aside)
        return True

    def sweep(self, alive: Callable[[int], bool], host: str = HOST) -> list[str]:
        """Delete the temporary files of writers that died (killed mid-write); return their names (see
        :func:`~assets_core.running.leftovers.sweep`)."""
        return sweep(self._root, alive, host)

    def owner(self) -> str | None:
        """The id of the catalog this folder belongs to, as its owner mark names it (None: no mark yet)."""
        return read_mark(self._root)

    def claim(self, catalog_id: str) -> str:
        """Mark the folder as the catalog ``catalog_id``'s unless it is marked already; return whose it is now."""
        self._make_root()
        try:
            return claim_folder(self._root, catalog_id, self.durable)
        except OSError as error:
            raise StorageError(
                f"cannot read or write the owner mark of the storage folder {self.root} ({error.strerror or error}); "
                "check its permissions or choose another storage with --storage") from error

    def _make_root(self) -> None:
        if self._made:
            return
        try:
            os.makedirs(self._root, exist_ok=True)
        except OSError as error:
            raise StorageError(
                f"cannot create the storage folder {self.root} ({error.strerror}); "
                "check its permissions or choose another home with --home") from error
        self._made = True

    def _publish_bytes(self, asset: str, encoding: Encoded) -> Stored:
        assert encoding.data is not None
        version = content_version(encoding.data)
        location = f"{asset}{SEPARATOR}{version}{encoding.suffix}"
        # No check whether this content is stored already: linking it into place fails if it is (and only then
        # is the file there checked), and renaming over it replaces it; a check would cost one more call per value.
        self.files.create(os.path.join(self._root, location), encoding.data, version)
        return encoding.stored(location, version, len(encoding.data))

    def _publish_file(self, asset: str, encoding: Encoded) -> Stored:
        assert encoding.file is not None
        version = file_version(encoding.file)
        size = os.path.getsize(encoding.file)
        location = f"{asset}{SEPARATOR}{version}{encoding.suffix}"
        self.files.rename(encoding.file, os.path.join(self._root, location), sync_file=True)
        return encoding.stored(location, version, size)


def _is_name(location: str) -> bool:
    """A location is a plain file name in the storage folder: nothing can reach outside it.

    >>> _is_name("orders@ab12.parquet"), _is_name("../etc/passwd"), _is_name("a/b")
    (True, False, False)
    """
    return bool(location) and "/" not in location and os.sep not in location and location not in (".", "..") \
        and SEPARATOR in location


def _stored_names(folder: str) -> set[str]:
    """The names of the files in the folder that may be stored values, from one listing: what
    :meth:`Storage.exists` finds, each name of them (a regular file, or a link to one, whose name
    :func:`_is_name` accepts: a listed name never holds a separator of paths nor is ``.`` or ``..``, so
    holding :data:`SEPARATOR` is enough); nothing when the folder does not exist."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name for entry in entries if SEPARATOR in entry.name and entry.is_file()}
    except FileNotFoundError:
        return set()


def _contents(path: Path, limit: int | None) -> bytes | None:
    """A file's bytes, read whole; None when it holds more than ``limit`` bytes (then left unread)."""
    with open(path, "rb", buffering=0) as handle:
        if limit is not None and os.fstat(handle.fileno()).st_size > limit:
            return None
        return handle.read()


def _fix(location: str) -> str:
    """How to repair a stored value: materialize its asset again, forced (which rewrites the file)."""
    asset = location.rpartition(SEPARATOR)[0]
    return f"materialize the asset again: assets materialize --force {asset}"
