"""How a value is stored: its bytes (Parquet for tables, JSON for the rest) and what they hold, the same in
every storage (:mod:`~assets_core.running.storage`, :mod:`~assets_core.running.object_storage`), so that the
same value has the same data version wherever it lives; and how a stored table's bytes are read back, the same
frame whichever storage, executor or reader decodes them."""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assets_core.declaring.definitions import NAME_PATTERN
from assets_core.errors import StorageError
from assets_core.imports import LazyModule, late_import

if TYPE_CHECKING:
    import polars as pl
    from polars._typing import PolarsDataType
else:
    pl = LazyModule("polars")  # a status reads no value: polars is imported by the first that is read or written

SMALL_TABLE_ROWS = 100_000  # below this, pyarrow writes a table faster than polars' threaded writer
READ_WHOLE_BYTES = 16 << 20  # a stored table up to this size is read into memory whole, checked and decoded there
TABLE_SUFFIX = ".parquet"
JSON_SUFFIX = ".json"
Schema = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Stored:
    """Where a value went and what it holds."""

    location: str  # the file's name in the storage folder
    data_version: str
    rows: int | None
    schema: Schema | None
    bytes: int
    value: Any  # the value as a downstream asset receives it (a polars DataFrame for tables), if cheap to keep


def is_table(value: Any) -> bool:
    """Whether a value is stored as a table: a polars DataFrame or LazyFrame, or a pyarrow Table.

    Only a value whose class comes from pyarrow can be a pyarrow Table, so other values never import pyarrow
    (nor look at a pyarrow that another thread may still be importing).

    >>> is_table(pl.DataFrame({"a": [1]})), is_table({"a": 1}), is_table([1, 2])
    (True, False, False)
    """
    if isinstance(value, (pl.DataFrame, pl.LazyFrame)):
        return True
    if not any(cls.__module__.partition(".")[0] == "pyarrow" for cls in type(value).__mro__):
        return False
    with late_import():
        import pyarrow as pa
    return isinstance(value, pa.Table)


@dataclass(frozen=True)
class Encoded:
    """A value as stored: its bytes in memory (``data``, a small value) or in a temporary file (``file``)."""

    suffix: str
    rows: int | None
    schema: Schema | None
    value: Any  # as :attr:`Stored.value`
    data: memoryview | None = None
    file: str | None = None

    def stored(self, location: str, version: str, size: int) -> Stored:
        return Stored(location, version, self.rows, self.schema, size, self.value)


def check_value(asset: str, value: Any, io: str) -> None:
    """Raise a StorageError for a value that cannot be stored under this name and ``io`` option."""
    if not NAME_PATTERN.match(asset):
        raise StorageError(f"'{asset}' is not a valid asset name, so nothing can be stored for it")
    if io == "parquet" and not is_table(value):
        raise StorageError(
            f"asset '{asset}' has options.io='parquet' but returned a {type(value).__name__}; "
            "return a polars DataFrame or LazyFrame or a pyarrow Table")


@contextlib.contextmanager
def encoded(asset: str, value: Any, io: str,
            temporary: Callable[[], AbstractContextManager[str]]) -> Iterator[Encoded]:
    """A value's stored bytes (Parquet for a table, unless ``io='json'``; else JSON), the same wherever it is
    stored, so the same value has the same data version everywhere. A large or lazy table is written to a file
    from ``temporary()``, which the caller publishes before the block ends (or the file is left to ``temporary``
    to remove); anything smaller stays in memory."""
    if not is_table(value) or io == "json":
        yield _json(asset, value)
        return
    with late_import():  # not at the top: commands that only read statuses never need it
        import pyarrow as pa
        import pyarrow.parquet as pq

    if isinstance(value, pl.LazyFrame):
        _refuse_objects(asset, value.collect_schema())
        with temporary() as temp:
            value.sink_parquet(temp)
            rows = pq.read_metadata(temp).num_rows
            schema = tuple((name, str(dtype)) for name, dtype in pl.read_parquet_schema(temp).items())
            yield Encoded(TABLE_SUFFIX, rows, schema, None, file=temp)
        return
    frame = value if isinstance(value, pl.DataFrame) else pl.from_arrow(value)
    assert isinstance(frame, pl.DataFrame)
    schema = table_schema(asset, frame)
    if frame.height < SMALL_TABLE_ROWS:
        data = parquet_bytes(value if isinstance(value, pa.Table) else arrow_table(frame, schema))
        yield Encoded(TABLE_SUFFIX, frame.height, schema, frame, data=data)
        return
    with temporary() as temp:
        frame.write_parquet(temp)
        yield Encoded(TABLE_SUFFIX, frame.height, schema, frame, file=temp)


