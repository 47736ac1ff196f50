"""Executors: the same project run in threads, in a pool of worker processes and on a Dask cluster gives the same
data, logs, checks, retries and early cutoff; a worker that dies fails (or retries) its attempt alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assets_core.application import usecases
from assets_core.application.workspace import Options, Workspace, open_workspace
from assets_core.declaring.loading import DefinitionsSource
from assets_core.errors import AssetsError, ProjectError
from assets_core.running import remote
from assets_core.running.process_pool import ProcessPool
from assets_core.running.runs import RunStatus
from tests.assets_core.running.test_recovery import check_consistent

PROJECT = '''
import os
import signal
from pathlib import Path

import polars as pl
from assets_core import DailyPartitions, RetryPolicy, AssetOptions, asset, check, source_asset, sql_asset

orders = source_asset("orders", "orders.csv")

@asset
def cleaned(orders):
    print("cleaning", len(orders), "orders")
    return orders.filter(pl.col("amount") > 0)

@asset(partitions=DailyPartitions("2026-01-01", end="2026-01-04"))
def daily(context, cleaned):
    context.log.info("day %s", context.partition)
    return cleaned.with_columns(day=pl.lit(context.partition))

@asset
def everything(daily):
    return daily.sort("id", "day")

totals = sql_asset("totals", "SELECT customer, SUM(amount) AS amount FROM cleaned GROUP BY customer ORDER BY customer")

@check(totals)
def positive(value):
    return bool((value.collect() if hasattr(value, "collect") else value)["amount"].min() > 0)

@asset(options=AssetOptions(retry=RetryPolicy(max_attempts=3)))
def flaky(cleaned):
    marker = Path(__file__).parent / "flaky-failed"
    if not marker.exists():
        marker.write_text("once")
        raise ConnectionError("the first attempt fails")
    return {"rows": len(cleaned)}

@asset
def summary(totals, everything):
    return {"customers": len(totals), "rows": len(everything)}
'''

DYING = '''
import os
import signal
from pathlib import Path

import polars as pl
from assets_core import AssetOptions, RetryPolicy, asset

@asset
def first():
    return pl.DataFrame({"x": [1, 2, 3]})

@asset(options=AssetOptions(retry=RetryPolicy(max_attempts=2)))
def dies_once(first):
    marker = Path(__file__).parent / "died"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return first.with_columns(y=pl.col("x") + 1)

@asset
def always_exits(first):
    os._exit(3)

@asset
def after(dies_once):
    return {"n": len(dies_once)}

@asset
def beside(first):
    return {"sum": int(first["x"].sum())}
'''


def _write(root: Path, text: str) -> None:
    (root / "defs.py").write_text(text)
    (root / "orders.csv").write_text("id,customer,amount\n1,ann,10\n2,bob,-1\n3,ann,5\n4,cid,7\n")
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')


def _workspace(root: Path) -> Workspace:
    return open_workspace(Options(project=str(root)))


def _outcomes(result) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return {o.asset: (str(o.status), o.data_version) for o in result.outcomes}


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A Dask cluster of two worker processes on 127.0.0.1, started by the test, with Dask's own settings (its
    scheduler would try a task whose worker died again up to three times: the run's tasks are not its tasks)."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _run_everywhere(tmp_path: Path, address: str) -> dict[str, dict[str, tuple[str, str | None]]]:
    found = {}
    for executor in ("threads", "processes", "dask"):
        root = tmp_path / executor
        root.mkdir()
        _write(root, PROJECT)
        workspace = _workspace(root)
        result = usecases.materialize(workspace, executor=executor, dask_address=address, workers=2)
        assert result.status == RunStatus.SUCCESS, result.to_json()
        found[executor] = _outcomes(result)
        logs = workspace.catalog.run_events(result.run_id)
        lines = [(e.asset, e.kind, e.message) for e in logs]
        assert ("cleaned", "log", "cleaning 4 orders") in lines, executor
        assert ("daily[2026-01-02]", "log", "assets.daily: day 2026-01-02") in lines, executor
        assert ("totals", "check", "check 'positive' passed") in lines, executor
        retried = [m for a, k, m in lines if a == "flaky" and k == "retry"]
        assert retried and "ConnectionError: the first attempt fails" in retried[0], executor
        again = usecases.materialize(workspace, executor=executor, dask_address=address)
        assert again.run_id is None, f"{executor}: a second run found something stale"
        workspace.catalog.close()
    return found


def test_every_executor_gives_the_same_data_versions_logs_checks_and_retries(tmp_path: Path,
                                                                              dask_cluster: str) -> None:
    found = _run_everywhere(tmp_path, dask_cluster)
    assert found["threads"] == found["processes"] == found["dask"]
    assert found["threads"]["everything"][1] is not None and len(found["threads"]) == 8  # 3 days (end excluded)


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_a_worker_that_dies_fails_its_attempt_alone_and_is_retried_as_the_policy_says(
        tmp_path: Path, executor: str) -> None:
    _write(tmp_path, DYING)
    workspace = _workspace(tmp_path)
    started = time.monotonic()
    result = usecases.materialize(workspace, executor=executor, workers=2)  # dask: a local cluster of the run
    assert time.monotonic() - started < 60, "a dead worker held the run up"
    by_name = {o.asset: o for o in result.outcomes}
    assert result.status == RunStatus.FAILED
    assert by_name["dies_once"].status == "materialized"
    assert len(by_name["dies_once"].retries) == 1 and "WorkerDied" in by_name["dies_once"].retries[0]
    assert by_name["after"].status == "materialized" and by_name["beside"].status == "materialized"
    assert by_name["always_exits"].status == "failed"
    assert "WorkerDied" in by_name["always_exits"].detail
    if executor == "processes":
        assert "exited with code 3" in by_name["always_exits"].detail
        dead = int((tmp_path / "died").read_text())
        assert "SIGKILL" in by_name["dies_once"].retries[0] and dead != os.getpid()
    events = workspace.catalog.run_events(result.run_id)
    assert any(e.asset == "dies_once" and e.kind == "retry" for e in events)
    assert any(e.asset == "always_exits" and e.kind == "failed" for e in events)


def test_on_a_cluster_of_its_own_too_a_task_whose_worker_died_fails_at_once_and_is_retried_as_the_policy_says(
        tmp_path: Path, dask_cluster: str) -> None:
    _write(tmp_path, DYING)
    workspace = _workspace(tmp_path)
    result = usecases.materialize(workspace, executor="dask", dask_address=dask_cluster)
    by_name = {o.asset: o for o in result.outcomes}
    assert by_name["always_exits"].status == "failed" and "WorkerDied" in by_name["always_exits"].detail
    assert "died" in by_name["always_exits"].detail and by_name["always_exits"].retries == ()
    assert len(by_name["dies_once"].retries) == 1 and "WorkerDied" in by_name["dies_once"].retries[0]
    assert all(by_name[name].status == "materialized" for name in ("first", "dies_once", "after", "beside"))


def test_dask_tasks_go_straight_to_the_workers_not_through_the_scheduler(tmp_path: Path, dask_cluster: str) -> None:
    from distributed import Client

    from assets_core.running.dask_backend import DaskBackend

    _write(tmp_path, DYING)
    workspace = _workspace(tmp_path)
    source = workspace.project.source
    assert isinstance(source, DefinitionsSource)
    backend = DaskBackend(dask_cluster, 2)
    try:
        task = remote.Task("first", "first", workspace.project.code_versions["first"], source,
                           workspace.project.storage, {}, {})
        sent = [backend.submit(task) for _ in range(4)]
        assert [s.outcome.status for future in sent for s in future.result(timeout=60)] == ["materialized"] * 4
        with Client(dask_cluster) as client:
            keys = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))
        assert len(keys) == 2 and all(key.startswith("assets-performer-") for key in keys)  # one per worker
    finally:
        backend.close(abandon=False)
    with pytest.raises(ProjectError, match="closed"):
        backend.submit(task)


def test_early_cutoff_works_across_processes(tmp_path: Path) -> None:
    _write(tmp_path, PROJECT)
    workspace = _workspace(tmp_path)
    assert usecases.materialize(workspace, executor="processes", workers=2).status == RunStatus.SUCCESS
    (tmp_path / "orders.csv").write_text("id,customer,amount\n1,ann,10\n2,bob,-2\n3,ann,5\n4,cid,7\n")
    result = usecases.materialize(_workspace(tmp_path), executor="processes", workers=2)
    statuses = {o.asset: str(o.status) for o in result.outcomes}
    assert statuses["cleaned"] == "materialized"  # the filtered row changed, the rows kept did not
    assert statuses["totals"] == "skipped" and statuses["summary"] == "skipped"


def test_definitions_made_in_memory_cannot_run_in_other_processes(tmp_path: Path) -> None:
    from assets_core import asset

    @asset
    def one() -> dict[str, int]:
        return {"one": 1}

    workspace = open_workspace(Options(project=str(tmp_path)), definitions=[one])
    with pytest.raises(ProjectError, match="processes executor runs assets in other processes"):
        usecases.materialize(workspace, executor="processes")
    assert workspace.catalog.list_runs(limit=5) == []  # refused before a run was recorded


def test_an_unknown_executor_is_refused_with_the_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, PROJECT)
    monkeypatch.setenv("ASSETS_EXECUTOR", "proceses")
    with pytest.raises(ProjectError, match="did you mean 'processes'"):
        usecases.materialize(_workspace(tmp_path))
    monkeypatch.delenv("ASSETS_EXECUTOR")
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\nexecutor = "spark"\n')
    with pytest.raises(ProjectError, match="executor must be one of: threads, processes, dask"):
        _workspace(tmp_path)


def test_an_unreachable_dask_scheduler_makes_no_run(tmp_path: Path) -> None:
    _write(tmp_path, PROJECT)
    workspace = _workspace(tmp_path)
    with pytest.raises(ProjectError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        usecases.materialize(workspace, executor="dask", dask_address="tcp://127.0.0.1:9")
    assert workspace.catalog.list_runs(limit=5) == []


def test_a_worker_refuses_code_that_changed_since_the_run_began(tmp_path: Path) -> None:
    _write(tmp_path, PROJECT)
    workspace = _workspace(tmp_path)
    source = workspace.project.source
    assert isinstance(source, DefinitionsSource)
    version = workspace.project.code_versions["cleaned"]
    task = remote.Task("cleaned", "cleaned", version, source, workspace.project.storage, {}, {})
    assert "cleaned" in remote.definitions(task)
    (tmp_path / "defs.py").write_text(PROJECT.replace('"cleaning"', '"now cleaning"'))
    changed = remote.Task("cleaned", "cleaned", version, DefinitionsSource(source.root, None, "defs.py", "new"),
                          workspace.project.storage, {}, {})
    with pytest.raises(AssetsError, match="code of asset 'cleaned' changed on disk since the run began"):
        remote.definitions(changed)
    sent = remote.perform(changed)
    assert sent[0].outcome.status == "failed" and "changed on disk" in sent[0].outcome.detail


def _square(value: int) -> int:
    if value < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return value * value


def test_the_process_pool_replaces_a_dead_worker_and_fails_only_its_task() -> None:
    pool = ProcessPool(2, _square)
    try:
        futures = [pool.submit(n) for n in (1, -1, 2, 3, -2, 4)]
        answers = []
        for future in futures:
            try:
                answers.append(future.result(timeout=60))
            except remote.WorkerDied as error:
                answers.append(str(error))
        assert answers[0] == 1 and answers[2:4] == [4, 9] and answers[5] == 16
        assert "SIGKILL" in answers[1] and "SIGKILL" in answers[4]
    finally:
        pool.close()


def test_the_command_runs_the_project_on_dask_as_the_environment_says(tmp_path: Path, dask_cluster: str) -> None:
    import json

    for name in ("threads", "dask"):
        (tmp_path / name).mkdir()
        _write(tmp_path / name, PROJECT)
    expected = usecases.materialize(_workspace(tmp_path / "threads"))
    env = {**os.environ, "ASSETS_EXECUTOR": "dask", "ASSETS_DASK_ADDRESS": dask_cluster}
    command = [sys.executable, "-m", "tui.cli.main", "materialize", "--project", str(tmp_path / "dask"), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    versions = {(o["asset"], o["partition"]): o["data_version"] for o in json.loads(done.stdout)["outcomes"]}
    assert versions == {(o.to_json()["asset"], o.to_json()["partition"]): o.data_version for o in expected.outcomes}


STUBBORN = """
import os
import threading
import time
from pathlib import Path
from assets_core import asset

