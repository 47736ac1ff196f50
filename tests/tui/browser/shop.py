"""A small shop project with a recorded past that shows every status: the fixture of the browser's tests.

``build(folder)`` writes the project, runs it three times with fixed run ids, edits a source file and fixes every
recorded time and duration, so that what the browser shows is the same on every machine and every run.
"""

from __future__ import annotations

import hashlib
import sqlite3
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import assets_core.running.execution
from assets_core.running.execution import RunSettings
from assets_core.application.workspace import Options, Workspace, open_workspace

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)  # the browser's clock in tests
START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)  # the first recorded moment

DEFS = '''
"""The shop: sources, staging, a SQL mart, reports."""

from pathlib import Path

import polars as pl

from assets_core.declaring.definitions import asset, source_asset
from assets_core.declaring.sql import sql_asset

FLAG = Path(__file__).parent / "fail.flag"

raw_orders = source_asset("raw_orders", "data/orders.csv", group="sources", description="Orders as exported.")
raw_customers = source_asset("raw_customers", "data/customers.csv", group="sources")


@asset(group="staging", tags=["pii"], owners=["ana@example.com"])
def customers(raw_customers: pl.DataFrame) -> pl.DataFrame:
    """Customers that have a name."""
    print(f"read {raw_customers.height} customers")
    return raw_customers.filter(pl.col("name").is_not_null())


@asset(group="staging", owners=["bo@example.com"])
def orders(raw_orders: pl.DataFrame) -> pl.DataFrame:
    """Orders with a positive amount."""
    return raw_orders.filter(pl.col("amount") > 0)


order_totals = sql_asset(
    "order_totals",
    "select o.customer_id, sum(o.amount) as total, count(*) as n from orders o group by o.customer_id",
    group="marts", description="Total and count of orders per customer.")


@asset(group="marts")
def revenue(order_totals: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Totals with the customer's name."""
    return order_totals.join(customers, left_on="customer_id", right_on="id")


@asset(group="marts")
def flaky(orders: pl.DataFrame) -> pl.DataFrame:
    """Fails while the flag file exists."""
    if FLAG.exists():
        raise RuntimeError("the flag file says fail")
    return orders.head(2)


@asset(group="reports")
def report(revenue: pl.DataFrame) -> dict:
    """How many customers bought something."""
    return {"customers": revenue.height}


@asset(group="reports")
def later(report: dict) -> dict:
    """Never materialized."""
    return report
'''

ORDERS = "id,customer_id,amount\n1,1,10.0\n2,1,5.5\n3,2,7.0\n4,3,-1.0\n"
MORE_ORDERS = ("id,customer_id,amount,note\n1,1,10.0,\n2,1,5.5,gift\n3,2,7.0,\n4,3,-1.0,refund\n5,2,3.0,\n"
               "6,3,12.0,\n")
CUSTOMERS = "id,name\n1,ana\n2,bo\n3,cy\n"


def write_project(root: Path) -> None:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "defs.py").write_text(textwrap.dedent(DEFS))
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    (root / "data" / "orders.csv").write_text(ORDERS)
    (root / "data" / "customers.csv").write_text(CUSTOMERS)


def open_shop(root: Path) -> Workspace:
    return open_workspace(Options(project=str(root)))


@contextmanager
def numbered_runs(start: int = 1) -> Iterator[None]:
    """Run ids run0001, run0002, ... instead of random ones."""
    counter = iter(range(start, 10_000))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assets_core.running.execution, "new_run_id", lambda: f"run{next(counter):04d}")
        yield


def build(root: Path) -> None:
    """The shop with three runs behind it: every status shows (fresh, stale, missing, failed, source)."""
    write_project(root)
    made = ["orders", "customers", "order_totals", "revenue", "flaky", "report"]  # all but 'later'
    runs = [(made, False), (made, False), (["flaky"], True)]
    with numbered_runs():
        for step, (selection, force) in enumerate(runs):
            if step == 1:
                (root / "data" / "orders.csv").write_text(MORE_ORDERS)
            if step == 2:
                (root / "fail.flag").write_text("fail")
            workspace = open_shop(root)
            workspace.save_definitions()
            workspace.project.materialize(selection, RunSettings(workers=1, force=force, selection=tuple(selection)))
            workspace.catalog.close()
    (root / "data" / "customers.csv").write_text(CUSTOMERS + "4,dee\n")
    fix_times(root / ".assets" / "catalog.db")
    fix_versions(root / ".assets")


def fix_times(path: Path) -> None:
    """Every recorded time a minute after the one before (from START), every duration fixed."""
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    with sqlite3.connect(path) as db:
        runs = [row[0] for row in db.execute("select run_id from run order by run_id")]
        for index, run_id in enumerate(runs):
            began = START + timedelta(hours=index)
            db.execute("update run set started_at = ?, ended_at = ?, heartbeat_at = ?, pid = 1 where run_id = ?",
                       (began.strftime(stamp), (began + timedelta(seconds=42)).strftime(stamp),
                        began.strftime(stamp), run_id))
            for table in ("materialization", "failure", "observation", "event"):
                ids = [row[0] for row in db.execute(f"select id from {table} where run_id = ? order by id",
                                                     (run_id,))]
                for position, row_id in enumerate(ids):
                    moment = (began + timedelta(seconds=position + 1)).strftime(stamp)
                    db.execute(f"update {table} set created_at = ? where id = ?", (moment, row_id))
        db.execute("update materialization set duration = 0.125")
    with sqlite3.connect(path) as db:
        db.execute("pragma wal_checkpoint(truncate)")


def fix_versions(home: Path) -> None:
    """Data versions (hashes of Parquet bytes, which differ between polars releases) replaced by fixed ones, and
    every size fixed. The stored files keep their names: a read checks that a file's bytes hash to its name."""
    with sqlite3.connect(home / "catalog.db") as db:
        rows = db.execute("select id, data_version from materialization order by id").fetchall()
        renamed: dict[str, str] = {}
        for number, (row_id, old) in enumerate(rows, 1):
            new = renamed.setdefault(old, hashlib.sha256(f"shop {number}".encode()).hexdigest()[:len(old)])
            db.execute("update materialization set data_version = ?, bytes = 1024 where id = ?", (new, row_id))
        for row_id, upstream in db.execute("select id, upstream_versions from materialization").fetchall():
            for old, new in renamed.items():
                upstream = upstream.replace(old, new)
            db.execute("update materialization set upstream_versions = ? where id = ?", (upstream, row_id))
    with sqlite3.connect(home / "catalog.db") as db:
        db.execute("pragma wal_checkpoint(truncate)")
