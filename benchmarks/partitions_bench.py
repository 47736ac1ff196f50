"""Partitions against the issue's goals, each as a whole `assets` command in a fresh process:

1. an hourly-partitioned source over H hours with a daily asset reading it: `assets status` with everything
   fresh, and with 10 % of the days stale (goal: under 1 s at 100,000 hours);
2. a backfill of P partitions of a trivial asset: framework time per partition (goal: under 1 ms at 10,000);
3. a single-run SQL backfill of D daily partitions over R rows against a plain polars script that runs the
   same query and writes one Parquet file per partition (goal: at most 1.5x at 1,000 days, 10 million rows).

    python benchmarks/partitions_bench.py [--hours 100000] [--partitions 10000] [--days 1000] [--rows 10000000]
                                          [--only status|backfill|single_run ...] [--no-write]

Writes its own section of RESULTS.md (unless --no-write or --only: then it only prints it). The projects stay
under benchmarks/.work/partitions/ (``hourly`` is the status's), for profiling a command in them. Absolute times drift on a shared machine: read them with its load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import machine  # noqa: E402  (this folder, as the script runs from it)
import report  # noqa: E402
import workloads  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
WORK = HERE / ".work" / "partitions"
BEGIN, END = "<!-- partitions:begin -->", "<!-- partitions:end -->"
ASSETS = workloads.assets_command()
STATUS_RUNS = 5  # each status measured this many times: the median is reported

SOURCE = """
from assets_core import DailyPartitions, HourlyPartitions, asset, source_asset
HOURS = HourlyPartitions("{start}", end="{end}")
hits = source_asset("hits", "data/{{date}}.txt", partitions=HOURS)

@asset(partitions=DailyPartitions("{start}", end="{end}"), deps=["hits"])
def daily(context) -> int:
    return 1
"""

TRIVIAL = """
from assets_core import DailyPartitions, asset

@asset(partitions=DailyPartitions("1990-01-01", end="{end}"))
def trivial(context) -> list[str]:
    return [context.partition]
"""


def _timed(root: Path, *argv: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*ASSETS, *argv], cwd=root, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"assets {' '.join(argv)} failed:\n{done.stderr}")
    return took, done.stdout


def _project(name: str, definitions: str) -> Path:
    return workloads.fresh_project(WORK / name, definitions)


def hourly_status(hours: int) -> dict[str, float]:
    start = datetime(2015, 1, 1, tzinfo=timezone.utc)
    end = start + timedelta(hours=hours)
    root = _project("hourly", SOURCE.format(start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%dT%H:00}"))
    data = root / "data"
    data.mkdir()
    for hour in range(hours):
        (data / f"{start + timedelta(hours=hour):%Y-%m-%dT%H:00}.txt").write_text("1")
    _timed(root, "materialize", "--json")  # observes every hour and makes every day
    os.sync()  # the 100,000 new files written back first: the status is measured, not the disk's backlog
    speed = machine.python_speed()
    fresh = statistics.median(_timed(root, "status", "--json")[0] for _ in range(STATUS_RUNS))
    days = sorted({p.name[:10] for p in data.iterdir()})
    for day in days[:: 10]:  # a change in one hour of every tenth day
        (data / f"{day}T05:00.txt").write_text("2")
    os.sync()
    stale = statistics.median(_timed(root, "status", "--json")[0] for _ in range(STATUS_RUNS))
    out = _timed(root, "status", "--json")[1]
    return {"hours": hours, "fresh": fresh, "stale": stale, "stale_days": json.loads(out)[1]["partitions"]["stale"],
            "python_speed": speed, **_floor(root, data)}


def _floor(root: Path, data: Path) -> dict[str, float]:
    """What any status over these files pays before it does anything of its own: starting the interpreter and
    importing the command, and one stat per file (the least a status that is always right can do)."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tui.cli.main"], cwd=root, env=env, check=True)
    start_up = time.perf_counter() - started
    names = [str(path) for path in data.iterdir()]
    started = time.perf_counter()
    for name in names:
        os.stat(name)
    return {"start_up": start_up, "stat": time.perf_counter() - started}


def backfill(partitions: int) -> dict[str, float]:
    end = datetime(1990, 1, 1) + timedelta(days=partitions)
    root = _project("backfill", TRIVIAL.format(end=f"{end:%Y-%m-%d}"))
    took, out = _timed(root, "backfill", "--partition", f"1990-01-01..{end - timedelta(days=1):%Y-%m-%d}", "--json")
    result = json.loads(out)
    noop, _ = _timed(root, "status", "--json")
    return {"partitions": len(result["materialized"]), "seconds": took, "per_partition_ms": 1000 * took / partitions,
            "noop_status": noop}


