"""What a file sensor sees: the files matching its glob, which of them are new or changed, and the runs they ask for.

A file is judged by its path, size and modification time, then by its content: a file whose size and time are
unchanged is not read again; one whose content is the same as before (touched, or copied over with the same
bytes) changes nothing. A file that disappears starts no run, nor does one gone between the listing and the
reading (it is not remembered either, so it is read when it is seen again). What the sensor remembers between evaluations is
its files' stamps, saved as its cursor (:func:`stamps_to_cursor`).

:func:`scan` and :func:`evaluate_file_sensor` read the disk; the rest is pure.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from string import Formatter
from typing import Any, NamedTuple

from assets_core.automation.declarations import FileSensor, RunRequest
from assets_core.declaring.definitions import Asset
from assets_core.imports import late_import

Listing = Mapping[str, tuple[int, int]]  # path relative to the root -> (size, modification time in ns)


class FileStamp(NamedTuple):
    """What is remembered of one file: its size, modification time and content digest (a cursor holds each as
    the list ``[size, mtime_ns, digest]``, which the functions here read alike)."""

    size: int
    mtime_ns: int
    digest: str


Stamps = Mapping[str, Sequence[Any]]  # path -> a FileStamp, or the list a cursor holds


@dataclass(frozen=True)
class FileSensorResult:
    """One evaluation of a file sensor: the runs it asks for, the files that changed, and the stamps to save
    (as the cursor, with the runs) for the next evaluation."""

    requests: tuple[RunRequest, ...]
    changed: tuple[str, ...]
    stamps: Stamps
    kept: str | None = None  # the cursor given, when no file's path, size or time changed: saved as it was

    @property
    def cursor(self) -> str:
        return self.kept if self.kept is not None else stamps_to_cursor(self.stamps)


def scan(root: str | os.PathLike[str], pattern: str) -> dict[str, tuple[int, int]]:
    """The files matching the glob ``pattern`` (relative to ``root`` unless absolute), by path relative to the
    root with ``/`` separators, with their size and modification time."""
    base = os.path.join(os.fspath(root), "")
    listing: dict[str, tuple[int, int]] = {}
    for found in glob.iglob(os.path.join(base, pattern), recursive=True):
        try:
            stat = os.stat(found)
        except OSError:  # gone between the listing and the stat: it is not there
            continue
        if S_ISREG(stat.st_mode):  # a tick looks at every file: no second stat, no Path per file
            path = found[len(base):] if found.startswith(base) else os.path.relpath(found, base)
            listing[path.replace(os.sep, "/")] = (stat.st_size, stat.st_mtime_ns)
    return listing


def unsure(previous: Stamps, listing: Listing) -> list[str]:
    """The paths whose content must be read: new files, and files whose size or modification time changed.

    >>> unsure({"a.csv": FileStamp(3, 1, "x"), "b.csv": FileStamp(3, 1, "y")}, {"a.csv": (3, 1), "b.csv": (3, 2),
    ...                                                                           "c.csv": (1, 1)})
    ['b.csv', 'c.csv']
    """
    return sorted(path for path, (size, mtime) in listing.items()
                  if (old := previous.get(path)) is None or old[0] != size or old[1] != mtime)


def changes(previous: Stamps, listing: Listing,
            digests: Mapping[str, str | None]) -> tuple[dict[str, Sequence[Any]], list[str]]:
    """The stamps to remember now, and the paths whose content is new; ``digests`` holds the content digest of
    every path :func:`unsure` named (a path it did not name keeps its stamp as it was), None for a file that
    could not be read (gone since it was listed): neither new nor remembered.

    >>> old = {"a.csv": FileStamp(3, 1, "x")}
    >>> changes(old, {"a.csv": (3, 2), "b.csv": (1, 1), "c.csv": (1, 1)}, {"a.csv": "x", "b.csv": "z", "c.csv": None})
    ({'a.csv': FileStamp(size=3, mtime_ns=2, digest='x'), 'b.csv': FileStamp(size=1, mtime_ns=1, digest='z')}, ['b.csv'])
    """
    stamps: dict[str, Sequence[Any]] = {}
    changed: list[str] = []
    for path, (size, mtime) in sorted(listing.items()):
        old = previous.get(path)
        if path not in digests and old is not None:
            stamps[path] = old
            continue
        digest = digests.get(path)
        if digest is None:  # gone (or unreadable) since the listing: judged when it is seen again
            continue
        stamps[path] = FileStamp(size, mtime, digest)
        if old is None or old[2] != digest:
            changed.append(path)
    return stamps, changed


def partition_of(path: str, source: Asset) -> str | None:
    """The partition of a partitioned ``source`` that a file at ``path`` (relative to the project folder)
    belongs to, read from the placeholders in the source's path (a multi-partition's key joins its dimensions'
    parts with ``|``); None when the path does not match it.

    >>> from assets_core.declaring.definitions import source_asset
    >>> from assets_core.declaring.partitions import MultiPartitions, StaticPartitions
    >>> from assets_core.declaring.time_partitions import DailyPartitions
    >>> daily = source_asset("raw", "landing/{date}/*.csv", partitions=DailyPartitions("2026-01-01"))
    >>> partition_of("landing/2026-03-01/orders.csv", daily), partition_of("other/orders.csv", daily)
    ('2026-03-01', None)
    >>> both = MultiPartitions(date=DailyPartitions("2026-01-01"), region=StaticPartitions(["eu", "us"]))
    >>> partition_of("data/events_2026-01-14_eu.csv", source_asset("e", "data/events_{date}_{region}.csv",
    ...                                                             partitions=both))
    '2026-01-14|eu'
    """
    if source.partitions is None or source.path is None:
        return None
    match = _template(source.path).fullmatch(path)
    if match is None:
        return None
    try:
        return "|".join(match.group(name) for name in source.partitions.placeholder_names)
    except IndexError:  # a placeholder the path does not name (the graph reports such a path)
        return None


def evaluate_file_sensor(sensor: FileSensor, cursor: str | None, root: str | os.PathLike[str],
                         sources: Iterable[Asset] = (),
                         digest: Callable[[str], str | None] | None = None) -> FileSensorResult:
    """Look at the files, compare them with the stamps in ``cursor``, and ask for one run of the sensor's
    selection for the new or changed files: for their partitions (``K1,K2``) when ``sources``, the partitioned
    sources, place each of them in one; for every stale partition when one is placed in none, or at the first
    evaluation (no cursor: the files found were not seen arrive). The run's key names the files' contents, so
    the same files never start a second run."""
    listing = scan(root, sensor.path)
    previous = _saved(cursor)
    if cursor is not None and _same_files(previous, listing):  # the usual tick: nothing to read, nothing to write
        return FileSensorResult((), (), {}, kept=cursor)
    read = digest or _file_digest
    digests = {path: read(os.path.join(root, path)) for path in unsure(previous, listing)}
    stamps, changed = changes(previous, listing, digests)
    if not changed:
        return FileSensorResult((), (), stamps)
    partitioned = [source for source in sources if source.partitions is not None]
    keys = [next(filter(None, (partition_of(path, source) for source in partitioned)), None) for path in changed]
    spec = None if cursor is None or None in keys else ",".join(dict.fromkeys(key for key in keys if key))
    request = RunRequest(sensor.selection, spec, _run_key(sensor, spec, changed, stamps))
    return FileSensorResult((request,), tuple(changed), stamps)


def stamps_to_cursor(stamps: Stamps) -> str:
    """The stamps as compact JSON text, the cursor a file sensor saves.

    >>> stamps_from_cursor(stamps_to_cursor({"a.csv": FileStamp(3, 1, "x")}))
    {'a.csv': FileStamp(size=3, mtime_ns=1, digest='x')}
    """
    return json.dumps({path: list(stamp) for path, stamp in stamps.items()}, separators=(",", ":"))


def stamps_from_cursor(cursor: str | None) -> dict[str, FileStamp]:
    """The stamps saved in a cursor (none for no cursor, or one that is not a file sensor's)."""
    return {path: FileStamp(*stamp) for path, stamp in _saved(cursor).items()}


def _saved(cursor: str | None) -> dict[str, list[Any]]:
    """The stamps saved in a cursor as the lists it holds, each checked to be ``[int, int, str]`` (none for no
    cursor, or one that is not a file sensor's)."""
    try:
        saved = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    if not isinstance(saved, dict) or not all(
            isinstance(stamp, list) and len(stamp) == 3 and type(stamp[0]) is int and type(stamp[1]) is int
            and isinstance(stamp[2], str) for stamp in saved.values()):
        return {}
    return saved


def _same_files(previous: Stamps, listing: Listing) -> bool:
    """Whether the saved stamps hold exactly the listed files, each with the same size and modification time.

    >>> _same_files({"a.csv": [3, 1, "x"]}, {"a.csv": (3, 1)}), _same_files({"a.csv": [3, 1, "x"]}, {"a.csv": (3, 2)})
    (True, False)
    """
    return len(previous) == len(listing) and all(
        (old := previous.get(path)) is not None and old[0] == size and old[1] == mtime
        for path, (size, mtime) in listing.items())


def _run_key(sensor: FileSensor, key: str | None, paths: list[str], stamps: Stamps) -> str:
    h = hashlib.sha256("\n".join(f"{p}\t{stamps[p][1]}\t{stamps[p][2]}" for p in paths).encode())
    return f"{sensor.name}:{key or '*'}:{h.hexdigest()[:16]}"


def _template(path: str) -> re.Pattern[str]:
    """A source path with placeholders and glob characters as a regular expression with named groups."""
    parts: list[str] = []
    named: set[str] = set()
    for literal, field, _, _ in Formatter().parse(Path(path).as_posix()):
        parts.append(_glob_pattern(literal))
        if field is not None:
            name = field.partition(".")[0].partition("[")[0]
            parts.append(f"(?P={name})" if name in named else f"(?P<{name}>[^/]+)")
            named.add(name)
    return re.compile("".join(parts))


def _glob_pattern(literal: str) -> str:
    """``**`` any path, ``*`` any name part, ``?`` one character; the rest as it is.

    >>> _glob_pattern("a/**/b*.csv")
    'a/.*/b[^/]*\\\\.csv'
    """
    pieces = re.split(r"(\*\*|\*|\?)", literal)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return "".join(wild.get(piece, re.escape(piece)) for piece in pieces)


def _file_digest(path: str) -> str | None:
    with late_import():  # xxhash only when a file sensor reads a file
        from assets_core.running.content import file_version
    try:
        return file_version(path)
    except OSError:  # gone since it was listed: seen again at the next evaluation
        return None
