"""The browser's view logic without Textual: grouping, statuses, filters, sparklines, schemas, plans, logs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from assets_core.declaring.definitions import asset, source_asset
from assets_core.errors import SelectionError
from assets_core.planning.graph import AssetGraph
from assets_core.lineage.sql import TableLineage
from assets_core.planning.plan import Plan, Reason, Status, Step
from assets_core.declaring.sql import sql_asset
from assets_core.planning.state import Event, MaterializationRecord
from catalog.browse import LogLine
from tui.browser import tree_model as model
from tui.browser.columns import asset_columns
from tui.browser.tab_model import code_of, history_rows, overview, plan_rows, schema_changes, sparkline
from tui.browser.logs import LogFilter, parse_filter
from tui.browser.tree_model import StatusBoard, badge, group_assets, select

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _graph() -> AssetGraph:
    raw = source_asset("raw", "raw.csv", group="sources")
    clean = asset(name="clean", group="staging", inputs={"raw": "raw"})(lambda raw: raw)
    totals = sql_asset("totals", "select c.id, c.amount * 2 as doubled, count(*) as n from clean c group by 1, 2",
                       group="marts")
    report = asset(name="report", group="marts", inputs={"totals": "totals"})(lambda totals: totals)
    return AssetGraph.build([raw, clean, totals, report])


def test_a_status_is_a_glyph_a_word_and_a_colour():
    assert badge("python", "fresh") == model.Badge("fresh", "✓", "green")
    assert badge("source", "fresh").word == "source" and badge("source", "stale").word == "stale"
    assert badge("python", "failed").glyph == "✗" and badge("python", None).word == "pending"
    assert {badge("python", s).glyph for s in ("fresh", "stale", "missing", "failed", "running")} == \
        {"✓", "~", "○", "✗", "▶"}  # each status has its own glyph: colour is never the only cue


def test_assets_are_grouped_and_big_groups_come_in_pages(monkeypatch):
    groups = group_assets(_graph())
    assert [(g.label, g.assets) for g in groups] == [
        ("marts", ("report", "totals")), ("sources", ("raw",)), ("staging", ("clean",))]
    assert [g.label for g in group_assets(_graph(), ["report", "raw"])] == ["marts", "sources"]
    monkeypatch.setattr(model, "PAGE", 1)
    marts = group_assets(_graph())[0]
    assert [(p.label, p.assets) for p in marts.pages] == [("report … report", ("report",)),
                                                          ("totals … totals", ("totals",))]


def test_the_board_shows_a_run_as_it_happens():
    board = StatusBoard(_graph())
    assert board.status("clean") is None and not board.loaded
    board.load({"clean": Status("clean", "stale")}, {})
    assert board.apply(Event("r", "started", "", asset="clean")) == "clean"
    assert board.badge("clean").word == "running"
    board.apply(Event("r", "materialized", "3 rows", asset="clean", created_at=T0))
    assert board.status("clean") == "fresh" and board.materialized_at["clean"] == T0
    board.apply(Event("r", "failed", "boom", asset="clean"))
    assert board.status("clean") == "failed"
    board.apply(Event("r", "skipped", "", asset="clean"))
    assert board.status("clean") == "stale"  # skipped: back to what the snapshot said
    assert board.apply(Event("r", "planned", "2 assets")) is None
    assert board.counts(["clean", "raw"]) == {"stale": 1, "pending": 1}


def test_labels_carry_the_glyph_the_name_and_the_age():
    assert model.asset_label("clean", badge("python", "stale"), "2h ago").plain == "~ clean  2h ago"
    assert model.age_text(T0, T0 + timedelta(hours=2)) == "2h ago"
    assert model.group_label("marts", {"fresh": 1, "failed": 2, "stale": 1}).plain == "marts 4  ✗2 ~1 ✓1"


def test_a_filter_is_a_selection_of_the_command_line():
    graph = _graph()
    statuses = {n: Status(n, "stale" if n in ("clean", "report") else "fresh") for n in graph.names}
    assert select(graph, "status:stale", statuses) == {"clean", "report"}
    assert select(graph, "clean+", statuses) == {"clean", "totals", "report"}
    assert select(graph, "group:marts kind:source", statuses) == {"report", "totals", "raw"}
    assert select(graph, "", statuses) is None
    with pytest.raises(SelectionError, match="did you mean 'clean'"):
        select(graph, "clen", statuses)
    with pytest.raises(SelectionError, match="status is one of"):
        select(graph, "status:old", statuses)


def test_the_palette_scores_only_names_that_can_match():
    names = [f"asset_{i}" for i in range(1000)] + ["orders"]
    assert model.fuzzy_candidates(names, "ord", 10) == ["orders"]
    assert len(model.fuzzy_candidates(names, "a9", 5)) == 5


def test_run_progress_counts_what_finished():
    progress = model.RunProgress(2)
    for kind, name in [("started", "a"), ("started", "b"), ("materialized", "a"), ("failed", "b")]:
        progress.apply(Event("r9", kind, "", asset=name))
    assert progress.text() == "run r9: 2 of 2 done, 1 failed"


def test_sparkline_numbers():
    spark = sparkline([10, 20, None, 15])
    assert spark is not None
    assert (spark.bars, spark.minimum, spark.maximum, spark.last, spark.change) == ("▁█ ▅", 10, 20, 15, -5)
    assert spark.summary() == "min 10  last 15  change -5 (-25.0%)"
    assert sparkline([7]).summary() == "min 7  last 7"
    assert sparkline([]) is None


def test_schema_changes_since_the_previous_materialization():
    rows = schema_changes([("id", "Int64"), ("amount", "Float64"), ("note", "String")],
                          [("id", "Int64"), ("amount", "Int64"), ("gone", "Date")])
    assert [(r.column, r.change, r.describe()) for r in rows] == [
        ("id", "", ""), ("amount", "changed", "~ type was Int64"), ("note", "added", "+ added"),
        ("gone", "removed", "- removed")]
    assert [r.change for r in schema_changes([("id", "Int64")], None)] == [""]
    assert schema_changes(None, None) == ()


def _record(run: str, rows: int, minutes: int, code: str = "c1") -> MaterializationRecord:
    return MaterializationRecord("clean", run, f"data-{run}-xxxxxxxx", code, {}, f"clean@{run}.parquet", rows,
                                 (("id", "Int64"),), 2048, 0.25, {"kept": 3},
                                 created_at=T0 + timedelta(minutes=minutes))


def test_overview_lists_versions_last_run_reasons_and_row_counts(tmp_path):
    graph = _graph()
    history = [_record("r2", 12, 5, "old"), _record("r1", 10, 0)]
    status = Status("clean", "stale", (Reason("code_changed", "its code changed since the last materialization"),))
    view = overview(graph["clean"], status, "c1-current", history, None, timezone.utc, tmp_path)
    fields = dict(view.fields)
    assert fields["last run"] == "r2 at 2026-01-01 00:05:00, took 250ms"
    assert fields["code version"] == "c1-current (last materialized with old)"
    assert fields["rows"] == "12" and fields["kept"] == "3" and fields["group"] == "staging"
    assert view.reasons == ("its code changed since the last materialization",)
    assert view.spark is not None and view.spark.summary() == "min 10  last 12  change +2 (+20.0%)"
    assert history_rows(history, timezone.utc)[1] == ("r1", "2026-01-01 00:00:00", "250ms", "10", "2.0 KiB",
                                                      "data-r1-", "c1")


def test_plan_rows_say_why_each_step_runs():
    plan = Plan((Step("a", (Reason("forced", "--force reruns it"),)),
                 Step("b", (Reason("forced", "--force"), Reason("upstream_stale", "upstream 'a' runs first")))),
                frozenset({"a+"}))
    assert plan_rows(plan) == [("1", "a", "asked for by hand"),
                               ("2", "b", "asked for by hand; upstream 'a' runs first")]


def test_code_of_python_sql_and_source(tmp_path):
    graph = _graph()
    assert code_of(graph["totals"], tmp_path).language == "sql"
    assert "c.amount * 2" in code_of(graph["totals"], tmp_path).text
    python = code_of(graph["clean"], tmp_path)
    assert python.language == "python" and "lambda raw: raw" in python.text and python.start_line > 1
    assert "raw.csv" in code_of(graph["raw"], tmp_path).text


def test_column_lineage_of_sql_source_and_python_assets():
    graph = _graph()
    lineages = {"totals": TableLineage("totals", ("id", "doubled", "n"),
                                       {"id": ("clean.id",), "doubled": ("clean.amount",), "n": ()})}
    totals = asset_columns(graph["totals"], lineages["totals"], None)
    assert [(c.column, c.origins) for c in totals.columns] == [("id", ("clean.id",)), ("doubled", ("clean.amount",)),
                                                               ("n", ())]
    assert asset_columns(graph["raw"], None, None).problem.startswith("its files")
    assert asset_columns(graph["clean"], None, None).problem.endswith("not known until it is materialized")
    assert "not analysed" in asset_columns(graph["clean"], None, ("id",)).columns[0].unknown
    unanalysed = asset_columns(graph["totals"], TableLineage("totals", None, problem="bad SQL"), None)
    assert unanalysed.problem == "bad SQL"


def _line(level: str, asset: str | None, message: str) -> LogLine:
    return LogLine(1, "r", "log", message, asset, level, T0)


def test_log_filter_by_level_asset_and_text():
    lines = [_line("INFO", "a", "read 3 rows"), _line("WARNING", "b", "slow"), _line("ERROR", "a", "boom")]
    assert [line.message for line in lines if parse_filter("level:warning").keeps(line)] == ["slow", "boom"]
    assert [line.message for line in lines if parse_filter("asset:a ROWS").keeps(line)] == ["read 3 rows"]
    assert parse_filter("level:err asset:a boom").words() == "level:error asset:a boom"
    assert [LogFilter().next_level().next_level().next_level().level] == ["DEBUG"]
