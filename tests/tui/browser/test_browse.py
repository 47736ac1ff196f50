"""The catalog reads only the browser makes (``catalog.browse``), on a real SQLite catalog."""

from __future__ import annotations

from datetime import datetime, timezone

from assets_core.planning.state import Event, MaterializationRecord, RunRecord
from catalog import open_catalog, sqlite_url
from catalog.browse import materialization_count, run_log

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_log_is_read_in_pieces_as_it_grows(tmp_path):
    with open_catalog(sqlite_url(tmp_path / "catalog.db")) as catalog:
        catalog.begin_run(RunRecord("r1", "tui", (), "running", T0))
        catalog.begin_run(RunRecord("r2", "tui", (), "running", T0))
        catalog.record_events([Event("r1", "log", "one", asset="a"), Event("r2", "log", "other run"),
                               Event("r1", "log", "two", asset="b", level="WARNING")])
        first = run_log(catalog, "r1")
        assert [(line.message, line.asset, line.level) for line in first] == [("one", "a", "INFO"),
                                                                            ("two", "b", "WARNING")]
        assert run_log(catalog, "r1", after=first[-1].id) == []
        catalog.record_events([Event("r1", "failed", "boom", asset="a", level="ERROR")])
        assert [line.message for line in run_log(catalog, "r1", after=first[-1].id)] == ["boom"]
        assert [line.message for line in run_log(catalog, "r1", limit=1)] == ["one"]


def test_materializations_are_counted_per_asset(tmp_path):
    with open_catalog(sqlite_url(tmp_path / "catalog.db")) as catalog:
        catalog.begin_run(RunRecord("r1", "tui", (), "running", T0))
        records = [MaterializationRecord(name, "r1", f"v{i}", "c", {}, f"{name}@v{i}.json", None, None, 1, 0.1)
                   for i, name in enumerate(["a", "a", "b"])]
        catalog.record_results(records, [], [])
        assert (materialization_count(catalog, "a"), materialization_count(catalog, "zz")) == (2, 0)
