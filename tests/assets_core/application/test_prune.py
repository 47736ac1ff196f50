"""Pruning against running runs, with real processes: nothing a running run has written or may still read is
deleted, whichever starts first; and a short soak of prune looping against forced runs
(benchmarks/prune_soak.py runs it for a minute)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assets_core.application import usecases
from assets_core.application.workspace import Options, open_workspace
from assets_core.running.storage import Storage

PROJECT = """
import os, time
from pathlib import Path
from assets_core.declaring.definitions import asset

def wait_for(name):
    deadline = time.monotonic() + 60
    while not Path(name).exists() and time.monotonic() < deadline:
        time.sleep(0.02)

@asset
def a0():
    return {"at": time.time()}  # a new value at every run

@asset
def gate():
    Path("gate.started").touch()
    wait_for("gate.go")
    return {"gate": 1}

@asset
def a1(a0, gate):  # reads a0 only once gate is done
    if os.environ.get("HOLD_CATALOG"):  # a busy catalog: a0 is stored, but cannot be recorded for now
        with sqlite3.connect(".assets/catalog.db") as db:
            db.execute("BEGIN IMMEDIATE")
            Path("a1.holding").touch()
            wait_for("a1.go")
            db.rollback()
    return {"seen": a0["at"]}
"""


def cli(root: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tui.cli.main", *argv], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out + err


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def statuses(root: Path) -> dict[str, str]:
    code, out = finish(cli(root, "status", "--json"))
    assert code == 0, out
    return {entry["asset"]: entry["status"] for entry in json.loads(out)}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "defs.py").write_text("import sqlite3\n" + PROJECT)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    (tmp_path / "gate.go").touch()
    code, out = finish(cli(tmp_path, "materialize"))
    assert code == 0, out
    (tmp_path / "gate.go").unlink()
    (tmp_path / "gate.started").unlink()
    return tmp_path


def test_prune_leaves_a_value_a_running_run_has_written_but_not_yet_recorded(project):
    """The run's a1 holds the catalog's write lock, so the a0 it stored waits to be recorded; the prune (opened
    before, since opening the catalog writes) runs in this process meanwhile."""
    workspace = open_workspace(Options(project=str(project)))
    workspace.catalog.asset_history("a0")
    run = cli(project, "materialize", "a0", "a1", "--force", env={"HOLD_CATALOG": "1"})
    wait_for(project / "a1.holding")
    assert len(Storage(project / ".assets" / "storage").locations("a0")) == 2  # stored, not recorded
    assert usecases.prune(workspace, keep=1) == {}
    (project / "a1.go").touch()
    code, out = finish(run)
    assert code == 0, out
    assert statuses(project) == {"a0": "fresh", "gate": "fresh", "a1": "fresh"}


def test_prune_leaves_the_version_a_running_run_is_about_to_read(project):
    first = cli(project, "materialize", "gate", "a1", "--force")  # a1 reads the unselected a0 after gate
    wait_for(project / "gate.started")
    code, out = finish(cli(project, "materialize", "a0", "--force"))  # a newer a0: the first run's is older
    assert code == 0, out
    code, out = finish(cli(project, "prune", "--keep", "1", "--json"))
    assert code == 0, out
    (project / "gate.go").touch()
    code, out = finish(first)
    assert code == 0, out
    assert len(Storage(project / ".assets" / "storage").locations("a0")) == 2
    code, out = finish(cli(project, "prune", "--keep", "1", "--json"))  # no run is running now
    assert json.loads(out)["removed"].keys() == {"a0"}  # a1 read the same a0 as before: the same value


def test_a_version_stored_again_after_the_prune_began_stays(tmp_path):
    """A writer that began after the prune read the running runs reuses an old file with the same bytes: the
    prune sees it touched since it began and puts it back."""
    storage = Storage(tmp_path)
    old = storage.write("a", {"n": 1}).location
    os.utime(storage.path(old), (time.time() - 3600, time.time() - 3600))
    since = storage.clock()
    assert storage.write("a", {"n": 1}).location == old
    assert storage.prune("a", [], [old], since) == [] and storage.exists(old)
    assert storage.prune("a", [], [old], storage.clock() + 1) == [old] and not storage.exists(old)
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing left aside


SOAK_SECONDS = float(os.environ.get("ASSETS_PRUNE_SOAK_SECONDS", "4"))

SOAK = """
import time
from assets_core.declaring.definitions import asset

