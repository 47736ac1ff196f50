"""OpenLineage out: each materialization's START, then COMPLETE or FAIL, sent to a real HTTP server on 127.0.0.1
and read back with the official client's model; an unreachable server costs a run at most its timeout; a
project that does not ask for OpenLineage never imports the client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openlineage.client.event_v2 import RunEvent as OpenLineageEvent

from assets_core.application import usecases
from assets_core.application.project import Project
from assets_core.application.workspace import Options, open_workspace
from assets_core.declaring.config import read_config
from assets_core.declaring.definitions import asset, source_asset
from assets_core.declaring.sql import sql_asset
from assets_core.errors import ProjectError
from assets_core.lineage.openlineage import run_uuid
from assets_core.planning.memory import MemoryCatalog
from assets_core.running.events import RunEvent, RunEventKind
from assets_core.running.openlineage import OpenLineageSender, OpenLineageSettings, openlineage_settings
from assets_core.running.runs import RunStatus
from assets_core.running.stopping import STOP_GRACE, Stop
from assets_core.running.storage import Storage
from tests.lineage_server import LineageServer, SilentServer, closed_port, parse_event

ROOT = Path(__file__).resolve().parents[3]
TPCH = ROOT.parent / "shared" / "acceptance" / "tpch"


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch):
    """The client's own environment would turn OpenLineage on (or point it elsewhere) in these tests."""
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)


@asset
def orders():
    import polars as pl

    return pl.DataFrame({"id": [1, 2, 3], "amount": [1.5, 2.0, 3.5]})


@asset
def doubled(orders):
    return orders.with_columns(orders["amount"] * 2)


@asset
def broken(orders):
    raise RuntimeError("the CRM is down")


def _project(tmp_path: Path, *definitions, settings: OpenLineageSettings | None, catalog=None) -> Project:
    project = Project(definitions, tmp_path, Storage(tmp_path / "storage"), catalog or MemoryCatalog())
    project.openlineage = settings
    return project


def _http(url: str, timeout: float = 5.0) -> OpenLineageSettings:
    return OpenLineageSettings("http", url=url, timeout=timeout)


def _by_job(events: list[OpenLineageEvent]) -> dict[str, list[OpenLineageEvent]]:
    found: dict[str, list[OpenLineageEvent]] = {}
    for event in events:
        found.setdefault(event.job.name, []).append(event)
    return found


def test_a_run_sends_start_and_complete_per_asset_and_fail_for_a_failing_one(tmp_path):
    catalog = MemoryCatalog()
    with LineageServer() as server:
        result = _project(tmp_path, orders, doubled, broken, settings=_http(server.url), catalog=catalog).materialize()
        events = server.events()
    assert sorted(result.materialized) == ["doubled", "orders"]
    assert result.failed == ["broken"]
    assert set(server.paths) == {"/api/v1/lineage"}
    jobs = _by_job(events)
    assert {name: [e.eventType.value for e in found] for name, found in jobs.items()} == \
        {"orders": ["START", "COMPLETE"], "doubled": ["START", "COMPLETE"], "broken": ["START", "FAIL"]}
    namespace = f"assets://{tmp_path.name}"
    state = catalog.read_state(["orders", "doubled"])
    for event in events:
        node = event.job.name
        assert event.job.namespace == namespace
        assert event.run.runId == run_uuid(result.run_id, node)  # the same run for START and its end
        parent = event.run.facets["parent"]
        assert (parent.run.runId, parent.job.namespace, parent.job.name) == \
            (run_uuid(result.run_id), namespace, tmp_path.name)
        assert (parent.root.run.runId, parent.root.job.name) == (run_uuid(result.run_id), tmp_path.name)
        assert [(d.namespace, d.name) for d in event.outputs] == [(namespace, node)]
        assert [d.name for d in event.inputs] == ([] if node == "orders" else ["orders"])
    for name in ("orders", "doubled"):
        record = state[name].materialization
        (output,) = jobs[name][1].outputs
        assert [(f.name, f.type) for f in output.facets["schema"].fields] == list(record.schema) == \
            [("id", "Int64"), ("amount", "Float64")]
        assert output.facets["version"].datasetVersion == record.data_version
        assert output.outputFacets["outputStatistics"].rowCount == record.rows == 3
        assert output.outputFacets["outputStatistics"].size == record.bytes
        assert "columnLineage" not in output.facets  # a run tells a SQL asset's only (tracing Python runs it)
    (orders_input,) = jobs["doubled"][1].inputs
    assert [(f.name, f.type) for f in orders_input.facets["schema"].fields] == [("id", "Int64"), ("amount", "Float64")]
    failure = jobs["broken"][1]
    assert failure.run.facets["errorMessage"].message == "RuntimeError: the CRM is down"
    assert failure.run.facets["errorMessage"].programmingLanguage == "python"
    assert failure.outputs[0].facets == {} and failure.outputs[0].outputFacets == {}
    assert not [e for e in catalog.events if e.level == "WARNING"]  # nothing dropped