def _mark(name):
    (Path(__file__).parent / f"{name}.pid").write_text(str(os.getpid()))

@asset
def quick():
    return [1]

@asset
def after_quick(quick):
    time.sleep(0.3)
    return quick

@asset
def slow():
    _mark("slow")
    time.sleep(30)
    return [2]

@asset
def endless():
    _mark("endless")
    while True:
        time.sleep(0.05)
"""


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _stubborn_run(root: Path) -> subprocess.Popen[str]:
    (root / "defs.py").write_text(STUBBORN)
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\nexecutor = "processes"\nworkers = 4\n')
    process = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "materialize"], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "materialized after_quick" in line:
            break
    deadline = time.monotonic() + 30
    while not ((root / "slow.pid").exists() and (root / "endless.pid").exists()):
        assert time.monotonic() < deadline, "the stubborn assets never started"
        time.sleep(0.05)
    return process


def test_ctrl_c_stops_a_run_in_processes_and_kills_the_workers_whose_assets_will_not_stop(tmp_path: Path) -> None:
    process = _stubborn_run(tmp_path)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "abandoned 2 asset(s) still running: endless, slow" in err
    for name in ("slow", "endless"):
        pid = int((tmp_path / f"{name}.pid").read_text())
        assert pid != process.pid and _gone(pid, within=10), f"the worker running {name} outlived the run"
    check_consistent(tmp_path)
    runs = subprocess.run([sys.executable, "-m", "tui.cli.main", "runs", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert [run["status"] for run in __import__("json").loads(runs.stdout)] == ["interrupted"]


def test_a_killed_coordinator_leaves_a_consistent_catalog_and_no_worker_behind(tmp_path: Path) -> None:
    process = _stubborn_run(tmp_path)
    process.kill()
    process.communicate(timeout=30)
    for name in ("slow", "endless"):
        pid = int((tmp_path / f"{name}.pid").read_text())
        assert _gone(pid, within=10), f"the worker running {name} outlived the killed run"
    check_consistent(tmp_path)
    (tmp_path / "defs.py").write_text(STUBBORN.replace("time.sleep(30)", "pass").replace(
        "    while True:\n        time.sleep(0.05)", "    return [3]"))
    done = subprocess.run([sys.executable, "-m", "tui.cli.main", "materialize", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    check_consistent(tmp_path)
    import json

    runs = json.loads(subprocess.run([sys.executable, "-m", "tui.cli.main", "runs", "--json"], cwd=tmp_path,
                                     capture_output=True, text=True, timeout=60).stdout)
    assert sorted(run["status"] for run in runs) == ["interrupted", "success"]


CHECKED = '''
from assets_core import asset, check

@asset
def a():
    return {"x": 1}

@check(a)
def positive(value):
    return value["x"] > 0
'''


def test_a_check_renamed_while_the_run_plans_fails_that_asset_and_never_hangs_the_run(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(CHECKED)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')

    def rename(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "planned":  # the worker loads the definitions after this
            (tmp_path / "defs.py").write_text(CHECKED.replace("def positive", "def renamed"))

    result = usecases.materialize(_workspace(tmp_path), executor="processes", workers=1, listener=rename)
    (outcome,) = result.outcomes
    assert outcome.status == "failed" and "check 'renamed' of asset 'a' is not the run's" in outcome.detail


SLOW = """
import threading
import time
from assets_core import asset

