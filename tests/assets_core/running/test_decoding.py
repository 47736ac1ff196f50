"""A stored table reads back as the very frame polars reads from its file, whichever way it is decoded: by
pyarrow in memory (small tables of the types listed in encoding._same_in_pyarrow) or by polars itself."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from assets_core.running import storage as storage_module
from assets_core.running.encoding import SMALL_TABLE_ROWS, decoded_table, fast_table
from assets_core.running.storage import Storage

WHEN = [dt.datetime(2020, 1, 1, 12, 30), None, dt.datetime(2021, 6, 1)]

# Every kind of polars column a small table may hold (Int128 excepted: pyarrow cannot hold it, so such a
# table is stored by polars only when large; see test_types_left_to_polars).
WIDE = pl.DataFrame({
    "i8": pl.Series([1, None, -3], dtype=pl.Int8), "u64": pl.Series([1, 2, 2**63], dtype=pl.UInt64),
    "f32": pl.Series([1.5, None, float("nan")], dtype=pl.Float32), "f64": [1.5, float("inf"), None],
    "text": ["a", None, "é"], "flag": [True, False, None], "raw": [b"x", None, b"\x00"],
    "day": [dt.date(2020, 1, 1), None, dt.date(1969, 12, 31)],
    "ns": pl.Series(WHEN, dtype=pl.Datetime("ns")), "ms": pl.Series(WHEN, dtype=pl.Datetime("ms")),
    "paris": pl.Series(WHEN).dt.replace_time_zone("Europe/Paris"),
    "utc_ns": pl.Series(WHEN, dtype=pl.Datetime("ns")).dt.replace_time_zone("UTC"),
    "wait": [dt.timedelta(days=1), None, dt.timedelta(microseconds=3)],
    "wait_ms": pl.Series([dt.timedelta(days=1), None, dt.timedelta(seconds=3)], dtype=pl.Duration("ms")),
    "clock": [dt.time(1, 2, 3), None, dt.time(23, 59, 59, 999999)],
    "category": pl.Series(["b", "a", None], dtype=pl.Categorical),
    "enum": pl.Series(["a", "b", None], dtype=pl.Enum(["b", "a", "z"])),
    "money": pl.Series([decimal.Decimal("1.10"), None, decimal.Decimal("-2.25")], dtype=pl.Decimal(10, 2)),
    "ints": [[1, 2], None, []], "texts": [["a"], None, ["b", None]],
    "pairs": pl.Series([[1, 2], [3, 4], None], dtype=pl.Array(pl.Int32, 2)),
    "record": [{"a": 1, "b": "x"}, None, {"a": 3, "b": None}],
    "record_enum": pl.Series([{"e": "a"}, None, {"e": "b"}], dtype=pl.Struct({"e": pl.Enum(["a", "b"])})),
    "categories": pl.Series([["a"], None, ["b"]], dtype=pl.List(pl.Categorical)),
    "zones": pl.Series([[WHEN[0]], None, []], dtype=pl.List(pl.Datetime("us", "Asia/Tokyo"))),
    "nothing": pl.Series([None, None, None], dtype=pl.Null),
})

# Arrow types a pyarrow Table returned by an asset may hold, each read by pyarrow.
ARROW = pa.table({
    "seconds": pa.array([1, None], pa.timestamp("s")), "offset": pa.array([1, None], pa.timestamp("us", "+01:00")),
    "t32": pa.array([1, None], pa.time32("ms")), "t64": pa.array([1000, None], pa.time64("ns")),
    "d32": pa.array([1, None], pa.date32()), "dur_s": pa.array([1, None], pa.duration("s")),
    "dict": pa.array(["a", None]).dictionary_encode(),
    "dict_large": pa.DictionaryArray.from_arrays(pa.array([0, None], pa.int16()), pa.array(["x"], pa.large_string())),
    "view": pa.array(["a", None], pa.string_view()), "bytes_view": pa.array([b"a", None], pa.binary_view()),
    "fixed": pa.array([b"ab", None], pa.binary(2)), "large_bytes": pa.array([b"a", None], pa.large_binary()),
    "large_text": pa.array(["a", None], pa.large_string()), "u16": pa.array([1, None], pa.uint16()),
    "large_list": pa.array([[1], None], pa.large_list(pa.int8())), "fsl": pa.array([[1, 2], None], pa.list_(pa.int16(), 2)),
    "nested": pa.array([{"x": 1, "y": [1.5]}, None], pa.struct([("x", pa.int8()), ("y", pa.list_(pa.float64()))])),
    "dec": pa.array([decimal.Decimal("1.5"), None], pa.decimal128(38, 5)),
})


def _stored(tmp_path: Path, value: object) -> tuple[Storage, str, bytes]:
    storage = Storage(tmp_path / "storage")
    location = storage.write("table", value).location
    return storage, location, storage.path(location).read_bytes()


def _same_as_polars(storage: Storage, location: str) -> pl.DataFrame:
    """Read back through the storage: the frame pl.read_parquet gives of its file, column types included."""
    read = storage.read(location)
    assert_frame_equal(read, pl.read_parquet(storage.path(location)), check_dtypes=True, categorical_as_str=False)
    return read


def test_a_small_table_of_every_polars_type_is_decoded_by_pyarrow_as_polars_reads_it(tmp_path: Path) -> None:
    storage, location, data = _stored(tmp_path, WIDE)
    assert fast_table(data) is not None  # the fast path itself is what is compared below
    read = _same_as_polars(storage, location)
    assert_frame_equal(read, WIDE, check_dtypes=True)  # and what a downstream asset gets in memory with threads
    assert read.schema["enum"] == pl.Enum(["b", "a", "z"]) and read.schema["paris"] == pl.Datetime("us", "Europe/Paris")


@pytest.mark.parametrize("nested", [False, True])
def test_a_large_table_written_by_polars_reads_back_the_same(tmp_path: Path, nested: bool) -> None:
    large = pl.concat([WIDE] * (SMALL_TABLE_ROWS // len(WIDE) + 1))  # above SMALL_TABLE_ROWS: polars' own writer
    if not nested:
        large = large.select(name for name, kind in WIDE.schema.items() if not kind.is_nested())
    storage, location, data = _stored(tmp_path, large)
    # pyarrow reads no nested column of several chunks into one table: such a table goes to polars
    assert (fast_table(data) is None) == nested
    assert_frame_equal(_same_as_polars(storage, location), large, check_dtypes=True)


def test_a_pyarrow_table_of_other_arrow_types_reads_back_as_polars_reads_it(tmp_path: Path) -> None:
    storage, location, data = _stored(tmp_path, ARROW)
    assert fast_table(data) is not None
    _same_as_polars(storage, location)


@pytest.mark.parametrize("value", [
    pa.table({"date64": pa.array([86_400_000, None], pa.date64())}),  # pyarrow: a Date; polars: a Datetime
    pa.table({"map": pa.array([[("a", 1)], None], pa.map_(pa.string(), pa.int32()))}),
    pa.table({"uuid": pa.array([b"0123456789abcdef", None], pa.uuid())}),  # an extension type
    pl.DataFrame({"big": pl.Series(range(SMALL_TABLE_ROWS + 1), dtype=pl.Int128)}),  # pyarrow cannot read it
], ids=["date64", "map", "extension", "int128"])
def test_types_left_to_polars(tmp_path: Path, value: object) -> None:
    storage, location, data = _stored(tmp_path, value)
    assert fast_table(data) is None
    _same_as_polars(storage, location)
    assert_frame_equal(decoded_table(data), pl.read_parquet(storage.path(location)), check_dtypes=True)


def test_a_table_above_the_in_memory_limit_is_read_from_its_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    storage, location, _ = _stored(tmp_path, WIDE)
    monkeypatch.setattr(storage_module, "READ_WHOLE_BYTES", 10)  # every table is "large" now
    assert_frame_equal(_same_as_polars(storage, location), WIDE, check_dtypes=True)
    lazy = storage.read(location, lazy=True)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), WIDE, check_dtypes=True)
