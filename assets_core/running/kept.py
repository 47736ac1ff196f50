"""The tables a worker process keeps in memory for the run it serves: those its attempts stored and those they
read, so that a later attempt there gets them without reading them back from storage.

A stored value's location is made of its content (``<asset>@<data version>``, see
:mod:`~assets_core.running.storage`), so a location never names another value: what is kept under it is what a
read would give. Each table is kept, and handed out, as a copy of its own (``clone``: its columns shared, not
copied), so an asset that changes its input (or its returned value) in place changes only its own copy.
The coordinating process hands values in memory to the attempts of a run in
threads (:class:`~assets_core.running.values.ValueCache`): a value is read from storage once, and a file changed
on disk meanwhile is not read again. Each run keeps its own (a Dask worker's performer holds them, and they go
with it when the run ends), up to :data:`KEPT_BYTES`, the least recently used dropped first.
"""

from __future__ import annotations

import collections
import io
import threading
from typing import TYPE_CHECKING, Any

from assets_core.imports import LazyModule
from assets_core.running.storage import ValueStorage

if TYPE_CHECKING:
    import polars as pl
else:
    pl = LazyModule("polars")

KEPT_BYTES = 64 << 20  # the memory (estimated) the tables kept for one run may take in one worker
LARGEST_KEPT = 8 << 20  # a larger table is read from storage by each attempt that needs it


class KeptValues:
    """Tables kept in memory by location, for one run's attempts in this process; safe to use from its threads."""

    def __init__(self, limit: int = KEPT_BYTES, largest: int = LARGEST_KEPT) -> None:
        self.limit, self.largest = limit, largest
        self._lock = threading.Lock()
        self._tables: collections.OrderedDict[str, tuple[pl.DataFrame, int]] = collections.OrderedDict()
        self._size = 0

    def keep(self, location: str, value: Any) -> None:
        """Keep a table an attempt stored at ``location``, copied into buffers of its own (other values, and tables
        larger than ``largest``, are not kept).

        A table returned by an asset may be a slice (``head``, a filter that keeps one run of rows) of a far larger
        frame: kept as it is, it would hold that frame's memory, which its estimated size does not count.

        >>> kept = KeptValues(limit=100, largest=80)
        >>> kept.keep("a@1.parquet", pl.DataFrame({"v": range(5)})); kept.keep("b@2.json", {"v": 1})
        >>> kept.keep("c@3.parquet", pl.DataFrame({"v": range(20)}))  # 160 bytes: read from storage each time
        >>> kept.locations()
        ['a@1.parquet']
        """
        if isinstance(value, pl.DataFrame) and value.estimated_size() <= self.largest:
            copy = _compact(value)
            if copy is not None:
                self._keep(location, copy)

    def _keep(self, location: str, table: pl.DataFrame) -> None:
        size = int(table.estimated_size())
        if size > self.largest:
            return
        with self._lock:
            if location in self._tables:
                self._tables.move_to_end(location)
                return
            self._tables[location] = (table, size)
            self._size += size
            while self._size > self.limit:
                _, (_, dropped) = self._tables.popitem(last=False)
                self._size -= dropped

    def read(self, storage: ValueStorage, location: str, lazy: bool) -> Any:
        """The value stored at ``location``: the table kept here (as a lazy frame when ``lazy``), else read from
        ``storage`` (and kept, unless read lazily: a lazy scan reads only what the query needs)."""
        with self._lock:
            found = self._tables.get(location)
            if found is not None:
                self._tables.move_to_end(location)
        if found is not None:
            return found[0].lazy() if lazy else found[0].clone()
        value = storage.read(location, lazy)
        if not lazy and isinstance(value, pl.DataFrame):  # decoded afresh: buffers of its own, the reader's copy
            self._keep(location, value.clone())
        return value

    def locations(self) -> list[str]:
        """The locations kept, the least recently used first."""
        with self._lock:
            return list(self._tables)


def _compact(table: pl.DataFrame) -> pl.DataFrame | None:
    """A copy of ``table`` holding its rows only (a ``clone`` shares the buffers, so all a slice holds alive);
    None when polars cannot copy it so (it is then read from storage)."""
    stream = io.BytesIO()
    try:
        table.write_ipc_stream(stream, compression="uncompressed")
        stream.seek(0)
        return pl.read_ipc_stream(stream)
    except Exception:  # noqa: BLE001 - not kept: a later attempt reads it from storage
        return None