def _json(asset: str, value: Any) -> Encoded:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise StorageError(
            f"asset '{asset}' returned a {type(value).__name__}, which is neither a table nor JSON ({error}); "
            "return a polars DataFrame or LazyFrame, a pyarrow Table, or JSON-able data") from error
    rows = len(value) if isinstance(value, list) else None
    return Encoded(JSON_SUFFIX, rows, None, json.loads(text), data=memoryview(text.encode()))


def table_schema(asset: str, frame: pl.DataFrame) -> Schema:
    """A table's columns and their types as recorded, once :func:`_refuse_objects` found no column of Python
    objects: only a frame whose type names say ``Object`` somewhere (a nested one's too) is looked at closely,
    for the names cost far less to read than the frame's ``schema`` and each type's comparisons.

    >>> table_schema("a", pl.DataFrame({"k": [1], "s": [["x"]]}))
    (('k', 'Int64'), ('s', 'List(String)'))
    """
    schema = tuple(zip(frame.columns, map(str, frame.dtypes), strict=True))
    if any("Object" in name for _, name in schema):
        _refuse_objects(asset, frame.schema)
    return schema


# Column types that ``pyarrow.table(frame)`` (through the Arrow C stream) gives exactly as ``frame.to_arrow()`` does,
# so that their Parquet bytes, and data versions, are the same; a string column would not be (string_view there,
# large_string here).
_SAME_THROUGH_STREAM = frozenset({"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
                                  "Float32", "Float64", "Boolean"})


def arrow_table(frame: pl.DataFrame, schema: Schema) -> Any:
    """A polars frame (whose :func:`table_schema` is ``schema``) as a pyarrow Table, the same as ``to_arrow()``
    makes: through the Arrow C stream when every column is a number or a boolean, in a third of the time.

    >>> frame = pl.DataFrame({"n": [1, None], "ok": [True, False]})
    >>> arrow_table(frame, table_schema("a", frame)).equals(frame.to_arrow())
    True
    """
    if all(kind in _SAME_THROUGH_STREAM for _, kind in schema):
        with late_import():
            import pyarrow as pa
        return pa.table(frame)
    return frame.to_arrow()


# What ``pyarrow.parquet.write_table(table, where)`` gives its writer: the same bytes, so the same data versions,
# without what its wrappers do again for every table (resolving a file system for ``where``, checking the table's
# schema against itself, handing some 30 options on twice): a tenth of the writing of a small table.
_WRITER_OPTIONS: dict[str, Any] = {
    "version": "2.6", "compression": "snappy", "use_dictionary": True, "write_statistics": True,
    "use_deprecated_int96_timestamps": False, "writer_engine_version": "V2", "data_page_version": "1.0",
    "use_compliant_nested_type": True, "store_schema": True}


def parquet_bytes(table: Any) -> memoryview:
    """A pyarrow Table as Parquet, in memory: the bytes ``pyarrow.parquet.write_table`` writes (by its writer,
    made directly; by that function itself with a pyarrow whose writer takes other options)."""
    with late_import():
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyarrow import _parquet

    sink = pa.BufferOutputStream()
    try:
        writer = _parquet.ParquetWriter(sink, table.schema, **_WRITER_OPTIONS)
    except TypeError:  # not the options this pyarrow's writer takes
        pq.write_table(table, sink)
        return memoryview(sink.getvalue())
    try:
        writer.write_table(table)
    finally:
        writer.close()
    return memoryview(sink.getvalue())


def _refuse_objects(asset: str, schema: pl.Schema) -> None:
    """Raise a StorageError for a column of Python objects: Parquet would hold their memory addresses, which
    differ at every run (so the data version would too, and nothing downstream would ever be cut off early)."""
    for column, dtype in schema.items():
        if _holds_objects(dtype):
            raise StorageError(
                f"asset '{asset}' returned column '{column}' of Python objects ({dtype}), which cannot be stored "
                f"(Parquet would keep their memory addresses); cast it to a real type, e.g. "
                f"pl.col('{column}').map_elements(str, return_dtype=pl.String), or leave it out")


