"""``@start`` and ``@end`` in time-partitioned SQL assets: replaced in sqlglot's tree by the bounds of the window
of the partition being run, compared correctly with datetime columns with a time zone and without one (read as
UTC), one code version for every partition, column lineage undisturbed, and errors when there is no window."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest

from assets_core import asset, sql_asset
from assets_core.application import usecases
from assets_core.application.project import Project
from assets_core.application.workspace import Options, open_workspace
from assets_core.declaring.loading import load_assets
from assets_core.declaring.partitions import MultiPartitions, StaticPartitions, Window
from assets_core.declaring.sql import normalized_sql, run_sql, sql_folder
from assets_core.declaring.time_partitions import DailyPartitions, HourlyPartitions
from assets_core.errors import DefinitionErrors, MaterializationError
from assets_core.lineage.sql import project_lineage, sql_lineage
from assets_core.planning.graph import AssetGraph
from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.state import split_node
from assets_core.running.attempts import compute
from assets_core.running.storage import Storage
from catalog import open_catalog, sqlite_url
from tui.cli.main import main

UTC = timezone.utc
DAYS = DailyPartitions("2026-01-01", end="2026-01-05")
BETWEEN = "select id, ts from events where ts >= @start and ts < @end"


def _events_around_each_window(zone: str | None) -> Any:
    """A daily Python asset whose partitions each hold rows just outside their own window too (late and early
    arrivals), in a column with time zone ``zone`` (None: a naive column holding UTC wall-clock times)."""

    @asset(partitions=DAYS)
    def events(context: Any) -> pl.DataFrame:
        window = context.partition_window
        instants = [window.start - timedelta(minutes=30), window.start, window.end - timedelta(microseconds=1),
                    window.end]
        frame = pl.DataFrame({"id": [1, 2, 3, 4], "ts": instants})
        if zone is None:
            return frame.with_columns(pl.col("ts").dt.replace_time_zone(None))
        return frame.with_columns(pl.col("ts").dt.convert_time_zone(zone))

    return events


def _value(project: Project, node: str) -> pl.DataFrame:
    record = project.catalog.read_state([node])[node].materialization
    assert record is not None, f"{node} was not materialized"
    value = project.storage.read(record.location)
    assert isinstance(value, pl.DataFrame)
    return value


def _in_utc(column: pl.Series) -> list[datetime]:
    if isinstance(column.dtype, pl.Datetime) and column.dtype.time_zone is None:
        column = column.dt.replace_time_zone("UTC")
    return list(column.dt.convert_time_zone("UTC"))


@pytest.mark.parametrize("zone", ["UTC", None, "America/New_York"])
def test_each_daily_partition_keeps_only_the_rows_of_its_own_day(tmp_path, zone):
    selected = sql_asset("selected", BETWEEN, partitions=DAYS)
    assert selected.upstream == ("events",) and not selected.problems  # @start and @end are not tables
    project = Project([_events_around_each_window(zone), selected], tmp_path, Storage(tmp_path / "storage"),
                      MemoryCatalog())
    snapshot = project.snapshot()
    result = project.run(project.plan(["+selected"], partitions="2026-01-02,2026-01-03", snapshot=snapshot),
                         snapshot)
    assert result.failed == [] and set(result.materialized) == {
        "events[2026-01-02]", "events[2026-01-03]", "selected[2026-01-02]", "selected[2026-01-03]"}
    for day in (2, 3):
        value = _value(project, f"selected[2026-01-0{day}]")
        assert value["id"].to_list() == [2, 3]  # the row at midnight is in, the rows either side are not
        assert value["ts"].dtype == pl.Datetime("us", zone)  # the column keeps its type
        start = datetime(2026, 1, day, tzinfo=UTC)
        assert _in_utc(value["ts"]) == [start, start + timedelta(days=1) - timedelta(microseconds=1)]
    records = project.catalog.read_state(["selected[2026-01-02]", "selected[2026-01-03]"])
    first, second = (records[n].materialization for n in ("selected[2026-01-02]", "selected[2026-01-03]"))
    assert first is not None and second is not None
    assert first.code_version == second.code_version == project.code_versions["selected"]
    assert first.data_version != second.data_version


def test_the_bounds_are_timestamps_in_utc_outside_comparisons_and_at_sign_keeps_its_duckdb_meaning():
    item = sql_asset("bounds", "select id, @start as first, @end - interval '1 hour' as last_hour, @amount as size "
                               "from events where ts between @start and @end", partitions=DAYS)
    events = pl.DataFrame({"id": [1, 2], "amount": [-3, 4],
                           "ts": [datetime(2026, 1, 2, 5), datetime(2026, 1, 3, 5)]})
    window = DAYS.window("2026-01-02")
    value = run_sql(item, {"events": events}, window).collect()
    assert value["id"].to_list() == [1]
    assert value["first"].dtype == pl.Datetime("us", "UTC") and value["first"][0] == datetime(2026, 1, 2, tzinfo=UTC)
    assert value["last_hour"][0] == datetime(2026, 1, 2, 23, tzinfo=UTC)  # @end - 1 hour, not abs(end - 1 hour)
    assert value["size"].to_list() == [3]  # any other @x is still DuckDB's absolute value
    with pytest.raises(MaterializationError, match="'bounds'.*@start/@end"):
        run_sql(item, {"events": events})  # no window to bind


def test_europe_paris_days_run_from_local_midnight_to_local_midnight(tmp_path, capsys):
    # Instants in UTC: Paris is UTC+1 in January, and UTC+2 from 2026-03-29 02:00 local (a 23-hour day).
    instants = {1: datetime(2026, 1, 14, 22, 59, 59), 2: datetime(2026, 1, 14, 23), 3: datetime(2026, 1, 15, 12),
                4: datetime(2026, 1, 15, 23), 5: datetime(2026, 3, 28, 23), 6: datetime(2026, 3, 29, 21, 59),
                7: datetime(2026, 3, 29, 22)}
    naive = pl.DataFrame({"id": list(instants), "ts": list(instants.values())})
    naive.write_parquet(tmp_path / "events_utc_naive.parquet")
    naive.with_columns(pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Paris")).write_parquet(
        tmp_path / "events.parquet")
    (tmp_path / "defs.py").write_text(
        "from assets_core import DailyPartitions, source_asset, sql_asset\n"
        "PARIS = DailyPartitions('2026-01-01', end='2026-04-01', timezone='Europe/Paris')\n"
        "events = source_asset('events', 'events.parquet')\n"
        "events_utc_naive = source_asset('events_utc_naive', 'events_utc_naive.parquet')\n"
        "paris_days = sql_asset('paris_days', 'select id, ts, @start as window_start, @end as window_end '\n"
        "                       'from events where ts >= @start and ts < @end', partitions=PARIS)\n"
        "naive_days = sql_asset('naive_days', 'select id from events_utc_naive where ts >= @start and ts < @end',\n"
        "                       partitions=PARIS)\n")
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    for day in ("2026-01-15", "2026-03-29"):
        code = main(["materialize", "paris_days", "naive_days", "--partition", day, "--project", str(tmp_path)])
        assert code == 0, capsys.readouterr()
    capsys.readouterr()
    home = tmp_path / ".assets"
    project = Project(load_assets(tmp_path, file="defs.py"), tmp_path, Storage(home / "storage"),
                      open_catalog(sqlite_url(home / "catalog.db")))
    january, march = _value(project, "paris_days[2026-01-15]"), _value(project, "paris_days[2026-03-29]")
    assert january["id"].to_list() == [2, 3] and march["id"].to_list() == [5, 6]
    assert january["ts"].dtype == pl.Datetime("us", "Europe/Paris")
    assert january["window_start"].dtype == pl.Datetime("us", "UTC")
    assert (january["window_start"][0], january["window_end"][0]) == (datetime(2026, 1, 14, 23, tzinfo=UTC),
                                                                      datetime(2026, 1, 15, 23, tzinfo=UTC))
    assert march["window_end"][0] - march["window_start"][0] == timedelta(hours=23)
    # A column without a time zone holds UTC wall-clock times: the same rows, at the same instants.
    assert _value(project, "naive_days[2026-01-15]")["id"].to_list() == [2, 3]
    assert _value(project, "naive_days[2026-03-29]")["id"].to_list() == [5, 6]
    # Column lineage (the use case `assets lineage` reads, cached in the catalog) reads through the parameters:
    # the bounds come from no column.
    lineages = usecases.column_lineage(open_workspace(Options(project=str(tmp_path))))
    assert lineages["paris_days"].problem == "" and lineages["paris_days"].unknown == {}
    assert dict(lineages["paris_days"].direct) == {"id": ("events.id",), "ts": ("events.ts",), "window_start": (),
                                                   "window_end": ()}
    assert dict(lineages["naive_days"].direct) == {"id": ("events_utc_naive.id",)}


def test_column_lineage_of_a_statement_with_window_parameters():
    events = _events_around_each_window("UTC")
    selected = sql_asset("selected", "select id, date_trunc('hour', ts) as hour, @start as since from events "
                                     "where ts >= @start and ts < @end", partitions=DAYS)
    lineage = sql_lineage(selected, {"events": ["id", "ts"]})
    assert lineage.problem == "" and lineage.unknown == {}
    assert lineage.columns == ("id", "hour", "since")
    assert dict(lineage.direct) == {"id": ("events.id",), "hour": ("events.ts",), "since": ()}
    whole = project_lineage(AssetGraph.build([events, selected]), {"events": ("id", "ts")})
    assert whole["selected"].direct == lineage.direct


def test_every_partition_has_one_code_version_that_follows_the_statement_not_its_formatting():
    def version_text(sql: str) -> str:
        return normalized_sql(sql_asset("selected", sql, partitions=DAYS))

    plain = version_text(BETWEEN)
    assert "start" in plain and "end" in plain and "2026" not in plain  # kept as parameters, never bound
    assert "ABS" not in plain.upper()
    assert version_text("SELECT id,\n  ts -- the time\nFROM events\nWHERE ts >= @start AND ts < @end") == plain
    assert version_text(BETWEEN.replace("@end", "@start")) != plain
    assert version_text(BETWEEN.replace("@start", "@ start")) != plain  # `@ start` is DuckDB's abs(start)


@pytest.mark.parametrize("partitions,why", [
    (None, "it has no partitions"),
    (StaticPartitions(["eu", "us"]), "have no time window"),
    (MultiPartitions(day=DailyPartitions("2026-01-01"), other=DailyPartitions("2026-01-01")),
     "have no time window"),
])
def test_window_parameters_without_time_partitions_are_a_definition_error(partitions, why):
    events = _events_around_each_window("UTC")
    bad = sql_asset("bad", "select id\nfrom events\nwhere ts < @end", partitions=partitions)
    assert len(bad.problems) == 1
    problem = bad.problems[0]
    assert "uses @end" in str(problem) and why in str(problem) and "asset 'bad'" in str(problem)
    assert problem.location is not None and problem.location.column == 12  # where `@end` is written
    with pytest.raises(DefinitionErrors, match="asset 'bad'.*uses @end"):
        AssetGraph.build([events, bad])


@pytest.mark.parametrize("partitions", [
    DailyPartitions("2026-01-01"), HourlyPartitions("2026-01-01", timezone="Europe/Paris"),
    MultiPartitions(day=DailyPartitions("2026-01-01"), region=StaticPartitions(["eu", "us"])),
])
def test_partitionings_with_a_window_accept_the_parameters(partitions):
    assert sql_asset("fine", BETWEEN, partitions=partitions).problems == ()


def test_a_sql_file_using_the_parameters_fails_when_the_project_loads(tmp_path, capsys):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "hourly.sql").write_text("select *\nfrom raw\nwhere ts >= @start\n")
    assert [str(p) for p in sql_folder(tmp_path / "models")[0].problems][0].endswith(
        "uses @start in its SQL, the bounds of a time partition's window, but it has no partitions; declare time "
        "partitions (partitions=DailyPartitions(...), HourlyPartitions(...), ...) or remove them")
    (tmp_path / "raw.csv").write_text("ts\n2026-01-01\n")
    (tmp_path / "defs.py").write_text("from assets_core import source_asset\nraw = source_asset('raw', 'raw.csv')\n")
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\nsql_folders = ["models"]\n')
    code = main(["status", "--project", str(tmp_path)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2 and "hourly.sql:3:13" in output and "uses @start" in output


class _Inputs:
    def __init__(self, frames: dict[str, pl.DataFrame]):
        self.frames = frames
        self.partitions: dict[str, Any] = {}

    def read(self, node: str, upstream: str, lazy: bool) -> Any:
        return self.frames[upstream].lazy()

    def arguments(self, node: str, attempt: int) -> dict[str, Any]:
        raise AssertionError("a SQL asset takes no arguments")

    def window(self, node: str) -> Window | None:  # as the run's ValueCache gives it: the partition's own
        asset, key = split_node(node)
        partitions = self.partitions.get(asset)
        return partitions.window(key) if key and partitions is not None else None


def test_compute_binds_the_nodes_window_and_fails_naming_the_asset_without_one():
    selected = sql_asset("selected", BETWEEN, partitions=DAYS)
    inputs = _Inputs({"events": pl.DataFrame({"id": [1, 2, 3], "ts": [datetime(2026, 1, d, 6) for d in (1, 2, 3)]})})
    inputs.partitions["selected"] = DAYS
    assert compute("selected[2026-01-02]", selected, inputs, 1).collect()["id"].to_list() == [2]
    assert compute("selected[2026-01-03]", selected, inputs, 1).collect()["id"].to_list() == [3]
    with pytest.raises(MaterializationError, match="asset 'selected' failed: its SQL uses @start/@end"):
        compute("selected", selected, inputs, 1)  # the asset as a whole has no window
    regions = replace(selected, partitions=StaticPartitions(["eu"]))  # past the declaration's check
    inputs.partitions["selected"] = regions.partitions
    with pytest.raises(MaterializationError, match="asset 'selected' failed.*run without one"):
        compute("selected[eu]", regions, inputs, 1)


def test_a_window_binds_nothing_in_a_statement_without_parameters():
    item = sql_asset("all_rows", "select id from events", partitions=DAYS)
    events = pl.DataFrame({"id": [1, 2]})
    window = Window(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    assert run_sql(item, {"events": events}, window).collect()["id"].to_list() == [1, 2]


def test_parameters_in_other_dialects_are_bound_too():
    item = sql_asset("pg", "select id from events where ts >= @start and ts < @end", dialect="postgres",
                     partitions=DAYS)
    assert item.upstream == ("events",) and item.problems == ()
    events = pl.DataFrame({"id": [1, 2], "ts": [datetime(2026, 1, 2, 1), datetime(2026, 1, 3, 1)]})
    assert run_sql(item, {"events": events}, DAYS.window("2026-01-03")).collect()["id"].to_list() == [2]

