"""The customer analytics example, run end to end through the real `assets` command.

Nothing is written into the repository: every run uses a temporary home, and the test that edits data works
on a copy of the example. The report is checked against numbers computed here from the raw files alone.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.commands import in_process

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "customer_analytics"
DATA = EXAMPLE / "data"
CRM_CHAIN = ["crm_customers", "crm_customers_clean", "customers", "dim_customers", "daily_report"]
PRODUCT_CHAIN = ["app_users", "orders", "app_users_clean", "customer_value"]


@pytest.fixture(autouse=True, scope="module")
def example_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The product database is generated, not shipped: make it with make_data.py (as the README says) and
    rename it into place, so that parallel test workers never see a half-written file."""
    if (DATA / "product.db").exists():
        return
    made = tmp_path_factory.mktemp("example-data")
    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), str(made)], check=True)
    temporary = DATA / f".product-{os.getpid()}.db"
    shutil.copyfile(made / "product.db", temporary)
    os.replace(temporary, DATA / "product.db")


def assets(*args: str, home: Path, project: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    """Run `assets ARGS --project PROJECT --home HOME` in this process (through ``main``, from HOME), as the
    command does: its exit code and what it printed to stdout and stderr."""
    return in_process(*args, "--project", str(project), "--home", str(home), cwd=home,
                      unset=("ASSETS_HOME", "ASSETS_CATALOG"), no_bytecode=True)  # no __pycache__ in the example


def assets_json(*args: str, home: Path, project: Path = EXAMPLE) -> Any:
    done = assets(*args, "--json", home=home, project=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class FirstRun(NamedTuple):
    home: Path
    result: dict[str, Any]  # what `assets materialize --json` printed


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """The example materialized once, into a fresh home."""
    home = tmp_path_factory.mktemp("home")
    return FirstRun(home, assets_json("materialize", home=home))


@pytest.fixture
def home(first_run: FirstRun) -> Path:
    return first_run.home


def test_the_first_run_materializes_every_asset(first_run: FirstRun) -> None:
    result = first_run.result
    python_assets = {a["asset"] for a in assets_json("list", home=first_run.home) if a["kind"] == "python"}
    assert result["status"] == "success"
    assert set(result["materialized"]) == python_assets == set(CRM_CHAIN + PRODUCT_CHAIN)


def test_every_asset_is_fresh_after_a_run(home: Path) -> None:
    statuses = {s["asset"]: s["status"] for s in assets_json("status", home=home)}
    assert len(statuses) == 13
    assert set(statuses.values()) == {"fresh"}


def test_a_second_run_materializes_nothing(home: Path) -> None:
    result = assets_json("materialize", home=home)
    assert result["status"] == "success"
    assert result["materialized"] == [] and result["outcomes"] == []


def test_the_report_holds_what_the_raw_data_implies(home: Path) -> None:
    shown = assets_json("show", "daily_report", "--head", "1", home=home)
    report, metadata, expected = shown["head"], shown["latest"]["metadata"], expected_report(DATA)
    assert report["customers"] == expected["customers"]
    assert report["customers_by_country"] == expected["customers_by_country"]
    assert report["customers_by_system"] == expected["customers_by_system"]
    assert report["customers_without_city"] == expected["customers_without_city"]
    assert report["rows_removed"] == expected["rows_removed"]
    assert report["as_of"] == expected["as_of"]
    top = [(c["email"], c["lifetime_value"]) for c in report["top_customers"]]
    assert top == [(email, pytest.approx(value)) for email, value in expected["top_customers"]]
    assert metadata["customers"] == expected["customers"]
    assert metadata["rows_removed"] == sum(sum(c.values()) for c in expected["rows_removed"].values())
    assert metadata["top_customer"] == expected["top_customers"][0][0]


def test_the_warehouse_table_has_one_row_per_customer(home: Path) -> None:
    shown = assets_json("show", "dim_customers", "--head", "3", home=home)
    assert shown["latest"]["rows"] == expected_report(DATA)["customers"]
    emails = [row["email"] for row in shown["head"]]
    assert emails == sorted(emails)


def test_editing_the_crm_export_makes_only_the_crm_chain_stale(tmp_path: Path) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".assets", "__pycache__"))
    home.mkdir()
    assert assets("materialize", home=home, project=project).returncode == 0
    export = project / "data" / "crm_customers.csv"
    rows = [list(row) for row in read_csv(export, header=False)]
    rows[1][1] += " Jr"  # a new name for the first customer
    with open(export, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)

    statuses = {s["asset"]: s for s in assets_json("status", home=home, project=project)}
    kinds = {name: {r["kind"] for r in s["reasons"]} for name, s in statuses.items()}
    assert statuses["crm_export"]["status"] == "stale" and kinds["crm_export"] == {"source_changed"}
    assert "upstream_changed" in kinds["crm_customers"]
    assert all(statuses[name]["status"] == "stale" for name in CRM_CHAIN)
    assert all(statuses[name]["status"] == "fresh" for name in ["product_db", *PRODUCT_CHAIN])


