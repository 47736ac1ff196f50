"""What the front end reads: runs, events, history, definitions and lineage, as frozen views."""

from __future__ import annotations

import dataclasses
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

from assets_core.errors import CatalogError
from catalog import DefinitionView, RunView, SqlCatalog
from tests.catalog.conftest import (
    LINEAGE_SQL,
    NAMES_SQL,
    at,
    event,
    failure,
    materialization,
    record_failure,
    record_materialization,
    run,
    stored,
)


def _three_runs(catalog: SqlCatalog) -> None:
    catalog.begin_run(run("abc111", started=0, selection=("a",)))
    catalog.begin_run(run("abc222", started=10))
    catalog.begin_run(run("xyz333", started=20, trigger="schedule"))


def test_runs_are_listed_newest_first_with_what_they_did(catalog: SqlCatalog) -> None:
    _three_runs(catalog)
    record_materialization(catalog, materialization("a", "abc111"), [event("abc111", "materialized", "a")])
    record_materialization(catalog, materialization("b", "abc111"), [event("abc111", "materialized", "b")])
    catalog.record_events([
        event("abc111", "skipped", "c"),
        event("abc111", "materialized"),  # about no asset: not counted
        event("abc111", "log", "a"),
    ])  # fmt: skip
    record_failure(catalog, failure("d", "abc111"), [event("abc111", "failed", "d", level="ERROR")])
    catalog.end_run("abc111", "failed")

    runs = catalog.list_runs()
    assert [r.run_id for r in runs] == ["xyz333", "abc222", "abc111"]
    oldest = runs[-1]
    assert (oldest.materialized, oldest.failed, oldest.skipped) == (2, 1, 1)
    assert (oldest.status, oldest.trigger, oldest.selection) == ("failed", "manual", ("a",))
    assert oldest.ended_at is not None and oldest.duration is not None and oldest.duration > 0
    assert runs[0].duration is None and runs[0].ended_at is None
    assert [r.run_id for r in catalog.list_runs(limit=2)] == ["xyz333", "abc222"]


def test_views_are_frozen_values_in_utc(catalog: SqlCatalog) -> None:
    _three_runs(catalog)
    view = catalog.find_run("xyz333")
    assert isinstance(view, RunView) and view.started_at == at(20)
    assert view.started_at.tzinfo == timezone.utc and view.heartbeat_at is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = "success"  # type: ignore[misc]


def test_find_run_takes_an_id_or_a_unique_prefix(catalog: SqlCatalog) -> None:
    _three_runs(catalog)
    assert catalog.find_run("abc222").run_id == "abc222"
    assert catalog.find_run("x").run_id == "xyz333"
    assert catalog.find_run("abc1").run_id == "abc111"


def test_find_run_lists_the_candidates_of_an_ambiguous_prefix(catalog: SqlCatalog) -> None:
    _three_runs(catalog)
    with pytest.raises(CatalogError, match="ambiguous") as raised:
        catalog.find_run("abc")
    assert "abc111" in str(raised.value) and "abc222" in str(raised.value)
    assert "more characters" in str(raised.value)


def test_find_run_says_when_nothing_matches(catalog: SqlCatalog) -> None:
    with pytest.raises(CatalogError, match="no runs yet"):
        catalog.find_run("abc")
    _three_runs(catalog)
    with pytest.raises(CatalogError, match="no run .* 'zzz'") as raised:
        catalog.find_run("zzz")
    assert "xyz333" in str(raised.value)  # the latest runs are offered
    with pytest.raises(CatalogError, match="did you mean 'abc222'"):
        catalog.find_run("abd222")
    with pytest.raises(CatalogError):
        catalog.find_run("")
    with pytest.raises(CatalogError):
        catalog.find_run("%")  # LIKE wildcards in the prefix are taken literally


def test_running_runs_and_heartbeats(catalog: SqlCatalog) -> None:
    _three_runs(catalog)
    catalog.end_run("abc222", "success")
    before = catalog.find_run("abc111").heartbeat_at
    catalog.heartbeat("abc111")
    after = catalog.find_run("abc111").heartbeat_at
    assert before is not None and after is not None and after >= before
    assert [r.run_id for r in catalog.running_runs()] == ["xyz333", "abc111"]
    with pytest.raises(CatalogError, match="no run 'nope'"):
        catalog.heartbeat("nope")
    with pytest.raises(CatalogError, match="no run 'nope'"):
        catalog.end_run("nope", "success")


def test_beginning_a_run_again_replaces_it(catalog: SqlCatalog) -> None:
    catalog.begin_run(run("r1", started=0, trigger="manual"))
    catalog.begin_run(run("r1", started=5, trigger="tui"))
    [only] = catalog.list_runs()
    assert (only.trigger, only.started_at) == ("tui", at(5))


