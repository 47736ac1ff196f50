"""Fixtures of the catalog tests: real SQLite files in temporary folders, and records built with few words."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from assets_core.planning.state import Event, FailureRecord, MaterializationRecord, ObservationRecord, RunRecord
from catalog import SqlCatalog, open_catalog, sqlite_url

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    """A fixed moment, ``seconds`` after T0: tests never depend on the clock."""
    return T0 + timedelta(seconds=seconds)


def run(run_id: str, started: float = 0, status: str = "running", **fields: Any) -> RunRecord:
    return RunRecord(run_id, fields.pop("trigger", "manual"), fields.pop("selection", ()), status, at(started),
                     **fields)


def materialization(asset: str, run_id: str = "r1", version: str = "v1", **fields: Any) -> MaterializationRecord:
    values: dict[str, Any] = {
        "code_version": "c1", "upstream_versions": {}, "location": f"{asset}/{version}.parquet", "rows": 3,
        "schema": (("id", "Int64"),), "bytes": 100, "duration": 0.25, "created_at": T0,
    }
    values.update(fields)
    return MaterializationRecord(asset=asset, run_id=run_id, data_version=version, **values)


def failure(asset: str, run_id: str = "r1", error: str = "boom", **fields: Any) -> FailureRecord:
    fields.setdefault("created_at", T0)
    return FailureRecord(asset, run_id, error, fields.pop("traceback", "Traceback: boom"), **fields)


def observation(asset: str, run_id: str = "r1", version: str = "o1") -> ObservationRecord:
    return ObservationRecord(asset, run_id, version, f"fingerprint-{version}", created_at=T0)


def event(run_id: str, kind: str, asset: str | None = None, level: str = "INFO", message: str = "") -> Event:
    return Event(run_id, kind, message or f"{kind} {asset or ''}".strip(), asset, level, created_at=T0)


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "catalog.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, catalog_path: Path) -> str:
    """The URL of a new catalog: a SQLite file, and a database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return sqlite_url(catalog_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[SqlCatalog]:
    with open_catalog(catalog_url) as opened:
        assert isinstance(opened, SqlCatalog) or "sqlite" in catalog_url
        yield opened  # type: ignore[misc]


def record_materialization(catalog: Any, record: MaterializationRecord, events: Sequence[Event] = ()) -> None:
    """One materialization and its events, in one transaction (as a run records a batch of one)."""
    catalog.record_results([record], [], events)


def record_failure(catalog: Any, record: FailureRecord, events: Sequence[Event] = ()) -> None:
    """One failed attempt and its events, in one transaction."""
    catalog.record_results([], [record], events)


NAMES_SQL = "SELECT name FROM asset ORDER BY name"
LINEAGE_SQL = "SELECT upstream, downstream FROM lineage_edge ORDER BY upstream, downstream"
COLUMN_EDGES_SQL = 'SELECT asset, "column", upstream_asset, upstream_column FROM column_edge ORDER BY 1, 2, 3, 4'


def stored(where: Path | str, statement: str) -> list[tuple[Any, ...]]:
    """Rows the catalog holds, read as any other tool reads them (sqlite3 for a file, else SQLAlchemy on its URL):
    the definitions, asset lineage and column edges are stored for such readers (the framework itself never reads
    them back). A statement that writes is committed."""
    if isinstance(where, Path) or where.startswith("sqlite"):
        path = where if isinstance(where, Path) else Path(where.split("///", 1)[1])
        with closing(sqlite3.connect(path)) as connection, connection:
            return connection.execute(statement).fetchall()
    from sqlalchemy import create_engine, text

    engine = create_engine(where)
    try:
        with engine.begin() as connection:
            found = connection.execute(text(statement))
            return [tuple(row) for row in found] if found.returns_rows else []
    finally:
        engine.dispose()