def test_make_data_writes_the_shipped_files_again(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    shipped = sorted(p.name for p in DATA.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == shipped
    for name in shipped:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), f"{name} differs"


# The report computed from the raw files with the standard library only: an independent second opinion.

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def expected_report(data: Path) -> dict[str, Any]:
    countries = {row["code"]: row["name"] for row in read_csv(data / "countries.csv")}
    lookup = {code.lower(): code for code in countries} | {name.lower(): code for code, name in countries.items()}
    places = {(row["country_code"], row["postal_code"]) for row in read_csv(data / "postal_codes.csv")}
    crm_rows = read_csv(data / "crm_customers.csv")
    crm, crm_removed = keep_usable([(r["E-mail"], r["Country"], r["Postal Code"]) for r in crm_rows], lookup)
    with closing(sqlite3.connect(f"{(data / 'product.db').as_uri()}?mode=ro", uri=True)) as db:
        users = db.execute("SELECT email, country, NULL FROM users ORDER BY user_id").fetchall()
        orders = db.execute("SELECT u.email, o.amount_cents, o.ordered_at FROM orders o JOIN users u "
                            "USING (user_id) WHERE o.status = 'paid'").fetchall()
    app, app_removed = keep_usable(users, lookup)
    merged = {**app, **crm}  # the CRM wins where both know a customer
    value: Counter[str] = Counter()
    for email, cents, _ in orders:
        value[normal(email).lower()] += cents
    top = sorted(merged, key=lambda email: (-value[email], email))[:5]
    return {
        "customers": len(merged),
        "customers_by_country": dict(Counter(countries[code] for code, _ in merged.values())),
        "customers_by_system": {"both": len(crm.keys() & app.keys()), "crm_only": len(crm.keys() - app.keys()),
                                "product_only": len(app.keys() - crm.keys())},
        "customers_without_city": sum((code, postal) not in places for code, postal in merged.values()),
        "rows_removed": {"crm": crm_removed, "product": app_removed},
        "as_of": max(at[:10] for email, _, at in orders if normal(email).lower() in merged),
        "top_customers": [(email, value[email] / 100) for email in top],
    }


def keep_usable(rows: list[tuple[str | None, str | None, str | None]],
                lookup: dict[str, str]) -> tuple[dict[str, tuple[str, str]], dict[str, int]]:
    """email -> (country code, postal code) of the rows kept, and how many rows each rule removed."""
    kept: dict[str, tuple[str, str]] = {}
    removed = dict.fromkeys(["missing_email", "invalid_email", "unknown_country", "duplicate_email"], 0)
    for raw_email, raw_country, raw_postal in rows:
        email, country = normal(raw_email).lower(), lookup.get(normal(raw_country).lower())
        if not email:
            removed["missing_email"] += 1
        elif not EMAIL.fullmatch(email):
            removed["invalid_email"] += 1
        elif country is None:
            removed["unknown_country"] += 1
        elif email in kept:
            removed["duplicate_email"] += 1
        else:
            kept[email] = (country, normal(raw_postal).upper())
    return kept, removed


def normal(text: str | None) -> str:
    return " ".join((text or "").split())


def read_csv(path: Path, header: bool = True) -> list[Any]:
    """The rows of a CSV file: dicts by column name, or lists with ``header=False``."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle) if header else csv.reader(handle))


def test_the_python_script_runs_the_pipeline_into_the_commands_records(tmp_path):
    """examples/customer_analytics/run_from_python.py: materialize([...]) from a script, seen by `assets runs`."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("ASSETS_HOME", "ASSETS_CATALOG")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    script = [sys.executable, str(EXAMPLE / "run_from_python.py"), str(home)]
    first = subprocess.run(script, capture_output=True, text=True, env=env, cwd=EXAMPLE, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "success; materialized 9, skipped 0, failed 0" in first.stdout and "not fresh: none" in first.stdout
    again = subprocess.run(script, capture_output=True, text=True, env=env, cwd=EXAMPLE, timeout=120)
    assert "nothing to do" in again.stdout
    runs = assets_json("runs", home=home)
    assert [(run["trigger"], run["selection"], run["materialized"]) for run in runs] == [
        ("python", ["+daily_report"], 9)]


def test_the_python_assets_column_lineage_traces_lifetime_value_to_the_orders_table(home: Path) -> None:
    """dim_customers.lifetime_value goes back through two Python assets (traced on empty frames of their
    upstreams' stored types) to the orders table, which reads a SQLite file and so says why it stops there."""
    found = assets_json("lineage", "dim_customers.lifetime_value", home=home)
    columns = {name: entry.get("columns", {}) for name, entry in found["assets"].items()}
    assert columns["dim_customers"]["lifetime_value"] == ["customers.lifetime_value"]
    assert columns["customers"]["lifetime_value"] == ["customer_value.lifetime_value"]
    assert columns["customer_value"]["lifetime_value"] == ["orders.amount_cents"]
    why = dict((entry["column"], entry["why"]) for entry in found["unknown"])
    assert "upstream 'product_db' has no known schema" in why["orders.amount_cents"]
    email = assets_json("lineage", "customer_value.email", home=home)
    assert email["assets"]["customer_value"]["columns"]["email"] == ["orders.email"]
