"""The states a quick read of the catalog hands over keep each materialization as its row until it is asked for:
they read as the records would, and staleness judged from their rows is staleness judged from the records."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from assets_core.application.project import Project
from assets_core.declaring.checks import Freshness
from assets_core.declaring.definitions import asset, source_asset
from assets_core.declaring.partitions import StaticPartitions
from assets_core.errors import CatalogError
from assets_core.planning import plan
from assets_core.planning.evidence import evidence_of, locations_of
from assets_core.planning.plan import assess
from assets_core.planning.state import AssetState
from catalog import SqlCatalog, open_catalog, row_states, sqlite_url
from catalog.decode import failure_from, materialization_from, observation_from
from catalog.quick import QuickCatalog
from catalog.row_states import RowStates
from tests.catalog.conftest import failure, materialization, observation, record_failure, record_materialization, run

STORED_AT = "2024-05-01 12:30:00.000250"
MADE = [  # a node's row: its name, then the materialization's fields as the catalog keeps them
    ("a", "a", "r1", "d1", "c1", '{"raw":"v1","b":"v2"}', "a@d1.parquet", 3, '[["id","Int64"]]', 10, 0.5,
     '{"n":1}', "", STORED_AT),
    ("b", "b", "r2", "d2", "c2", "{}", "b@d2.json", None, None, 0, 0.0, "{}", "", STORED_AT),
    ("p[eu]", "p", "r2", "d3", "c3", '{"a":"d1"}', "p@d3.parquet", 1, None, 1, 1.0, "{}", "eu", STORED_AT),
    ("other", "other", "r2", "d4", "c4", "{}", "other@d4.json", None, None, 0, 0.0, "{}", "", STORED_AT),
]
FAILED = [(node, node, "r3", "boom", "tb", 1, "", STORED_AT) for node in ("b", "f", "other")]
OBSERVED = [("raw", "raw", "r1", "o1", "f1", "", STORED_AT)]
ASKED = ["raw", "nothing", "f", "b", "p[eu]", "a"]  # not "other": its rows are left out


def _states() -> RowStates:
    return RowStates(ASKED, MADE, FAILED, OBSERVED)


def test_they_read_as_the_records_in_the_order_asked() -> None:
    states = _states()
    made = {row[0]: materialization_from(row[1:]) for row in MADE}
    failed = {row[0]: failure_from(row[1:]) for row in FAILED}
    expected = {"raw": AssetState(observation=observation_from(OBSERVED[0][1:])), "f": AssetState(failure=failed["f"]),
                "b": AssetState(made["b"], failed["b"]), "p[eu]": AssetState(made["p[eu]"]), "a": AssetState(made["a"])}
    assert list(states) == list(expected) and len(states) == 5 and dict(states) == expected and states == expected
    assert all(type(state) is AssetState for state in states.values())
    assert "nothing" not in states and states.get("nothing") is None and states.get("nothing", 1) == 1
    assert "other" not in states and states.get("other") is None  # a row of a node not asked for
    assert states.get("a") == expected["a"] and "f" in states
    with pytest.raises(KeyError):
        states["nothing"]
    with pytest.raises(KeyError):
        states["other"]
    assert RowStates([], MADE, FAILED, OBSERVED) == {} and RowStates(["a"], [], [], []) == {}
    twice = RowStates(["a", "b", "a"], MADE, FAILED, OBSERVED)
    assert list(twice) == ["a", "b"] and len(twice) == 2


def test_the_evidence_and_locations_are_the_records_own() -> None:
    states = _states()
    from_records = evidence_of(dict(states))
    assert [states.evidence(node) for node in [*ASKED, "other"]] == [from_records(node) for node in [*ASKED, "other"]]
    assert states.evidence("a") == ("c1", "d1", {"raw": "v1", "b": "v2"})
    assert states.evidence("b") is None and states.evidence("f") is None  # last attempts failed
    assert states.evidence("raw") is None and states.evidence("nothing") is None  # never materialized
    assert states.evidence("other") is None  # not asked for
    assert states.locations() == locations_of(dict(states)) == {
        "a": "a@d1.parquet", "b": "b@d2.json", "p[eu]": "p@d3.parquet"}


def test_a_record_is_decoded_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[Any] = []

    def counted(values: Any) -> Any:
        decoded.append(values[0])
        return materialization_from(values)

    monkeypatch.setattr(row_states, "materialization_from", counted)
    states = _states()
    [states.evidence(node) for node in ASKED]
    assert states.locations() and list(states) and len(states) == 5 and "a" in states and decoded == []
    first = states["a"]
    assert states["a"] is first and states.get("a") is first and decoded == ["a"]  # once
    assert dict(states) and sorted(decoded) == ["a", "b", "p"]


def test_a_row_that_cannot_be_decoded_is_a_catalog_error_naming_its_asset() -> None:
    damaged = [(*MADE[0][:-1], "not a time")]
    states = RowStates(["a"], damaged, [], [])
    assert states.evidence("a") == ("c1", "d1", {"raw": "v1", "b": "v2"})  # what it compares reads fine
    with pytest.raises(CatalogError, match="'a' cannot be read .*damaged"):
        states["a"]


def test_a_quick_read_hands_over_rows(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "catalog.db")
    with SqlCatalog(url) as catalog:
        catalog.begin_run(run("r1"))
        record_materialization(catalog, materialization("a", upstream_versions={"raw": "o1"}))
        record_materialization(catalog, materialization("b", version="v2", upstream_versions={"a": "v1"}))
        record_failure(catalog, failure("b"))
        catalog.record_observations([observation("raw")])
    every = ["raw", "a", "b", "never"]
    with open_catalog(url) as quick, SqlCatalog(url) as full:
        assert isinstance(quick, QuickCatalog)
        quick.read_ahead(least=0)  # the first read takes a helper's rows, the others read the catalog
        assert quick._ahead is not None
        for names in (every, ["a", "never"], ["a"], ["never"]):  # ["a", "never"]: one pass over the table, filtered
            found, expected = quick.read_state(names), full.read_state(names)
            assert isinstance(found, RowStates) and found == expected and list(found) == list(expected)
            assert [found.evidence(node) for node in every] == [evidence_of(expected)(node) for node in every]
            assert found.locations() == locations_of(expected)
        assert quick.read_state(every).locations() == {"a": "a/v1.parquet", "b": "b/v2.parquet"}
        assert quick.read_state(["a", "never"]).locations() == {"a": "a/v1.parquet"}


def _definitions(root: Path, changed: bool = False) -> list[Any]:
    """A source, assets reading whole assets (one with a freshness policy), a partitioned asset and an asset
    reading all its partitions; while the file 'fail' is there, ``b`` and the partition ``us`` fail; ``changed``:
    ``merged``'s code differs."""
    raw = source_asset("raw", "raw.csv")

    @asset
    def a(raw: pl.DataFrame) -> pl.DataFrame:
        return raw

    @asset
    def b(a: pl.DataFrame) -> pl.DataFrame:
        if (root / "fail").exists():
            raise RuntimeError("b fails while the file 'fail' is there")
        return a

    @asset(partitions=StaticPartitions(["eu", "us"]))
    def regional(context: Any, a: pl.DataFrame) -> pl.DataFrame:
        if context.partition == "us" and (root / "fail").exists():
            raise RuntimeError("us fails while the file 'fail' is there")
        return a.with_columns(region=pl.lit(context.partition))

    if changed:
        @asset
        def merged(regional: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:  # reads every partition: not plain
            return regional.select("k")
    else:
        @asset
        def merged(regional: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
            return regional

    return [raw, a, b, regional, merged, Freshness("b", timedelta(days=1))]


def test_staleness_from_rows_is_staleness_from_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every status (reasons and all) is the same whether judged from the rows, from the decoded records, or the
    long way without the fast paths, as files change, code changes, assets run, fail and lose stored values."""
    url = sqlite_url(tmp_path / ".assets" / "catalog.db")
    (tmp_path / ".assets").mkdir()
    SqlCatalog(url).close()  # made once: a quick read opens only a catalog that exists
    definitions = _definitions(tmp_path)

    def statuses() -> dict[str, str]:
        with open_catalog(url) as catalog:
            assert isinstance(catalog, QuickCatalog)
            snapshot = Project(definitions, root=tmp_path, catalog=catalog).snapshot()
            assert isinstance(snapshot.state, RowStates)
            from_rows = {node: snapshot.statuses[node] for node in snapshot.nodes.order()}
            assert assess(snapshot.nodes, dict(snapshot.state), snapshot.versions) == from_rows
            with monkeypatch.context() as patched:
                patched.setattr(plan, "_fresh_as_recorded", lambda *args: False)
                patched.setattr(plan, "_fresh_as_read", lambda *args: False)
                assert assess(snapshot.nodes, snapshot.state, snapshot.versions) == from_rows
            return {node: status.status for node, status in from_rows.items()}

    def materialize(*selection: str) -> None:
        with open_catalog(url) as catalog:
            Project(definitions, root=tmp_path, catalog=catalog).materialize(list(selection))

    def stored(node: str) -> str:
        with open_catalog(url) as catalog:
            return catalog.read_state([node])[node].materialization.location

    storage = tmp_path / ".assets" / "storage"
    (tmp_path / "raw.csv").write_text("k\n1\n2\n")
    seen = [statuses()]
    materialize()
    seen.append(statuses())
    (tmp_path / "raw.csv").write_text("k\n1\n3\n")
    seen.append(statuses())
    materialize("a")
    seen.append(statuses())
    (tmp_path / "fail").touch()
    materialize()
    seen.append(statuses())
    (tmp_path / "fail").unlink()
    materialize()
    seen.append(statuses())
    definitions = _definitions(tmp_path, changed=True)
    seen.append(statuses())
    materialize()
    (storage / stored("regional[eu]")).unlink()  # one partition's value is lost
    seen.append(statuses())
    (storage / stored("a")).unlink()  # and a whole asset's
    seen.append(statuses())
    assert seen[0]["a"] == "missing" and set(seen[1].values()) == {"fresh"}
    assert seen[2]["a"] == "stale" and seen[3]["a"] == "fresh" and seen[3]["regional[eu]"] == "stale"
    assert seen[4]["b"] == "failed" and seen[4]["regional[us]"] == "failed" and seen[4]["regional[eu]"] == "fresh"
    assert seen[4]["merged"] == "stale" and set(seen[5].values()) == {"fresh"}
    assert seen[6]["merged"] == "stale" and seen[6]["a"] == "fresh"  # merged's code changed
    assert seen[7]["regional[eu]"] == "missing" and seen[7]["regional[us]"] == "fresh" and seen[7]["merged"] == "stale"
    assert seen[8]["a"] == "missing" and seen[8]["b"] == "stale"
