"""Stored values in an object store (S3 or S3-compatible first; any fsspec file system), with the interface of the
local folder (:class:`~assets_core.running.storage.Storage`), so the rest of the framework can use either.

A value is encoded as the folder encodes it (same bytes, so the same data version) and stored under a key of its
own, ``<asset>@<data version>.<write id>.<suffix>``: one PUT for a value held in memory, one upload of a local
temporary file for a large or lazy table (a multipart upload becomes visible only when it completes). So no reader
ever sees half an object, and a writer killed mid-write leaves nothing visible (an unfinished multipart upload
is held apart by the store until aborted: an ``AbortIncompleteMultipartUpload`` lifecycle rule on the bucket
clears them). Since a writer never writes a key that existed before, a prune may delete what it listed without a
conditional delete: no later write can be among it.

Credentials, region and endpoint come from where botocore finds them (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3``
for an S3-compatible server, config files, instance roles); nothing is set here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assets_core.errors import StorageError
from assets_core.imports import LazyModule, late_import
from assets_core.running.content import bytes_versions, content_version, file_version, version_of
from assets_core.running.encoding import decoded_table
from assets_core.running.ownership import claim_object, read_object_mark
from assets_core.running.recovery import HOST
from assets_core.running.storage import (
    JSON_SUFFIX,
    SEPARATOR,
    TABLE_SUFFIX,
    Encoded,
    Storage,
    Stored,
    _fix,
    _is_name,
    check_value,
    encoded,
)
from assets_core.running.store_errors import STORE_MODULES, first_line, from_store, quiet, remedy

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from assets_core.planning.evidence import Listing
else:
    pl = LazyModule("polars")

# Object stores, where an object appears whole when its upload completes (fsspec's scheme names for them).
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "r2"})


def storage_at(url: str, durable: bool = False, relative_to: Path | None = None) -> Storage | ObjectStorage:
    """The storage at ``url``: the local folder :class:`Storage` for a path (relative to ``relative_to``) or a
    ``file://`` URL, else an :class:`ObjectStorage` (``s3://bucket/prefix``, or any other fsspec URL).

    >>> [type(storage_at(url)).__name__ for url in ("/tmp/values", "file:///tmp/values", "S3://bucket/values")]
    ['Storage', 'Storage', 'ObjectStorage']
    >>> storage_at("file:///tmp/my%20values").root.as_posix()
    '/tmp/my values'
    >>> storage_at("sftp://host/values")
    Traceback (most recent call last):
    assets_core.errors.StorageError: the storage URL sftp://host/values names 'sftp', which is not an object store: ...
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        _refuse_misspelt(url)
        return Storage(relative_to / url if relative_to is not None else url, durable)
    if scheme == "file":
        return Storage(urllib.parse.unquote(rest.removeprefix("localhost")), durable)
    if scheme.lower() not in OBJECT_STORES:
        raise StorageError(f"the storage URL {url} names '{scheme}', which is not an object store: there a write "
                           "is not atomic (a killed run would leave half an object); use s3://, gs:// or az:// "
                           "(or another object store), or a folder (a mounted file system)")
    if not rest.partition("/")[0]:
        raise StorageError(f"the storage URL {url} names no bucket; write it as {scheme}://BUCKET/PREFIX "
                           f"(e.g. {scheme}://lake/values)")
    return ObjectStorage(f"{scheme.lower()}://{rest}", durable)  # fsspec knows its schemes in lower case