def test_run_events_in_order_filtered_by_asset_and_level(catalog: SqlCatalog) -> None:
    catalog.begin_run(run("r1"))
    first = [event("r1", "planned"), event("r1", "log", "a", message="reading")]
    catalog.record_events(first)
    record_materialization(catalog, materialization("a"), [event("r1", "materialized", "a")])
    record_failure(catalog, failure("b"), [event("r1", "failed", "b", level="ERROR")])
    catalog.record_events([event("r2", "log", "a")])  # another run

    assert [e.kind for e in catalog.run_events("r1")] == ["planned", "log", "materialized", "failed"]
    assert [e.kind for e in catalog.run_events("r1", asset="a")] == ["log", "materialized"]
    assert [e.asset for e in catalog.run_events("r1", levels=["ERROR"])] == ["b"]
    assert catalog.run_events("r1", asset="a", levels={"ERROR"}) == []
    assert catalog.run_events("r1")[:2] == first
    assert catalog.run_events("unknown") == []


def test_history_is_newest_first_and_limited(catalog: SqlCatalog) -> None:
    for number in range(1, 6):
        record_materialization(catalog, materialization("a", version=f"v{number}", created_at=at(number)), [])
        record_failure(catalog, failure("a", attempt=number), [])
    record_materialization(catalog, materialization("other"), [])

    history = catalog.asset_history("a")
    assert [record.data_version for record in history] == ["v5", "v4", "v3", "v2", "v1"]
    assert history[0] == materialization("a", version="v5", created_at=at(5))
    assert [r.data_version for r in catalog.asset_history("a", limit=2)] == ["v5", "v4"]
    assert catalog.read_state(["a"])["a"].failure.attempt == 5  # the latest failure is the asset's state
    assert catalog.asset_history("nothing") == []


def test_history_keeps_every_field(catalog: SqlCatalog) -> None:
    rich = materialization(
        "a", upstream_versions={"raw": "r9", "pkg.lookup": "l2"}, rows=None, schema=None, partition="2024-05-01",
        metadata={"preview": [1, "two", None], "nested": {"ok": True, "ratio": 0.5}}, duration=1.5,
    )  # fmt: skip
    record_materialization(catalog, rich, [])
    assert catalog.asset_history("a") == [rich]


def test_metadata_that_json_cannot_hold_is_stored_as_text(catalog: SqlCatalog) -> None:
    record_materialization(catalog, materialization("a", metadata={"when": at(0), "count": 3}), [])
    [stored] = catalog.asset_history("a")
    assert stored.metadata == {"when": "2024-05-01 12:00:00+00:00", "count": 3}


def _definition(name: str, *upstream: str, **fields: Any) -> DefinitionView:
    return DefinitionView(name=name, kind="python", upstream=upstream, file="defs.py", line=1, **fields)


def test_save_definitions_replaces_the_assets_and_lineage(catalog: SqlCatalog, catalog_url: str) -> None:
    catalog.save_definitions([
        _definition("orders", tags=("sales",), owners=("ana",), description="raw orders", code_version="c1"),
        _definition("revenue", "orders"),
        _definition("report", "revenue", "orders", group="reports"),
    ])  # fmt: skip
    columns = ('SELECT name, kind, "group", description, code_version, CAST(upstream AS TEXT), CAST(tags AS TEXT), '
               'CAST(owners AS TEXT), file, line FROM asset')  # JSON as text, as every database gives it
    assert stored(catalog_url, f"{columns} ORDER BY name") == [
        ("orders", "python", "default", "raw orders", "c1", "[]", '["sales"]', '["ana"]', "defs.py", 1),
        ("report", "python", "reports", "", "", '["revenue","orders"]', "[]", "[]", "defs.py", 1),
        ("revenue", "python", "default", "", "", '["orders"]', "[]", "[]", "defs.py", 1)]
    assert stored(catalog_url, LINEAGE_SQL) == [("orders", "report"), ("orders", "revenue"), ("revenue", "report")]

    catalog.save_definitions([_definition("orders"), _definition("total", "orders")])
    assert stored(catalog_url, NAMES_SQL) == [("orders",), ("total",)]
    assert stored(catalog_url, LINEAGE_SQL) == [("orders", "total")]
    catalog.save_definitions([])
    assert stored(catalog_url, NAMES_SQL) == [] and stored(catalog_url, LINEAGE_SQL) == []


def test_save_definitions_refuses_two_assets_of_one_name_and_keeps_the_old_ones(
        catalog: SqlCatalog, catalog_url: str) -> None:
    catalog.save_definitions([_definition("orders")])
    with pytest.raises(CatalogError, match="more than one is named 'total'"):
        catalog.save_definitions([_definition("total"), _definition("total")])
    assert stored(catalog_url, NAMES_SQL) == [("orders",)]