@asset
def flip():
    return {"side": int(time.time() * 4) % 2}  # two values in turn: a run often stores a pruned one again

@asset
def clock():
    return {"at": time.time()}

@asset
def both(flip, clock):
    time.sleep(0.1)
    return {"side": flip["side"], "at": clock["at"]}

@asset
def reader(flip):
    time.sleep(0.2)
    return {"side": flip["side"]}
"""


def test_soak_prune_looping_against_forced_runs_loses_nothing_and_fails_no_run(tmp_path):
    (tmp_path / "defs.py").write_text(SOAK)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    stop = threading.Event()
    failures: list[str] = []
    runs = [0]

    def forced(*selection: str) -> None:
        while not stop.is_set():
            code, out = finish(cli(tmp_path, "materialize", "--force", *selection))
            runs[0] += 1
            if code != 0:
                failures.append(out)

    def pruning() -> None:
        while not stop.is_set():
            usecases.prune(open_workspace(Options(project=str(tmp_path))), keep=1)

    threads = [threading.Thread(target=forced), threading.Thread(target=forced, args=("reader",)),
               threading.Thread(target=pruning)]
    code, out = finish(cli(tmp_path, "materialize"))
    assert code == 0, out
    for thread in threads:
        thread.start()
    time.sleep(SOAK_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=180)
    assert not failures, failures[0]
    assert runs[0] >= 2
    assert set(statuses(tmp_path).values()) == {"fresh"}
    with sqlite3.connect(tmp_path / ".assets" / "catalog.db") as db:
        assert db.execute("select count(*) from run where status != 'success'").fetchone() == (0,)


def test_a_run_planned_before_a_prune_reads_the_upstream_as_recorded_when_it_begins(project):
    """Planned (the browser's plan modal, or the moment before a run is recorded as running), then another run
    records a newer a0 and a prune deletes the one the plan saw: the run reads the newest a0 instead of failing."""
    (project / "gate.go").touch()
    workspace = open_workspace(Options(project=str(project)))
    prepared = usecases.prepare(workspace, ["a1"], force=True)
    code, out = finish(cli(project, "materialize", "a0", "--force"))
    assert code == 0, out
    assert usecases.prune(workspace, keep=1).keys() == {"a0"}
    result = usecases.materialize(workspace, ["a1"], force=True, prepared=prepared)
    assert result.status == "success", result.outcomes
    newest = workspace.catalog.asset_history("a0", limit=1)[0]
    assert workspace.catalog.asset_history("a1", limit=1)[0].upstream_versions["a0"] == newest.data_version


PARTITIONED = """
import time
from assets_core import StaticPartitions, asset

@asset(partitions=StaticPartitions(["eu", "us", "asia"]))
def regional(context):
    return {"region": context.partition, "at": time.time()}  # a new value at every run
"""


def test_prune_keeps_the_latest_version_of_every_partition(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(PARTITIONED)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace = open_workspace(Options(project=str(tmp_path)))
    usecases.materialize(workspace)
    usecases.materialize(workspace, ["regional"], force=True, partition="eu")  # eu alone has a newer version
    assert len(workspace.project.storage.locations("regional")) == 4
    removed = usecases.prune(workspace, ["regional"], keep=1)
    assert len(removed["regional"]) == 1  # only eu's older version goes
    for region in ("eu", "us", "asia"):  # every partition still reads its latest value
        state = workspace.catalog.read_state([f"regional[{region}]"])[f"regional[{region}]"]
        assert workspace.project.storage.read(state.materialization.location)["region"] == region
    assert {s.status for s in usecases.statuses(workspace, ["regional"])} == {"fresh"}


def test_a_live_run_of_some_partitions_keeps_the_asset_from_pruning() -> None:
    from assets_core.declaring.definitions import asset
    from assets_core.planning.graph import AssetGraph
    from assets_core.planning.state import RunRecord, now

    made = asset(lambda: 1, name="made")
    graph = AssetGraph.build([made, asset(lambda made: made, name="reader")])
    run = RunRecord("r", "backfill", (), "running", now(), plan=("reader[2026-01-01]",))
    assert usecases.assets_in_use(graph, [run]) == {"reader", "made"}
