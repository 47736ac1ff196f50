"""Benchmark the framework through the `assets` command: overhead per asset, no-op runs and throughput.

    python benchmarks/run.py              # full sizes (several minutes); writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick      # small sizes in under a minute, for smoke-testing
    python benchmarks/run.py --profile    # also profile every workload that misses its goal

Every workload runs in fresh subprocesses, with its definitions loaded from a generated file, values stored
on disk and the SQLite catalog on disk, in ``benchmarks/.work/run/`` (removed at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import machine
import report
import workloads

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "run"  # only this benchmark's own folder: other benchmarks keep theirs in .work too
RESULTS = HERE / "RESULTS.md"
PROBE = HERE / "probe.py"
COMPONENT_CALLS = 5_000  # calls of each per-asset operation timed alone
SLOW_FILE_CREATION_MS = 0.2  # above this, recent deletions are slowing file creation down (see overhead)


@dataclass(frozen=True)
class Sizes:
    """How big each workload is, and how often each timed measurement is repeated."""

    overhead: tuple[int, ...]  # asset counts of the full materialization
    noop: tuple[int, ...]  # asset counts of the no-op commands (each one of the overhead's)
    status_only: int  # the asset count whose status alone is measured (never materialized: all missing)
    rows: int
    repeat: int


FULL = Sizes(overhead=(1_000, 10_000, 100_000), noop=(10_000, 100_000), status_only=1_000_000, rows=10_000_000,
             repeat=3)
QUICK = Sizes(overhead=(200, 2_000), noop=(200, 2_000), status_only=20_000, rows=1_000_000, repeat=3)


@dataclass(frozen=True)
class Process:
    """One finished subprocess: its wall time and peak memory seen from outside, and what it reported."""

    wall: float
    max_rss_kib: int
    report: dict[str, Any]  # the probe's or plain script's own measurements ({} for a bare command)
    stdout: str


class BenchmarkError(Exception):
    """A workload did not do what it should (a failed command, a wrong result)."""


class Runner:
    """Starts the measured subprocesses, each in a clean environment, one at a time."""

    def __init__(self, work: Path):
        self.work = work
        kept = {k: v for k, v in os.environ.items()
                if k not in ("ASSETS_HOME", "ASSETS_CATALOG", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        # Bytecode cached, as a user's installed project has it: written by the first process that imports each
        # module (the framework's, the definitions file, the libraries) into the work folder, read by every later
        # one, whatever this shell's PYTHONDONTWRITEBYTECODE says.
        self.env = {**kept, "PYTHONPYCACHEPREFIX": str(work / "bytecode")}
        # Nothing cached: every module compiled from its source at every start (a never-written, empty cache).
        self.compiling_env = {**kept, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(work / "none")}
        self.assets = workloads.assets_command()
        self._count = 0

    def assets_command(self, args: list[str], compiling: bool = False) -> Process:
        """The bare ``assets`` command, as a user runs it (``compiling``: with no bytecode cached)."""
        return self._spawn([*self.assets, *args], self.compiling_env if compiling else None)

    def probe(self, args: list[str], profile: Path | None = None) -> Process:
        """The same command run by the probe, which also times its parts inside the process."""
        extra = ["--profile", str(profile)] if profile is not None else []
        return self._spawn([sys.executable, str(PROBE), "{report}", *extra, "--", *args])

    def isolated(self, defs: Path) -> Process:
        """The definitions' asset functions called directly, without the framework."""
        return self._spawn([sys.executable, str(PROBE), "{report}", "--isolated", str(defs)])

    def components(self, folder: Path, count: int) -> Process:
        """The per-asset operations timed one at a time (see components.py)."""
        return self._spawn([sys.executable, str(HERE / "components.py"), "{report}", str(folder), str(count)])

    def plain_python(self, code: str) -> float:
        """Wall time of ``python -c CODE``: the interpreter's own start-up for ``pass``."""
        return self._spawn([sys.executable, "-c", code]).wall

    def plain(self, script: Path, out: Path, read_back: bool) -> Process:
        return self._spawn([sys.executable, str(script), str(out), "{report}",
                            *([] if read_back else ["--no-read-back"])])

    def import_times(self) -> dict[str, float]:
        """Seconds each top-level package takes to import with the CLI (``-X importtime``, own time only)."""
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tui.cli.main"], env=self.env,
                              cwd=self.work, capture_output=True, text=True, check=True)
        seconds: dict[str, float] = {}
        for line in done.stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if len(fields) == 3 and fields[0].strip().isdigit():
                package = fields[2].strip().split(".")[0]
                seconds[package] = seconds.get(package, 0.0) + int(fields[0]) / 1e6
        return seconds

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> Process:
        # What earlier processes wrote is flushed to disk first: otherwise the kernel writes it back while
        # this one runs (tens of thousands of files after an overhead run), taking CPU from it.
        os.sync()
        self._count += 1
        stem = self.work / f"process-{self._count}"
        report_path = stem.with_suffix(".report.json")
        argv = [str(report_path) if a == "{report}" else a for a in argv]
        out_path, err_path = stem.with_suffix(".out"), stem.with_suffix(".err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            begun = time.perf_counter()
            process = subprocess.Popen(argv, stdout=out, stderr=err, env=env or self.env, cwd=self.work)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - begun
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise BenchmarkError(f"{' '.join(argv)} exited with {process.returncode}:\n{err_path.read_text()}")
        measured = json.loads(report_path.read_text()) if report_path.exists() else {}
        return Process(wall, usage.ru_maxrss, measured, out_path.read_text())


def median(values: list[float]) -> float:
    return statistics.median(values)


def median_phases(processes: list[Process]) -> dict[str, float]:
    labels = dict.fromkeys(label for p in processes for label in p.report.get("phases", {}))
    return {label: median([p.report["phases"].get(label, 0.0) for p in processes]) for label in labels}


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


def layered_args(command: str, folder: Path, home: Path | None = None) -> list[str]:
    home = home or folder / "home-1"
    return [command, "-f", "defs.py", "--project", str(folder), "--home", str(home), "--json"]


def overhead(runner: Runner, n: int, repeat: int) -> dict[str, Any]:
    """Full materialization of the layered graph of ``n`` assets, from an empty home each time."""
    folder = WORK / f"layered_{n}"
    defs = workloads.write_layered(folder, n)
    runs, creation = [], []
    for attempt in range(1, repeat + 1):
        _progress(f"overhead: materialize {n:,} assets ({attempt}/{repeat})")
        # A new home per attempt, and nothing deleted before the end: on a file system without a journal
        # (this machine's ext4), creating a file scans past every inode freed in the last 60-300 s, so
        # deleting the previous attempt's 10,000 files would slow this attempt's file creation tenfold.
        home = folder / f"home-{attempt}"
        creation.append(machine.file_creation(folder / f"files-{attempt}"))  # the file system's state, just before
        if creation[-1] > SLOW_FILE_CREATION_MS:
            _progress(f"warning: creating a file takes {creation[-1]:.2f} ms (about 0.03 ms normally): files "
                      "deleted in the last minutes slow it down; the overhead figures will be inflated. "
                      "Wait five minutes without deleting many files, then run again")
        process = runner.probe(layered_args("materialize", folder, home))
        result = json.loads(process.stdout)
        expect(result["status"] == "success" and len(result["materialized"]) == n,
               f"materialize of {n} assets: {result['status']}, {len(result['materialized'])} materialized")
        expect(process.report["function_calls"] == n, "the asset functions did not all run exactly once")
        runs.append(process)
    isolated = [runner.isolated(defs) for _ in range(repeat)]
    return {
        "n": n,
        "width": workloads.layer_width(n),
        "wall": median([p.wall for p in runs]),
        "imports": median([p.report["imports"] for p in runs]),
        "work": median([p.report["work"] for p in runs]),
        "function_cpu": median([p.report["function_cpu"] for p in runs]),
        "function_wall_summed": median([p.report["function_wall"] for p in runs]),
        "function_isolated": median([p.report["work"] for p in isolated]),
        "framework_per_asset": median([(p.report["work"] - p.report["function_cpu"]) / n for p in runs]),
        "rss_kib": median([p.max_rss_kib for p in runs]),
        "file_creation_ms": creation,
        "rss_kib_max": max(p.max_rss_kib for p in runs),
        "phases": median_phases(runs),
        "phases_not_found": runs[0].report["phases_not_found"],
        "runs": len(runs),
    }


def components(runner: Runner, n: int, repeat: int) -> dict[str, Any]:
    """Seconds per call of each per-asset operation, alone in one thread (median over the repeats)."""
    count = min(n, COMPONENT_CALLS)
    runs = []
    for attempt in range(repeat):
        _progress(f"components: {count:,} calls of each per-asset operation ({attempt + 1}/{repeat})")
        folder = WORK / f"components-{attempt}"  # nothing deleted before the end (see overhead)
        runs.append(runner.components(folder, count).report["seconds"])
    return {"count": count, "seconds": {name: median([run[name] for run in runs]) for name in runs[0]}}


def noop(runner: Runner, n: int, repeat: int) -> dict[str, Any]:
    """``status`` and ``materialize`` of the layered graph when nothing changed since it was materialized."""
    folder = WORK / f"layered_{n}"
    checks: dict[str, Callable[[Any], bool]] = {
        "status": lambda statuses: len(statuses) == n and all(s["status"] == "fresh" for s in statuses),
        "materialize": lambda result: result["status"] == "success" and not result["outcomes"],
        "list": lambda assets: len(assets) == n,
    }
    measured = {}
    compiling = functools.partial(runner.assets_command, compiling=True)
    for command, check in checks.items():
        whole, inside, compiled = [], [], []
        for attempt in range(repeat):
            _progress(f"no-op: {command} of {n:,} assets ({attempt + 1}/{repeat})")
            for processes, spawn in ((whole, runner.assets_command), (inside, runner.probe), (compiled, compiling)):
                process = spawn(layered_args(command, folder))
                expect(check(json.loads(process.stdout)), f"the no-op {command} did not find everything fresh")
                processes.append(process)
        measured[command] = {
            "wall": median([p.wall for p in whole]),
            "wall_compiling": median([p.wall for p in compiled]),
            "rss_kib": median([p.max_rss_kib for p in whole]),
            "probe_wall": median([p.wall for p in inside]),
            "imports": median([p.report["imports"] for p in inside]),
            "work": median([p.report["work"] for p in inside]),
            "phases": median_phases(inside),
            "phases_not_found": inside[0].report["phases_not_found"],
        }
    startup = [runner.plain_python("pass") for _ in range(repeat)]
    imports = [runner.import_times() for _ in range(repeat)]
    packages = {name: median([found.get(name, 0.0) for found in imports]) for name in imports[0]}
    return {"n": n, "commands": measured, "runs": repeat, "python_startup": median(startup),
            "import_packages": dict(sorted(packages.items(), key=lambda item: -item[1]))}


def status_only(runner: Runner, n: int) -> dict[str, Any]:
    """``assets status`` of the layered graph of ``n`` assets never materialized (every one missing): how the
    next growth step would fare. One run: at a million assets it takes long, and no goal is set yet."""
    folder = WORK / f"layered_{n}"
    workloads.write_layered(folder, n)
    _progress(f"status of {n:,} assets never materialized")
    process = runner.assets_command(layered_args("status", folder))
    statuses = json.loads(process.stdout)
    expect(len(statuses) == n and all(s["status"] == "missing" for s in statuses),
           f"the status of {n:,} new assets did not find every one missing")
    return {"n": n, "wall": process.wall, "rss_kib": process.max_rss_kib}


def throughput(runner: Runner, rows: int, repeat: int) -> dict[str, Any]:
    """A large table and its aggregate through the framework, against the same work in a plain script."""
    folder = WORK / "throughput"
    _, plain = workloads.write_throughput(folder, rows)
    home, out = folder / "home", folder / "plain"
    args = ["materialize", "-f", "defs.py", "--project", str(folder), "--home", str(home), "--json"]
    variants: dict[str, list[Process]] = {"framework": [], "plain": [], "plain_no_read_back": []}
    for attempt in range(repeat):  # interleaved, so that drifts of the machine touch every variant alike
        _progress(f"throughput: {rows:,} rows ({attempt + 1}/{repeat})")
        shutil.rmtree(home, ignore_errors=True)
        process = runner.probe(args)
        result = json.loads(process.stdout)
        expect(result["status"] == "success" and sorted(result["materialized"]) == ["events", "summary"],
               f"the throughput workload did not materialize both assets: {result}")
        variants["framework"].append(process)
        for name, read_back in (("plain", True), ("plain_no_read_back", False)):
            shutil.rmtree(out, ignore_errors=True)
            variants[name].append(runner.plain(plain, out, read_back))
    same = _same_summary(home, out / "summary.parquet")
    expect(same, "the framework's summary differs from the plain script's")
    return {
        "rows": rows,
        "parquet_bytes": (out / "events.parquet").stat().st_size,
        "variants": {name: {"wall": median([p.wall for p in runs]),
                            "work": median([p.report["work"] for p in runs]),
                            "imports": median([p.report["imports"] for p in runs]),
                            "rss_kib": median([p.max_rss_kib for p in runs])}
                     for name, runs in variants.items()},
        "runs": repeat,
    }


def _same_summary(home: Path, plain: Path) -> bool:
    """Whether the framework stored the same summary as the plain script wrote (floats to a relative 1e-9)."""
    import polars as pl
    from polars.testing import assert_frame_equal

    from assets_core.running.storage import Storage
    from catalog import open_catalog, sqlite_url

    with open_catalog(sqlite_url(home / "catalog.db")) as catalog:
        location = catalog.asset_history("summary", limit=1)[0].location
    try:
        assert_frame_equal(Storage(home / "storage").read(location), pl.read_parquet(plain), rel_tol=1e-9)
    except AssertionError as error:
        _progress(f"the summaries differ: {error}")
        return False
    return True


def profiles(runner: Runner, missed: set[str], n: int) -> dict[str, str]:
    """Profile (cProfile, every thread) one run of each workload whose goal was missed."""
    layered, throughput_home = WORK / f"layered_{n}", WORK / "throughput" / "home"
    shutil.rmtree(throughput_home, ignore_errors=True)
    planned = {
        "overhead": (f"materialize of {n:,} assets from an empty home",
                     layered_args("materialize", layered, WORK / "fresh")),
        "status": (f"no-op status of {n:,} assets", layered_args("status", layered)),
        "materialize": (f"no-op materialize of {n:,} assets", layered_args("materialize", layered)),
        "throughput": ("the throughput workload through the framework",
                       ["materialize", "-f", "defs.py", "--project", str(WORK / "throughput"), "--home",
                        str(throughput_home), "--json"]),
    }
    texts = {}
    for key, (title, args) in planned.items():
        if key in missed:
            _progress(f"profile: {title}")
            path = WORK / f"profile-{key}.txt"
            try:
                runner.probe(args, profile=path)
                texts[title] = path.read_text()
            except BenchmarkError as error:  # keep the measurements: a failed profile is reported, not fatal
                texts[title] = f"The profiled run failed:\n\n```\n{error}\n```\n"
    return texts


def _progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measure(runner: Runner, sizes: Sizes, repeat: int,
            profile: bool) -> tuple[dict[str, Any], list[report.Goal], dict[str, str]]:
    """Run every workload; return the results, the goals judged on them, and the profiles taken."""
    results: dict[str, Any] = {"overhead": [overhead(runner, n, repeat) for n in sizes.overhead]}
    results["components"] = components(runner, sizes.overhead[-1], repeat)
    results["noop"] = [noop(runner, n, repeat) for n in sizes.noop]
    results["status_only"] = status_only(runner, sizes.status_only)
    results["throughput"] = throughput(runner, sizes.rows, repeat)
    goals = report.goals(results)
    missed = {goal.workload for goal in goals if not goal.met and not goal.reference}
    return results, goals, profiles(runner, missed, sizes.noop[-1]) if profile else {}


def kept_sections(path: Path) -> str:
    """The sections other benchmark scripts wrote into RESULTS.md (between their <!-- x:begin/end --> markers),
    carried over so that this script's rewrite keeps them."""
    if not path.exists():
        return ""
    text = path.read_text()
    kept = []
    for marker in ("lineage", "tui", "partitions", "tui-partitions", "soaks", "against", "automation", "peers",
                   "executors"):
        begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
        if begin in text and end in text:
            kept.append(text[text.index(begin):text.index(end) + len(end)])
    return "".join(f"\n\n{section}\n" for section in kept)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (N=200 and 2,000, 1M rows) for smoke-testing")
    parser.add_argument("--profile", action="store_true", help="profile each workload that misses its goal")
    parser.add_argument("--repeat", type=int, help="runs of each timed measurement (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder benchmarks/.work/run/")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the results ({RESULTS})")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or sizes.repeat
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    started, clock, before = datetime.now(timezone.utc), time.perf_counter(), machine.CpuSample.take()
    described = machine.describe(HERE)  # before the run: the commit measured, should someone commit meanwhile
    load, speed = machine.load_average(), machine.python_speed()
    if load is not None and load[0] > 0.5:
        _progress(f"warning: the machine is not idle (load average {load[0]:.2f}); the figures will be noisier")
    try:
        results, goals, texts = measure(Runner(WORK), sizes, repeat, args.profile)
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    meta = {"started": started, "seconds": time.perf_counter() - clock, "quick": args.quick, "repeat": repeat,
            "command": " ".join(["python benchmarks/run.py", *sys.argv[1:]]), "profiled": args.profile,
            "load_before": load, "other_load": machine.other_load(before, machine.CpuSample.take()),
            "speed": (speed, machine.python_speed())}
    args.output.write_text(report.render(meta, described, results, goals, texts)
                           + kept_sections(args.output))
    print(report.summary(goals))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