def test_a_partition_is_its_own_dataset_of_its_assets_job(tmp_path):
    from assets_core import StaticPartitions

    @asset(partitions=StaticPartitions(["eu", "us"]))
    def regional(context):
        import polars as pl

        return pl.DataFrame({"region": [context.partition], "n": [1]})

    @asset(partitions=StaticPartitions(["eu", "us"]))
    def regional_copy(regional):
        return regional

    catalog = MemoryCatalog()
    with LineageServer() as server:
        result = _project(tmp_path, regional, regional_copy, settings=_http(server.url), catalog=catalog).materialize()
        events = server.events()
    assert result.status == RunStatus.SUCCESS
    complete = {e.outputs[0].name: e for e in events if e.eventType.value == "COMPLETE"}
    assert sorted(complete) == ["regional[eu]", "regional[us]", "regional_copy[eu]", "regional_copy[us]"]
    copy = complete["regional_copy[eu]"]
    assert copy.job.name == "regional_copy" and copy.run.runId == run_uuid(result.run_id, "regional_copy[eu]")
    assert [(d.name, [f.name for f in d.facets["schema"].fields]) for d in copy.inputs] == \
        [("regional[eu]", ["region", "n"])]
    record = catalog.read_state(["regional[us]"])["regional[us]"].materialization
    assert complete["regional[us]"].outputs[0].facets["version"].datasetVersion == record.data_version


def test_column_lineage_facet_of_a_tpch_query_matches_the_projects_lineage(tmp_path):
    query = "q03"
    tables = ("customer", "orders", "lineitem")
    definitions = [*(source_asset(table, TPCH / "data" / f"{table}.parquet") for table in tables),
                   sql_asset(query, (TPCH / "queries" / f"{query}.sql").read_text())]
    with LineageServer() as server:
        (tmp_path / "pyproject.toml").write_text(
            f'[tool.assets.openlineage]\nurl = "{server.url}"\nnamespace = "tpch"\n')
        workspace = open_workspace(Options(project=str(tmp_path)), definitions)
        result = usecases.materialize(workspace)
        events = server.events()
    assert result.status == RunStatus.SUCCESS and result.materialized == [query]
    complete = [e for e in events if e.job.name == query and e.eventType.value == "COMPLETE"]
    assert len(complete) == 1 and complete[0].job.namespace == "tpch"
    (output,) = complete[0].outputs
    facet = output.facets["columnLineage"]
    lineage = usecases.column_lineage(workspace)[query]
    assert lineage.direct and not lineage.unknown
    expected = {column: sorted(tuple(origin.rsplit(".", 1)) for origin in origins)
                for column, origins in lineage.direct.items() if origins}
    assert {column: sorted((f.name, f.field) for f in fields.inputFields) for column, fields in facet.fields.items()} \
        == expected
    assert expected["revenue"] == [("lineitem", "l_discount"), ("lineitem", "l_extendedprice")]
    assert all(f.namespace == "tpch" and [t.type for t in f.transformations] == ["DIRECT"]
               for fields in facet.fields.values() for f in fields.inputFields)
    assert [(f.name, f.type) for f in output.facets["schema"].fields] == \
        list(workspace.catalog.read_state([query])[query].materialization.schema)
    assert set(facet.fields) == {c for c in lineage.columns if lineage.direct[c]}  # JSON keys come sorted
    inputs = {dataset.name: dataset for dataset in complete[0].inputs}
    assert sorted(inputs) == sorted(tables)
    schemas = workspace.project.schemas()
    for table in tables:  # a source has no materialization: its columns without their types
        assert [(f.name, f.type) for f in inputs[table].facets["schema"].fields] == \
            [(column, None) for column in schemas[table]]