@asset
def slow1():
    time.sleep(3)
    return {"x": 1}

@asset
def slow2():
    time.sleep(3)
    return {"x": 2}

@asset
def slow3():
    time.sleep(3)
    return {"x": 3}
"""


def test_a_stopped_run_in_processes_records_no_failure_for_what_never_started(tmp_path: Path) -> None:
    from assets_core.running.stopping import Stop

    (tmp_path / "defs.py").write_text(SLOW)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace = _workspace(tmp_path)
    stop = Stop()
    timer = threading.Timer(1.0, stop.request)
    timer.start()
    result = usecases.materialize(workspace, executor="processes", workers=1, stop=stop)
    assert result.status == RunStatus.INTERRUPTED
    assert [o for o in result.outcomes if o.status == "failed"] == []
    failed = [e for e in workspace.catalog.run_events(result.run_id) if e.kind == "failed"]
    assert failed == [] and len(result.abandoned) == 1  # the one under way; the two queued were never started


def test_a_run_that_fails_before_it_schedules_leaves_no_worker_behind(tmp_path: Path) -> None:
    _write(tmp_path, PROJECT)

    def broken(event) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("a listener that breaks")

    before = {thread.name for thread in threading.enumerate()}
    for _ in range(2):
        with pytest.raises(RuntimeError, match="a listener that breaks"):
            usecases.materialize(_workspace(tmp_path), executor="processes", workers=2, listener=broken)
    time.sleep(0.5)
    assert not {t.name for t in threading.enumerate()} - before - {"MainThread"}
    import multiprocessing

    assert [p for p in multiprocessing.active_children() if p.name.startswith("asset-worker")] == []


def test_a_task_that_cannot_be_sent_to_a_worker_fails_alone() -> None:
    pool = ProcessPool(1, _square)
    try:
        unpicklable = pool.submit(lambda: None)
        with pytest.raises(Exception, match="pickle|Pickl"):
            unpicklable.result(timeout=60)
        assert pool.submit(3).result(timeout=60) == 9
    finally:
        pool.close()
    closed = pool.submit(4)
    with pytest.raises(AssetsError, match="closed"):
        closed.result(timeout=5)


COUNTED = '''
import os
import signal
from pathlib import Path

from assets_core import AssetOptions, RetryPolicy, asset

@asset(options=AssetOptions(retry=RetryPolicy(max_attempts=3)))
def shaky():
    calls = Path(__file__).parent / "calls"
    with calls.open("a") as log:
        log.write("call\\n")
    made = len(calls.read_text().splitlines())
    if made == 1:
        raise ConnectionError("the first attempt fails in the worker")
    if made == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # the second kills the worker
    return {"made": made}
'''


def test_after_a_worker_died_the_retries_count_the_attempts_it_had_made(tmp_path: Path) -> None:
    """Attempt 1 fails in the worker and is retried there; attempt 2 kills the worker: the coordinator knows it
    was the second (the worker said so as it began), so the third is the last, and the asset runs three times."""
    (tmp_path / "defs.py").write_text(COUNTED)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    result = usecases.materialize(_workspace(tmp_path), executor="processes", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "materialized", outcome.detail
    assert len((tmp_path / "calls").read_text().splitlines()) == 3
    assert any(line.startswith("attempt 2 of 3 failed: WorkerDied") for line in outcome.retries), outcome.retries


CHANGING_INPUTS = '''
import polars as pl
from assets_core import asset, source_asset

@asset
def table():
    return pl.DataFrame({"x": [1, 2, 3]})

@asset
def values():
    return {"seen": [1, 2, 3]}

notes = source_asset("notes", "notes/*.txt")  # not tables: the list of their paths

@asset
def changes_them(table, values, notes):  # changes its inputs in place, as a careless asset may
    table.drop_in_place("x")
    table.insert_column(0, pl.Series("x", [100, 200, 300]))
    values["seen"].append(4)
    notes.append(notes[0])
    return {"done": 1}

@asset
def reads_them(table, values, notes, changes_them):  # runs after: reads what is stored, not what the other changed
    return table.with_columns(total=pl.col("x").sum(), seen=pl.lit(len(values["seen"])), notes=pl.lit(len(notes)))
'''


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_an_asset_changing_its_inputs_in_place_changes_no_other_assets_inputs(tmp_path: Path, executor: str) -> None:
    _write(tmp_path, CHANGING_INPUTS)
    (tmp_path / "notes").mkdir()
    for name in ("a", "b"):
        (tmp_path / "notes" / f"{name}.txt").write_text(name)
    workspace = _workspace(tmp_path)
    result = usecases.materialize(workspace, executor=executor, workers=2)
    assert result.status == RunStatus.SUCCESS
    read = workspace.project.storage.read(workspace.catalog.asset_history("reads_them", limit=1)[0].location)
    assert read.to_dicts() == [{"x": x, "total": 6, "seen": 3, "notes": 2} for x in (1, 2, 3)]
    workspace.catalog.close()
