"""Failure and recovery with real processes: resume, kill -9 at random moments, two runs at once."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assets_core.running.recovery import HOST
from assets_core.running.leftovers import temporary_name
from assets_core.planning.state import RunRecord, now
from catalog import open_catalog, sqlite_url
from tests.commands import in_process
from tui.cli.main import main
from assets_core.application import usecases
from assets_core.application.workspace import Options, open_workspace

PIPELINE = """
import time
import polars as pl
from assets_core.declaring.definitions import asset, source_asset

raw = source_asset("raw", "raw.csv")

def make(name, upstream, factor):
    @asset(name=name, inputs={"frame": upstream})
    def compute(frame):
        time.sleep(PAUSE)
        return frame.with_columns(pl.col("value") * factor)
    return compute

PAUSE = 0.03
STEPS = [make("a1", "raw", 2), make("a2", "a1", 3), make("b1", "raw", 5), make("b2", "b1", 7)]
STEPS += [make(f"c{i}", "a2" if i % 2 else "b2", 1) for i in range(8)]

@asset
def total(a2, b2):
    time.sleep(PAUSE)
    return {"sum": int(a2["value"].sum() + b2["value"].sum())}
"""


def cli(root: Path, *argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli.main", *argv], cwd=root, capture_output=True, text=True,
                          **kwargs)


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    (tmp_path / "defs.py").write_text(PIPELINE)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    write_source(tmp_path, 1)
    return tmp_path


def write_source(root: Path, seed: int) -> int:
    """A source whose values depend on ``seed``; returns the total the pipeline must compute from it."""
    values = [seed * 10 + i for i in range(50)]
    (root / "raw.csv").write_text("value\n" + "".join(f"{v}\n" for v in values))
    return sum(values) * 6 + sum(values) * 35


def stored_total(root: Path) -> int:
    catalog = open_catalog(sqlite_url(root / ".assets" / "catalog.db"))
    record = catalog.read_state(["total"])["total"].materialization
    return json.loads((root / ".assets" / "storage" / record.location).read_text())["sum"]


def check_consistent(root: Path) -> None:
    """What must hold at any moment, even right after a kill: a sound database, and every recorded value on disk."""
    path = root / ".assets" / "catalog.db"
    if not path.exists():
        return
    with sqlite3.connect(path, timeout=30) as connection:
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in connection.execute("select name from sqlite_master where type = 'table'")}
        if not tables:  # killed while creating the catalog: its schema is made in one transaction, or not at all
            return
        locations = [row[0] for row in connection.execute("select location from materialization")]
    storage = root / ".assets" / "storage"
    missing = [location for location in locations if not (storage / location).is_file()]
    assert not missing, f"recorded but not stored: {missing}"


def test_resume_reruns_only_what_did_not_finish(pipeline, capsys, monkeypatch):
    monkeypatch.chdir(pipeline)
    (pipeline / "defs.py").write_text(PIPELINE.replace(
        'time.sleep(PAUSE)\n        return frame', 'time.sleep(PAUSE)\n        assert name != "b1", "b1 is broken"\n        return frame'))
    assert main(["materialize", "--json"]) == 1
    failed_run = json.loads(capsys.readouterr().out)
    assert failed_run["failed"] == ["b1"] and sorted(failed_run["skipped"]) == \
        ["b2", "c0", "c2", "c4", "c6", "total"]
    (pipeline / "defs.py").write_text(PIPELINE)  # fixed
    assert main(["materialize", "--resume", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert sorted(resumed["materialized"]) == ["b1", "b2", "c0", "c2", "c4", "c6", "total"]
    assert main(["runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert runs[0]["trigger"] == "resume" and runs[1]["run_id"] == failed_run["run_id"]
    assert stored_total(pipeline) == write_source(pipeline, 1)
    assert main(["materialize", "--resume", resumed["run_id"]]) == 0
    assert "nothing left to do" in capsys.readouterr().out


def test_failure_summary_says_how_to_resume(pipeline, capsys, monkeypatch):
    monkeypatch.chdir(pipeline)
    (pipeline / "defs.py").write_text(PIPELINE.replace("return {", "raise ValueError('no total')\n    return {"))
    assert main(["materialize"]) == 1
    output = capsys.readouterr().out
    assert "assets materialize --resume " in output and "✗ total: ValueError: no total" in output


def test_a_dead_runs_record_is_marked_interrupted_and_its_leases_freed(pipeline, capsys, monkeypatch):
    monkeypatch.chdir(pipeline)
    catalog = open_catalog(sqlite_url(pipeline / ".assets" / "catalog.db"))
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
    started = now()
    catalog.begin_run(RunRecord("deadbeef0001", "manual", (), "running", started, pid=int(dead_pid), host=HOST,
                                plan=("a1",), heartbeat_at=started))
    assert catalog.acquire_leases("deadbeef0001", ["a1"]) == {}
    (pipeline / ".assets" / "storage").mkdir(parents=True)
    leftover = pipeline / ".assets" / "storage" / temporary_name(int(dead_pid))
    leftover.write_text("half a file")
    assert main(["materialize", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "a1" in result["materialized"]
    assert not leftover.exists()
    runs = {run.run_id: run.status for run in catalog.list_runs()}
    assert runs["deadbeef0001"] == "interrupted"


def test_two_processes_with_overlapping_selections(pipeline):
    first = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "materialize", "--json", "+a2", "+b2"],
                             cwd=pipeline, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    second = cli(pipeline, "materialize", "--json")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, (err, second.stderr)
    assert "locked" not in err + second.stderr
    one, two = json.loads(out), json.loads(second.stdout)
    with sqlite3.connect(pipeline / ".assets" / "catalog.db", timeout=30) as connection:
        counts = dict(connection.execute("select asset, count(*) from materialization group by asset"))
    assert all(count == 1 for count in counts.values()), counts  # no asset materialized twice
    assert len(counts) == 13
    shared = set(one["materialized"]) & set(two["skipped"])
    made_by_first = [o for o in two["outcomes"] if o["asset"] in shared]
    assert all(f"run {one['run_id']}" in o["detail"] or "early cutoff" in o["detail"] for o in made_by_first)
    assert stored_total(pipeline) == write_source(pipeline, 1)


def _kill_and_recover(root: Path, rng: random.Random, round_number: int) -> None:
    expected = write_source(root, round_number)
    process = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "materialize"], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.3, 1.6))  # start-up takes about 0.8 s: kills land before, during and after the run
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    check_consistent(root)
    finished = in_process("materialize", "--json", cwd=root)  # the next command (its start-up is not the point)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    check_consistent(root)
    assert stored_total(root) == expected
    assert json.loads(finished.stdout)["status"] == "success"
    with sqlite3.connect(root / ".assets" / "catalog.db", timeout=30) as connection:
        statuses = [row[0] for row in connection.execute("select status from run")]
        leases = connection.execute("select count(*) from lease").fetchone()[0]
    assert "running" not in statuses and leases == 0
    project = open_workspace(Options(project=str(root))).project
    assert {status.status for status in project.statuses()} == {"fresh"}
    assert not list((root / ".assets" / "storage").glob(".tmp-*"))


CRASH_ROUNDS = int(os.environ.get("ASSETS_CRASH_ROUNDS", "5"))


@pytest.mark.parametrize("batch", range(4))
def test_kill_minus_nine_at_random_moments(pipeline, batch):
    """Four batches of rounds (20 kills in the suite; ASSETS_CRASH_ROUNDS=N makes each batch longer)."""
    rng = random.Random(1000 + batch)
    for round_number in range(2, 2 + CRASH_ROUNDS):
        _kill_and_recover(pipeline, rng, round_number + 100 * batch)


def test_a_plan_overtaken_by_another_run_does_not_run_again(pipeline):
    """Run 1 plans; run 2 materializes everything before run 1 takes its leases. Run 1 must not make the same
    assets a second time: it adopts what run 2 recorded and skips what is fresh now."""
    late = open_workspace(Options(project=str(pipeline)))
    planned = usecases.prepare(late, ["+a2"])
    assert planned.plan.assets == ["a1", "a2"]
    first = usecases.materialize(open_workspace(Options(project=str(pipeline))))
    assert "a2" in first.materialized
    result = usecases.materialize(late, ["+a2"], prepared=planned)
    assert result.materialized == [] and result.skipped == ["a1", "a2"]
    assert all(f"run {first.run_id} made it fresh meanwhile" in o.detail for o in result.outcomes)
    with sqlite3.connect(pipeline / ".assets" / "catalog.db") as connection:
        counts = dict(connection.execute("select asset, count(*) from materialization group by asset"))
    assert counts["a1"] == counts["a2"] == 1
