"""Single-run backfills: a range of partitions in one call, split into partitions by the time column."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from assets_core import DailyPartitions, asset, sql_asset
from assets_core.application.project import Project
from assets_core.errors import MaterializationError
from assets_core.planning.memory import MemoryCatalog
from assets_core.running.single_run import split
from assets_core.running.storage import Storage

DAYS = DailyPartitions("2026-01-01", end="2026-01-07")  # six days


def _project(tmp_path: Path, definitions: list) -> tuple[Project, MemoryCatalog]:
    catalog = MemoryCatalog()
    return Project(definitions, tmp_path, Storage(tmp_path / "storage"), catalog), catalog


def _value(project: Project, catalog: MemoryCatalog, node: str) -> pl.DataFrame:
    return project.storage.read(catalog.read_state([node])[node].materialization.location)


def test_a_range_runs_in_one_call_and_each_partition_keeps_its_own_rows(tmp_path: Path) -> None:
    seen = SimpleNamespace(calls=[])

    @asset(partitions=DAYS, backfill="single_run", time_column="ts")
    def hours(context) -> pl.DataFrame:
        window = context.partition_window
        seen.calls.append((context.partition, window.start.date(), window.end.date()))
        count = int((window.end - window.start).total_seconds() // 3600)
        return pl.DataFrame({"ts": [window.start + timedelta(hours=h) for h in range(count)], "n": range(count)})

    wide = sql_asset("wide", "select ts, n from hours where ts >= @start and ts < @end", partitions=DAYS,
                     backfill="single_run", time_column="ts")
    project, catalog = _project(tmp_path, [hours, wide])
    result = project.materialize()
    assert result.status == "success" and len(result.materialized) == 12
    assert seen.calls == [("2026-01-01..2026-01-06", date(2026, 1, 1), date(2026, 1, 7))]  # one call for six days
    third = _value(project, catalog, "hours[2026-01-03]")
    assert third.height == 24 and third["ts"].dt.date().unique().to_list() == [date(2026, 1, 3)]
    assert third["n"].to_list() == list(range(48, 72))
    assert _value(project, catalog, "wide[2026-01-06]").equals(_value(project, catalog, "hours[2026-01-06]"))


def test_rows_outside_the_window_fail_every_partition_of_the_range(tmp_path: Path) -> None:
    @asset(partitions=DAYS, backfill="single_run", time_column="day")
    def sloppy(context) -> pl.DataFrame:
        first = context.partition_window.start.date()
        return pl.DataFrame({"day": [first - timedelta(days=1), first]})  # one day too early

    project, catalog = _project(tmp_path, [sloppy])
    result = project.materialize()
    assert sorted(result.failed) == [f"sloppy[2026-01-0{d}]" for d in range(1, 7)]
    assert "1 row(s) outside its window" in result.outcomes[0].detail
    assert not catalog.materializations  # nothing published


def test_a_date_column_splits_by_the_partitions_local_days(tmp_path: Path) -> None:
    york = DailyPartitions("2026-01-01", end="2026-01-04", timezone="America/New_York")

    @asset(partitions=york, backfill="single_run", time_column="day")
    def dated(context) -> pl.DataFrame:
        return pl.DataFrame({"day": [date(2026, 1, d) for d in (1, 2, 2, 3)]})

    project, catalog = _project(tmp_path, [dated])
    assert project.materialize().status == "success"
    assert _value(project, catalog, "dated[2026-01-02]")["day"].to_list() == [date(2026, 1, 2)] * 2


def test_a_ranges_checkpoint_is_read_back_on_retry_and_cleared_once_it_succeeds(tmp_path: Path) -> None:
    seen = SimpleNamespace(checkpoints=[])

    @asset(partitions=DAYS, backfill="single_run", time_column="day",
           options=__import__("assets_core").AssetOptions(retry=__import__("assets_core").RetryPolicy(max_attempts=2)))
    def slow(context) -> pl.DataFrame:
        seen.checkpoints.append(context.checkpoint)
        if context.attempt == 1:
            context.save_checkpoint({"done": context.partition})
            raise ConnectionError("lost the connection")
        return pl.DataFrame({"day": [context.partition_window.start.date()]})

    project, _ = _project(tmp_path, [slow])
    assert project.materialize().status == "success"
    assert seen.checkpoints == [None, {"done": "2026-01-01..2026-01-06"}]
    assert not list((project.home / "checkpoints").rglob("*.json"))  # the range's own checkpoint is gone too


def test_a_sorted_table_is_split_as_an_unsorted_one_is(tmp_path: Path) -> None:
    """A table sorted by its time is cut into runs of rows (binary searches, no copy), any other is grouped: the
    same parts, row for row, the same rows refused outside the windows, with gaps between the partitions asked
    for (days 2 and 4 here) and an empty partition (day 5)."""
    @asset(partitions=DAYS, backfill="single_run", time_column="ts")
    def timed(context) -> pl.DataFrame:
        return pl.DataFrame()

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    every = [start + timedelta(hours=h) for h in range(0, 6 * 24, 5)]
    hours = [moment for moment in every if moment.day not in (2, 4, 5)]
    ordered = pl.DataFrame({"ts": hours, "n": range(len(hours))})
    shuffled = ordered.sample(fraction=1.0, shuffle=True, seed=7)
    members = [f"timed[2026-01-0{day}]" for day in (1, 3, 5, 6)]
    from_sorted, from_shuffled = split(timed, ordered, members), split(timed, shuffled, members)
    assert [node for node, _ in from_sorted] == members == [node for node, _ in from_shuffled]
    for (_, sorted_part), (_, other) in zip(from_sorted, from_shuffled):
        assert sorted_part.equals(other.sort("ts"))
        assert sorted_part["ts"].is_sorted()
    assert [part.height for _, part in from_sorted] == [5, 5, 0, 5]
    for table in (ordered, shuffled):
        with_gap_row = pl.concat([table, pl.DataFrame({"ts": [start + timedelta(days=1, hours=1)], "n": [99]})])
        for frame in (with_gap_row, with_gap_row.sort("ts")):  # a row of day 2, which was not asked for
            with pytest.raises(MaterializationError, match=r"1 row\(s\) outside its window"):
                split(timed, frame, members)
