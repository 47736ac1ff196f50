"""Source assets: observing external files (their data version) and reading them for downstream assets."""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from assets_core.declaring.definitions import Asset
from assets_core.errors import StorageError

TABLE_READERS: dict[str, tuple[Callable[..., pl.DataFrame], Callable[..., pl.LazyFrame]]] = {
    ".csv": (pl.read_csv, pl.scan_csv), ".parquet": (pl.read_parquet, pl.scan_parquet)}


@dataclass(frozen=True)
class Observation:
    """What a source's files hold now."""

    data_version: str
    fingerprint: str
    paths: tuple[str, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(map(Path, self.paths))


class SourceMissingError(StorageError):
    """No file matches a source asset's path."""


def source_files(item: Asset, root: str | os.PathLike[str], path: str | None = None) -> tuple[Path, ...]:
    """The files a source asset names (or ``path``, one partition's), sorted; raise :class:`SourceMissingError`
    when there are none."""
    pattern = os.path.join(root, path if path is not None else item.path or "")
    files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not files:
        raise SourceMissingError(
            f"source asset '{item.name}' reads '{path if path is not None else item.path}', but no file matches it (looked for {pattern}); "
            "create the file or fix the path in its source_asset(...) declaration")
    return tuple(files)


def observe(item: Asset, root: str | os.PathLike[str], previous: tuple[str, str] | None = None,
            path: str | None = None) -> Observation:
    """Observe a source asset's files (``path``: those of one of its partitions).

    ``previous`` is the (fingerprint, data version) of the last observation: when sizes and modification
    times are unchanged, the files are not hashed again.
    """
    files = source_files(item, root, path)
    stats = [(f, f.stat()) for f in files]
    fingerprint = hashlib.sha256(
        "\n".join(f"{f}\t{s.st_size}\t{s.st_mtime_ns}" for f, s in stats).encode()).hexdigest()[:32]
    if previous is not None and previous[0] == fingerprint:
        return Observation(previous[1], fingerprint, tuple(map(str, files)))
    h = hashlib.sha256()
    for file in files:
        h.update(os.path.relpath(file, root).encode() + b"\0")
        with open(file, "rb") as handle:
            while block := handle.read(1 << 20):
                h.update(block)
    return Observation(h.hexdigest()[:32], fingerprint, tuple(map(str, files)))


GLOB_CHARACTERS = frozenset("*?[")


def observe_files(item: Asset, root: str | os.PathLike[str], paths: Mapping[str, str],
                  previous: Mapping[str, tuple[str, str]]) -> dict[str, Observation]:
    """Observe many one-file partitions of a source at once: ``paths`` maps each node to its file's path
    (no glob), ``previous`` to its last (fingerprint, data version). Each folder is listed once; a file whose
    size and modification time are unchanged is not read again. Nodes without a file are left out."""
    listings: dict[str, dict[str, os.DirEntry[str]]] = {}
    found: dict[str, Observation] = {}
    top = os.fspath(root).rstrip(os.sep) + os.sep
    for node, path in paths.items():
        full = path if os.path.isabs(path) else top + path
        folder, _, name = full.rpartition(os.sep)
        listing = listings.get(folder)
        if listing is None:
            listing = listings[folder] = _listing(folder)
        entry = listing.get(name)
        if entry is None or not entry.is_file():
            continue
        stat = entry.stat()
        fingerprint = f"{stat.st_size}:{stat.st_mtime_ns}"
        last = previous.get(node)
        if last is not None and last[0] == fingerprint:
            found[node] = Observation(last[1], fingerprint, (full,))
            continue
        found[node] = Observation(observe(item, root, None, path).data_version, fingerprint, (full,))
    return found


def _listing(folder: str) -> dict[str, os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return {entry.name: entry for entry in entries}
    except OSError:  # no such folder (yet): no partition has its file
        return {}


def read_source(item: Asset, files: tuple[Path, ...], lazy: bool = False) -> Any:
    """The value a downstream asset receives: a polars frame for CSV/Parquet files, else the path(s)."""
    suffixes = {f.suffix.lower() for f in files}
    if len(suffixes) == 1 and (suffix := suffixes.pop()) in TABLE_READERS:
        read, scan = TABLE_READERS[suffix]
        paths = [str(f) for f in files]
        try:
            if lazy:
                return scan(paths if len(paths) > 1 else paths[0], **item.read_options)
            frames = [read(p, **item.read_options) for p in paths]
            return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
        except (OSError, TypeError, pl.exceptions.PolarsError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StorageError(
                f"source asset '{item.name}' cannot read {paths[0]}: {first}; fix the file, or pass "
                "read_options to source_asset(...), e.g. read_options={'schema_overrides': {'col': pl.String}}"
            ) from error
    return files[0] if len(files) == 1 else list(files)


def source_columns(item: Asset, files: tuple[Path, ...]) -> tuple[str, ...] | None:
    """The columns of a CSV or Parquet source (from the first file's header), or None for other files."""
    suffix = files[0].suffix.lower()
    if suffix not in TABLE_READERS:
        return None
    try:
        return tuple(TABLE_READERS[suffix][1](str(files[0]), **item.read_options).collect_schema().names())
    except (OSError, TypeError, pl.exceptions.PolarsError):
        return None
