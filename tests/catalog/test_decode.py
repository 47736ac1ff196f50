"""The decoders make records at once from a row's values (``tuple.__new__``, past the records' ``__new__``):
what they make must be what the records' own ``__new__`` makes of the decoded values, field by field."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timezone
from typing import Any

import pytest

from assets_core.planning.state import FailureRecord, MaterializationRecord, ObservationRecord
from catalog.decode import (
    FAILURE_FIELDS,
    MATERIALIZATION_FIELDS,
    OBSERVATION_FIELDS,
    failure_from,
    materialization_from,
    observation_from,
)

STORED_AT = "2024-05-01 12:30:00.000250"  # as SQLite keeps a time: text in UTC, without a zone
AT = datetime(2024, 5, 1, 12, 30, 0, 250, tzinfo=timezone.utc)

MATERIALIZATIONS = [
    ("a", "r1", "d1", "c1", '{"raw":"v1","b":"v2"}', "a/d1.json", 3, '[["id","Int64"],["name","String"]]', 10, 0.5,
     '{"n":1,"nested":[1.5,null,"x"]}', "2024", STORED_AT),
    ("b", "r2", "d2", "c2", "{}", "b/d2.json", None, None, 0, 0.0, "{}", "", STORED_AT),
    ("c", "r3", "d3", "c3", {"raw": "v1"}, "c/d3.json", 1, [["id", "Int64"]], 1, 1.0, {"k": [1]}, "x", AT),  # decoded
]


def _decoded_by_hand(row: tuple[Any, ...]) -> MaterializationRecord:
    """The record the long way: the record's own __new__, by keyword, from values decoded one by one."""
    values = dict(zip(MATERIALIZATION_FIELDS, row, strict=True))
    for name in ("upstream_versions", "metadata"):
        values[name] = json.loads(values[name]) if isinstance(values[name], str) else values[name]
    schema = values["schema"]
    schema = json.loads(schema) if isinstance(schema, str) else schema
    values["schema"] = None if schema is None else tuple((column, kind) for column, kind in schema)
    values["created_at"] = AT
    return MaterializationRecord(**values)


def test_the_fields_decoded_are_the_records_fields_in_order() -> None:
    """The decoders fill the records by position: the columns they are given must be the fields, in order."""
    assert MaterializationRecord._fields == MATERIALIZATION_FIELDS
    assert FailureRecord._fields == FAILURE_FIELDS and ObservationRecord._fields == OBSERVATION_FIELDS


@pytest.mark.parametrize("row", MATERIALIZATIONS, ids=lambda row: row[0])
def test_a_decoded_materialization_is_the_one_made_the_long_way(row: tuple[Any, ...]) -> None:
    decoded, expected = materialization_from(row), _decoded_by_hand(row)
    assert type(decoded) is MaterializationRecord and decoded == expected
    for name in MATERIALIZATION_FIELDS:
        mine, theirs = getattr(decoded, name), getattr(expected, name)
        assert mine == theirs and type(mine) is type(theirs), name
    assert decoded.created_at.tzinfo is timezone.utc and decoded.node == expected.node
    back = pickle.loads(pickle.dumps(decoded, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(back) is MaterializationRecord and back == decoded


def test_a_decoded_failure_and_observation_are_the_ones_made_the_long_way() -> None:
    failure = failure_from(("a", "r1", "boom", "Traceback", 2, "2024", STORED_AT))
    seen = observation_from(("raw", "r1", "o1", "f1", "", STORED_AT))
    assert type(failure) is FailureRecord and failure == FailureRecord("a", "r1", "boom", "Traceback", 2, "2024", AT)
    assert type(seen) is ObservationRecord and seen == ObservationRecord("raw", "r1", "o1", "f1", created_at=AT)
    for record in (failure, seen):
        assert pickle.loads(pickle.dumps(record)) == record and record.created_at.tzinfo is timezone.utc


@pytest.mark.parametrize("decode, row", [(materialization_from, MATERIALIZATIONS[0][:-1]),
                                         (materialization_from, (*MATERIALIZATIONS[0], "extra")),
                                         (failure_from, ("a", "r1", "boom", "tb", 1, "")),
                                         (observation_from, ("raw", "r1", "o1", "f1", "", STORED_AT, "x"))])
def test_a_row_of_the_wrong_length_is_refused(decode: Any, row: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        decode(row)
