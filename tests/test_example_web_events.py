"""The web events example (examples/web_events), its README walkthrough run through the real `assets` command.

The walkthrough runs once, in process, on a copy of the example in a temporary folder (the repository folder
stays clean): generate the data, a backfill with one partition failing, retry it with `--reprocess failed`,
finish the backfill with `--resume`, materialize the rest, then change one file. The tests below check what
each command printed, and the stored values against numbers computed here with polars from the CSV files.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import polars as pl
import pytest

from assets_core import load
from tui.cli.main import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "web_events"
DAYS = [date(2026, 1, 5) + timedelta(days=offset) for offset in range(28)]
WEEKS = DAYS[::7]
REGIONS = ["eu", "us"]
FAILING = "2026-01-14|eu"
CHANGED = DAYS[9]  # 2026-01-14, the EU file gets a late event


class Walkthrough(NamedTuple):
    project: Path
    home: Path
    out: dict[str, Any]  # what each step printed (JSON), by step name
    codes: dict[str, int]  # each step's exit code
    rolling: pl.DataFrame  # every partition of rolling_7d, before the change
    weekly: pl.DataFrame  # every partition of weekly_traffic, before the change
    clean: pl.DataFrame  # every partition of clean_events, after the change
    sessions: pl.DataFrame  # the incremental table, after the change
    defs: ModuleType  # the copy's definitions


def run(out: dict[str, Any], codes: dict[str, int], step: str, *args: str, project: Path, home: Path) -> None:
    """`assets ARGS --json --project PROJECT --home HOME`, in process; its JSON and exit code kept as `step`."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        codes[step] = main([*args, "--json", "--project", str(project), "--home", str(home)])
    out[step] = json.loads(printed.getvalue())


def every_partition(name: str, keys: list[str], project: Path, home: Path) -> pl.DataFrame:
    return pl.concat([load(f"{name}[{key}]", project=project, home=home) for key in keys])


def import_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Walkthrough:
    root = tmp_path_factory.mktemp("web_events")
    project, home = root / "project", root / "home"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".assets", "__pycache__", "data"))
    assert import_file(project / "generate.py", "web_events_generate").write(project / "data") == 56
    out: dict[str, Any] = {}
    codes: dict[str, int] = {}

    def step(name: str, *args: str) -> None:
        run(out, codes, name, *args, project=project, home=home)

    step("status", "status")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEB_EVENTS_FAIL", FAILING)
        step("backfill", "backfill", "--partition", "2026-01-05..2026-01-18")
    step("backfills", "backfills")
    step("status_failed", "status")
    step("reprocess", "backfill", "clean_events", "rolling_7d", "--partition", "2026-01-05..2026-02-01",
         "--reprocess", "failed")
    step("resume", "backfill", "--resume")
    step("backfills_done", "backfills")
    step("weekly", "backfill", "weekly_traffic", "--partition", "2026-01-05..2026-01-12")
    step("materialize", "materialize")
    step("status_fresh", "status")
    rolling = every_partition("rolling_7d", [d.isoformat() for d in DAYS], project, home)
    weekly = every_partition("weekly_traffic", [w.isoformat() for w in WEEKS], project, home)

    with open(project / "data" / f"events_{CHANGED}_eu.csv", "a", encoding="utf-8") as handle:
        handle.write(f"{CHANGED}T23:59:59Z,eu-0001,/pricing,60000\n")
    step("status_changed", "status")
    step("materialize_changed", "materialize")
    step("show_sessions", "show", "sessions")
    clean = every_partition("clean_events", [f"{d}|{r}" for d in DAYS for r in REGIONS], project, home)
    sessions = load("sessions", project=project, home=home)
    defs = import_file(project / "defs.py", "web_events_defs")
    return Walkthrough(project, home, out, codes, rolling, weekly, clean, sessions, defs)


