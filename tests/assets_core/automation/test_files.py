"""A file sensor over real files: new, changed, touched and removed files, partitions read off the path."""

from __future__ import annotations

import os
from pathlib import Path

from assets_core.automation import files
from assets_core.automation.declarations import file_sensor
from assets_core.automation.files import evaluate_file_sensor, partition_of, stamps_from_cursor
from assets_core.declaring.definitions import source_asset
from assets_core.declaring.partitions import StaticPartitions
from assets_core.declaring.time_partitions import DailyPartitions

LANDED = file_sensor("landed", "landing/**/*.csv", "raw+")


def land(root: Path, name: str, text: str) -> Path:
    path = root / "landing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class CountingDigest:
    """Reads files like the sensor does, and remembers which it read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def __call__(self, path: str) -> str:
        self.read.append(Path(path).name)
        return Path(path).read_text()


def test_a_new_file_starts_one_run_and_an_unchanged_one_is_not_read_again(tmp_path):
    land(tmp_path, "a.csv", "1\n")
    first = evaluate_file_sensor(LANDED, None, tmp_path)
    assert first.changed == ("landing/a.csv",) and len(first.requests) == 1
    assert first.requests[0].selection == "raw+" and first.requests[0].partition is None
    digest = CountingDigest()
    again = evaluate_file_sensor(LANDED, first.cursor, tmp_path, digest=digest)
    assert again.requests == () and digest.read == []


def test_a_touched_file_with_the_same_content_changes_nothing(tmp_path):
    path = land(tmp_path, "a.csv", "1\n")
    first = evaluate_file_sensor(LANDED, None, tmp_path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched = evaluate_file_sensor(LANDED, first.cursor, tmp_path)
    assert touched.requests == () and touched.changed == ()
    assert stamps_from_cursor(touched.cursor)["landing/a.csv"].mtime_ns == stat.st_mtime_ns + 5_000_000_000


def test_changed_content_starts_a_run_with_a_new_key_and_a_removed_file_none(tmp_path):
    path = land(tmp_path, "a.csv", "1\n")
    first = evaluate_file_sensor(LANDED, None, tmp_path)
    path.write_text("1\n2\n")
    changed = evaluate_file_sensor(LANDED, first.cursor, tmp_path)
    assert changed.changed == ("landing/a.csv",)
    assert changed.requests[0].run_key != first.requests[0].run_key
    path.unlink()
    removed = evaluate_file_sensor(LANDED, changed.cursor, tmp_path)
    assert removed.requests == () and removed.stamps == {}


def test_files_of_a_partitioned_source_start_one_run_for_their_partitions(tmp_path):
    raw = source_asset("raw", "landing/{date}/*.csv", partitions=DailyPartitions("2026-01-01"))
    land(tmp_path, "2026-03-01/a.csv", "1\n")
    first = evaluate_file_sensor(LANDED, None, tmp_path, sources=[raw])
    assert [r.partition for r in first.requests] == [None]  # first evaluation: not seen arrive, every stale one
    land(tmp_path, "2026-03-01/b.csv", "2\n")
    land(tmp_path, "2026-03-02/a.csv", "3\n")
    result = evaluate_file_sensor(LANDED, first.cursor, tmp_path, sources=[raw])
    [request] = result.requests
    assert request.partition == "2026-03-01,2026-03-02" and request.run_key.startswith("landed:")
    land(tmp_path, "loose.csv", "4\n")  # in no partition: the run is for every stale partition
    loose = evaluate_file_sensor(LANDED, result.cursor, tmp_path, sources=[raw])
    assert [r.partition for r in loose.requests] == [None]


def test_partition_of_reads_the_placeholder_of_a_source_path():
    regions = source_asset("sales", "in/{key}.parquet", partitions=StaticPartitions(["eu", "us"]))
    assert partition_of("in/eu.parquet", regions) == "eu"
    assert partition_of("in/eu/x.parquet", regions) is None
    assert partition_of("in/eu.parquet", source_asset("plain", "in/*.parquet")) is None


def test_a_cursor_that_is_not_a_file_sensors_is_read_as_none(tmp_path):
    land(tmp_path, "a.csv", "1\n")
    assert stamps_from_cursor("not json") == {} and stamps_from_cursor('{"a": 1}') == {}
    assert len(evaluate_file_sensor(LANDED, "garbage", tmp_path).requests) == 1


def test_a_file_gone_between_the_listing_and_the_reading_starts_no_run_and_is_read_when_it_is_back(tmp_path):
    land(tmp_path, "a.csv", "1\n")
    first = evaluate_file_sensor(LANDED, None, tmp_path)
    late = land(tmp_path, "b.csv", "2\n")

    def removed_first(path: str) -> str | None:  # the sensor's own reader, once the file is gone
        os.remove(path)
        return files._file_digest(path)

    gone = evaluate_file_sensor(LANDED, first.cursor, tmp_path, digest=removed_first)
    assert gone.requests == () and gone.changed == ()
    assert "landing/b.csv" not in stamps_from_cursor(gone.cursor)  # not remembered: read again when seen again
    late.write_text("2\n")
    back = evaluate_file_sensor(LANDED, gone.cursor, tmp_path)
    assert back.changed == ("landing/b.csv",) and len(back.requests) == 1
