"""The peers side by side: Dagster, Hamilton and Prefect, each in an environment of its own, and this project,
on the same three workloads, on one machine in one run.

    python benchmarks/peers/run.py [--assets 1000] [--rows 10000000] [--tools dagster,hamilton,prefect]

1. the layered graph of N trivial assets (benchmarks/workloads.py's shape), a full run;
2. the same again with nothing changed: a no-op rerun (whatever each tool does then: Dagster reruns every
   asset, Hamilton and Prefect read their caches, this project checks staleness and runs nothing);
3. 10 million rows x 5 columns made by one asset and grouped by a second (the work is the same polars code).

Each peer is installed with pip into benchmarks/.work/peers/<tool>-venv the first time, and used as its
documentation recommends for persistence (see peer.py). Times are the seconds inside each tool's run call for
the peers, and the whole ``assets materialize`` command (start-up included) for this project, so this
project's figures include costs the peers' leave out. Writes its own section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent
sys.path.insert(0, str(BENCHMARKS))

import report  # noqa: E402
import workloads  # noqa: E402

WORK = BENCHMARKS / ".work" / "peers"
RESULTS = BENCHMARKS / "RESULTS.md"
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
RESULTS_JSON = WORK / "results.json"  # each tool's last figures, so that one tool can be measured again alone
PACKAGES = {"dagster": ["dagster", "polars"], "hamilton": ["sf-hamilton", "polars", "pandas"],
            "prefect": ["prefect", "polars"]}


def environment(tool: str) -> Path:
    """The tool's virtual environment's python, made and filled the first time."""
    venv = WORK / f"{tool}-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES[tool]], check=True)
    return python


def peer(tool: str, workload: str, size: int) -> tuple[float, float]:
    """The full run and the rerun of one workload by one peer, in a fresh folder."""
    folder = WORK / f"{tool}-{workload}"
    shutil.rmtree(folder, ignore_errors=True)
    python = environment(tool)
    times = []
    for _ in range(2):
        done = subprocess.run([str(python), str(HERE / "peer.py"), tool, workload, str(size), str(folder)],
                              capture_output=True, text=True, cwd=HERE)
        if done.returncode != 0:
            raise SystemExit(f"{tool} {workload} failed:\n{done.stderr[-3000:]}")
        times.append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    return times[0], times[1]


def ours(workload: str, size: int) -> tuple[float, float]:
    """The full run and the no-op rerun of one workload by this project, whole commands."""
    folder = WORK / f"assets-{workload}"
    shutil.rmtree(folder, ignore_errors=True)
    if workload == "layered":
        workloads.write_layered(folder, size)
    else:
        workloads.write_throughput(folder, size)
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)}
    times = []
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tui.cli.main", "materialize", "-f", "defs.py", "--project", str(folder)],
                       check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--tools", default="assets,dagster,hamilton,prefect",
                        help="which to measure now (the others keep their last figures in .work/peers/results.json)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    saved = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    for tool in filter(None, args.tools.split(",")):
        run = ours if tool == "assets" else lambda workload, size, tool=tool: peer(tool, workload, size)
        moment = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}"
        try:
            full, rerun = run("layered", args.assets)
            big, _ = run("throughput", args.rows)
            saved[tool] = {"figures": [f"{full:.2f} s", f"{rerun:.2f} s", f"{big:.2f} s"], "at": moment}
        except SystemExit as failure:  # a peer that fails here is said so in its row
            saved[tool] = {"figures": [f"failed: {str(failure).strip().splitlines()[-1][:120]}", "-", "-"],
                           "at": moment}
        saved[tool]["sizes"] = [args.assets, args.rows]
        RESULTS_JSON.write_text(json.dumps(saved, indent=1))
        print(tool, saved[tool], flush=True)
    rows = [f"| {'this project' if tool == 'assets' else tool} | {' | '.join(found['figures'])} | {found['at']} |"
            for tool, found in saved.items()]
    section = "\n".join([
        BEGIN, "## The peers, side by side", "",
        f"`python benchmarks/peers/run.py --assets {args.assets} --rows {args.rows}`. Peers: seconds inside their "
        "run call; this project: whole `assets materialize` commands, start-up included. How each peer persists: "
        "benchmarks/peers/peer.py.", "",
        f"| tool | {args.assets:,} trivial assets, full run | the same, nothing changed | "
        f"{args.rows:,} rows, make and group | measured |", "|---|---|---|---|---|", *rows, END])
    report.write_section(RESULTS, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()
