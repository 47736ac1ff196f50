"""SqlCatalog keeps the Catalog protocol exactly as MemoryCatalog, the reference, does."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.state import (
    AssetState,
    Catalog,
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    Recorder,
    RunRecord,
    StateReader,
)
from catalog import SqlCatalog, open_catalog, sqlite_url
from tests.catalog.conftest import (
    event,
    failure,
    materialization,
    observation,
    record_failure,
    record_materialization,
    run,
)

PROTOCOL_METHODS = sorted(
    name
    for protocol in (StateReader, Recorder)
    for name, member in vars(protocol).items()
    if inspect.isfunction(member) and not name.startswith("_")
)


def test_the_protocol_has_the_methods_we_expect() -> None:
    assert PROTOCOL_METHODS == [
        "acquire_leases", "add_dynamic_partitions", "asset_history", "begin_backfill", "begin_run", "dynamic_partitions",
        "end_backfill", "end_run", "heartbeat", "read_observed", "read_state", "record_events", "record_observations",
        "record_results",
        "running_runs",
    ]  # fmt: skip


@pytest.mark.parametrize("name", PROTOCOL_METHODS)
def test_sql_catalog_has_every_protocol_method_with_its_parameters(name: str) -> None:
    expected = inspect.signature(getattr(Catalog, name)).parameters
    actual = inspect.signature(getattr(SqlCatalog, name)).parameters
    assert [(p.name, p.kind, p.default) for p in actual.values()] == [
        (p.name, p.kind, p.default) for p in expected.values()
    ]


def test_sql_catalog_is_a_catalog_to_the_type_checker(catalog: SqlCatalog) -> None:
    as_protocol: Catalog = catalog  # mypy checks this assignment structurally
    assert as_protocol.read_state([]) == {}


def test_materialization_clears_the_failure_and_failure_keeps_the_materialization(catalog: SqlCatalog) -> None:
    catalog.begin_run(run("r1"))
    first = materialization("a", version="v1")
    record_materialization(catalog, first, [event("r1", "materialized", "a")])
    broken = failure("a", attempt=2)
    record_failure(catalog, broken, [event("r1", "failed", "a", level="ERROR")])
    assert catalog.read_state(["a"]) == {"a": AssetState(materialization=first, failure=broken)}

    second = materialization("a", version="v2")
    record_materialization(catalog, second, [])
    assert catalog.read_state(["a"]) == {"a": AssetState(materialization=second)}


def test_observation_is_kept_beside_the_other_records(catalog: SqlCatalog) -> None:
    seen = observation("raw")
    catalog.record_observations([seen])
    record_failure(catalog, failure("raw"), [])
    assert catalog.read_state(["raw"]) == {"raw": AssetState(failure=failure("raw"), observation=seen)}


def test_read_state_leaves_out_assets_without_records_and_keeps_the_order_asked(catalog: SqlCatalog) -> None:
    for name in ("b", "a", "c"):
        record_materialization(catalog, materialization(name), [])
    assert list(catalog.read_state(iter(["c", "nothing", "a", "c"]))) == ["c", "a"]
    assert catalog.read_state([]) == {}


def test_read_state_of_many_assets_matches_the_names_asked(catalog: SqlCatalog) -> None:
    names = [f"asset_{i}" for i in range(2500)]
    for name in names[::2]:
        record_materialization(catalog, materialization(name), [])
    few = catalog.read_state(names[:10])
    most = catalog.read_state(names)  # most of the catalog: one pass over every state row
    some = catalog.read_state(names[:2000:3] + ["missing"])  # a part of it: looked up in batches
    assert list(few) == names[:10:2]
    assert list(most) == names[::2]
    assert list(some) == [name for name in names[:2000:3] if int(name.split("_")[1]) % 2 == 0]


def test_times_come_back_in_utc_whatever_zone_they_were_recorded_in(catalog: SqlCatalog) -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 5, 1, 14, 30, 0, 123456, tzinfo=paris)
    record_materialization(catalog, materialization("a", created_at=moment), [])
    stored = catalog.read_state(["a"])["a"].materialization
    assert stored is not None
    assert stored.created_at == moment and stored.created_at.tzinfo == timezone.utc
    assert stored.created_at.hour == 12


# Random call sequences, replayed on both catalogs.

names = st.sampled_from(["a", "b", "c", "pkg.d"])
run_ids = st.sampled_from(["r1", "r2", "r3"])
text = st.text(st.characters(codec="utf-8"), max_size=12)  # SQLite stores UTF-8: no lone surrogates
# Fixed offsets only: Python never finds a time in a DST gap or fold equal to any time of another zone.
offsets = st.integers(-23 * 60 + 1, 23 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets)
json_leaves = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | text
json_values = st.recursive(
    json_leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
)
events = st.lists(
    st.builds(Event, run_ids, st.sampled_from(["log", "materialized", "failed"]), text, st.none() | names,
              st.sampled_from(["INFO", "ERROR"]), moments),
    max_size=3,
)  # fmt: skip
materializations = st.builds(
    MaterializationRecord,
    asset=names, run_id=run_ids, data_version=text, code_version=text,
    upstream_versions=st.dictionaries(names, text, max_size=3), location=text,
    rows=st.none() | st.integers(0, 2**62), schema=st.none() | st.lists(st.tuples(text, text), max_size=3).map(tuple),
    bytes=st.integers(0, 2**62), duration=st.floats(0, 1e6), metadata=st.dictionaries(text, json_values, max_size=3),
    partition=text, created_at=moments,
)  # fmt: skip
failures = st.builds(FailureRecord, names, run_ids, text, text, st.integers(1, 5), text, moments)
observations = st.builds(ObservationRecord, names, run_ids, text, text, created_at=moments)
runs = st.builds(RunRecord, run_ids, text, st.lists(names, max_size=2).map(tuple), st.just("running"), moments,
                 st.none(), st.none() | st.integers(1, 2**31))  # fmt: skip
calls = st.lists(
    st.one_of(
        st.tuples(st.just("begin_run"), runs),
        st.tuples(st.just("record_events"), events),
        st.tuples(st.just("record_results"), st.lists(materializations, max_size=2), st.just([]), events),
        st.tuples(st.just("record_results"), st.just([]), st.lists(failures, max_size=2), events),
        st.tuples(st.just("record_observations"), st.lists(observations, max_size=2)),
        st.tuples(st.just("end_run"), run_ids, st.sampled_from(["success", "failed"])),
    ),
    max_size=12,
)


def _replay(catalog: Any, sequence: list[tuple[Any, ...]], begun: set[str]) -> None:
    for method, *arguments in sequence:
        if method == "begin_run":
            begun.add(arguments[0].run_id)
        if method == "end_run" and arguments[0] not in begun:
            continue  # ending a run never begun is an error in both (KeyError / CatalogError)
        getattr(catalog, method)(*arguments)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=calls)
def test_any_sequence_of_calls_leaves_the_same_state_as_in_memory(
    tmp_path_factory: pytest.TempPathFactory, sequence: list[tuple[Any, ...]]
) -> None:
    memory = MemoryCatalog()
    folder: Path = tmp_path_factory.mktemp("random")
    with open_catalog(sqlite_url(folder / "catalog.db")) as sql:
        _replay(memory, sequence, set())
        _replay(sql, sequence, set())
        every = ["a", "b", "c", "pkg.d", "never"]
        assert sql.read_state(every) == memory.read_state(every)
        for run_id, recorded in memory.runs.items():
            stored = sql.find_run(run_id)
            assert (stored.status, stored.started_at, stored.selection) == (
                recorded.status, recorded.started_at, recorded.selection
            )  # fmt: skip
        for run_id in ("r1", "r2", "r3"):
            assert sql.run_events(run_id) == [e for e in memory.events if e.run_id == run_id]
