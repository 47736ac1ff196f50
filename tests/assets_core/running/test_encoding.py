"""A table's stored bytes and recorded schema, made by the encoding's fast paths: the very bytes
``pyarrow.parquet.write_table`` writes (so the same data versions as before), and columns of Python objects
refused wherever they are nested."""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import _parquet

from assets_core.errors import StorageError
from assets_core.running import encoding
from assets_core.running.encoding import encoded, parquet_bytes, table_schema
from tests.assets_core.running.test_decoding import WIDE

TABLES = {
    "small": pl.DataFrame({"k": list(range(10)), "v": [1] * 10}),
    "wide": WIDE,  # every kind of column a small table may hold
    "empty": pl.DataFrame({"a": pl.Series([], dtype=pl.Int64), "b": pl.Series([], dtype=pl.String)}),
    "no columns": pl.DataFrame(),
    "repeats": pl.DataFrame({"city": ["paris", "rome"] * 500, "n": range(1000)}),  # dictionary-encoded
}


def _written_by_pyarrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@pytest.mark.parametrize("frame", TABLES.values(), ids=TABLES.keys())
def test_a_table_is_stored_as_the_bytes_pyarrow_write_table_writes(frame):
    """Not merely an equal table: the same bytes, so every stored value keeps its data version."""
    table = frame.to_arrow()
    assert bytes(parquet_bytes(table)) == _written_by_pyarrow(table)
    with encoded("t", frame, "auto", _no_file) as stored:
        assert stored.data is not None and bytes(stored.data) == _written_by_pyarrow(table)


@pytest.mark.parametrize("kind", sorted(encoding._SAME_THROUGH_STREAM))
def test_a_frame_of_numbers_taken_through_the_arrow_stream_is_stored_as_to_arrow_would_store_it(kind):
    """Each type the quick way serves, with nulls, in two chunks: the bytes of the frame's own ``to_arrow``."""
    dtype = getattr(pl, kind)
    values = [True, None, False] if kind == "Boolean" else [1, None, 2]
    frame = pl.DataFrame({"x": pl.Series(values[:2], dtype=dtype)}).vstack(
        pl.DataFrame({"x": pl.Series(values[2:], dtype=dtype)}))
    assert frame.n_chunks("all") == [2] and frame.schema["x"] == dtype
    with encoded("t", frame, "auto", _no_file) as stored:
        assert stored.data is not None and bytes(stored.data) == _written_by_pyarrow(frame.to_arrow())


def test_a_frame_with_text_is_taken_by_to_arrow_not_the_stream():
    frame = pl.DataFrame({"n": [1], "s": ["x"]})
    table = encoding.arrow_table(frame, table_schema("t", frame))
    assert table.schema.field("s").type == pa.large_string()  # the stream would give string_view
    with encoded("t", frame, "auto", _no_file) as stored:
        assert stored.data is not None and bytes(stored.data) == _written_by_pyarrow(frame.to_arrow())


def test_a_pyarrow_table_is_stored_as_its_own_bytes():
    table = pa.table({"x": pa.array([1, 2], pa.int32()), "when": pa.array([1, 2], pa.date64())})
    with encoded("t", table, "auto", _no_file) as stored:
        assert stored.data is not None and bytes(stored.data) == _written_by_pyarrow(table)


def test_a_pyarrow_whose_writer_takes_other_options_writes_through_write_table(monkeypatch):
    real, refused = _parquet.ParquetWriter, []

    def refusing_the_first(*args, **kwargs):  # then the real writer, which write_table makes
        if not refused:
            refused.append(kwargs)
            raise TypeError("__cinit__() got an unexpected keyword argument 'store_schema'")
        return real(*args, **kwargs)

    monkeypatch.setattr(_parquet, "ParquetWriter", refusing_the_first)
    table = TABLES["small"].to_arrow()
    assert bytes(parquet_bytes(table)) == _written_by_pyarrow(table) and refused


def test_the_recorded_schema_names_each_column_and_its_type():
    frame = pl.DataFrame({"k": [1], "s": [["x"]], "r": [{"a": 1.5}]})
    assert table_schema("t", frame) == (("k", "Int64"), ("s", "List(String)"), ("r", "Struct({'a': Float64})"))
    assert table_schema("t", frame) == tuple((name, str(kind)) for name, kind in frame.schema.items())


def test_a_column_named_object_is_no_column_of_objects():
    frame = pl.DataFrame({"Object": [1], "r": [{"Object": "x"}]})
    assert table_schema("t", frame) == (("Object", "Int64"), ("r", "Struct({'Object': String})"))


def test_a_column_of_python_objects_is_refused():
    frame = pl.DataFrame({"id": [1, 2], "thing": pl.Series([object(), object()], dtype=pl.Object)})
    with pytest.raises(StorageError, match="asset 'things' returned column 'thing' of Python objects"):
        table_schema("things", frame)


NESTED = [pl.Object(), pl.List(pl.Object), pl.Array(pl.Object, 2), pl.Struct({"inner": pl.Object}),
          pl.List(pl.Struct({"a": pl.Int64, "b": pl.List(pl.Object)}))]


@pytest.mark.parametrize("kind", NESTED, ids=str)
def test_the_name_of_a_type_holding_python_objects_says_so_however_nested(kind):
    """What the schema's fast path looks for before the exact check (polars builds no frame of such columns)."""
    assert encoding._holds_objects(kind) and "Object" in str(kind)


def _no_file():
    raise AssertionError("a small table is encoded in memory")