def _holds_objects(dtype: PolarsDataType) -> bool:
    """Whether a column type is, or nests, Python objects.

    >>> _holds_objects(pl.Object()), _holds_objects(pl.List(pl.Int64)), _holds_objects(pl.Struct({"a": pl.Object}))
    (True, False, True)
    """
    if dtype == pl.Object:  # an instance or the class itself (as a nested type may hold it)
        return True
    if isinstance(dtype, pl.Struct):
        return any(_holds_objects(field.dtype) for field in dtype.fields)
    inner = getattr(dtype, "inner", None)  # List and Array
    return inner is not None and _holds_objects(inner)


def decoded_table(data: bytes) -> pl.DataFrame:
    """A stored table's bytes as a DataFrame: the frame ``pl.read_parquet`` gives, whatever the executor or storage
    (by :func:`fast_table` where it gives the same, else by polars itself)."""
    frame = fast_table(data)
    return pl.read_parquet(io.BytesIO(data)) if frame is None else frame


def fast_table(data: bytes) -> pl.DataFrame | None:
    """A small stored table's bytes decoded by pyarrow in this thread, several times faster than polars' query
    engine for a few rows; None unless every column's type is one for which both give the same frame (see
    :func:`_same_in_pyarrow`; ``tests/assets_core/running/test_decoding.py`` checks each one)."""
    with late_import():
        import pyarrow as pa
        import pyarrow.parquet as pq
    try:
        file = pq.ParquetFile(pa.BufferReader(data))
        if not all(_same_in_pyarrow(field.type) for field in (*file.schema_arrow, *_written_schema(file))):
            return None
        frame = pl.from_arrow(file.read(use_threads=False))
    except (pa.ArrowException, pl.exceptions.PolarsError):  # a type pyarrow cannot read (a 128-bit integer)
        return None  # left to polars, which reads it or says why not
    assert isinstance(frame, pl.DataFrame)
    return frame


def _written_schema(file: Any) -> Any:
    """The Arrow schema its writer stored in a Parquet file (none: empty), which polars follows where pyarrow may
    not (a date64 column, that pyarrow reads as a date32)."""
    with late_import():
        import pyarrow as pa
    stored = (file.metadata.metadata or {}).get(b"ARROW:schema")
    return () if stored is None else pa.ipc.read_schema(pa.BufferReader(base64.b64decode(stored)))


def _same_in_pyarrow(kind: Any) -> bool:
    """Whether pyarrow's reading of a column of this Arrow type, made a polars one, is what polars reads itself.
    Not so for date64 (polars reads a datetime), float16, maps and extension types: those go to polars.

    >>> import pyarrow as pa
    >>> _same_in_pyarrow(pa.struct([("a", pa.list_(pa.timestamp("us", "UTC")))])), _same_in_pyarrow(pa.date64())
    (True, False)
    """
    with late_import():
        import pyarrow as pa
    types = pa.types
    if types.is_struct(kind):
        return all(_same_in_pyarrow(kind.field(index).type) for index in range(kind.num_fields))
    if types.is_list(kind) or types.is_large_list(kind) or types.is_fixed_size_list(kind):
        return _same_in_pyarrow(kind.value_type)
    if types.is_dictionary(kind):  # Categorical and Enum columns
        return kind.index_type.id in _same_kinds() and (types.is_string(kind.value_type)
                                                         or types.is_large_string(kind.value_type))
    return kind.id in _same_kinds()


@functools.cache
def _same_kinds() -> frozenset[int]:
    """The Arrow type ids (a timestamp's, whatever its unit and zone) of the plain types pyarrow reads as polars
    does: integers, float32 and float64, booleans, strings, binaries, date32, times, timestamps, durations,
    decimal128 and nulls."""
    with late_import():
        import pyarrow as pa
    kinds = (pa.null(), pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(),
             pa.uint32(), pa.uint64(), pa.float32(), pa.float64(), pa.string(), pa.large_string(), pa.string_view(),
             pa.binary(), pa.large_binary(), pa.binary_view(), pa.binary(1), pa.date32(), pa.time32("s"),
             pa.time64("us"), pa.timestamp("us"), pa.duration("us"), pa.decimal128(1, 0))
    return frozenset(kind.id for kind in kinds)
