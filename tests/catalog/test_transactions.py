"""Writes through the SQLite driver store exactly what writes through SQLAlchemy Core store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from assets_core.errors import CatalogError
from assets_core.planning.state import Event
from catalog import DefinitionView, SqlCatalog, open_catalog, sqlite_url
from catalog.transactions import MAX_PARAMETERS, CoreTransactions, DriverTransactions
from tests.catalog.conftest import (
    at,
    event,
    failure,
    materialization,
    observation,
    record_failure,
    record_materialization,
    run,
)

NOW_COLUMNS = {"run": ("heartbeat_at", "ended_at"), "asset": ("updated_at",)}  # set from the clock


def _record_everything(catalog: SqlCatalog) -> None:
    catalog.begin_run(run("r1", pid=42, selection=("a", "b")))
    catalog.record_events([event("r1", "planned"), event("r1", "log", "a", level="DEBUG", message="héllo ✓")])
    record_materialization(catalog, 
        materialization("a", metadata={"n": 1, "nested": [1.5, None, "x"]}, upstream_versions={"raw": "r1"},
                        partition="2024", created_at=at(1.000001)),
        [event("r1", "materialized", "a")],
    )  # fmt: skip
    record_materialization(catalog, materialization("b", schema=None, rows=None), [])
    record_failure(catalog, failure("a", attempt=2), [event("r1", "failed", "a", level="ERROR")])
    catalog.record_observations([observation("raw")])
    record_materialization(catalog, materialization("a", version="v2"), [])
    catalog.save_definitions([DefinitionView("a", "python", upstream=("raw",), tags=("t",), file="defs.py", line=3)])
    # One batch bigger than a statement's parameters allow, with an asset that both succeeds and fails in it.
    many = [materialization(f"m{index}", version=f"v{index}") for index in range(BATCH)]
    catalog.acquire_leases("r1", [record.asset for record in many])
    catalog.record_results(many, [failure("m7", attempt=3)],
                           [event("r1", "materialized", record.asset) for record in many])
    catalog.end_run("r1", "success")


BATCH = MAX_PARAMETERS // 10 + 7  # materializations in one batch: more than one statement can hold


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {}
        for table in tables:
            columns = [c[1] for c in connection.execute(f"PRAGMA table_info({table})")]
            kept = [c for c in columns if c not in NOW_COLUMNS.get(table, ())]
            selected = ", ".join(f'"{column}"' for column in kept)
            rows[table] = connection.execute(f'SELECT {selected} FROM "{table}" ORDER BY 1, 2').fetchall()
        return rows


def test_the_driver_and_core_paths_store_the_same_rows(tmp_path: Path) -> None:
    driver_path, core_path = tmp_path / "driver.db", tmp_path / "core.db"
    with open_catalog(sqlite_url(driver_path)) as on_driver, open_catalog(sqlite_url(core_path)) as on_core:
        assert isinstance(on_driver._transactions, DriverTransactions)
        on_core._transactions = CoreTransactions(on_core._engine)
        _record_everything(on_driver)
        _record_everything(on_core)
        names = ["a", "b", "raw", *(f"m{index}" for index in range(BATCH))]
        assert on_core.read_state(names) == on_driver.read_state(names)
        assert on_core.run_events("r1") == on_driver.run_events("r1")
        state = on_driver.read_state(names)
        assert state["m3"].materialization.data_version == "v3"  # each pointer found its own record
        assert state[f"m{BATCH - 1}"].materialization.data_version == f"v{BATCH - 1}"
        assert state["m7"].failure is not None and state["m3"].failure is None
    driver_rows, core_rows = _rows(driver_path), _rows(core_path)
    assert driver_rows["materialization"] and driver_rows["event"]
    assert driver_rows["lease"] == []  # the batch released the run's leases
    assert driver_rows == core_rows


def test_a_failed_write_leaves_nothing_behind(catalog: SqlCatalog, catalog_path: Path) -> None:
    record_materialization(catalog, materialization("a"), [])
    bad_event = Event("r1", "materialized", None, "b")  # type: ignore[arg-type]  # NOT NULL: all must roll back
    with pytest.raises(CatalogError, match="NOT NULL|not-null"):
        record_materialization(catalog, materialization("b"), [bad_event])
    assert list(catalog.read_state(["a", "b"])) == ["a"]
    assert catalog.asset_history("b") == []
    record_materialization(catalog, materialization("c"), [])  # the catalog is still usable
    assert list(catalog.read_state(["a", "b", "c"])) == ["a", "c"]


def test_releasing_leases_finds_each_lease_by_its_asset(tmp_path: Path) -> None:
    """Every lease of a run has the same run_id: a release found through that column's index would read all of
    the run's leases for each batch of results (quadratic in the run's assets)."""
    with open_catalog(sqlite_url(tmp_path / "catalog.db")) as catalog:
        assert isinstance(catalog, SqlCatalog) and isinstance(catalog._transactions, DriverTransactions)
        many = [materialization(f"m{index}") for index in range(50)]
        catalog.begin_run(run("r1", selection=tuple(record.asset for record in many)))
        catalog.acquire_leases("r1", [record.asset for record in many])
        driver = catalog._transactions._driver()
        statements: list[str] = []
        driver.set_trace_callback(statements.append)
        catalog.record_results(many[:10], [], [])
        driver.set_trace_callback(None)
        deletes = [statement for statement in statements if statement.startswith('DELETE FROM "lease"')]
        assert len(deletes) == 1
        plan = " ".join(str(row[3]) for row in driver.execute(f"EXPLAIN QUERY PLAN {deletes[0]}"))
        assert "sqlite_autoindex_lease_1 (asset=?)" in plan and "run_id" not in plan
        assert sorted(catalog.acquire_leases("r2", [record.asset for record in many])) == \
            [record.asset for record in many[10:]]  # the first ten released, the others still held by r1
