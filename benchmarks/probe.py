"""Run one `assets` command inside this fresh process, timed apart from Python start-up and imports.

The command is the CLI's own entry point (``tui.cli.main.main``) with the given arguments, so it loads the
definitions file, opens the SQLite catalog and the storage folder exactly as ``assets`` does. Around it, the
probe records the time of each phase (by wrapping framework functions, not changing them), the time spent
inside the asset functions (kept by the generated definitions), and the peak memory of the process.

Usage::

    python probe.py REPORT.json [--profile PROFILE.txt] -- materialize -f defs.py --project DIR --home DIR
    python probe.py REPORT.json --isolated defs.py    # call the asset functions directly, without the framework
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import cProfile  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from tui.cli.main import main as assets_main  # noqa: E402

IMPORTED = time.perf_counter()

OWN_PACKAGES = ("assets_core", "catalog", "tui")
CATALOG_WRITES = "run: catalog writes"
# (module, function or Class.method, label) of the framework functions whose time is reported. Labels may
# repeat; a function missing from the framework as it is now is skipped and listed in the report.
PHASES = (
    ("assets_core.declaring.loading", "load_project_assets", "load definitions (import the file, @asset)"),
    ("assets_core.declaring.loading", "load_assets", "load definitions (import the file, @asset)"),
    ("assets_core.planning.graph", "AssetGraph.build", "build and check the graph"),
    ("catalog.quick", "open_catalog", "open the SQLite catalog"),
    ("assets_core.planning.versioning", "CodeVersioner.versions", "code versions"),
    ("assets_core.application.workspace", "Workspace.save_definitions", "save definitions to the catalog"),
    ("catalog.store", "SqlCatalog.read_state", "read recorded state (SQL)"),
    ("catalog.quick", "QuickCatalog.read_state", "read recorded state (SQL)"),
    ("assets_core.running.storage", "Storage.exists", "check stored values exist (stat)"),
    ("assets_core.running.storage", "Storage.existing", "check stored values exist (stat)"),
    ("assets_core.planning.plan", "assess", "assess staleness"),
    ("assets_core.application.project", "Project.snapshot", "snapshot (rest)"),
    ("assets_core.application.project", "Project.plan", "plan"),
    *(("catalog.store", f"SqlCatalog.{name}", CATALOG_WRITES) for name in (
        "begin_run", "record_events", "record_results",
        "record_observations", "end_run")),
    ("assets_core.application.project", "Project.run", "run: schedule, wait for workers (main thread)"),
)


class Phases:
    """Exclusive main-thread time per label: a wrapped call nested in another is not counted twice."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.missing: list[str] = []
        self._inner: list[float] = []

    def wrap_all(self) -> None:
        # The framework imports some of these modules only when it needs them (SQLAlchemy's catalog, for one);
        # they are imported here, before the command, so that their calls are timed whenever they happen. The
        # time to import them is part of "imports", not of the command's work.
        for module in dict.fromkeys(module for module, _, _ in PHASES):
            try:
                importlib.import_module(module)
            except ImportError:
                pass
        for module, path, label in PHASES:
            if not self.wrap(module, path, label):
                self.missing.append(f"{module}.{path}")

    def wrap(self, module_name: str, path: str, label: str) -> bool:
        """Time calls of the function at ``module_name.path`` under ``label``; False if there is none."""
        owner: Any = sys.modules.get(module_name)
        *classes, attribute = path.split(".")
        for name in classes:
            owner = getattr(owner, name, None)
        original = getattr(owner, attribute, None)
        if owner is None or not callable(original):
            return False
        timed = self._timed(original, label)
        if classes:
            setattr(owner, attribute, timed)
            return True
        for module in list(sys.modules.values()):  # every module that imported the function by name
            if getattr(module, "__name__", "").split(".")[0] in OWN_PACKAGES:
                for name, value in list(vars(module).items()):
                    if value is original:
                        setattr(module, name, timed)
        return True

    def _timed(self, original: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is not threading.main_thread():
                return original(*args, **kwargs)
            self._inner.append(0.0)
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - begun
                self.seconds[label] += elapsed - self._inner.pop()
                if self._inner:
                    self._inner[-1] += elapsed

        return timed


class ThreadProfiles:
    """cProfile for the main thread and, separately, for every thread started while it is on."""

    def __init__(self) -> None:
        self.main = cProfile.Profile()
        self.workers: list[cProfile.Profile] = []

    def _start_in_thread(self, *_: Any) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        self.workers.append(profile)
        profile.enable()

    def __enter__(self) -> ThreadProfiles:
        threading.setprofile(self._start_in_thread)
        self.main.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]

    def write(self, path: Path, top: int = 30) -> None:
        parts = [_table("main thread", pstats.Stats(self.main), top)]
        if self.workers:
            merged = pstats.Stats(self.workers[0])
            for profile in self.workers[1:]:
                merged.add(profile)
            parts.append(_table(f"worker threads ({len(self.workers)}, merged)", merged, top))
        path.write_text("\n".join(parts))


