"""`assets lineage --format openlineage`: the whole graph as OpenLineage events, one JSON object per line, read
back with the official client's model; the run ids agree with the events a run sent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assets_core.application import usecases
from assets_core.application.workspace import Options, open_workspace
from assets_core.lineage.openlineage import run_uuid
from tests.lineage_server import LineageServer, parse_event
from tui.cli.main import main

ACCEPTANCE = Path(__file__).resolve().parents[4] / "shared" / "acceptance"
JAFFLE = ACCEPTANCE / "jaffle_shop"


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)


def _jaffle_shop(root: Path, table: str = "") -> Path:
    """The dbt example read from the shared acceptance folder (never copied)."""
    (root / "pyproject.toml").write_text(f'[tool.assets]\nsql_folders = ["{JAFFLE / "models"}"]\n'
                                         f'source_folders = ["{JAFFLE / "seeds"}"]\n{table}')
    return root


def _lines(capsys, *args: str) -> list[dict]:
    code = main(["lineage", *args, "--format", "openlineage"])
    out = capsys.readouterr().out
    assert code == 0, out
    return [json.loads(line) for line in out.splitlines()]


def test_every_asset_is_one_complete_event_with_its_inputs_schema_and_column_lineage(tmp_path, capsys):
    root = _jaffle_shop(tmp_path)
    assert main(["materialize", "--project", str(root), "--json"]) == 0
    capsys.readouterr()
    events = [parse_event(body) for body in _lines(capsys, "--project", str(root))]
    workspace = open_workspace(Options(project=str(root)))
    graph = workspace.project.graph
    assert [e.job.name for e in events] == [item.name for item in graph]  # every asset, in dependency order
    assert {e.eventType.value for e in events} == {"COMPLETE"}
    namespace = f"assets://{root.name}"
    lineages = usecases.column_lineage(workspace)
    state = workspace.catalog.read_state([item.name for item in graph])
    for event in events:
        name = event.job.name
        record = state[name].materialization if name in state else None
        assert event.job.namespace == namespace
        assert [(d.namespace, d.name) for d in event.outputs] == [(namespace, name)]
        assert [d.name for d in event.inputs] == list(graph.upstream(name))
        (output,) = event.outputs
        columns = [f.name for f in output.facets["schema"].fields]
        if graph[name].is_source:  # observed, never materialized: its columns, not their types, and no run
            assert "parent" not in event.run.facets and "version" not in output.facets
            assert columns == list(workspace.project.schemas()[name])
            continue
        assert [(f.name, f.type) for f in output.facets["schema"].fields] == list(record.schema)
        assert output.facets["version"].datasetVersion == record.data_version
        assert output.outputFacets["outputStatistics"].rowCount == record.rows
        assert event.run.runId == run_uuid(record.run_id, name)
        assert event.run.facets["parent"].run.runId == run_uuid(record.run_id)
        assert {column: sorted(f"{f.name}.{f.field}" for f in fields.inputFields)
                for column, fields in output.facets["columnLineage"].fields.items()} == \
            {column: sorted(origins) for column, origins in lineages[name].direct.items() if origins}


def test_the_export_agrees_with_the_events_a_run_sent_and_writes_a_file(tmp_path, capsys):
    with LineageServer() as server:
        root = _jaffle_shop(tmp_path, f'[tool.assets.openlineage]\nurl = "{server.url}"\nnamespace = "shop"\n')
        assert main(["materialize", "--project", str(root), "--json"]) == 0
        sent = [e for e in server.events() if e.eventType.value == "COMPLETE"]
    capsys.readouterr()
    target = tmp_path / "lineage.jsonl"
    assert main(["lineage", "--project", str(root), "--format", "openlineage", "-o", str(target)]) == 0
    assert "wrote 8 OpenLineage event(s)" in capsys.readouterr().out
    exported = {e.job.name: e for e in (parse_event(json.loads(line)) for line in target.read_text().splitlines())}
    assert len(sent) == 5  # the models; the seeds are sources, observed rather than run
    for event in sent:
        same = exported[event.job.name]
        assert (same.run.runId, same.job.namespace) == (event.run.runId, "shop")
        assert same.outputs[0].facets["columnLineage"] == event.outputs[0].facets["columnLineage"]
        assert same.outputs[0].facets["version"] == event.outputs[0].facets["version"]


def test_a_target_limits_the_events_to_its_lineage(tmp_path, capsys):
    root = _jaffle_shop(tmp_path)
    names = [body["job"]["name"] for body in _lines(capsys, "--project", str(root), "stg_orders", "--downstream", "0")]
    assert names == ["raw_orders", "stg_orders"]


def test_json_and_openlineage_together_are_refused(tmp_path, capsys):
    root = _jaffle_shop(tmp_path)
    assert main(["lineage", "--project", str(root), "--format", "openlineage", "--json"]) != 0
    assert "leave out --json" in capsys.readouterr().err