def usable_events(data: Path) -> pl.DataFrame:
    """Every usable row of the CSV files, with its date and region: computed here, not by the example."""
    frames = []
    for day in DAYS:
        for region in REGIONS:
            frame = pl.read_csv(data / f"events_{day}_{region}.csv", schema_overrides={"user_id": pl.String})
            frames.append(frame.filter(pl.col("user_id").is_not_null() & (pl.col("duration_ms") >= 0))
                          .with_columns(date=pl.lit(day), region=pl.lit(region)))
    return pl.concat(frames)


def by_status(statuses: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["asset"]: s for s in statuses}


def test_status_counts_every_partition_of_every_asset(walk: Walkthrough) -> None:
    first = by_status(walk.out["status"])
    counts = {name: (s["partitions"]["total"], s["partitions"]["missing"]) for name, s in first.items()
              if "partitions" in s}
    assert counts == {"events": (56, 0), "clean_events": (56, 56), "weekly_traffic": (4, 4), "rolling_7d": (28, 28)}
    assert "partitions" not in first["sessions"] and first["sessions"]["status"] == "missing"
    fresh = by_status(walk.out["status_fresh"])
    assert {name: s["status"] for name, s in fresh.items() if name != "events"} == dict.fromkeys(
        ["clean_events", "weekly_traffic", "rolling_7d", "sessions"], "fresh")
    assert {name: s["partitions"]["fresh"] for name, s in fresh.items() if "partitions" in s} == {
        "events": 56, "clean_events": 56, "weekly_traffic": 4, "rolling_7d": 28}


def test_the_backfill_names_each_partition_and_fails_only_the_failing_one(walk: Walkthrough) -> None:
    backfill, first_fortnight = walk.out["backfill"], DAYS[:14]
    assert walk.codes["backfill"] == 1 and backfill["status"] == "failed"
    assert backfill["failed"] == [f"clean_events[{FAILING}]"]
    blocked = [f"rolling_7d[{d}]" for d in first_fortnight[9:]]  # their windows hold 2026-01-14
    blocked.append("weekly_traffic[2026-01-12]")  # the week of the 14th: the range's days reach the weeks too
    assert sorted(backfill["skipped"]) == blocked
    expected = {f"clean_events[{d}|{r}]" for d in first_fortnight for r in REGIONS} - {f"clean_events[{FAILING}]"}
    expected |= {f"rolling_7d[{d}]" for d in first_fortnight[:9]} | {"weekly_traffic[2026-01-05]"}
    assert set(backfill["materialized"]) == expected and len(backfill["materialized"]) == 37

    [listed] = walk.out["backfills"]
    assert listed["backfill_id"] == backfill["backfill_id"] and listed["partitions"] == "2026-01-05..2026-01-18"
    assert (listed["status"], listed["done"], listed["failed"], listed["remaining"]) == ("failed", 37, 1, 6)
    clean = by_status(walk.out["status_failed"])["clean_events"]["partitions"]
    assert (clean["fresh"], clean["failed"], clean["missing"]) == (27, 1, 28)
    assert clean["ranges"]["failed"] == [[FAILING, FAILING]]


def test_reprocess_failed_reruns_exactly_the_failed_partition_and_resume_the_rest(walk: Walkthrough) -> None:
    assert walk.codes["reprocess"] == 0
    assert walk.out["reprocess"]["materialized"] == [f"clean_events[{FAILING}]"]
    assert walk.out["reprocess"]["skipped"] == [] == walk.out["reprocess"]["failed"]
    # what the failed backfill still lacks: the rolling days skipped because of the failure
    assert walk.codes["resume"] == 0
    assert walk.out["resume"]["backfill_id"] == walk.out["backfill"]["backfill_id"]
    assert sorted(walk.out["resume"]["materialized"]) == sorted(walk.out["backfill"]["skipped"])
    done = {b["backfill_id"]: b for b in walk.out["backfills_done"]}[walk.out["backfill"]["backfill_id"]]
    assert (done["status"], done["failed"], done["remaining"]) == ("done", 0, 0)
    assert walk.out["weekly"]["materialized"] == []  # both weeks were made by the backfill and its resume