SINGLE_RUN = """
from assets_core import DailyPartitions, sql_asset, source_asset

DAYS = DailyPartitions("1990-01-01", end="{end}")
events = source_asset("events", "events.parquet")
by_day = sql_asset("by_day", "select ts, user_id, amount from events where ts >= @start and ts < @end",
                   partitions=DAYS, backfill="single_run", time_column="ts")
"""

PLAIN = """
import sys, time
from pathlib import Path
import polars as pl
started = time.perf_counter()
start, end, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
out.mkdir(exist_ok=True)
frame = pl.SQLContext(events=pl.scan_parquet("events.parquet")).execute(
    f"select ts, user_id, amount from events where ts >= '{start}' and ts < '{end}'").collect()
for (day,), part in frame.with_columns(pl.col("ts").dt.date().alias("_day")).partition_by("_day", as_dict=True,
                                                                                          include_key=False).items():
    part.write_parquet(out / f"{day}.parquet")
"""


def single_run(days: int, rows: int) -> dict[str, float]:
    """The single-run SQL backfill (``--reprocess all`` into an existing home) against the plain script, each
    a whole process, median of three after one untimed run of each."""
    import polars as pl

    start = datetime(1990, 1, 1)
    end = start + timedelta(days=days)
    root = _project("single_run", SINGLE_RUN.format(end=f"{end:%Y-%m-%d}"))
    step = days * 86_400_000_000 // rows  # microseconds between rows, spread over the days
    frame = pl.DataFrame({"ts": pl.int_range(0, rows, eager=True) * step, "user_id": pl.int_range(0, rows, eager=True) % 997,
                          "amount": pl.int_range(0, rows, eager=True) % 1000})
    frame = frame.with_columns((pl.lit(start) + pl.duration(microseconds=pl.col("ts"))).alias("ts"))
    frame.write_parquet(root / "events.parquet")
    (root / "plain.py").write_text(PLAIN)
    ours, plain = [], []
    last = f"{end - timedelta(days=1):%Y-%m-%d}"
    for run in range(4):  # the first of each makes the home and the folder (not timed): as a user's second day
        os.sync()
        took, out = _timed(root, "backfill", "--partition", f"1990-01-01..{last}", "--reprocess", "all", "--json")
        assert len(json.loads(out)["materialized"]) == days
        os.sync()
        started = time.perf_counter()
        subprocess.run([sys.executable, "plain.py", f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}", "out"], cwd=root, check=True)
        if run:
            ours.append(took)
            plain.append(time.perf_counter() - started)
    ours.sort()
    plain.sort()
    return {"days": days, "rows": rows, "ours": ours[1], "plain": plain[1], "ratio": ours[1] / plain[1]}


PARTS = ("status", "backfill", "single_run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=1_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable); implies --no-write")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md as it is")
    args = parser.parse_args()
    parts = args.only or PARTS
    status = hourly_status(args.hours) if "status" in parts else None
    filled = backfill(args.partitions) if "backfill" in parts else None
    split = single_run(args.days, args.rows) if "single_run" in parts else None
    moment = datetime.now(timezone.utc)
    lines = [BEGIN, "## Partitions", "",
             f"`python benchmarks/partitions_bench.py --hours {args.hours} --partitions {args.partitions} --days {args.days} --rows {args.rows}`, "
             f"{moment:%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}; whole commands, fresh processes; each status the median of {STATUS_RUNS}, run once the files are written back to disk."
             + (f" The machine's speed then: a fixed Python loop of 5,000,000 additions took {status['python_speed']:.2f} s "
                "on one core (it drifts by tens of percent within minutes on this VM)." if status is not None else ""),
             "", "| measure | goal | measured |", "|---|---|---|"]
    if status is not None:
        lines += [f"| `assets status`, hourly source of {status['hours']:,} partitions and a daily reader, all fresh "
                  f"| < 1 s | {status['fresh']:.2f} s |",
                  f"| the same with {status['stale_days']} days stale | < 1 s | {status['stale']:.2f} s |",
                  f"| of which the floor: start-up and imports / one `stat` per file | - | {status['start_up']:.2f} s / "
                  f"{status['stat']:.2f} s |"]
    if filled is not None:
        lines += [f"| backfill of {filled['partitions']:,} trivial partitions: the whole command (start-up, planning, "
                  f"running, storing, recording) per partition | < 1 ms framework | {filled['per_partition_ms']:.2f} ms |",
                  f"| no-op `assets status` after it | - | {filled['noop_status']:.2f} s |"]
    if split is not None:
        lines += [f"| single-run SQL backfill of {split['days']:,} days, {split['rows']:,} rows, whole command / a plain "
                  f"polars script writing one Parquet file per day | <= 1.5x | {split['ratio']:.2f}x "
                  f"({split['ours']:.2f} s / {split['plain']:.2f} s) |"]
    section = "\n".join([*lines, END])
    if not args.no_write and not args.only:
        report.write_section(RESULTS, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()
