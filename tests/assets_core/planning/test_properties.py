"""Graph invariants over random DAGs (Hypothesis)."""

from __future__ import annotations

import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets_core.application.project import Project
from assets_core.declaring.definitions import asset
from assets_core.planning.graph import AssetGraph
from assets_core.planning.memory import MemoryCatalog
from assets_core.running.storage import Storage


@st.composite
def dags(draw) -> dict[str, list[str]]:
    size = draw(st.integers(1, 10))
    names = [f"n{i}" for i in range(size)]
    return {name: sorted(draw(st.sets(st.sampled_from(names[:i]), max_size=3))) if i else []
            for i, name in enumerate(names)}


def make(name: str, upstream: list[str], salt: int, description: str = ""):
    @asset(name=name, deps=upstream, description=description)
    def compute():
        return [salt]

    return compute


def build(shape: dict[str, list[str]], salts: dict[str, int], descriptions: dict[str, str] | None = None):
    descriptions = descriptions or {}
    return [make(n, ups, salts.get(n, 0), descriptions.get(n, "")) for n, ups in shape.items()]


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(dags())
@SETTINGS
def test_order_respects_every_edge(shape):
    graph = AssetGraph.build(build(shape, {}))
    position = {name: i for i, name in enumerate(graph.order())}
    assert all(position[up] < position[name] for name, ups in shape.items() for up in ups)


@given(dags(), st.data())
@SETTINGS
def test_after_a_run_nothing_is_stale_and_changes_propagate_downstream(shape, data):
    with tempfile.TemporaryDirectory() as tmp:
        catalog, storage = MemoryCatalog(), Storage(tmp)
        project = Project(build(shape, {}), tmp, storage, catalog)
        assert project.materialize().status == "success"
        # After a plan executes, the next plan is empty.
        again = Project(build(shape, {}), tmp, storage, catalog)
        assert len(again.plan()) == 0
        # A metadata-only edit makes nothing stale.
        described = Project(build(shape, {}, {n: "edited" for n in shape}), tmp, storage, catalog)
        assert len(described.plan()) == 0
        # A code change makes the asset stale and everything downstream of it not fresh.
        changed = data.draw(st.sampled_from(sorted(shape)))
        edited = Project(build(shape, {changed: 1}), tmp, storage, catalog)
        statuses = edited.snapshot().statuses
        below = edited.graph.dag.descendants([changed])
        assert statuses[changed].status == "stale"
        assert all(not statuses[name].fresh for name in below)
        assert all(statuses[name].fresh for name in set(shape) - below - {changed})
        # Running it settles everything again.
        edited.materialize()
        assert len(Project(build(shape, {changed: 1}), tmp, storage, catalog).plan()) == 0