def test_changing_one_file_makes_only_its_partition_and_its_readers_stale(walk: Walkthrough) -> None:
    statuses = by_status(walk.out["status_changed"])
    stale = {name: s["partitions"]["ranges"]["stale"] for name, s in statuses.items() if "partitions" in s}
    key = f"{CHANGED}|eu"
    assert stale == {
        "events": [[key, key]],
        "clean_events": [[key, key]],
        "weekly_traffic": [["2026-01-12", "2026-01-12"]],  # the week of the 14th
        "rolling_7d": [["2026-01-14", "2026-01-20"]],  # the seven windows that hold the 14th
    }
    assert {name: s["partitions"]["fresh"] for name, s in statuses.items() if "partitions" in s} == {
        "events": 55, "clean_events": 55, "weekly_traffic": 3, "rolling_7d": 21}
    assert statuses["sessions"]["status"] == "stale"
    ran = walk.out["materialize_changed"]
    assert walk.codes["materialize_changed"] == 0 and ran["skipped"] == [] == ran["failed"]
    assert sorted(ran["materialized"]) == sorted(
        [f"clean_events[{key}]", "weekly_traffic[2026-01-12]", "sessions",
         *(f"rolling_7d[{CHANGED + timedelta(days=n)}]" for n in range(7))])


def test_the_rolling_window_sums_the_seven_days_up_to_each_day(walk: Walkthrough) -> None:
    events = usable_events(walk.project / "data").filter(  # the values were read before the late event came
        ~((pl.col("date") == CHANGED) & (pl.col("region") == "eu") & (pl.col("ts") == f"{CHANGED}T23:59:59Z")))
    rows = []
    for day in DAYS:
        window = events.filter(pl.col("date").is_between(day - timedelta(days=6), day))
        for region in REGIONS:
            part = window.filter(pl.col("region") == region)
            rows.append({"day": day, "region": region, "events": part.height, "users": part["user_id"].n_unique(),
                         "duration_ms": part["duration_ms"].sum(), "days": part["date"].n_unique()})
    expected = pl.DataFrame(rows)
    assert walk.rolling.select(expected.columns).to_dicts() == expected.to_dicts()
    assert walk.rolling["days"].to_list()[:4] == [1, 1, 2, 2]  # days before the first partition are left out


def test_the_weekly_rollup_adds_up_to_the_generated_data(walk: Walkthrough) -> None:
    events = usable_events(walk.project / "data").filter(
        ~((pl.col("date") == CHANGED) & (pl.col("region") == "eu") & (pl.col("ts") == f"{CHANGED}T23:59:59Z")))
    weekly = walk.weekly
    assert weekly.height == 8 and weekly["days"].to_list() == [7] * 8
    assert weekly["events"].sum() == events.height
    assert weekly["duration_ms"].sum() == events["duration_ms"].sum()
    for week in WEEKS:
        for region in REGIONS:
            part = events.filter(pl.col("date").is_between(week, week + timedelta(days=6)), pl.col("region") == region)
            [row] = weekly.filter(pl.col("week") == week, pl.col("region") == region).to_dicts()
            assert (row["events"], row["users"], row["duration_ms"]) == (
                part.height, part["user_id"].n_unique(), part["duration_ms"].sum())


def test_the_incremental_table_recomputes_one_partition_and_equals_a_full_run(walk: Walkthrough) -> None:
    metadata = walk.out["show_sessions"]["latest"]["metadata"]
    assert (metadata["computed"], metadata["kept"]) == (1, 55)
    full = walk.defs.sessions.fn(walk.clean.lazy(), None).value  # the same table made from scratch
    assert walk.sessions.equals(full)
    events = usable_events(walk.project / "data")  # now with the late event
    per_day = events.group_by("date", "region").len().sort("date", "region")
    assert walk.sessions.select("date", "region", "events").rows() == per_day.rows()

