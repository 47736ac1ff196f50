"""Leases and check results in the SQL catalog, and the migration from schema 2."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.state import LEASE_TIMEOUT, CheckRecord, RunRecord, now
from assets_core.running.recovery import HOST
from catalog import SCHEMA_VERSION, SqlCatalog, open_catalog, sqlite_url
from tests.catalog.conftest import LINEAGE_SQL, NAMES_SQL, stored


def run(run_id: str, **changes) -> RunRecord:
    moment = now()
    return replace(RunRecord(run_id, "manual", (), "running", moment, pid=1, host="h", heartbeat_at=moment), **changes)


def test_leases_are_exclusive_between_live_runs(tmp_path: Path) -> None:
    for catalog in (open_catalog(sqlite_url(tmp_path / "c.db")), MemoryCatalog()):
        catalog.begin_run(run("one"))
        catalog.begin_run(run("two"))
        assert catalog.acquire_leases("one", ["a", "b"]) == {}
        assert catalog.acquire_leases("one", ["a"]) == {}  # taking one's own lease again is fine
        assert catalog.acquire_leases("two", ["b", "c"]) == {"b": "one"}
        catalog.end_run("one", "success")
        assert catalog.acquire_leases("two", ["a", "b"]) == {}


def test_leases_of_a_silent_run_are_taken_over(tmp_path: Path) -> None:
    catalog = open_catalog(sqlite_url(tmp_path / "c.db"))
    old = now() - LEASE_TIMEOUT - timedelta(seconds=5)
    catalog.begin_run(run("silent", started_at=old, heartbeat_at=old))
    catalog.begin_run(run("alive"))
    with sqlite3.connect(tmp_path / "c.db") as connection:  # begin_run stamps a heartbeat: age it
        connection.execute("update run set heartbeat_at = started_at where run_id = 'silent'")
    catalog.acquire_leases("silent", ["x"])
    assert catalog.acquire_leases("alive", ["x"]) == {}


def test_recording_a_result_releases_its_lease(tmp_path: Path) -> None:
    from assets_core.planning.state import FailureRecord

    catalog = open_catalog(sqlite_url(tmp_path / "c.db"))
    catalog.begin_run(run("one"))
    catalog.begin_run(run("two"))
    catalog.acquire_leases("one", ["a"])
    catalog.record_results([], [FailureRecord("a", "one", "boom", "")], [])
    assert catalog.acquire_leases("two", ["a"]) == {}


def test_check_results_and_run_plans_round_trip(tmp_path: Path) -> None:
    catalog = open_catalog(sqlite_url(tmp_path / "c.db"))
    catalog.begin_run(run("one", plan=("a", "b"), host="box"))
    checks = [CheckRecord("a", "one", "unique", True, True), CheckRecord("a", "one", "range", False, False, "3 out",
                                                                        {"bad": 3})]
    catalog.record_results([], [], [], checks)
    catalog.begin_run(run("two"))
    catalog.record_results([], [], [], [CheckRecord("b", "two", "unique", True, True)])
    latest = catalog.latest_checks()
    assert [(c.check, c.passed, c.message, dict(c.metadata)) for c in latest["a"]] == [
        ("unique", True, "", {}), ("range", False, "3 out", {"bad": 3})]
    assert list(catalog.latest_checks("b")) == ["b"]
    view = catalog.find_run("one")
    assert (view.plan, view.host) == (("a", "b"), "box")


def test_a_version_2_catalog_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    catalog = open_catalog(sqlite_url(path))
    catalog.begin_run(run("old"))
    catalog.close()
    with sqlite3.connect(path) as connection:  # make it look like schema 2: no leases, checks, host or plan
        connection.execute("drop table lease")
        connection.execute("drop table check_result")
        connection.execute("alter table run drop column host")
        connection.execute("alter table run drop column plan")
        connection.execute("update catalog_meta set value = '2' where key = 'schema_version'")
    migrated = SqlCatalog(sqlite_url(path))
    assert migrated.find_run("old").plan == () and migrated.acquire_leases("old", ["a"]) == {}
    with sqlite3.connect(path) as connection:
        assert connection.execute("select value from catalog_meta").fetchone() == (str(SCHEMA_VERSION),)


def test_saving_the_same_definitions_again_writes_nothing(tmp_path: Path) -> None:
    from catalog import DefinitionView

    path = tmp_path / "c.db"
    catalog = open_catalog(sqlite_url(path))
    definitions = [DefinitionView("a", "python"), DefinitionView("b", "sql", upstream=("a",))]
    assert catalog.save_definitions(definitions) is True
    assert catalog.save_definitions(list(reversed(definitions))) is False
    assert stored(path, LINEAGE_SQL) == [("a", "b")]
    assert catalog.save_definitions([DefinitionView("a", "python", description="changed")]) is True
    assert stored(path, NAMES_SQL) == [("a",)] and stored(path, LINEAGE_SQL) == []


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_dead_holder_on_this_machine_loses_its_leases_at_once(tmp_path: Path) -> None:
    catalog = open_catalog(sqlite_url(tmp_path / "c.db"))
    catalog.begin_run(run("dead", pid=_dead_pid(), host=HOST))
    catalog.begin_run(run("alive", pid=os.getpid(), host=HOST))
    assert catalog.acquire_leases("dead", ["x"]) == {}
    assert catalog.acquire_leases("alive", ["x"]) == {}  # its heartbeat is fresh, but its process is gone
    assert {view.run_id: view.status for view in catalog.list_runs()}["dead"] == "interrupted"


def test_a_holder_on_another_machine_keeps_its_leases_while_it_beats(tmp_path: Path) -> None:
    catalog = open_catalog(sqlite_url(tmp_path / "c.db"))
    catalog.begin_run(run("remote", pid=_dead_pid(), host=f"not-{HOST}"))  # that pid means nothing here
    catalog.begin_run(run("local", pid=os.getpid(), host=HOST))
    catalog.acquire_leases("remote", ["x"])
    assert catalog.acquire_leases("local", ["x"]) == {"x": "remote"}
    assert {view.run_id: view.status for view in catalog.list_runs()}["remote"] == "running"
