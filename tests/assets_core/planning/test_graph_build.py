"""AssetGraph.build's fast passes report exactly what the plain passes they replaced reported, in the same order."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets_core.declaring.definitions import Asset, asset
from assets_core.declaring.partitions import StaticPartitions
from assets_core.errors import CycleError, DefinitionError, DefinitionErrors, DuplicateAssetError
from assets_core.planning import graph as graph_module
from assets_core.planning.dag import DAG
from assets_core.planning.graph import AssetGraph

NAMES = ["a", "b", "c", "d", "bad name"]  # "bad name" has a problem of its own
LETTERS, DIGITS = StaticPartitions(["x", "y"]), StaticPartitions(["1", "2"])  # unrelated: cannot map


def _make(name: str, upstream: list[str], partitions: StaticPartitions | None) -> Asset:
    @asset(name=name, deps=upstream, partitions=partitions)
    def compute() -> int:
        return 1

    return compute


def _plain_edge_problems(assets: Sequence[Asset]) -> list[str]:
    """The checks on names, edges and cycles as build made them before its fast passes (the oracle)."""
    by_name: dict[str, Asset] = {}
    errors: list[DefinitionError] = []
    for item in graph_module._unique(assets):
        errors.extend(item.problems)
        if item.name in by_name:
            errors.append(graph_module._duplicate(item, by_name[item.name]))
            continue
        by_name[item.name] = item
    partitioned = {name for name, item in by_name.items() if item.partitions is not None}
    for item in by_name.values():
        if any(up not in by_name for up in item.upstream):
            errors.extend(graph_module._unknown_upstreams(item, by_name))
        if item.partitions is not None or not partitioned.isdisjoint(item.upstream):
            errors.extend(graph_module._mapping_problems(item, by_name))
    cycle = DAG({name: [up for up in item.upstream if up in by_name] for name, item in by_name.items()}).find_cycle()
    if cycle:
        errors.append(CycleError("is part of a cycle: " + " -> ".join(cycle) + "; remove one of these upstream edges",
                                 asset=cycle[0], location=by_name[cycle[0]].location))
    return [str(error) for error in errors]


@st.composite
def definitions(draw: st.DrawFn) -> list[Asset]:
    made = [_make(draw(st.sampled_from(NAMES)), draw(st.lists(st.sampled_from([*NAMES[:4], "gone"]), max_size=3)),
                  draw(st.sampled_from([None, LETTERS, DIGITS])))
            for _ in range(draw(st.integers(1, 7)))]
    repeats = draw(st.lists(st.integers(0, len(made) - 1), max_size=3))  # the same object given again
    return [*made, *(made[index] for index in repeats)]


@given(definitions())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_names_and_edges_are_reported_as_the_plain_passes_reported_them(assets: list[Asset]) -> None:
    try:
        AssetGraph.build(iter(assets))  # an iterator: read once
        said: list[str] = []
    except DefinitionErrors as caught:
        said = [str(error) for error in caught.errors]
    assert said == _plain_edge_problems(assets)


def test_an_asset_given_twice_counts_once_and_a_duplicate_given_twice_is_reported_once() -> None:
    first, again = _make("a", [], None), _make("a", [], None)
    with pytest.raises(DefinitionErrors) as caught:
        AssetGraph.build([first, again, first, again])
    assert [type(error) for error in caught.value.errors] == [DuplicateAssetError]
    assert len(AssetGraph.build([first, first])) == 1


def test_a_dag_told_its_upstreams_are_distinct_is_the_same_dag() -> None:
    upstream = {"c": ("b", "a"), "b": ("a", "z"), "a": ()}
    told, found = DAG(upstream, distinct=True), DAG(upstream)
    assert told.nodes == found.nodes and told.order() == found.order()
    assert all(told.upstream(n) == found.upstream(n) and told.downstream(n) == found.downstream(n) for n in found.nodes)
    assert DAG({"a": ["b", "b"]}).order() == ["b", "a"]  # repeats are still dropped when not told
