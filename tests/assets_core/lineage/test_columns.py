"""The column graph and the lineage views, as pure functions of an asset graph, lineages and schemas."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets_core.declaring.definitions import asset, source_asset
from assets_core.declaring.sql import sql_asset
from assets_core.errors import SelectionError
from assets_core.lineage.columns import ColumnGraph, Edge, EdgeKind, column_dag
from assets_core.lineage.distance import distances
from assets_core.lineage.sql import TableLineage, trace
from assets_core.lineage.view import asset_view, column_view, trace_column
from assets_core.planning.dag import DAG
from assets_core.planning.graph import AssetGraph

PYTHON_UNKNOWN = "a python asset: its code is not analysed for column lineage"


def _shop() -> ColumnGraph:
    """raw (source) -> clean (Python) -> totals (SQL) -> report (Python); raw -> a (SQL) -> b (SQL)."""
    raw = source_asset("raw", "raw.csv")
    clean = asset(name="clean", inputs={"raw": "raw"})(lambda raw: raw)
    totals = sql_asset("totals", "select c.id, c.amount * 2 as doubled, count(*) as n from clean c group by 1, 2")
    report = asset(name="report", inputs={"totals": "totals"})(lambda totals: totals)
    a = sql_asset("a", "select r.id as x, r.amount as y from raw r")
    b = sql_asset("b", "select a.x as z, a.x + a.y as w, odd from a")
    graph = AssetGraph.build([raw, clean, totals, report, a, b])
    lineages = {
        "totals": TableLineage("totals", ("id", "doubled", "n"),
                               {"id": ("clean.id",), "doubled": ("clean.amount",), "n": ()}),
        "a": TableLineage("a", ("x", "y"), {"x": ("raw.id",), "y": ("raw.amount",)}),
        "b": TableLineage("b", ("z", "w", "odd"), {"z": ("a.x",), "w": ("a.x", "a.y")}, {"odd": "no idea"}),
    }
    return ColumnGraph.build(graph, lineages, {"raw": ("id", "amount"), "clean": ("id", "amount")})


def test_walks_upstream_and_downstream_with_distances_and_depth_limits():
    columns = _shop()
    assert columns.upstream(("b", "w")) == {("a", "x"): 1, ("a", "y"): 1, ("raw", "id"): 2, ("raw", "amount"): 2}
    assert columns.upstream(("b", "w"), depth=1) == {("a", "x"): 1, ("a", "y"): 1}
    assert columns.downstream(("raw", "id")) == {("a", "x"): 1, ("b", "z"): 2, ("b", "w"): 2}
    assert columns.downstream(("raw", "id"), depth=0) == {}
    assert columns.upstream(("report", "anything")) == {}  # not a node: nothing is known above it


def test_a_trace_reaches_source_columns_and_says_what_is_unknown():
    columns = _shop()
    assert columns.trace(("b", "w")) == (("raw.amount", "raw.id"), ())
    assert columns.trace(("b", "odd")) == ((), (("b.odd", "no idea"),))
    origins, unknown = columns.trace(("totals", "doubled"))
    assert origins == () and unknown == (("clean.amount", PYTHON_UNKNOWN),)  # a Python asset is where it stops


def test_the_trace_the_browser_shows():
    columns = _shop()
    found = trace_column(columns, ("b", "w"))
    assert found.column == "b.w" and found.origins == ("raw.amount", "raw.id") and found.unknown == ()
    assert found.path == (("b.w", ("a.x", "a.y")), ("a.x", ("raw.id",)), ("a.y", ("raw.amount",)))
    assert trace_column(columns, ("raw", "id")).feeds == ("a.x", "b.z", "b.w")
    totals = trace_column(columns, ("totals", "doubled"))
    assert totals.path == (("totals.doubled", ("clean.amount",)),) and totals.readers == ("report",)
    assert trace_column(columns, ("b", "odd")).path == ()  # unknown: shown as unknown, not as "no column"


def test_a_column_view_holds_its_path_and_the_assets_that_read_it():
    columns = _shop()
    view = column_view(columns, ("totals", "n"), upstream=0)
    assert view.assets == ("totals", "report") and dict(view.distance) == {"totals": 0, "report": 1}
    assert view.edges == (Edge("totals", "report", EdgeKind.READ),)
    assert view.columns is not None and view.columns["report"].columns is None
    assert "reads 'totals'" in view.columns["report"].why("*")
    view = column_view(columns, ("b", "w"), upstream=1)
    assert view.assets == ("a", "b") and view.trace is not None and view.trace.origins == ("raw.amount", "raw.id")
    assert view.edges_of(EdgeKind.VALUE) == (Edge("a", "b", EdgeKind.VALUE, "x", "w"),
                                             Edge("a", "b", EdgeKind.VALUE, "y", "w"))


def test_an_asset_view_with_and_without_columns():
    columns = _shop()
    view = asset_view(columns.graph, "a", downstream=1)
    assert view.assets == ("raw", "a", "b") and dict(view.distance) == {"a": 0, "raw": -1, "b": 1}
    assert view.edges == (Edge("raw", "a"), Edge("a", "b")) and view.columns is None
    with_columns = asset_view(columns.graph, "a", columns=columns)
    assert with_columns.edges_of(EdgeKind.READ) == view.edges
    assert Edge("a", "b", EdgeKind.VALUE, "y", "w") in with_columns.edges_of(EdgeKind.VALUE)
    everything = asset_view(columns.graph)
    assert everything.assets == tuple(columns.graph.order()) and not everything.distance


def test_facts_of_assets_whose_columns_are_not_known():
    graph = AssetGraph.build([source_asset("raw", "raw.csv"), asset(name="p", inputs={"raw": "raw"})(lambda raw: raw),
                              sql_asset("s", "select * from p")])
    columns = ColumnGraph.build(graph, {"s": TableLineage("s", None, problem="it selects * from ...")}, {})
    assert columns.facts["raw"].why("*").startswith("its files are missing")
    assert columns.facts["p"].why("x") == f"{PYTHON_UNKNOWN}, and its columns are not known until it is materialized"
    assert columns.facts["s"].why("x") == "it selects * from ..."


def test_resolving_a_column_names_what_was_meant():
    columns = _shop()
    assert columns.resolve("b.w") == ("b", "w")
    with pytest.raises(SelectionError, match="did you mean 'b.w'"):
        columns.resolve("bb.w")
    with pytest.raises(SelectionError, match="its columns are z, w, odd"):
        columns.resolve("b.zzz")


def test_the_sql_trace_and_the_column_graph_agree_on_origins():
    columns = _shop()
    lineages = {"a": TableLineage("a", ("x", "y"), {"x": ("raw.id",), "y": ("raw.amount",)}),
                "b": TableLineage("b", ("z", "w"), {"z": ("a.x",), "w": ("a.x", "a.y")})}
    assert sorted(trace(lineages, "b", "w").origins) == list(columns.trace(("b", "w"))[0])


def test_the_column_dag_keeps_every_origin_as_a_node():
    dag = column_dag({"b": {"y": ["a.x", "fin.raw.id"]}})
    assert set(dag.nodes) == {("b", "y"), ("a", "x"), ("fin.raw", "id")}
    assert dag.order()[-1] == ("b", "y")


def test_distances_are_breadth_first_whatever_the_path():
    dag = DAG({"d": ["c", "a"], "c": ["b"], "b": ["a"], "a": []})
    assert distances(dag, "d", upstream=True) == {"c": 1, "a": 1, "b": 2}  # 'a' is one edge away, not three
    assert distances(dag, "a", upstream=False, depth=1) == {"b": 1, "d": 1}


@st.composite
def dags(draw: st.DrawFn) -> DAG[str]:
    size = draw(st.integers(1, 10))
    names = [f"n{i}" for i in range(size)]
    return DAG({name: sorted(draw(st.sets(st.sampled_from(names[:i]), max_size=3))) if i else []
                for i, name in enumerate(names)})


@given(dags(), st.integers(0, 9), st.one_of(st.none(), st.integers(0, 4)), st.booleans())
@settings(max_examples=50, deadline=None)
def test_distances_reach_what_the_dag_reaches_each_at_its_shortest_path(dag: DAG[str], index: int,
                                                                       depth: int | None, upstream: bool):
    start = dag.nodes[index % len(dag)]
    found = distances(dag, start, upstream=upstream, depth=depth)
    walk = dag.ancestors if upstream else dag.descendants
    assert set(found) == walk([start], depth)
    for node, level in found.items():  # nearest first, and no shorter path exists
        assert node in walk([start], level) and node not in walk([start], level - 1)
    assert list(found.values()) == sorted(found.values())
