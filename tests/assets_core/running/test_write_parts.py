"""Writing a single-run batch's partitions: a few writer threads, each taking the next part until none is left."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from assets_core import DailyPartitions, asset
from assets_core.errors import StorageError
from assets_core.running.attempts import PART_WRITERS, write_parts
from assets_core.running.storage import Storage, Stored


@asset(partitions=DailyPartitions("2026-01-01", end="2026-03-01"), backfill="single_run", time_column="day")
def days() -> pl.DataFrame:
    return pl.DataFrame()


def _parts(count: int) -> list[tuple[str, pl.DataFrame]]:
    return [(f"days[{index}]", pl.DataFrame({"day": [index], "n": [index * 10]})) for index in range(count)]


class _Counting(Storage):
    """A storage that notes which threads wrote, and fails on the part whose ``n`` is ``fail_on``."""

    def __init__(self, root: Path, fail_on: int | None = None) -> None:
        super().__init__(root)
        self.fail_on, self.threads, self.written = fail_on, set[str](), 0
        self._lock = threading.Lock()

    def write(self, asset: str, value: Any, io: str = "auto") -> Stored:
        with self._lock:
            self.threads.add(threading.current_thread().name)
            self.written += 1
        if self.fail_on is not None and value["n"][0] == self.fail_on:
            raise StorageError(f"cannot store part {self.fail_on}")
        return super().write(asset, value, io)


def test_every_part_is_stored_and_given_back_in_the_order_of_its_node(tmp_path: Path) -> None:
    storage = _Counting(tmp_path)
    parts = _parts(57)
    written = write_parts(storage, days, parts)
    assert [node for node, _ in written] == [node for node, _ in parts]
    for (_, value), (_, stored) in zip(parts, written, strict=True):
        assert storage.read(stored.location).equals(value)
    assert storage.written == 57
    assert all(name.startswith("days-parts") for name in storage.threads)
    assert len(storage.threads) <= PART_WRITERS


def test_a_part_that_cannot_be_stored_fails_the_batch_with_its_error(tmp_path: Path) -> None:
    storage = _Counting(tmp_path, fail_on=30)
    with pytest.raises(StorageError, match="cannot store part 30"):
        write_parts(storage, days, _parts(200))
    assert storage.written < 200  # the writers stopped at their next part


def test_one_part_is_written_in_the_attempts_own_thread(tmp_path: Path) -> None:
    storage = _Counting(tmp_path)
    [(node, stored)] = write_parts(storage, days, _parts(1))
    assert node == "days[0]" and storage.read(stored.location)["n"].to_list() == [0]
    assert storage.threads == {threading.current_thread().name}