def _timed_run(tmp_path: Path, settings: OpenLineageSettings | None, catalog: MemoryCatalog):
    started = time.monotonic()
    result = _project(tmp_path, orders, doubled, settings=settings, catalog=catalog).materialize()
    return result, time.monotonic() - started


@pytest.mark.parametrize("server", ["closed port", "hang", "trickle"])
def test_an_unreachable_server_costs_the_run_at_most_its_timeout_and_the_drops_are_logged(tmp_path, server):
    import assets_core.lineage.openlineage  # noqa: F401 - the client's import is paid before the clock starts

    _, without = _timed_run(tmp_path / "without", None, MemoryCatalog())
    catalog = MemoryCatalog()
    if server == "closed port":
        result, elapsed = _timed_run(tmp_path / "with", _http(closed_port(), timeout=1.0), catalog)
    else:
        with SilentServer(server) as silent:
            result, elapsed = _timed_run(tmp_path / "with", _http(silent.url, timeout=1.0), catalog)
    assert result.status == RunStatus.SUCCESS and sorted(result.materialized) == ["doubled", "orders"]
    assert elapsed - without < 1.0 + 2.5, (elapsed, without)
    (warning,) = [e for e in catalog.events if e.level == "WARNING"]
    assert warning.run_id == result.run_id and warning.asset is None
    assert warning.message.startswith("OpenLineage: 4 of 4 event(s) dropped, not delivered to http://127.0.0.1:")
    assert result.notices == (warning.message,) and result.to_json()["notices"] == [warning.message]
    if server == "closed port":
        assert "4 could not be sent (ConnectionError" in warning.message
    else:
        assert "were still unsent after 1 s" in warning.message


def _stopped_run(tmp_path: Path, url: str, catalog: MemoryCatalog):
    """A run stopped (Ctrl-C) while its one asset will not stop, sending to ``url`` with a long timeout."""
    stop = Stop()

    @asset
    def stubborn():
        stop.request()
        time.sleep(5)

    project = _project(tmp_path, stubborn, settings=_http(url, timeout=30.0), catalog=catalog)
    started = time.monotonic()
    result = project.run(project.plan(), project.snapshot(), stop=stop)
    assert result.status == RunStatus.INTERRUPTED and result.abandoned == ("stubborn",)
    return result, time.monotonic() - started


def test_a_stopped_run_aborts_the_asset_it_abandons(tmp_path):
    with LineageServer() as server:
        result, _ = _stopped_run(tmp_path, server.url, MemoryCatalog())
        events = server.events()
    assert [(e.job.name, e.eventType.value) for e in events] == [("stubborn", "START"), ("stubborn", "ABORT")]
    assert events[1].run.runId == run_uuid(result.run_id, "stubborn")


def test_a_stopped_run_waits_for_no_slow_server(tmp_path):
    """A server that never answers holds a stopped run's end no longer than the stop's grace, not the timeout."""
    catalog = MemoryCatalog()
    with SilentServer("hang") as silent:
        _, elapsed = _stopped_run(tmp_path, silent.url, catalog)
    assert elapsed < 1.0 + STOP_GRACE + 2.0, elapsed
    (warning,) = [e.message for e in catalog.events if e.level == "WARNING"]
    assert warning.startswith("OpenLineage: 2 of 2 event(s) dropped")  # START and ABORT
    assert f"unsent after {STOP_GRACE:g} s" in warning


