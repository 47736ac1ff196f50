"""This code against an earlier commit, in one run: the no-op commands of 10,000 assets, interleaved.

Absolute times drift from machine to machine and hour to hour; a ratio taken in one run does not. This checks
out REV into ``benchmarks/.work/against-REV`` (a git worktree), makes each tree's own 10,000-asset project with
that tree's ``benchmarks/workloads.py``, materializes both, then times ``assets status --json`` and a no-op
``assets materialize --json`` and ``assets list --json`` as whole commands, alternating the two trees (each
first in every other round), and writes the medians and their ratio into its own section of RESULTS.md.

    python benchmarks/against.py REV [--runs N] [--size N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import report  # noqa: E402  (this folder, as the script runs from it)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- against:begin -->", "<!-- against:end -->"
# Runs a tree's `assets` command with that tree's packages first, whatever the editable install points at.
LAUNCH = """
import runpy, sys
tree = sys.argv.pop(1)
sys.meta_path[:] = [finder for finder in sys.meta_path if "editable" not in repr(finder)]
sys.path.insert(0, tree)
module = "tui.cli.main" if __import__("os").path.isdir(tree + "/tui/cli") else "tui.cli"
sys.argv[0] = module
runpy.run_module(module, run_name="__main__")
"""


def worktree(rev: str) -> Path:
    """A checkout of ``rev`` beside the benchmark's other work folders."""
    folder = HERE / ".work" / f"against-{rev}"
    if not folder.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT, check=True,
                       capture_output=True)
    return folder


def project(tree: Path, size: int) -> Path:
    """The tree's own layered project of ``size`` assets, materialized once (kept for the next run of that size)."""
    folder = HERE / ".work" / f"against-project-{tree.name}-{size}"
    if not (folder / "defs.py").exists():
        make = f"import sys; sys.path.insert(0, {str(tree / 'benchmarks')!r}); from pathlib import Path; " \
               f"from workloads import write_layered; write_layered(Path({str(folder)!r}), {size})"
        subprocess.run([sys.executable, "-c", make], check=True)
        command(tree, folder, "materialize")
    return folder


def command(tree: Path, folder: Path, name: str) -> float:
    """Seconds one whole ``assets NAME`` command takes in ``folder`` with the code of ``tree``."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCH, str(tree), name, "-f", "defs.py", "--json"],
                          cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: assets {name} failed:\n{done.stderr}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command in each tree (median)")
    parser.add_argument("--size", type=int, default=10_000, help="assets in the project")
    args = parser.parse_args()
    trees = {args.rev: worktree(args.rev), "this code": ROOT}
    folders = {label: project(tree, args.size) for label, tree in trees.items()}
    rows = []
    for name in ("status", "materialize", "list"):
        times: dict[str, list[float]] = {label: [] for label in trees}
        for run in range(args.runs):
            # Each tree first in every other round: a machine that slows down after a command (or speeds up)
            # must not favour the tree that always runs second.
            for label, tree in (list(trees.items()) if run % 2 == 0 else list(trees.items())[::-1]):
                times[label].append(command(tree, folders[label], name))
        old, new = (statistics.median(times[label]) for label in trees)
        rows.append(f"| no-op `assets {name} --json` | {old:.2f} s | {new:.2f} s | {new / old:.2f}x |")
        print(rows[-1])
    write(args.rev, args.size, args.runs, rows)
    return 0


def write(rev: str, size: int, runs: int, rows: list[str]) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    section = "\n".join([
        BEGIN, "## Against the previous session's code", "",
        f"`python benchmarks/against.py {rev}`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: whole commands on "
        f"{size:,} assets, the two trees alternating, median of {runs} runs each; this code is {commit}.", "",
        f"| command | {rev} | this code | ratio |", "|---|---|---|---|", *rows, END])
    report.write_section(RESULTS, BEGIN, END, section)


if __name__ == "__main__":
    sys.exit(main())