def _refuse_misspelt(path: str) -> None:
    """Refuse an object store's URL with a slip (``s3:/lake``, ``s3:lake``, ``s3//lake``, ``s3:``), which would
    otherwise become a local folder named ``s3:`` in the project."""
    found = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*)(?::/?|//)([^/].*)?", path)  # s3: and s3:/ name no bucket
    if found and (scheme := found.group(1).lower()) in OBJECT_STORES:
        fix = f"did you mean {scheme}://{found.group(2)}?" if found.group(2) else f"write {scheme}://BUCKET/PREFIX"
        raise StorageError(f"the storage '{path}' looks like a misspelt URL; {fix} (a folder of that name: ./{path})")


class ObjectStorage:
    """Stored values of every asset, under one prefix of an object store.

    Only the URL and the options are its state: it pickles as them (to be sent to worker processes), and opens
    its file system when first used, again in each process.
    """

    def __init__(self, url: str, durable: bool = False, options: Mapping[str, Any] | None = None) -> None:
        """``options`` go to fsspec's file system (e.g. ``{"profile": "prod"}``); ``durable`` is kept for the
        interface only: a store acknowledges a write once it is stored durably."""
        self.url = self.root = url.rstrip("/")
        self.durable = durable
        self.options = dict(options or {})
        self._opened: tuple[int, Any, str] | None = None  # (process id, file system, the prefix's path in it)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "durable": self.durable, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.url = self.root = state["url"]
        self.durable = state["durable"]
        self.options = state["options"]
        self._opened = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ObjectStorage({self.url!r})"

    def write(self, asset: str, value: Any, io: str = "auto") -> Stored:
        """Store ``value`` as the newest version of ``asset``, under a key of its own."""
        check_value(asset, value, io)
        fs, _ = self._filesystem()
        try:
            with encoded(asset, value, io, _local_temporary) as encoding:  # the value's own errors are its own
                with self._failing(f"store asset '{asset}' in", "the previous version is untouched; "):
                    return self._upload(fs, asset, encoding)
        except pl.exceptions.PolarsError as error:  # a lazy query's failure, or polars' own
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StorageError(
                f"cannot store asset '{asset}' in {self.url} ({detail}); the previous version is untouched") from error

    def _upload(self, fs: Any, asset: str, encoding: Encoded) -> Stored:
        """One PUT of bytes held in memory, or one upload of the temporary file (multipart when large: the
        object appears when it completes)."""
        if encoding.file is None:
            assert encoding.data is not None
            version = content_version(encoding.data)
            location = _new_key(asset, version, encoding.suffix)
            fs.pipe_file(self._key(location), bytes(encoding.data))
            return encoding.stored(location, version, len(encoding.data))
        version = file_version(encoding.file)
        location = _new_key(asset, version, encoding.suffix)
        fs.put_file(encoding.file, self._key(location))
        return encoding.stored(location, version, os.path.getsize(encoding.file))

    def read(self, location: str, lazy: bool = False) -> Any:
        """Read a stored value back: a polars DataFrame (``lazy``: a LazyFrame of it) for tables, else the JSON
        value. The bytes are downloaded once and checked against the version in their name first, so a corrupted
        object raises a :class:`StorageError` that names it and the fix."""
        fs, _ = self._filesystem()
        url = self.path(location)
        try:
            with self._failing("read", "", url):
                data = fs.cat_file(self._key(location))
        except StorageError as error:
            if isinstance(error.__cause__, FileNotFoundError) and self._bucket_exists(fs):
                raise StorageError(f"the stored value {url} is gone (deleted outside the framework?); "
                                   "materialize the asset again") from error.__cause__
            raise
        if not any(version == version_of(location) for version in bytes_versions(data)):
            raise StorageError(
                f"the stored value {url} is corrupted: its content no longer matches its data version "
                f"(changed outside the framework?); {_fix(location)}")
        try:
            if location.endswith(TABLE_SUFFIX):
                frame = decoded_table(data)
                return frame.lazy() if lazy else frame
            return json.loads(data)
        except (ValueError, pl.exceptions.PolarsError) as error:
            raise StorageError(
                f"the stored value {url} cannot be read ({error}); it may be corrupted: {_fix(location)}") from error

    def path(self, location: str) -> str:
        """The stored value's full URL, e.g. ``s3://bucket/prefix/orders@<version>.<write id>.parquet``."""
        if not _is_name(location):
            raise StorageError(f"the location '{location}' lies outside the storage {self.url}")
        return f"{self.url}/{location}"

    def exists(self, location: str) -> bool:
        """Whether a stored value is still there (one request; :meth:`existing` checks many at once)."""
        if not _is_name(location):
            return False
        fs, _ = self._filesystem()
        with self._failing("look for a stored value in"):
            return bool(fs.exists(self._key(location)))

    def existing(self, locations: Iterable[str], listing: Listing | None = None) -> set[str]:
        """Which of these stored values are still there, from one listing (of the store: a folder's ``listing``
        is none of its)."""
        return set(self._names()).intersection(locations)

    def locations(self, asset: str) -> list[str]:
        """Every stored version of an asset, as locations, from one listing."""
        prefix = asset + SEPARATOR
        return [name for name in self._names() if name.startswith(prefix)]

    def versions(self) -> dict[str, list[str]]:
        """Every stored version of every asset, as locations by asset, from one listing."""
        found: dict[str, list[str]] = {}
        for name in self._names():
            found.setdefault(name.rpartition(SEPARATOR)[0], []).append(name)
        return found

    def prune(self, asset: str, keep: Iterable[str], listed: Iterable[str] | None = None,
              since: float | None = None) -> list[str]:
        """Delete the asset's stored versions not in ``keep`` (of ``listed``, default: every one there now);
        return the removed locations.

        ``since`` is not needed here: each write has a key of its own, so a value stored after the listing was
        taken is never among the listed ones (in a folder, a write of an identical value reuses the file name,
        which is why :meth:`Storage.prune` must look at the file's time).
        """
        kept = set(keep)
        candidates = self.locations(asset) if listed is None else list(listed)
        doomed = [location for location in candidates if location not in kept and _is_name(location)]
        if doomed:
            fs, _ = self._filesystem()
            with self._failing(f"prune asset '{asset}' in"):
                fs.rm([self._key(location) for location in doomed])
        return doomed

    def clock(self) -> float:
        """This machine's time now. :meth:`prune` ignores ``since`` (see there), so no clock needs to agree
        with the store's."""
        return time.time()

    def sweep(self, alive: Callable[[int], bool], host: str = HOST) -> list[str]:
        """Nothing to sweep: a store shows no half-written object (a killed upload stays an unfinished
        multipart upload, which the bucket's lifecycle rule aborts), and a large value's local temporary
        file is unnamed where Linux allows it; returns []."""
        return []

    def owner(self) -> str | None:
        """The id of the catalog this storage belongs to, as its owner mark names it (None: no mark yet)."""
        with self._failing("read the owner mark of"):
            return read_object_mark(*self._filesystem())

    def claim(self, catalog_id: str) -> str:
        """Mark the storage as the catalog ``catalog_id``'s unless it is marked already; return whose it is now."""
        with self._failing("write the owner mark of"):
            return claim_object(*self._filesystem(), catalog_id, self.url.startswith(("s3:", "s3a:")))

    def _names(self) -> list[str]:
        """The stored values' names under the prefix, from one fresh listing (never fsspec's listings cache)."""
        fs, prefix = self._filesystem()
        with self._failing("list the stored values in"):
            try:
                entries = fs.ls(prefix, detail=True, refresh=True)
            except FileNotFoundError:  # no object under the prefix yet, or no bucket
                if self._bucket_exists(fs):
                    return []
                raise
        names = (str(entry["name"]).rpartition("/")[2] for entry in entries if entry.get("type") == "file")
        return sorted(name for name in names if _is_name(name) and name.endswith((TABLE_SUFFIX, JSON_SUFFIX)))

    def _bucket_exists(self, fs: Any) -> bool:
        """Whether the bucket (the first part of the prefix's path) is there."""
        _, prefix = self._filesystem()
        bucket = prefix.lstrip("/").partition("/")[0]
        with self._failing("look for the bucket of"):
            return not bucket or bool(fs.exists(bucket))

    def _key(self, location: str) -> str:
        """A location's path in the file system (``bucket/prefix/<location>``)."""
        self.path(location)  # refuses a location outside the prefix
        return f"{self._filesystem()[1]}/{location}"

    def _filesystem(self) -> tuple[Any, str]:
        """The fsspec file system and the prefix's path in it, opened once per process."""
        opened = self._opened
        if opened is None or opened[0] != os.getpid():  # a forked child opens its own
            with self._lock:
                opened = self._opened
                if opened is None or opened[0] != os.getpid():
                    opened = self._opened = (os.getpid(), *self._open())
        return opened[1], opened[2]

    def _open(self) -> tuple[Any, str]:
        quiet(STORE_MODULES)
        try:
            with late_import():
                import fsspec  # type: ignore[import-untyped]  # fsspec ships no type information
            # A new instance (fsspec caches them by arguments) without a listings cache: a listing is always fresh.
            fs, path = fsspec.core.url_to_fs(self.url, skip_instance_cache=True, use_listings_cache=False,
                                             **self.options)
        except (ImportError, ValueError) as error:
            raise StorageError(
                f"cannot open the storage {self.url} ({error}); install fsspec and the package for this URL's "
                "scheme (s3fs for s3://), or check the URL") from error
        return fs, str(path).rstrip("/")

    @contextlib.contextmanager
    def _failing(self, action: str, untouched: str = "", url: str | None = None) -> Iterator[None]:
        """Turn the store's errors (OSError, botocore's) into a StorageError that says what failed, where and
        what to do; others pass."""
        try:
            yield
        except Exception as error:
            if not from_store(error):
                raise
            bucket = urllib.parse.urlsplit(self.url).netloc
            raise StorageError(f"cannot {action} {url or self.url} ({first_line(error)}); {untouched}"
                               f"{remedy(error, bucket)}") from error


def _new_key(asset: str, version: str, suffix: str) -> str:
    """A location no write has used: ``<asset>@<data version>.<write id>.<suffix>``.

    >>> _new_key("orders", "ab12", ".json").startswith("orders@ab12.")
    True
    """
    return f"{asset}{SEPARATOR}{version}.{uuid.uuid4().hex[:12]}{suffix}"


@contextlib.contextmanager
def _local_temporary() -> Iterator[str]:
    """A local file to hold a large value until it is uploaded: unnamed where Linux allows it (reached through
    ``/proc/self/fd``; a killed writer leaves nothing behind), else named in the temporary folder."""
    folder = tempfile.gettempdir()
    descriptor = None
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # this file system has no unnamed files
            descriptor = os.open(folder, os.O_RDWR | os.O_TMPFILE, 0o600)
    if descriptor is not None:
        try:
            yield f"/proc/self/fd/{descriptor}"
        finally:
            os.close(descriptor)
        return
    descriptor, path = tempfile.mkstemp(prefix=".assets-upload-", suffix=".part", dir=folder)
    os.close(descriptor)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
