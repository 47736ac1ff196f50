"""The fast paths of status, each checked against the long way it replaces."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from assets_core.application.project import Project
from assets_core.declaring.checks import Freshness
from assets_core.declaring.definitions import asset, source_asset
from assets_core.declaring.partitions import StaticPartitions
from assets_core.planning.graph import AssetGraph
from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.nodes import NodeGraph
from assets_core.planning.plan import FRESH, MISSING, STALE, ReasonKind, Status, Versions, _fresh, assess
from assets_core.planning.state import AssetState, FailureRecord, MaterializationRecord
from assets_core.planning.summary import asset_status, asset_statuses
from assets_core.planning.versioning import CodeVersioner
from assets_core.running.storage import Storage

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def test_a_fresh_status_made_at_once_is_the_one_init_makes():
    made, expected = _fresh("a"), Status("a", FRESH)
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert made.reasons == () and made.fresh and pickle.loads(pickle.dumps(made)) == expected


def _record(name: str, data: str, code: str, read: dict[str, str]) -> AssetState:
    return AssetState(MaterializationRecord(name, "r", data, code, read, f"{name}@{data}.json", None, None, 1, 0.0,
                                            created_at=NOW - timedelta(hours=1)))


def _graph(*extra: Freshness) -> NodeGraph:
    raw = source_asset("raw", "raw.csv")
    a = asset(lambda raw: raw, name="a")
    b = asset(lambda a: a, name="b")
    c = asset(lambda b, raw: b, name="c")
    return NodeGraph(AssetGraph.build([raw, a, b, c, *extra]), NOW)


CODE = {"raw": "", "a": "ca", "b": "cb", "c": "cc"}


def _state(**changes: AssetState) -> dict[str, AssetState]:
    state = {"a": _record("a", "da", "ca", {"raw": "s1"}), "b": _record("b", "db", "cb", {"a": "da"}),
             "c": _record("c", "dc", "cc", {"b": "db", "raw": "s1"})}
    return {**state, **changes}


def _kinds(statuses: dict[str, Status]) -> dict[str, tuple[str, list[str]]]:
    return {name: (s.status, [r.kind for r in s.reasons]) for name, s in statuses.items() if name != "raw"}


@pytest.mark.parametrize("sources, state, expected", [
    ({"raw": "s1"}, _state(), {"a": FRESH, "b": FRESH, "c": FRESH}),
    ({"raw": "s2"}, _state(), {"a": STALE, "b": STALE, "c": STALE}),
    ({}, _state(), {"a": STALE, "b": STALE, "c": STALE}),  # the source's file is gone
    ({"raw": "s1"}, _state(b=_record("b", "db", "old", {"a": "da"})), {"a": FRESH, "b": STALE, "c": STALE}),
    ({"raw": "s1"}, _state(a=AssetState(_state()["a"].materialization, FailureRecord("a", "r", "boom", ""))),
     {"a": "failed", "b": STALE, "c": STALE}),
    ({"raw": "s1"}, _state(c=_record("c", "dc", "cc", {"b": "db"})), {"a": FRESH, "b": FRESH, "c": STALE}),
])
def test_fresh_as_recorded_agrees_with_the_reasons(sources, state, expected):
    statuses = assess(_graph(), state, Versions(CODE, sources))
    assert {name: s.status for name, s in statuses.items() if name != "raw"} == expected
    assert all(bool(s.reasons) != s.fresh for s in statuses.values())


def test_an_upstream_found_fresh_the_long_way_keeps_its_readers_fresh():
    """An asset with a freshness policy is assessed the long way; found fresh there, its readers still are."""
    graph = _graph(Freshness("a", timedelta(days=1)))
    statuses = assess(graph, _state(), Versions(CODE, {"raw": "s1"}, now=NOW))
    assert _kinds(statuses) == {"a": (FRESH, []), "b": (FRESH, []), "c": (FRESH, [])}
    overdue = assess(_graph(Freshness("a", timedelta(minutes=1))), _state(), Versions(CODE, {"raw": "s1"}, now=NOW))
    assert _kinds(overdue)["a"] == (STALE, [ReasonKind.OVERDUE])
    assert _kinds(overdue)["b"] == (STALE, [ReasonKind.UPSTREAM_STALE])


def test_a_lost_upstream_makes_its_readers_wait():
    statuses = assess(_graph(), _state(), Versions(CODE, {"raw": "s1"}, lost={"a"}))
    assert statuses["a"].status == MISSING and statuses["b"].status == STALE


def _factory(name: str, scale: int) -> object:
    def made(up: int) -> int:
        return up * 2
    def closed(up: int) -> int:
        return up * scale
    return asset(made if scale == 1 else closed, name=name)


def test_versions_of_many_assets_are_each_ones_version():
    items = [source_asset("raw", "raw.csv"), *(_factory(f"x{i}", 1 + i % 2) for i in range(6))]
    expected = {item.name: CodeVersioner(".").version(item) for item in items}
    assert CodeVersioner(".").versions(items) == expected


def test_asset_statuses_are_each_ones_status(tmp_path):
    regions = StaticPartitions(["eu", "us"])
    a = asset(lambda: 1, name="a")
    b = asset(lambda a: a, name="b", partitions=regions)
    c = asset(lambda b: b, name="c")
    project = Project([a, b, c], tmp_path, Storage(tmp_path / "storage"), MemoryCatalog())
    project.materialize(["a", "b"])
    snapshot = project.snapshot()
    expected = [asset_status(snapshot, name) for name in ("a", "b", "c")]
    assert asset_statuses(snapshot, {"a", "b", "c"}) == expected
    assert asset_statuses(snapshot, {"c", "a"}) == [expected[0], expected[2]]
    assert [s.status for s in expected] == [FRESH, FRESH, MISSING]
