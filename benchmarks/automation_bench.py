"""Automation against the issue's goals:

1. one tick over N assets that all carry conditions (``on_upstream_change() | on_missing()``), everything
   materialized: the evaluation in a loaded workspace (goal: under 0.5 s at 10,000), and the whole tick as the
   daemon makes it (loading the definitions, then evaluating);
2. a file sensor over F files: a tick with nothing new and one with 10 new files (goal: under 0.2 s per tick
   at 10,000);
3. an idle daemon (the example project, its default 30 s interval) for S seconds: its share of one core (goal:
   under 1 %).

    python benchmarks/automation_bench.py [--assets 10000] [--files 10000] [--idle 120]

Writes its own section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from assets_core.application import usecases  # noqa: E402
from assets_core.application.automation import evaluate  # noqa: E402
from assets_core.application.workspace import Options, open_workspace  # noqa: E402
from assets_core.automation.declarations import file_sensor  # noqa: E402
from assets_core.automation.files import evaluate_file_sensor  # noqa: E402
import report  # noqa: E402  (this folder, as the script runs from it)
import workloads  # noqa: E402

RESULTS = HERE / "RESULTS.md"
WORK = HERE / ".work" / "automation"
BEGIN, END = "<!-- automation:begin -->", "<!-- automation:end -->"

CONDITIONED = '''
from assets_core import asset, on_missing, on_upstream_change

WHEN = on_upstream_change() | on_missing()


def root(name):
    def fn():
        return {{"n": 0}}
    return asset(name=name, automation=WHEN)(fn)


def node(name, left, right):
    def fn(left, right):
        return {{"n": left["n"] + 1}}
    return asset(name=name, inputs={{"left": left, "right": right}}, automation=WHEN)(fn)


WIDTH = {width}
ASSETS = [root(f"a{{i}}") if i < WIDTH else
          node(f"a{{i}}", f"a{{i - WIDTH}}", f"a{{i - WIDTH + 1 if (i + 1) % WIDTH else i - WIDTH - 1}}")
          for i in range({n})]
'''


def _project(name: str, definitions: str) -> Path:
    return workloads.fresh_project(WORK / name, definitions)


def conditions_tick(n: int) -> dict[str, float]:
    width = max(2, int(n ** 0.5))
    root = _project("conditions", CONDITIONED.format(n=n, width=width))
    options = Options(project=str(root))
    workspace = open_workspace(options)
    usecases.materialize(workspace)
    at = datetime.now(timezone.utc)
    evaluate(workspace, at)  # the first evaluation (code versions computed once per loaded workspace)
    times = []
    for step in range(3):
        started = time.perf_counter()
        found = evaluate(workspace, at + timedelta(seconds=step + 1))
        times.append(time.perf_counter() - started)
        assert not found.requests, found.ticks
    workspace.catalog.close()
    whole = []
    for step in range(3):
        started = time.perf_counter()
        fresh = open_workspace(options)
        evaluate(fresh, at + timedelta(seconds=10 + step))
        whole.append(time.perf_counter() - started)
        fresh.catalog.close()
    return {"assets": n, "evaluate": statistics.median(times), "whole": statistics.median(whole)}


def file_ticks(files: int) -> dict[str, float]:
    root = _project("files", "")
    landing = root / "landing"
    landing.mkdir()
    for number in range(files):
        (landing / f"f{number:06}.csv").write_text(f"a\n{number}\n")
    sensor = file_sensor("landing", "landing/*.csv", "x")
    first = evaluate_file_sensor(sensor, None, root)
    cursor = first.cursor
    quiet = []
    for _ in range(5):
        started = time.perf_counter()
        result = evaluate_file_sensor(sensor, cursor, root)
        quiet.append(time.perf_counter() - started)
        assert not result.requests
    for number in range(10):
        (landing / f"new{number}.csv").write_text(f"a\n{number}\n")
    started = time.perf_counter()
    changed = evaluate_file_sensor(sensor, cursor, root)
    arrived = time.perf_counter() - started
    assert len(changed.changed) == 10
    return {"files": files, "quiet": statistics.median(quiet), "arrived": arrived}


def idle_daemon(seconds: float) -> dict[str, float]:
    example = HERE.parent / "examples" / "customer_analytics"
    root = WORK / "idle"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(example, root, ignore=shutil.ignore_patterns(".assets", "__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    subprocess.run([sys.executable, "-m", "tui.cli.main", "materialize"], cwd=root, env=env, check=True,
                   capture_output=True)
    daemon = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "daemon"], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(5)  # started, first tick made
    before, started = _cpu(daemon.pid), time.monotonic()
    time.sleep(seconds)
    used, wall = _cpu(daemon.pid) - before, time.monotonic() - started
    daemon.terminate()
    daemon.wait(60)
    return {"seconds": wall, "share": used / wall}


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=120.0)
    args = parser.parse_args()
    tick = conditions_tick(args.assets)
    files = file_ticks(args.files)
    idle = idle_daemon(args.idle)
    moment = datetime.now(timezone.utc)
    lines = [BEGIN, "## Automation", "",
             f"`python benchmarks/automation_bench.py --assets {args.assets} --files {args.files} --idle {args.idle:g}`, "
             f"{moment:%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}; medians, in process.",
             "", "| measure | goal | measured |", "|---|---|---|",
             f"| one tick over {tick['assets']:,} assets carrying conditions, in a loaded workspace | < 0.5 s "
             f"| {tick['evaluate']:.2f} s |",
             f"| the same tick as the daemon makes it (loading the definitions, then evaluating) | - "
             f"| {tick['whole']:.2f} s |",
             f"| a file sensor over {files['files']:,} files, nothing new | < 0.2 s | {files['quiet']:.3f} s |",
             f"| the same with 10 new files (each read once) | < 0.2 s | {files['arrived']:.3f} s |",
             f"| an idle daemon (examples/customer_analytics, 30 s interval) over {idle['seconds']:.0f} s: share of one core "
             f"| < 1 % | {100 * idle['share']:.2f} % |", END]
    section = "\n".join(lines)
    report.write_section(RESULTS, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()
