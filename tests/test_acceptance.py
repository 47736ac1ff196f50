"""Acceptance on real SQL nobody here wrote: dbt's jaffle_shop and the 22 TPC-H queries (in ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from assets_core.lineage.sql import trace
from tui.cli.main import main
from assets_core.application.workspace import Options, open_workspace

ACCEPTANCE = Path(__file__).resolve().parents[2] / "shared" / "acceptance"
JAFFLE = ACCEPTANCE / "jaffle_shop"
TPCH = ACCEPTANCE / "tpch"


def _project(tmp_path: Path, sql: Path, sources: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.assets]\nsql_folders = ["{sql}"]\nsource_folders = ["{sources}"]\n')
    return tmp_path


def _materialize(capsys, root: Path) -> dict:
    code = main(["materialize", "--project", str(root), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    return result


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((JAFFLE / "expected.json").read_text())


def test_jaffle_shop_loads_materializes_and_matches_its_lineage(tmp_path, capsys, expected):
    root = _project(tmp_path, JAFFLE / "models", JAFFLE / "seeds")
    result = _materialize(capsys, root)
    assert sorted(result["materialized"]) == sorted(expected["expected_dag"])
    workspace = open_workspace(Options(project=str(root)))
    graph = workspace.project.graph
    assert {name: sorted(graph.upstream(name)) for name in expected["expected_dag"]} == \
        {name: sorted(ups) for name, ups in expected["expected_dag"].items()}
    assert {name: graph[name].kind for name in expected["seeds"]} == {name: "source" for name in expected["seeds"]}
    state = workspace.catalog.read_state(expected["expected_rows"])
    assert {name: s.materialization.rows for name, s in state.items()} == expected["expected_rows"]

    lineages = workspace.project.lineage()
    assert {name: list(lineages[name].columns) for name in expected["output_columns"]} == expected["output_columns"]
    assert {name: {column: list(origins) for column, origins in lineages[name].direct.items()}
            for name in expected["expected_column_lineage"]} == expected["expected_column_lineage"]
    transitive = {name: {column: sorted(trace(lineages, name, column).origins) for column in columns}
                  for name, columns in expected["expected_transitive_column_lineage_to_seeds"].items()}
    assert transitive == expected["expected_transitive_column_lineage_to_seeds"]


def test_tpch_queries_all_materialize_and_every_column_has_lineage(tmp_path, capsys):
    root = _project(tmp_path, TPCH / "queries", TPCH / "data")
    queries = sorted(p.stem for p in (TPCH / "queries").glob("*.sql"))
    assert len(queries) == 22
    result = _materialize(capsys, root)
    assert sorted(result["materialized"]) == queries
    lineages = open_workspace(Options(project=str(root))).project.lineage()
    tables = set(json.loads((TPCH / "schema.json").read_text()))
    for query in queries:
        lineage = lineages[query]
        assert not lineage.problem and not lineage.unknown, (query, lineage)
        counted = _counts_of_rows(TPCH / "queries" / f"{query}.sql")
        for column in lineage.columns:
            origins = lineage.direct[column]
            assert origins or column in counted, (query, column)
            assert all(origin.split(".")[0] in tables for origin in origins), (query, origins)


def _counts_of_rows(path: Path) -> set[str]:
    """Output columns whose expression is count(*): the ones with no column to come from."""
    statement = sqlglot.parse_one(path.read_text(), dialect="duckdb")
    return {p.alias_or_name for p in statement.selects
            if isinstance(p.unalias(), exp.Count) and isinstance(p.unalias().this, exp.Star)} | \
           {p.alias_or_name for p in statement.selects if p.find(exp.Count) and p.find(exp.Star)}
