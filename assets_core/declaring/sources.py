"""Source assets: observing external files (their data version) and reading them for downstream assets."""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import ne
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assets_core.declaring.definitions import Asset
from assets_core.errors import StorageError
from assets_core.imports import late_import

if TYPE_CHECKING:
    import polars as pl

TABLE_SUFFIXES = (".csv", ".parquet")  # the files a downstream asset receives as a polars frame


def _readers(suffix: str) -> tuple[Callable[..., pl.DataFrame], Callable[..., pl.LazyFrame]]:
    """polars' eager and lazy readers of a table file (polars imported only when a file is read)."""
    with late_import():
        import polars as pl

    return (pl.read_csv, pl.scan_csv) if suffix == ".csv" else (pl.read_parquet, pl.scan_parquet)


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
    return Observation(data_version(files, root), fingerprint, tuple(map(str, files)))


def data_version(files: Sequence[str | os.PathLike[str]], root: str | os.PathLike[str]) -> str:
    """The data version of what ``files`` hold: their paths (relative to ``root``) and contents, hashed."""
    h = hashlib.sha256()
    for file in files:
        h.update(os.path.relpath(file, root).encode() + b"\0")
        with open(file, "rb") as handle:
            while block := handle.read(1 << 20):
                h.update(block)
    return h.hexdigest()[:32]


GLOB_CHARACTERS = frozenset("*?[")


def observe_files(item: Asset, root: str | os.PathLike[str], paths: Sequence[str], fingerprints: Sequence[str | None],
                  last_fingerprints: Sequence[str | None], last_versions: Sequence[str | None]) -> list[str | None]:
    """Observe many one-file partitions of a source at once: ``paths[i]`` is partition i's file (an absolute
    path, no glob), ``fingerprints[i]`` its fingerprint now (:func:`~assets_core.declaring.file_stats.stat_here`;
    None: no file), ``last_fingerprints[i]`` and ``last_versions[i]`` those of its last observation (None: none).
    Return each partition's data version now (None: no file).

    A file whose size and modification time are unchanged is not read again: the partitions whose fingerprint
    changed are found without a Python step per partition, and only those are read (each one's data version
    as :func:`observe` finds it; None if the file went away meanwhile).

    >>> observe_files(None, "/", ["/a", "/b", "/c"], ["1:1", None, None], ["1:1", "1:1", None], ["v", "w", None])
    ['v', None, None]
    """
    versions = list(last_versions)
    for index in compress(range(len(versions)), map(ne, fingerprints, last_fingerprints)):
        versions[index] = None if fingerprints[index] is None else _read_version(paths[index], root)
    return versions


def _read_version(path: str, root: str | os.PathLike[str]) -> str | None:
    """One file's data version (None: it is gone, or no longer a file)."""
    try:
        return data_version([path], root)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def read_source(item: Asset, files: tuple[Path, ...], lazy: bool = False) -> Any:
    """The value a downstream asset receives: a polars frame for CSV/Parquet files, else the path(s)."""
    suffixes = {f.suffix.lower() for f in files}
    if len(suffixes) == 1 and (suffix := suffixes.pop()) in TABLE_SUFFIXES:
        with late_import():
            import polars as pl

        read, scan = _readers(suffix)
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
    typed = source_schema(item, files)
    return None if typed is None else tuple(column for column, _ in typed)


def source_schema(item: Asset, files: tuple[Path, ...]) -> tuple[tuple[str, str], ...] | None:
    """The columns of a CSV or Parquet source with their types as polars reads them (from the first file), or
    None for other files."""
    suffix = files[0].suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return None
    with late_import():
        import polars as pl

    try:
        found = _readers(suffix)[1](str(files[0]), **item.read_options).collect_schema()
    except (OSError, TypeError, pl.exceptions.PolarsError):
        return None
    return tuple((column, str(dtype)) for column, dtype in found.items())
