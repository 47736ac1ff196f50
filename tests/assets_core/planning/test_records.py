"""The recorded state's records (and statuses) are named tuples that behave as the frozen dataclasses they replaced: immutable,
equal only to a record of their own class, made with the same defaults, and sent to workers by pickle."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from assets_core.planning.plan import STALE, Reason, ReasonKind, Status
from assets_core.planning.state import AssetState, FailureRecord, MaterializationRecord, ObservationRecord, now

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _made(**changes: Any) -> MaterializationRecord:
    values: dict[str, Any] = dict(asset="a", run_id="r1", data_version="d1", code_version="c1",
                                  upstream_versions={"raw": "v1"}, location="a/d1.json", rows=3,
                                  schema=(("id", "Int64"),), bytes=10, duration=0.5, metadata={"n": 1},
                                  partition="2024", created_at=T0)
    return MaterializationRecord(**{**values, **changes})


def _every_kind() -> list[Any]:
    made = _made()
    failure = FailureRecord("a", "r2", "boom", "Traceback", 2, "2024", T0)
    seen = ObservationRecord("raw", "r3", "o1", "f1", "", T0)
    stale = Status("a", STALE, (Reason(ReasonKind.CODE_CHANGED, "its code changed"),))
    return [made, failure, seen, AssetState(made, failure, seen), AssetState(), AssetState(observation=seen), stale]


@pytest.mark.parametrize("record", _every_kind(), ids=lambda record: type(record).__name__)
def test_a_record_pickles_and_copies_to_an_equal_record_of_its_class(record: Any) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(record, protocol=protocol))
        assert type(back) is type(record) and back == record and tuple(back) == tuple(record)
    for copied in (copy.copy(record), copy.deepcopy(record)):
        assert type(copied) is type(record) and copied == record


@pytest.mark.parametrize("record", _every_kind(), ids=lambda record: type(record).__name__)
def test_a_record_cannot_change(record: Any) -> None:
    with pytest.raises(AttributeError):
        record.run_id = "other"
    with pytest.raises(AttributeError):
        record.extra = 1  # no __dict__: nothing can be added either
    assert not hasattr(record, "__dict__")


@pytest.mark.parametrize("record", _every_kind(), ids=lambda record: type(record).__name__)
def test_a_record_equals_only_a_record_of_its_class(record: Any) -> None:
    """As a frozen dataclass did: a tuple of the same values is not equal, whichever side it is on."""
    values = tuple(record)
    assert record == record._replace() and not record != record._replace()
    assert record != values and values != record and not record == values and not values == record
    assert record != list(values) and record is not None and record != None  # noqa: E711
    if isinstance(record, MaterializationRecord) or getattr(record, "materialization", None) is not None:
        with pytest.raises(TypeError):  # a materialization holds dicts: unhashable, as it was
            hash(record)
    else:
        assert hash(record) == hash(record._replace()) and len({record, record._replace()}) == 1


def test_records_of_different_kinds_holding_the_same_values_differ() -> None:
    seen = ObservationRecord("a", "r", "v", "f", "", T0)
    assert AssetState(None, None, seen) != (None, None, seen) and AssetState() != (None, None, None)
    assert FailureRecord("a", "r", "v", "f", 1, "", T0) != FailureRecord("a", "r", "v", "f", 2, "", T0)
    assert {"x": AssetState(observation=seen)} == {"x": AssetState(observation=seen._replace())}


def test_a_record_compared_with_something_else_lets_that_decide() -> None:
    class Anything:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    for record in _every_kind():
        assert record == Anything() and Anything() == record and not record != Anything()


def test_defaults_are_filled_in_as_the_dataclasses_filled_them() -> None:
    before = now()
    made = MaterializationRecord("a", "r", "d", "c", {}, "a/d.json", None, None, 0, 0.0)
    other = MaterializationRecord("a", "r", "d", "c", {}, "a/d.json", None, None, 0, 0.0)
    failure, seen = FailureRecord("a", "r", "boom", ""), ObservationRecord("raw", "r", "o", "f")
    after = now()
    assert made.metadata == {} and type(made.metadata) is dict and made.metadata is not other.metadata  # a new one
    assert made.partition == "" and failure.attempt == 1 and failure.partition == "" and seen.partition == ""
    for record in (made, failure, seen):
        assert before <= record.created_at <= after and record.created_at.tzinfo is timezone.utc
    assert AssetState() == AssetState(None, None, None)
    given = T0 - timedelta(days=1)
    assert _made(created_at=given, metadata={}).created_at is given and _made(created_at=given).metadata == {"n": 1}


def test_a_record_is_made_from_keywords_or_positions_alike_and_replaced_field_by_field() -> None:
    made = _made()
    assert made == MaterializationRecord(*made) == MaterializationRecord._make(made)
    assert made.node == "a[2024]" and _made(partition="").node == "a"
    changed = made._replace(data_version="d2")
    assert type(changed) is MaterializationRecord and changed.data_version == "d2" and changed != made
    assert repr(made).startswith("MaterializationRecord(asset='a', run_id='r1', data_version='d1',")
    state = AssetState(made)._replace(failure=FailureRecord("a", "r", "x", ""))
    assert type(state) is AssetState and state.materialization is made and not state.made_since(T0)
    assert state.made_since(T0, despite_failure=True) and not AssetState().made_since(T0)
    with pytest.raises(TypeError):
        MaterializationRecord("a", "r")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        MaterializationRecord._make(tuple(made)[:-1])