def test_a_stopped_node_gets_an_abort_and_a_source_node_no_inputs(tmp_path):
    path = tmp_path / "events.jsonl"
    sender = OpenLineageSender(OpenLineageSettings("file", path=str(path)), "shop", "run1",
                               upstream=lambda node: ("raw[2026-01-15]",) if node != "raw[2026-01-15]" else (),
                               recorded=lambda node: None)
    sender.notify(RunEvent(RunEventKind.STARTED, "run1", "raw[2026-01-15]"))
    sender.notify(RunEvent(RunEventKind.STARTED, "run1", "daily[2026-01-15]"))
    sender.notify(RunEvent(RunEventKind.FAILED, "run1", "raw[2026-01-15]", "ValueError: bad row"))
    sender.notify(RunEvent(RunEventKind.ANOMALY, "run1", "raw[2026-01-15]", "odd"))  # no event of its own
    assert sender.close() == []
    events = [parse_event(json.loads(line)) for line in path.read_text().splitlines()]
    assert [(e.job.name, e.outputs[0].name, e.eventType.value) for e in events] == [
        ("raw", "raw[2026-01-15]", "START"), ("daily", "daily[2026-01-15]", "START"),
        ("raw", "raw[2026-01-15]", "FAIL"), ("daily", "daily[2026-01-15]", "ABORT")]
    assert [d.name for d in events[-1].inputs] == ["raw[2026-01-15]"]
    assert events[0].run.runId == events[2].run.runId == run_uuid("run1", "raw[2026-01-15]")
    assert all(e.job.namespace == "assets://shop" and e.run.facets["parent"].job.name == "shop" for e in events)


def test_a_client_that_cannot_be_made_drops_the_events_and_says_why(tmp_path):
    catalog = MemoryCatalog()
    settings = OpenLineageSettings("http", url="http://", timeout=1.0)  # no host: the client refuses it
    result = _project(tmp_path, orders, settings=settings, catalog=catalog).materialize()
    assert result.status == RunStatus.SUCCESS
    (warning,) = [e.message for e in catalog.events if e.level == "WARNING"]
    assert warning.startswith("OpenLineage: 2 of 2 event(s) dropped")
    assert "the OpenLineage client cannot be made" in warning


# Settings


def _config(tmp_path: Path, table: str):
    (tmp_path / "pyproject.toml").write_text(f"[tool.assets.openlineage]\n{textwrap.dedent(table)}")
    return read_config(tmp_path)


def test_the_table_names_the_transport(tmp_path):
    http = _config(tmp_path, 'url = "http://marquez:5000"\ntimeout = 2\n').openlineage
    assert (http.transport, http.url, http.endpoint, http.timeout) == \
        ("http", "http://marquez:5000", "api/v1/lineage", 2.0)
    assert http.client_config()["transport"]["retry"] == {"total": 0}
    file = _config(tmp_path, 'transport = "file"\npath = "lineage/events.jsonl"\n').openlineage
    assert openlineage_settings(file, {}, tmp_path).path == str(tmp_path / "lineage/events.jsonl")
    console = _config(tmp_path, 'transport = "console"\n').openlineage
    assert console.client_config() == {"transport": {"type": "console"}}
    assert read_config(tmp_path.parent).openlineage is None


@pytest.mark.parametrize("table, problem", [
    ('transport = "kafka"\n', "transport must be one of: http, file, console, not \"kafka\""),
    ('namespace = "x"\n', "says nowhere to send the events"),
    ('transport = "http"\n', 'needs url, e.g. url = "http://localhost:5000"'),
    ('url = "marquez:5000"\n', 'url must start with http:// or https://, not "marquez:5000"'),
    ('transport = "file"\n', "needs path"),
    ('url = "http://m"\ntimeout = 0\n', "timeout must be a finite number of at least 0.1, not 0"),
    ('uri = "http://m"\n', "unknown key 'uri'; did you mean 'url'?"),
])
def test_a_wrong_table_is_reported_with_its_key(tmp_path, table, problem):
    with pytest.raises(ProjectError, match="tool.assets.openlineage") as raised:
        _config(tmp_path, table)
    assert problem in str(raised.value)


def test_the_clients_environment_turns_it_on_and_its_disabled_flag_off(tmp_path):
    table = OpenLineageSettings("console")
    assert openlineage_settings(None, {}, tmp_path) is None
    assert openlineage_settings(None, {"OPENLINEAGE_CONFIG": "/etc/openlineage.yml"}, tmp_path) == OpenLineageSettings()
    assert openlineage_settings(None, {"OPENLINEAGE__TRANSPORT__TYPE": "kafka"}, tmp_path) == OpenLineageSettings()
    assert openlineage_settings(table, {"OPENLINEAGE_URL": "http://m"}, tmp_path) == table
    assert openlineage_settings(table, {"OPENLINEAGE_DISABLED": "true"}, tmp_path) is None


# Off by default, and the client's own environment


PROJECT = '''
from assets_core.declaring.definitions import asset

@asset
def numbers():
    return [1, 2, 3]
'''

