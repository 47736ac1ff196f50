"""Durable storage of materialized values: Parquet for tables, JSON for the rest, written atomically.

Each value is stored under its asset's folder at a name derived from its content (``<data version>.parquet``),
so earlier versions stay readable until pruned, and a value identical to the last one costs no new file.
A value is written to a temporary file in the same folder and renamed into place: no reader ever sees a
half-written file. ``durable=True`` also flushes each file to disk before the rename (slower, survives power loss).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from assets_core.definitions import NAME_PATTERN
from assets_core.errors import StorageError

SMALL_TABLE_ROWS = 100_000  # below this, pyarrow writes a table faster than polars' threaded writer
TABLE_SUFFIX = ".parquet"
JSON_SUFFIX = ".json"


@dataclass(frozen=True)
class Stored:
    """Where a value went and what it holds."""

    location: str  # relative to the storage root, with forward slashes
    data_version: str
    rows: int | None
    schema: tuple[tuple[str, str], ...] | None
    bytes: int
    value: Any  # the value as a downstream asset receives it (a polars DataFrame for tables), if cheap to keep


def is_table(value: Any) -> bool:
    return isinstance(value, (pl.DataFrame, pl.LazyFrame, pa.Table))


class Storage:
    """Stored values of every asset, below one root folder."""

    def __init__(self, root: str | os.PathLike[str], durable: bool = False):
        self.root = Path(root)
        self.durable = durable

    def write(self, asset: str, value: Any, io: str = "auto") -> Stored:
        """Store ``value`` as the newest version of ``asset``."""
        folder = self._folder(asset)
        if io == "parquet" and not is_table(value):
            raise StorageError(
                f"asset '{asset}' has options.io='parquet' but returned a {type(value).__name__}; "
                "return a polars DataFrame or LazyFrame or a pyarrow Table")
        try:
            if is_table(value) and io != "json":
                return self._write_table(asset, folder, value)
            return self._write_json(asset, folder, value)
        except OSError as error:
            raise StorageError(
                f"cannot store asset '{asset}' in {folder} ({error.strerror or error}); the previous version "
                "is untouched: free some space or fix the folder's permissions, then run again") from error

    def read(self, location: str, lazy: bool = False) -> Any:
        """Read a stored value back: a polars DataFrame (or LazyFrame) for tables, else the JSON value."""
        path = self.path(location)
        try:
            if location.endswith(TABLE_SUFFIX):
                return pl.scan_parquet(path) if lazy else pl.read_parquet(path)
            with open(path, "rb") as handle:
                return json.load(handle)
        except FileNotFoundError as error:
            raise StorageError(
                f"the stored value {path} is gone (deleted outside the framework?); "
                "materialize the asset again") from error
        except (OSError, ValueError, pl.exceptions.PolarsError) as error:
            raise StorageError(
                f"the stored value {path} cannot be read ({error}); it may be corrupted: "
                "materialize the asset again (with --force)") from error

    def path(self, location: str) -> Path:
        path = (self.root / location).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StorageError(f"the location '{location}' lies outside the storage folder {self.root}")
        return path

    def exists(self, location: str) -> bool:
        return self.path(location).is_file()

    def locations(self, asset: str) -> list[str]:
        """Every stored version of an asset, as locations."""
        folder = self._folder(asset, create=False)
        if not folder.is_dir():
            return []
        return sorted(self._relative(p) for p in folder.iterdir() if p.suffix in (TABLE_SUFFIX, JSON_SUFFIX))

    def prune(self, asset: str, keep: Iterable[str]) -> list[str]:
        """Delete the asset's stored versions not in ``keep``; return the removed locations."""
        keep = set(keep)
        removed = [location for location in self.locations(asset) if location not in keep]
        for location in removed:
            self.path(location).unlink(missing_ok=True)
        return removed

    def _folder(self, asset: str, create: bool = True) -> Path:
        if not NAME_PATTERN.match(asset):
            raise StorageError(f"'{asset}' is not a valid asset name, so it has no storage folder")
        folder = self.root.joinpath(*asset.split("."))
        if create:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StorageError(
                    f"cannot create the storage folder {folder} ({error.strerror}); "
                    "check its permissions or choose another home with --home") from error
        return folder

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _write_table(self, asset: str, folder: Path, value: Any) -> Stored:
        if isinstance(value, pl.LazyFrame):
            return self._sink_lazy(asset, folder, value)
        frame = value if isinstance(value, pl.DataFrame) else pl.from_arrow(value)
        assert isinstance(frame, pl.DataFrame)
        schema = tuple((name, str(dtype)) for name, dtype in frame.schema.items())
        if frame.height < SMALL_TABLE_ROWS:
            table = value if isinstance(value, pa.Table) else frame.to_arrow()
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
            data = memoryview(sink.getvalue())
            return self._publish_bytes(folder, data, TABLE_SUFFIX, frame.height, schema, frame)
        with self._temporary(folder) as temp:
            frame.write_parquet(temp)
            return self._publish_file(folder, temp, TABLE_SUFFIX, frame.height, schema, frame)

    def _sink_lazy(self, asset: str, folder: Path, frame: pl.LazyFrame) -> Stored:
        with self._temporary(folder) as temp:
            frame.sink_parquet(temp)
            metadata = pq.read_metadata(temp)
            schema = tuple((name, str(dtype)) for name, dtype in pl.read_parquet_schema(temp).items())
            return self._publish_file(folder, temp, TABLE_SUFFIX, metadata.num_rows, schema, None)

    def _write_json(self, asset: str, folder: Path, value: Any) -> Stored:
        try:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise StorageError(
                f"asset '{asset}' returned a {type(value).__name__}, which is neither a table nor JSON ({error}); "
                "return a polars DataFrame or LazyFrame, a pyarrow Table, or JSON-able data") from error
        rows = len(value) if isinstance(value, list) else None
        return self._publish_bytes(folder, memoryview(text.encode()), JSON_SUFFIX, rows, None, json.loads(text))

    def _publish_bytes(self, folder: Path, data: memoryview, suffix: str, rows: int | None,
                       schema: tuple[tuple[str, str], ...] | None, value: Any) -> Stored:
        version = hashlib.sha256(data).hexdigest()[:32]
        final = folder / f"{version}{suffix}"
        if not final.exists():
            with self._temporary(folder) as temp:
                with open(temp, "wb") as handle:
                    handle.write(data)
                    self._flush(handle)
                self._rename(temp, final)
        return Stored(self._relative(final), version, rows, schema, len(data), value)

    def _publish_file(self, folder: Path, temp: Path, suffix: str, rows: int | None,
                      schema: tuple[tuple[str, str], ...] | None, value: Any) -> Stored:
        version = _file_digest(temp)
        size = temp.stat().st_size
        final = folder / f"{version}{suffix}"
        if self.durable:
            with open(temp, "rb+") as handle:
                self._flush(handle)
        self._rename(temp, final)
        return Stored(self._relative(final), version, rows, schema, size, value)

    def _flush(self, handle: Any) -> None:
        if self.durable:
            handle.flush()
            os.fsync(handle.fileno())

    def _rename(self, temp: Path, final: Path) -> None:
        os.replace(temp, final)
        if self.durable:
            descriptor = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    class _temporary:
        """A temporary file path in ``folder`` that is removed unless it was renamed into place."""

        def __init__(self, folder: Path):
            self.folder = folder

        def __enter__(self) -> Path:
            try:
                descriptor, name = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".part")
            except OSError as error:
                raise StorageError(
                    f"cannot write in the storage folder {self.folder} ({error.strerror}); "
                    "check its permissions and free space, or choose another home with --home") from error
            os.close(descriptor)
            self.path = Path(name)
            return self.path

        def __exit__(self, *exc: object) -> None:
            self.path.unlink(missing_ok=True)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in _blocks(handle):
            h.update(block)
    return h.hexdigest()[:32]


def _blocks(handle: Any, size: int = 1 << 20) -> Iterator[bytes]:
    while block := handle.read(size):
        yield block
