"""Partitioned assets end to end in one process: per-partition staleness, plans, runs, windows, ``previous``,
checkpoints, dynamic keys, and definition errors for mappings that cannot work."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from assets_core import (
    DailyPartitions,
    DynamicPartitions,
    MultiPartitions,
    RetryPolicy,
    StaticPartitions,
    Upstream,
    WeeklyPartitions,
    asset,
    source_asset,
)
from assets_core.application.project import Project
from assets_core.errors import DefinitionErrors
from assets_core.planning.memory import MemoryCatalog
from assets_core.running.runs import RunSettings
from assets_core.running.storage import Storage

DAYS = DailyPartitions("2026-01-01", end="2026-01-08")  # seven days, whatever today is


def _project(tmp_path: Path, definitions: list, catalog: MemoryCatalog | None = None) -> Project:
    return Project(definitions, tmp_path, Storage(tmp_path / "storage"), catalog or MemoryCatalog())


def _write_days(tmp_path: Path, values: dict[str, int]) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    for day, amount in values.items():
        (tmp_path / "data" / f"events_{day}.csv").write_text(f"amount\n{amount}\n{amount}\n")


def _days(n: int = 7) -> dict[str, int]:
    return {f"2026-01-0{i}": i for i in range(1, n + 1)}


def _source_project(tmp_path: Path) -> tuple[Project, list[str]]:
    seen = SimpleNamespace(calls=[])
    events = source_asset("events", "data/events_{date}.csv", partitions=DAYS)

    @asset(partitions=DAYS)
    def daily(context, events: pl.DataFrame) -> pl.DataFrame:
        seen.calls.append(context.partition)
        return events.with_columns(pl.lit(context.partition).alias("day"))

    @asset(partitions=WeeklyPartitions("2026-01-05", end="2026-01-12"))
    def weekly(daily: pl.DataFrame) -> pl.DataFrame:
        return daily.select(pl.col("amount").sum())

    @asset
    def total(daily: pl.DataFrame) -> pl.DataFrame:
        return daily.select(pl.col("amount").sum(), pl.len().alias("rows"))

    return _project(tmp_path, [events, daily, weekly, total]), seen.calls


def _summary(project: Project, name: str) -> dict:
    snapshot = project.snapshot()
    keys = snapshot.nodes.keys(name)
    return {key: snapshot.statuses[f"{name}[{key}]"].status for key in keys}


def test_every_partition_has_its_own_status_and_a_changed_file_makes_only_its_readers_stale(tmp_path: Path) -> None:
    _write_days(tmp_path, _days())
    project, calls = _source_project(tmp_path)
    first = project.materialize()
    assert first.status == "success" and sorted(calls) == sorted(_days())
    assert "daily[2026-01-03]" in first.materialized and "total" in first.materialized
    assert "weekly[2026-01-05]" in first.materialized  # the one complete week, read from its days
    stored = {name: project.storage.read(project.catalog.read_state([name])[name].materialization.location)
              for name in ("total", "weekly[2026-01-05]")}
    assert stored["total"].to_dicts() == [{"amount": 2 * sum(range(1, 8)), "rows": 14}]
    assert stored["weekly[2026-01-05]"].item() == 2 * (5 + 6 + 7)  # only Monday 5th..7th exist before the end

    _write_days(tmp_path, {"2026-01-03": 100})
    statuses = _summary(project, "daily")
    assert [day for day, status in statuses.items() if status != "fresh"] == ["2026-01-03"]
    plan = project.plan()
    assert plan.assets == ["daily[2026-01-03]", "total"]  # the week of the 5th does not read the 3rd
    calls.clear()
    assert project.materialize().materialized == ["daily[2026-01-03]", "total"] and calls == ["2026-01-03"]
    assert set(_summary(project, "daily").values()) == {"fresh"}


def test_a_code_change_makes_every_partition_stale_and_early_cutoff_works_per_partition(tmp_path: Path) -> None:
    seen = SimpleNamespace(made=[])  # not a list in the closure: a list's contents are part of a code version

    @asset(partitions=StaticPartitions(["eu", "us"]))
    def regions(context) -> pl.DataFrame:
        return pl.DataFrame({"region": [context.partition]})

    @asset(partitions=StaticPartitions(["eu", "us"]))
    def report(context, regions: pl.DataFrame) -> pl.DataFrame:
        seen.made.append(context.partition)
        return regions

    project = _project(tmp_path, [regions, report])
    project.materialize()
    assert sorted(seen.made) == ["eu", "us"]

    @asset(name="regions", partitions=StaticPartitions(["eu", "us"]))
    def regions_v2(context) -> pl.DataFrame:  # new code, same output
        region = context.partition
        return pl.DataFrame({"region": [region]})

    changed = _project(tmp_path, [regions_v2, report], project.catalog)
    assert changed.plan().assets == ["regions[eu]", "regions[us]", "report[eu]", "report[us]"]
    seen.made.clear()
    result = changed.materialize()
    assert sorted(result.materialized) == ["regions[eu]", "regions[us]"]
    assert sorted(result.skipped) == ["report[eu]", "report[us]"] and seen.made == []  # same data: cut off


def test_materialize_runs_only_the_partitions_asked_for(tmp_path: Path) -> None:
    _write_days(tmp_path, _days())
    project, calls = _source_project(tmp_path)
    chosen = project.plan(["daily"], partitions="2026-01-02..2026-01-03")
    assert chosen.assets == ["daily[2026-01-02]", "daily[2026-01-03]"]
    result = project.run(chosen, project.snapshot())
    assert sorted(calls) == ["2026-01-02", "2026-01-03"] and result.status == "success"
    waiting = project.plan(["daily+"], partitions="2026-01-04")
    assert "daily[2026-01-04]" in waiting.assets and "total" not in waiting.assets
    assert [step.asset for step in waiting.waiting] == ["total"]  # it reads days nobody made, not selected
    with pytest.raises(Exception, match="is not a key"):
        project.plan(["daily"], partitions="2025-12-31")


def test_a_window_reads_the_last_days_concatenated_and_says_what_was_before_the_start(tmp_path: Path) -> None:
    @asset(partitions=DAYS)
    def daily(context) -> pl.DataFrame:
        return pl.DataFrame({"day": [context.partition]})

    @asset(partitions=DAYS, inputs={"recent": Upstream("daily", window=(-2, 0))})
    def rolling(recent: pl.DataFrame) -> pl.DataFrame:
        return recent

    catalog = MemoryCatalog()
    project = _project(tmp_path, [daily, rolling], catalog)
    assert project.materialize().status == "success"
    state = catalog.read_state(["rolling[2026-01-05]", "rolling[2026-01-01]"])
    value = project.storage.read(state["rolling[2026-01-05]"].materialization.location)
    assert value["day"].to_list() == ["2026-01-03", "2026-01-04", "2026-01-05"]
    first = project.storage.read(state["rolling[2026-01-01]"].materialization.location)
    assert first["day"].to_list() == ["2026-01-01"]
    said = [e.message for e in catalog.events if e.asset == "rolling[2026-01-01]" and e.kind == "log"]
    assert any("2 partition(s) of 'daily' before that asset's first partition" in line for line in said)


def test_previous_receives_the_partitions_own_last_value(tmp_path: Path) -> None:
    seen: list[object] = []

    @asset(partitions=StaticPartitions(["a"]))
    def grows(previous) -> list[int]:
        seen.append(previous)
        return [1] if previous is None else [*previous, len(previous) + 1]

    project = _project(tmp_path, [grows])
    project.materialize()
    project.materialize(settings=RunSettings(force=True))
    project.materialize(settings=RunSettings(force=True))
    assert seen == [None, [1], [1, 2]]


def test_a_checkpoint_is_read_back_on_retry_and_cleared_on_success(tmp_path: Path) -> None:
    seen: list[object] = []

    @asset(options=__import__("assets_core").AssetOptions(retry=RetryPolicy(max_attempts=2)))
    def long(context) -> int:
        seen.append(context.checkpoint)
        if context.attempt == 1:
            context.save_checkpoint({"done": 3})
            raise ConnectionError("lost the connection after 3 chunks")
        return context.checkpoint["done"] + 1

    project = _project(tmp_path, [long])
    assert project.materialize().status == "success"
    assert seen == [None, {"done": 3}]
    assert not list((project.home / "checkpoints").rglob("*.json"))  # a success clears it


def test_dynamic_partitions_take_the_keys_added(tmp_path: Path) -> None:
    @asset(partitions=DynamicPartitions("customers"))
    def per_customer(context) -> list[str]:
        return [context.partition]

    catalog = MemoryCatalog()
    project = _project(tmp_path, [per_customer], catalog)
    assert project.plan().assets == []
    assert catalog.add_dynamic_partitions("customers", ["acme", "globex", "acme"]) == ["acme", "globex"]
    assert sorted(project.materialize().materialized) == ["per_customer[acme]", "per_customer[globex]"]


def test_multi_partitions_map_dimension_by_dimension(tmp_path: Path) -> None:
    grid = MultiPartitions(date=DAYS, region=StaticPartitions(["eu", "us"]))

    @asset(partitions=grid)
    def cells(context) -> pl.DataFrame:
        day, region = context.partition.split("|")
        return pl.DataFrame({"day": [day], "region": [region]})

    @asset(partitions=DAYS)
    def per_day(cells: pl.DataFrame) -> pl.DataFrame:
        return cells

    catalog = MemoryCatalog()
    project = _project(tmp_path, [cells, per_day], catalog)
    assert project.materialize().status == "success"
    record = catalog.read_state(["per_day[2026-01-02]"])["per_day[2026-01-02]"].materialization
    assert project.storage.read(record.location).rows() == [("2026-01-02", "eu"), ("2026-01-02", "us")]


def test_mappings_that_cannot_work_are_definition_errors(tmp_path: Path) -> None:
    @asset(partitions=StaticPartitions(["a", "b"]))
    def letters() -> int:
        return 1

    @asset(partitions=StaticPartitions(["x", "y"]))
    def other(letters: int) -> int:
        return letters

    with pytest.raises(DefinitionErrors, match="reads 'letters'"):
        _project(tmp_path, [letters, other])


def test_a_failed_partition_fails_alone_and_is_failed_in_the_summary(tmp_path: Path) -> None:
    @asset(partitions=DAYS)
    def fragile(context) -> int:
        if context.partition == "2026-01-04":
            raise ValueError("bad day")
        return 1

    project = _project(tmp_path, [fragile])
    result = project.materialize()
    assert result.failed == ["fragile[2026-01-04]"] and len(result.materialized) == 6
    assert [o.to_json()["partition"] for o in result.outcomes if o.status == "failed"] == ["2026-01-04"]
    assert json.dumps(result.to_json())  # JSON-able, partitions named asset[key]
    assert _summary(project, "fragile")["2026-01-04"] == "failed"


def test_missing_files_are_summed_up_as_one_reason_with_an_example(tmp_path: Path) -> None:
    from assets_core.planning.summary import asset_status

    _write_days(tmp_path, _days(3))  # 4 of the 7 files are not there
    project, _ = _source_project(tmp_path)
    summary = asset_status(project.snapshot(), "events")
    missing = [r.detail for r in summary.reasons if r.kind == "missing"]
    assert missing == ["no file matches 'data/events_2026-01-04.csv' (and 3 more partitions like it)"]
    unseen = [r.detail for r in summary.reasons if r.kind == "source_changed"]  # the same words for all three
    assert unseen == ["not observed yet (3 partitions)"]


def test_partitions_past_an_upstreams_end_are_left_out_and_said_so(tmp_path: Path) -> None:
    @asset(partitions=DailyPartitions("2026-01-05", end="2026-01-07"))  # the 5th and 6th only
    def short(context) -> pl.DataFrame:
        return pl.DataFrame({"day": [context.partition]})

    @asset(partitions=WeeklyPartitions("2026-01-05", end="2026-01-12"))
    def week(short: pl.DataFrame) -> pl.DataFrame:
        return short

    catalog = MemoryCatalog()
    project = _project(tmp_path, [short, week], catalog)
    assert project.materialize().status == "success"
    record = catalog.read_state(["week[2026-01-05]"])["week[2026-01-05]"].materialization
    assert project.storage.read(record.location)["day"].to_list() == ["2026-01-05", "2026-01-06"]
    said = [e.message for e in catalog.events if e.asset == "week[2026-01-05]" and e.kind == "log"]
    assert any("it would read 5 partition(s) of 'short' after that asset's last partition" in line for line in said)


def test_a_partitioned_sources_path_must_name_its_placeholders(tmp_path: Path) -> None:
    wrong = source_asset("events", "data/events_{day}.csv", partitions=DAYS)
    with pytest.raises(DefinitionErrors, match=r"names \{day\} in its path .*; they fill \{date\}"):
        _project(tmp_path, [wrong])
    same = source_asset("events", "data/events.csv", partitions=DAYS)
    with pytest.raises(DefinitionErrors, match=r"every partition would read the same files; put \{date\}"):
        _project(tmp_path, [same])
    broken = source_asset("events", "data/events_{date.csv", partitions=DAYS)
    with pytest.raises(DefinitionErrors, match="not a valid template"):
        _project(tmp_path, [broken])
    grid = MultiPartitions(date=DAYS, region=StaticPartitions(["eu"]))
    assert _project(tmp_path, [source_asset("events", "data/{region}/{date}.csv", partitions=grid)])


def test_partition_observations_read_from_many_threads_at_once_find_every_file() -> None:
    """The node index is made on the first read: threads reading at once must never see it half made."""
    import threading

    from assets_core.planning.observations import PartitionObservations

    nodes = [f"e[{i}]" for i in range(200_000)]
    for _ in range(5):
        block = PartitionObservations(nodes, nodes, ["f"] * len(nodes), ["v"] * len(nodes), [None] * len(nodes),
                                      [None] * len(nodes))
        missing: list[str] = []
        readers = [threading.Thread(target=lambda n=n: missing.extend(x for x in (n,) if block.get(x) is None))
                   for n in (nodes[-1], nodes[-2], nodes[-3], nodes[-4])]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        assert missing == []


def test_the_quick_way_to_fresh_decides_as_the_long_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh partitions (and whole assets) are found without their reason sets; the statuses are the ones the
    long way gives, reasons and all, as files change, partitions go missing and assets rerun."""
    from assets_core.planning import plan

    def both_ways() -> tuple[dict, dict]:
        quick = {n: (s.status, s.reasons) for n, s in project.snapshot().statuses.items()}
        with monkeypatch.context() as patched:
            patched.setattr(plan, "_fresh_as_read", lambda *args: False)
            patched.setattr(plan, "_fresh_as_recorded", lambda *args: False)
            long = {n: (s.status, s.reasons) for n, s in project.snapshot().statuses.items()}
        return quick, long

    _write_days(tmp_path, _days())
    project, _ = _source_project(tmp_path)
    seen = []
    for change in (lambda: None, lambda: project.materialize(),
                   lambda: _write_days(tmp_path, {"2026-01-03": 30}),
                   lambda: (tmp_path / "data" / "events_2026-01-06.csv").unlink(),
                   lambda: project.materialize(["daily"]), lambda: project.materialize()):
        change()
        quick, long = both_ways()
        assert quick == long
        seen.append(sorted({status for status, _ in quick.values()}))
    assert seen[1] == ["fresh"] and "stale" in seen[2] and "missing" in seen[3]  # the states went through
