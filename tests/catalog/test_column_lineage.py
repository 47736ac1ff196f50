"""Column lineage in the catalog: stored per SQL asset with its cache key, its edges queryable, written only when
a key changed; and a version-1 catalog migrated to version 2 with its data intact."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from assets_core.lineage.sql import TableLineage
from catalog import SCHEMA_VERSION, SqlCatalog, open_catalog, sqlite_url
from catalog.transactions import CoreTransactions
from tests.catalog.conftest import COLUMN_EDGES_SQL, LINEAGE_SQL, T0, at, failure, materialization, observation, stored

V1_DUMP = Path(__file__).with_name("catalog_v1.sql")

ORDERS = TableLineage("orders", ("id", "amount"), {"id": ("raw.id",), "amount": ("raw.amount", "raw.fx")}, key="k1")
REVENUE = TableLineage("finance.revenue", ("day", "total", "n", "odd"),
                       {"day": ("orders.id",), "total": ("orders.amount",), "n": ()},
                       {"odd": "'odd' could come from more than one table"}, key="k2")
BROKEN = TableLineage("broken", None, problem="its SQL has no SELECT to analyse", key="k3")


def _sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def test_a_version_1_catalog_is_migrated_with_its_data_intact(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(V1_DUMP.read_text())  # the tables and rows the version-1 release wrote
    assert _sql(path, "SELECT value FROM catalog_meta") == [("1",)]

    with open_catalog(sqlite_url(path)) as catalog:
        state = catalog.read_state(["orders", "report", "raw"])
        assert state["orders"].materialization == materialization("orders", "r1")
        assert state["report"].failure == failure("report", "r1")
        assert state["raw"].observation == observation("raw", "r1")
        assert stored(path, "SELECT name, kind, upstream FROM asset ORDER BY name") == [
            ("orders", "sql", '["raw"]'), ("raw", "source", "[]"), ("report", "python", '["orders"]')]
        assert stored(path, LINEAGE_SQL) == [("orders", "report"), ("raw", "orders")]
        (run,) = catalog.list_runs()
        assert (run.run_id, run.status, run.started_at, run.ended_at) == ("r1", "failed", T0, at(5))
        assert (run.materialized, run.failed) == (1, 1)
        assert [e.kind for e in catalog.run_events("r1")] == ["materialized", "failed"]
        assert catalog.load_column_lineage() == {} and stored(path, COLUMN_EDGES_SQL) == []
        assert catalog.save_column_lineage({"orders": ORDERS})
        assert catalog.load_column_lineage() == {"orders": ORDERS}
    assert _sql(path, "SELECT value FROM catalog_meta") == [(str(SCHEMA_VERSION),)]


def test_lineages_round_trip_with_unknown_columns_and_problems(catalog: SqlCatalog) -> None:
    lineages = {"orders": ORDERS, "finance.revenue": REVENUE, "broken": BROKEN}
    assert catalog.save_column_lineage(lineages) is True
    loaded = catalog.load_column_lineage()
    assert loaded == lineages
    assert loaded["finance.revenue"].unknown == {"odd": "'odd' could come from more than one table"}
    assert loaded["broken"].columns is None and loaded["broken"].problem == BROKEN.problem


def test_one_row_per_direct_column_edge(catalog: SqlCatalog, catalog_url: str) -> None:
    catalog.save_column_lineage({"orders": ORDERS, "finance.revenue": REVENUE, "broken": BROKEN})
    assert stored(catalog_url, COLUMN_EDGES_SQL) == [
        ("finance.revenue", "day", "orders", "id"),
        ("finance.revenue", "total", "orders", "amount"),
        ("orders", "amount", "raw", "amount"),
        ("orders", "amount", "raw", "fx"),
        ("orders", "id", "raw", "id"),
    ]


def test_nothing_is_written_while_the_keys_are_the_same(catalog: SqlCatalog, catalog_url: str) -> None:
    assert catalog.save_column_lineage({"orders": ORDERS})
    # Mark the stored row behind the catalog's back: a write would replace it.
    marked = json.dumps({**ORDERS.to_json(), "problem": "marked"})
    stored(catalog_url, f"UPDATE column_lineage SET lineage = '{marked}'")
    recomputed = TableLineage("orders", ORDERS.columns, dict(ORDERS.direct), key="k1")  # equal keys, new object
    assert catalog.save_column_lineage({"orders": recomputed}) is False
    assert catalog.load_column_lineage()["orders"].problem == "marked"


def test_a_changed_key_replaces_every_lineage_and_edge(catalog: SqlCatalog, catalog_url: str) -> None:
    catalog.save_column_lineage({"orders": ORDERS, "finance.revenue": REVENUE})
    changed = TableLineage("orders", ("id",), {"id": ("raw.order_id",)}, key="k1-changed")
    assert catalog.save_column_lineage({"orders": changed}) is True
    assert catalog.load_column_lineage() == {"orders": changed}
    assert stored(catalog_url, COLUMN_EDGES_SQL) == [("orders", "id", "raw", "order_id")]
    assert catalog.save_column_lineage({}) is True
    assert catalog.load_column_lineage() == {} and stored(catalog_url, COLUMN_EDGES_SQL) == []
    assert catalog.save_column_lineage({}) is False


def test_column_lineage_survives_reopening(catalog_path: Path) -> None:
    with open_catalog(sqlite_url(catalog_path)) as first:
        first.save_column_lineage({"finance.revenue": REVENUE})
    with open_catalog(sqlite_url(catalog_path)) as second:
        assert second.load_column_lineage() == {"finance.revenue": REVENUE}
        assert second.save_column_lineage({"finance.revenue": REVENUE}) is False


def test_the_driver_and_core_paths_store_the_same_lineage(tmp_path: Path) -> None:
    lineages = {"orders": ORDERS, "finance.revenue": REVENUE, "broken": BROKEN}
    driver_path, core_path = tmp_path / "driver.db", tmp_path / "core.db"
    with open_catalog(sqlite_url(driver_path)) as on_driver, open_catalog(sqlite_url(core_path)) as on_core:
        on_core._transactions = CoreTransactions(on_core._engine)
        on_driver.save_column_lineage(lineages)
        on_core.save_column_lineage(lineages)
        assert on_core.load_column_lineage() == on_driver.load_column_lineage() == lineages
    for table in ("column_lineage", "column_edge"):
        statement = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert _sql(driver_path, statement) == _sql(core_path, statement) != []
