"""Time the framework's per-asset operations one at a time, in one thread, on disk: the floor of its overhead.

A run does these operations for every asset, in worker threads and the main thread at once; timing each
alone, with nothing else running in the process, shows what each costs by itself and so how much of a run's
time is these operations and how much is the threads getting in each other's way. Below each framework call,
the library and file-system calls of the kind it needs (encoding, hashing, creating and renaming a file) are
timed the same way, outside the framework, as the floor of what storing a value can cost.

Usage: python components.py REPORT.json FOLDER COUNT
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from assets_core.planning.state import Event, MaterializationRecord, RunRecord, now
from assets_core.running.content import content_version
from assets_core.running.storage import Storage, Stored
from catalog import open_catalog, sqlite_url

BATCH = 500  # assets per transaction of the batched write


PRIMITIVE = "  primitive: "  # a library or file-system call of the kind the framework call above makes
RECORD_ONE = "SqlCatalog.record_results of one asset (and 2 events) per transaction"
RECORD_BATCH = f"SqlCatalog.record_results ({BATCH} assets and their events per transaction), per asset"


def per_call(count: int, call: Callable[[int], Any]) -> float:
    """Mean seconds of ``call(i)`` over ``count`` calls."""
    begun = time.perf_counter()
    for index in range(count):
        call(index)
    return (time.perf_counter() - begun) / count


def measure(folder: Path, count: int) -> dict[str, float]:
    """Seconds per call of each operation (framework calls, and the file-system and Parquet calls under them)."""
    storage = Storage(folder / "storage")
    frame = pl.DataFrame({"k": list(range(10)), "v": [1] * 10})
    frames = [frame.with_columns(v=pl.lit(index)) for index in range(count)]
    stored: list[Stored] = []
    times = {"Storage.write (10-row DataFrame of a new asset)":
             per_call(count, lambda i: stored.append(storage.write(f"a_{i}", frames[i])))}
    table = frame.to_arrow()
    times[f"{PRIMITIVE}DataFrame.to_arrow"] = per_call(count, lambda i: frame.to_arrow())
    times[f"{PRIMITIVE}pyarrow.parquet.write_table to a buffer"] = per_call(count, lambda i: _encode(table))
    data = _encode(table)
    times[f"{PRIMITIVE}data version (XXH3) of the Parquet bytes"] = per_call(count, lambda i: content_version(data))
    raw = folder / "raw"
    raw.mkdir()
    times[f"{PRIMITIVE}create, write and close a new file"] = per_call(count, lambda i: _create(raw / f"{i}.part", data))
    times[f"{PRIMITIVE}rename it to its final name"] = per_call(
        count, lambda i: os.replace(raw / f"{i}.part", raw / f"{i}.parquet"))
    times["Storage.exists (stored value)"] = per_call(count, lambda i: storage.exists(stored[i].location))
    times[f"{PRIMITIVE}one stat (os.path.isfile)"] = per_call(count, lambda i: os.path.isfile(raw / f"{i}.parquet"))
    catalog = open_catalog(sqlite_url(folder / "catalog.db"))
    catalog.begin_run(RunRecord("bench", "manual", (), "running", now()))
    times[RECORD_ONE] = per_call(count, lambda i: catalog.record_results([_record(stored[i], i)], [], _events(i)))
    if hasattr(catalog, "record_results"):  # the batched write, where the framework has it
        batches = range(0, count, BATCH)
        times[RECORD_BATCH] = per_call(len(batches), lambda b: catalog.record_results(
            [_record(stored[i], i) for i in range(b * BATCH, min(count, (b + 1) * BATCH))], [],
            [e for i in range(b * BATCH, min(count, (b + 1) * BATCH)) for e in _events(i)])) * len(batches) / count
    names = [f"a_{i}" for i in range(count)]
    times["SqlCatalog.read_state (per asset, all at once)"] = per_call(1, lambda i: catalog.read_state(names)) / count
    catalog.close()
    return times


def _encode(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _create(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)


def _record(stored: Stored, index: int) -> MaterializationRecord:
    upstream = {f"a_{index - 1}": "0" * 32, f"a_{index - 2}": "1" * 32}
    return MaterializationRecord(f"a_{index}", "bench", stored.data_version, "c" * 32, upstream, stored.location,
                                 stored.rows, stored.schema, stored.bytes, 0.001)


def _events(index: int) -> list[Event]:
    return [Event("bench", "started", "never materialized", asset=f"a_{index}"),
            Event("bench", "materialized", "10 rows", asset=f"a_{index}")]


def main() -> int:
    report, folder, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps({"count": count, "seconds": measure(folder, count)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