def _table(title: str, stats: pstats.Stats, top: int) -> str:
    """The top functions by own time and by cumulative time, as compact text."""
    rows = stats.stats  # type: ignore[attr-defined]
    lines = [f"### {title}"]
    for key, heading in ((2, "own time (tottime)"), (3, "cumulative time (cumtime)")):
        lines += ["", f"top {top} by {heading}:", "", "```",
                  f"{'calls':>9} {'tottime':>8} {'cumtime':>8}  function"]
        ranked = sorted(rows.items(), key=lambda item: item[1][key], reverse=True)[:top]
        for (file, line, name), (_, calls, tottime, cumtime, _) in ranked:
            lines.append(f"{calls:>9} {tottime:>8.3f} {cumtime:>8.3f}  {_short(file)}:{line}({name})")
        lines.append("```")
    return "\n".join(lines) + "\n"


def _short(file: str) -> str:
    """A function's file without the folders every reader knows: the library, the project."""
    file = re.sub(r"^.*/lib/python3\.\d+/(site-packages/)?", "", file)
    project = str(Path(__file__).resolve().parent.parent) + os.sep
    return file[len(project):] if file.startswith(project) else file


def _clock() -> Any:
    for module in list(sys.modules.values()):
        clock = getattr(module, "BENCHMARK_CLOCK", None)
        if clock is not None:
            return clock
    return None


def run_command(argv: list[str], profile_path: Path | None) -> dict[str, Any]:
    """Run ``assets ARGV`` in this process and return what was measured."""
    phases = Phases()
    profiles = ThreadProfiles() if profile_path is not None else None
    if profiles is None:  # a profile shows the framework's own functions, without the probe's wrappers
        phases.wrap_all()
    gc.freeze()  # as the `assets` entry point does before it calls main (see tui.cli.main.entry)
    begun = time.perf_counter()
    # own_process: as the `assets` entry point runs it, its objects frozen at the end of its pauses
    if profiles is not None:
        with profiles:
            code = assets_main(argv, own_process=True)
    else:
        code = assets_main(argv, own_process=True)
    work = time.perf_counter() - begun
    sys.stdout.flush()
    if profiles is not None and profile_path is not None:
        profiles.write(profile_path)
    clock = _clock()
    measured = dict(phases.seconds)
    measured["other (arguments, printing, ...)"] = work - sum(measured.values())
    return {
        "exit_code": code,
        "work": work,
        "imports": IMPORTED - STARTED,
        "phases": measured,
        "phases_not_found": phases.missing,
        "function_wall": sum(clock.wall) if clock else 0.0,
        "function_cpu": sum(clock.cpu) if clock else 0.0,
        "function_calls": len(clock.wall) if clock else 0,
    }


def run_isolated(defs: Path) -> dict[str, Any]:
    """Call every asset function of the definitions directly, in order, one after another."""
    spec = importlib.util.spec_from_file_location("_isolated_defs", defs)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    values: dict[str, Any] = {}
    begun = time.perf_counter()
    for item in module.ASSETS:
        call: Callable[..., Any] = item.fn
        values[item.name] = call(**{param: values[up] for param, up in item.inputs.items()})
    return {"work": time.perf_counter() - begun, "function_wall": sum(module.BENCHMARK_CLOCK.wall),
            "function_cpu": sum(module.BENCHMARK_CLOCK.cpu), "function_calls": len(values)}


def main() -> int:
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="write the measurements here, as JSON")
    parser.add_argument("--profile", type=Path, help="also profile the command; write the top functions here")
    parser.add_argument("--isolated", type=Path, help="call this definitions file's functions directly instead")
    args = parser.parse_args(argv[:split])
    if args.isolated is not None:
        report = run_isolated(args.isolated)
    else:
        report = run_command(argv[split + 1:], args.profile)
    report["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.report.write_text(json.dumps(report, indent=1))
    return int(report.get("exit_code", 0))


if __name__ == "__main__":
    sys.exit(main())