SCRIPT = '''
import json, sys
from tui.cli.main import main
code = main(["materialize", "--project", sys.argv[1], "--json"])
client = sorted(m for m in sys.modules if m.split(".")[0] == "openlineage" or m == "assets_core.lineage.openlineage")
print(json.dumps({"code": code, "imported": client}))
'''


def _materialize_in_a_process(root: Path, environment: dict[str, str]) -> dict:
    root.mkdir()
    (root / "defs.py").write_text(PROJECT)
    (root / "pyproject.toml").write_text('[tool.assets]\nmodule = "defs"\n')
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OPENLINEAGE")}
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(root)], capture_output=True, text=True, cwd=ROOT,
                            env={**clean, **environment}, timeout=120, check=False)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_project_without_openlineage_sends_nothing_and_never_imports_the_client(tmp_path):
    with LineageServer() as server:
        found = _materialize_in_a_process(tmp_path / "plain", {"HOME": str(tmp_path)})
        assert server.received == []
    assert found == {"code": 0, "imported": []}


def test_the_clients_own_environment_variable_sends_the_events(tmp_path):
    with LineageServer() as server:
        found = _materialize_in_a_process(tmp_path / "env", {"OPENLINEAGE_URL": server.url, "HOME": str(tmp_path)})
        events = server.events()
    assert found["code"] == 0 and "openlineage.client" in found["imported"]
    assert [(e.job.name, e.eventType.value) for e in events] == [("numbers", "START"), ("numbers", "COMPLETE")]
    assert set(server.paths) == {"/api/v1/lineage"} and events[0].job.namespace == "assets://env"


TRACED = '''
import polars as pl
from assets_core import asset, source_asset

orders = source_asset("orders", "orders.csv")

@asset
def totals(orders: pl.LazyFrame) -> pl.LazyFrame:
    return (orders.filter(pl.col("amount") > 0).group_by("customer")
            .agg(total=pl.col("amount").sum(), first=pl.col("id").min()).sort("customer"))

@asset
def renamed(totals: pl.LazyFrame) -> pl.LazyFrame:
    return totals.select(name=pl.col("customer"), total=pl.col("total") * 100)
'''


def test_a_python_assets_column_lineage_facet_comes_from_its_traced_lineage_with_how(tmp_path):
    """Once the project's lineage is stored (assets lineage, or after a run of a project with SQL assets), a run's
    COMPLETE events carry each Python asset's traced column lineage, saying how (IDENTITY, TRANSFORMATION,
    AGGREGATION); a lineage made from other code is not sent."""
    (tmp_path / "defs.py").write_text(TRACED)
    (tmp_path / "orders.csv").write_text("id,customer,amount\n1,ann,10\n2,bob,-1\n3,ann,5\n")
    with LineageServer() as server:
        (tmp_path / "pyproject.toml").write_text(f'[tool.assets]\nfile = "defs.py"\n\n'
                                                 f'[tool.assets.openlineage]\nurl = "{server.url}"\n')
        workspace = open_workspace(Options(project=str(tmp_path)))
        assert usecases.materialize(workspace).status == RunStatus.SUCCESS
        lineages = usecases.column_lineage(workspace)  # traced now that every schema is stored
        assert dict(lineages["renamed"].direct) == {"name": ("totals.customer",), "total": ("totals.total",)}
        workspace.catalog.close()
        workspace = open_workspace(Options(project=str(tmp_path)))
        assert usecases.materialize(workspace, force=True).status == RunStatus.SUCCESS
        events = server.events()
    complete = [e for e in events if e.eventType.value == "COMPLETE"]
    facets = {e.job.name: e.outputs[0].facets.get("columnLineage") for e in complete[-2:]}
    fields = {job: {column: [(f.name, f.field, f.transformations[0].subtype) for f in found.inputFields]
                    for column, found in facet.fields.items()} for job, facet in facets.items() if facet}
    assert fields["renamed"] == {"name": [("totals", "customer", "IDENTITY")],
                                 "total": [("totals", "total", "TRANSFORMATION")]}
    assert fields["totals"]["total"] == [("orders", "amount", "AGGREGATION")]
    assert "columnLineage" not in {k for e in complete[:2] for k in e.outputs[0].facets}  # before it was traced
