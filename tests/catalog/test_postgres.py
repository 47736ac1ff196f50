"""A team's catalog on a real PostgreSQL server: whole commands killed with kill -9, two processes at once,
two catalogs on one database, and a migration, as on SQLite."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from assets_core.application.workspace import Options, open_workspace
from assets_core.errors import CatalogError
from catalog import SCHEMA_VERSION, open_catalog
from catalog.messages import explain
from tests.assets_core.running.test_recovery import PIPELINE, write_source
from tests.catalog.conftest import event, failure, materialization, record_failure, record_materialization, run, stored
from tests.postgres import PostgresServer


@pytest.fixture
def pipeline(tmp_path: Path, postgres_url: str) -> Path:
    (tmp_path / "defs.py").write_text(PIPELINE)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    write_source(tmp_path, 1)
    return tmp_path


def _assets(root: Path, url: str, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tui.cli.main", *argv], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "ASSETS_CATALOG": url})


def _total(root: Path, url: str) -> int:
    with open_catalog(url) as catalog:
        record = catalog.read_state(["total"])["total"].materialization
    assert record is not None
    return int(json.loads((root / ".assets" / "storage" / record.location).read_text())["sum"])


def _recorded_but_not_stored(root: Path, url: str) -> list[str]:
    if stored(url, "SELECT to_regclass('materialization')") == [(None,)]:
        return []  # killed while it made the catalog: its schema is made in one transaction, or not at all
    storage = root / ".assets" / "storage"
    return [location for (location,) in stored(url, "SELECT location FROM materialization")
            if not (storage / location).is_file()]


def test_kill_minus_nine_at_random_moments_leaves_a_consistent_catalog(pipeline: Path, postgres_url: str) -> None:
    rng = random.Random(2026)
    for round_number in range(2, 5):  # three kills here; the SQLite suite kills twenty times
        expected = write_source(pipeline, round_number)
        process = _assets(pipeline, postgres_url, "materialize")
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        assert _recorded_but_not_stored(pipeline, postgres_url) == []
        finished = _assets(pipeline, postgres_url, "materialize", "--json")
        out, err = finished.communicate(timeout=120)
        assert finished.returncode == 0 and json.loads(out)["status"] == "success", err
        assert _recorded_but_not_stored(pipeline, postgres_url) == []
        assert _total(pipeline, postgres_url) == expected
        assert "running" not in {status for (status,) in stored(postgres_url, "SELECT status FROM run")}
        assert stored(postgres_url, "SELECT COUNT(*) FROM lease") == [(0,)]
    assert not (pipeline / ".assets" / "catalog.db").exists()  # the catalog was PostgreSQL's, all along
    workspace = open_workspace(Options(project=str(pipeline), catalog=postgres_url))
    assert {status.status for status in workspace.project.statuses()} == {"fresh"}


def test_two_processes_with_overlapping_selections_materialize_nothing_twice(pipeline: Path,
                                                                            postgres_url: str) -> None:
    first = _assets(pipeline, postgres_url, "materialize", "--json", "+a2", "+b2")
    time.sleep(0.5)
    second = _assets(pipeline, postgres_url, "materialize", "--json")
    (out_one, err_one), (out_two, err_two) = first.communicate(timeout=120), second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err_one + err_two
    counts = dict(stored(postgres_url, "SELECT asset, COUNT(*) FROM materialization GROUP BY asset"))
    assert len(counts) == 13 and set(counts.values()) == {1}  # no asset materialized twice
    seen = {run.run_id for run in open_catalog(postgres_url).list_runs()}
    assert {json.loads(out_one)["run_id"], json.loads(out_two)["run_id"]} <= seen  # each sees the other's run
    assert _total(pipeline, postgres_url) == write_source(pipeline, 1)


def test_two_catalogs_on_one_database_see_each_others_writes(postgres_url: str) -> None:
    with open_catalog(postgres_url) as first, open_catalog(postgres_url) as second:
        first.begin_run(run("r1"))
        second.begin_run(run("r2", started=1))
        record_materialization(first, materialization("a", "r1"), [event("r1", "materialized", "a")])
        record_failure(second, failure("a", "r2"), [event("r2", "failed", "a")])
        second.end_run("r2", "failed")
        first.end_run("r1", "success")
        for catalog in (first, second):
            state = catalog.read_state(["a"])["a"]
            assert state.materialization == materialization("a", "r1") and state.failure == failure("a", "r2")
            assert [(r.run_id, r.status) for r in catalog.list_runs()] == [("r2", "failed"), ("r1", "success")]


def test_a_catalog_of_the_previous_schema_is_migrated(postgres_url: str) -> None:
    with open_catalog(postgres_url) as made:
        made.begin_run(run("r1"))
    for table in ("run_request", "tick", "automation_state", "daemon_lease"):  # as the release before automation
        stored(postgres_url, f"DROP TABLE {table}")
    stored(postgres_url, "UPDATE catalog_meta SET value = '4' WHERE key = 'schema_version'")
    with open_catalog(postgres_url) as migrated:
        assert [r.run_id for r in migrated.list_runs()] == ["r1"]
        assert migrated.automation_states() == {} and migrated.daemon_lease() is None
    assert stored(postgres_url, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]


def test_processes_creating_the_catalog_at_once_all_open_it(postgres_url: str) -> None:
    """Eight processes open a new, empty database at the same moment: the schema is made once, under a lock."""
    script = ("import sys, time\nfrom catalog import open_catalog\nwhile time.time() < float(sys.argv[2]): pass\n"
              "open_catalog(sys.argv[1]).close()\n")
    start = str(time.time() + 2.0)
    openers = [subprocess.Popen([sys.executable, "-c", script, postgres_url, start], stderr=subprocess.PIPE,
                                text=True) for _ in range(8)]
    errors = [opener.communicate(timeout=120)[1] for opener in openers]
    assert [opener.returncode for opener in openers] == [0] * 8, errors
    assert stored(postgres_url, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]


def test_processes_saving_definitions_at_once_take_turns(postgres_url: str) -> None:
    """Eight processes replace the stored definitions of an empty catalog at the same moment, each its own
    version of them: writers take turns, as on SQLite, so none fails on a row another inserted meanwhile, and
    the last to write is what stays, whole."""
    open_catalog(postgres_url).close()  # the schema first: this test is about the definitions
    script = ("import sys, time\nfrom catalog import open_catalog\nfrom assets_core.planning.state import "
              "DefinitionView\nwith open_catalog(sys.argv[1]) as catalog:\n"
              "    while time.time() < float(sys.argv[2]): pass\n"
              "    catalog.save_definitions([DefinitionView('start', 'python', code_version=sys.argv[3]),\n"
              "                              DefinitionView('end', 'python', upstream=('start',))])\n")
    start = str(time.time() + 2.0)
    savers = [subprocess.Popen([sys.executable, "-c", script, postgres_url, start, f"v{number}"],
                               stderr=subprocess.PIPE, text=True) for number in range(8)]
    errors = [saver.communicate(timeout=120)[1] for saver in savers]
    assert [saver.returncode for saver in savers] == [0] * 8, errors
    rows = stored(postgres_url, "SELECT name, code_version FROM asset ORDER BY name")
    assert [name for name, _ in rows] == ["end", "start"] and rows[1][1] in {f"v{n}" for n in range(8)}
    assert stored(postgres_url, "SELECT upstream, downstream FROM lineage_edge") == [("start", "end")]


def test_a_server_that_refuses_the_catalog_says_how_to_fix_it(postgres_server: PostgresServer,
                                                               postgres_url: str) -> None:
    """A server that is down, a database or a user it lacks, a wrong password: the command says what failed and
    what to change, on one line, with exit 2 and no traceback."""
    free = socket.socket()
    free.bind(("127.0.0.1", 0))  # a port nobody listens on: bound, never listening, so it refuses
    down = postgres_url.replace(f":{postgres_server.port}/", f":{free.getsockname()[1]}/")
    cases = {down: "start the PostgreSQL server", postgres_url + "_missing": "create the database",
             postgres_url.replace("postgres@", "nobody@"): "fix the user"}
    try:
        for url, fix in cases.items():
            with pytest.raises(CatalogError) as raised:
                open_catalog(url)
            assert fix in str(raised.value) and "\n" not in str(raised.value), str(raised.value)
        failed = subprocess.run([sys.executable, "-m", "tui.cli.main", "runs", "--catalog", down],
                                capture_output=True, text=True, timeout=120)
        assert failed.returncode == 2 and "start the PostgreSQL server" in failed.stderr, failed.stderr
        assert "Traceback" not in failed.stderr
    finally:
        free.close()
    refused = 'connection failed: connection to server at "h", port 5432 failed: FATAL:  password authentication ' \
              'failed for user "ana"'  # the driver's words; the test server trusts every login, so cannot say them
    assert "fix the user and password" in explain(refused, "postgresql+psycopg://ana:***@h/db")


def test_a_user_without_rights_on_the_catalog_is_told_what_to_grant(postgres_server: PostgresServer,
                                                                   postgres_url: str) -> None:
    """A teammate whose role may log in but was granted nothing: on a catalog another role made (its tables), or
    on an empty database whose schema it may not create tables in."""
    role = f"r_{uuid.uuid4().hex[:8]}"
    postgres_server.sql(f'CREATE ROLE "{role}" LOGIN')
    empty = postgres_server.create_database()
    try:
        with open_catalog(postgres_url):
            pass  # made by the server's superuser
        for url in (postgres_url, empty):
            with pytest.raises(CatalogError) as raised:
                open_catalog(url.replace("postgres@", f"{role}@"))
            message = str(raised.value)
            assert f"the catalog postgresql+psycopg://{role}@" in message and "permission denied" in message
            assert "lacks the rights it needs (" in message and "\n" not in message
            assert f"have the database's owner grant them (GRANT ALL ON SCHEMA public TO {role}, then" in message
    finally:
        postgres_server.drop_database(empty)
        postgres_server.sql(f'DROP OWNED BY "{role}"')
        postgres_server.sql(f'DROP ROLE "{role}"')
