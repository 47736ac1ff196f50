"""`assets lineage` as a user drives it: asset and column lineage as text and JSON, depth limits, unknown lineage
shown as unknown, the catalog as the lineage cache, and errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tui.cli.main import main

ACCEPTANCE = Path(__file__).resolve().parents[4] / "shared" / "acceptance"
JAFFLE = ACCEPTANCE / "jaffle_shop"

PYPROJECT = '[tool.assets]\nfile = "defs.py"\nsql_folders = ["models"]\nsource_folders = ["seeds"]\n'
DEFS = """
import polars as pl
from assets_core.declaring.definitions import asset

@asset(group="python")
def scores(revenue: pl.DataFrame) -> pl.DataFrame:
    return revenue.select("name", (pl.col("total") > 10).alias("score"))
"""
STG_ORDERS = "select id as order_id, customer_id, amount from raw_orders\n"
REVENUE = ("select c.name, sum(o.amount) as total, count(*) as orders\n"
           "from stg_orders o join raw_customers c on o.customer_id = c.id group by c.name\n")
# 'score' is unqualified over two tables, and the Python asset 'scores' has no known columns until materialized.
SCORED = "select s.name, score, r.total from scores s join revenue r on s.name = r.name\n"


@pytest.fixture
def small(folder):
    """raw_orders -> stg_orders -> revenue <- raw_customers; revenue -> scores (Python) -> scored <- revenue."""
    folder.write("pyproject.toml", PYPROJECT)
    folder.write("defs.py", DEFS)
    folder.write("seeds/raw_orders.csv", "id,customer_id,amount\n1,1,10\n2,1,5\n3,2,7\n")
    folder.write("seeds/raw_customers.csv", "id,name,country\n1,ana,PT\n2,bo,SE\n")
    folder.write("models/staging/stg_orders.sql", STG_ORDERS)
    folder.write("models/marts/revenue.sql", REVENUE)
    folder.write("models/marts/scored.sql", SCORED)
    return folder.root


@pytest.fixture
def jaffle(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.assets]\nsql_folders = ["{JAFFLE / "models"}"]\nsource_folders = ["{JAFFLE / "seeds"}"]\n')
    return tmp_path


def run(capsys, root: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--project", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


def lineage_json(capsys, root: Path, *argv: str) -> dict:
    code, out, err = run(capsys, root, "lineage", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def stored(root: Path, statement: str) -> list[tuple]:
    with closing(sqlite3.connect(root / ".assets" / "catalog.db")) as connection:
        return connection.execute(statement).fetchall()


def test_the_whole_graph_as_json(small, capsys):
    result = lineage_json(capsys, small)
    assert list(result) == ["assets"]
    assets = result["assets"]
    assert list(assets) == ["raw_customers", "raw_orders", "stg_orders", "revenue", "scores", "scored"]
    assert assets["revenue"] == {"kind": "sql", "group": "marts", "status": "missing",
                                 "upstream": ["stg_orders", "raw_customers"]}
    assert assets["scored"]["upstream"] == ["scores", "revenue"] and assets["raw_orders"]["upstream"] == []
    assert all("columns" not in entry for entry in assets.values())


def test_columns_say_where_each_comes_from_and_what_is_unknown(small, capsys):
    assets = lineage_json(capsys, small, "--columns")["assets"]
    assert assets["raw_orders"]["columns"] == {"id": [], "customer_id": [], "amount": []}  # origins
    assert assets["stg_orders"]["columns"] == {"order_id": ["raw_orders.id"],
                                               "customer_id": ["raw_orders.customer_id"],
                                               "amount": ["raw_orders.amount"]}
    assert assets["revenue"]["columns"] == {"name": ["raw_customers.name"], "total": ["stg_orders.amount"],
                                            "orders": []}  # count(*) comes from no column
    assert "unknown" not in assets["revenue"]
    # Unknown lineage is never an empty answer: it is listed under "unknown", with the reason.
    assert assets["scored"]["columns"] == {"name": ["scores.name"], "total": ["revenue.total"]}
    assert "could come from more than one table" in assets["scored"]["unknown"]["score"]
    assert assets["scores"]["columns"] == {}
    assert "Python asset" in assets["scores"]["unknown"]["*"].replace("python", "Python")


def test_an_asset_with_its_upstream_and_downstream(jaffle, capsys):
    result = lineage_json(capsys, jaffle, "stg_orders")
    assert result["asset"] == "stg_orders"
    assert result["upstream"] == ["raw_orders"] and result["downstream"] == ["customers", "orders"]
    assert {name: entry["distance"] for name, entry in result["assets"].items()} == {
        "raw_orders": -1, "stg_orders": 0, "customers": 1, "orders": 1}
    code, out, _ = run(capsys, jaffle, "lineage", "customers")
    lines = out.splitlines()
    assert lines[0].split() == ["ASSET", "WHERE", "STATUS", "KIND", "UPSTREAM"]
    assert any(line.split()[:3] == ["raw_payments", "upstream", "2"] for line in lines)
    assert any(line.split()[:4] == ["customers", "target", "○", "missing"] for line in lines)


def test_depth_limits(jaffle, capsys):
    result = lineage_json(capsys, jaffle, "customers", "--upstream", "1")
    assert result["upstream"] == ["stg_customers", "stg_orders", "stg_payments"]
    assert lineage_json(capsys, jaffle, "customers", "--upstream", "0")["upstream"] == []
    result = lineage_json(capsys, jaffle, "raw_orders", "--downstream", "1")
    assert list(result["assets"]) == ["raw_orders", "stg_orders"]
    assert lineage_json(capsys, jaffle, "raw_orders")["downstream"] == ["stg_orders", "customers", "orders"]
    traced = lineage_json(capsys, jaffle, "customers.customer_lifetime_value", "--upstream", "1")
    assert list(traced["assets"]) == ["stg_payments", "customers"]
    assert traced["origins"] == ["raw_payments.amount"]  # origins are followed all the way, whatever the depth


def test_a_column_is_traced_to_its_seed_columns(jaffle, capsys):
    expected = json.loads((JAFFLE / "expected.json").read_text())["expected_transitive_column_lineage_to_seeds"]
    for asset, columns in expected.items():
        for column, origins in columns.items():
            result = lineage_json(capsys, jaffle, f"{asset}.{column}")
            assert (result["column"], result["origins"], result["unknown"]) == (f"{asset}.{column}", origins, [])


def test_a_column_trace_shows_its_path(jaffle, capsys):
    result = lineage_json(capsys, jaffle, "orders.credit_card_amount")
    assert list(result["assets"]) == ["raw_payments", "stg_payments", "orders"]
    assert result["assets"]["orders"]["columns"] == {
        "credit_card_amount": ["stg_payments.amount", "stg_payments.payment_method"]}
    assert result["assets"]["stg_payments"]["columns"] == {"payment_method": ["raw_payments.payment_method"],
                                                           "amount": ["raw_payments.amount"]}
    assert result["origins"] == ["raw_payments.amount", "raw_payments.payment_method"]
    code, out, _ = run(capsys, jaffle, "lineage", "orders.credit_card_amount")
    assert [line.split() for line in out.splitlines()] == [
        ["orders.credit_card_amount"],
        ["origins", "raw_payments.amount,", "raw_payments.payment_method"],
        ["path"],
        ["COLUMN", "COMES", "FROM"],
        ["orders.credit_card_amount", "←", "stg_payments.amount,", "stg_payments.payment_method"],
        ["stg_payments.amount", "←", "raw_payments.amount"],
        ["stg_payments.payment_method", "←", "raw_payments.payment_method"],
        ["raw_payments.amount", "◆", "origin:", "a", "column", "of", "a", "source"],
        ["raw_payments.payment_method", "◆", "origin:", "a", "column", "of", "a", "source"],
    ]


def test_a_column_trace_shows_what_it_feeds(jaffle, capsys):
    result = lineage_json(capsys, jaffle, "stg_orders.order_date", "--upstream", "0")
    assert {name: list(entry["columns"]) for name, entry in result["assets"].items()} == {
        "stg_orders": ["order_date"], "customers": ["first_order", "most_recent_order"], "orders": ["order_date"]}
    assert result["origins"] == ["raw_orders.order_date"]


def test_unknown_lineage_is_shown_as_unknown(small, capsys):
    result = lineage_json(capsys, small, "scored.score")
    assert result["origins"] == []
    (unknown,) = result["unknown"]
    assert unknown["column"] == "scored.score" and "could come from more than one table" in unknown["why"]
    assert "could come from more than one table" in result["assets"]["scored"]["unknown"]["score"]
    code, out, _ = run(capsys, small, "lineage", "scored.score")
    assert "? unknown scored.score: 'score' could come from more than one table" in out
    # Once materialized, every column is known: 'score' is placed in 'scores', whose Python code is traced
    # (run on empty frames of revenue's stored types) back to revenue.total, and so to the source.
    assert run(capsys, small, "materialize")[0] == 0
    result = lineage_json(capsys, small, "scored.score")
    assert result["assets"]["scored"]["columns"] == {"score": ["scores.score"]}
    assert result["assets"]["scores"]["columns"] == {"score": ["revenue.total"]}
    assert result["origins"] == ["raw_orders.amount"] and result["unknown"] == []
    result = lineage_json(capsys, small, "revenue.total")
    assert result["origins"] == ["raw_orders.amount"]
    assert list(result["assets"]["scored"]["columns"]) == ["score", "total"]  # score: through scores
    assert result["assets"]["scores"]["columns"] == {"score": ["revenue.total"]}
    # A Python asset whose code cannot be traced (it reads its rows) is shown downstream as a reader of the
    # column's table, with what is unknown about it and why.
    (small / "defs.py").write_text(DEFS.replace(
        'revenue.select("name", (pl.col("total") > 10).alias("score"))',
        'pl.DataFrame({"name": revenue["name"].to_list(), "score": [t > 10 for t in revenue["total"].to_list()]})'))
    result = lineage_json(capsys, small, "revenue.total")
    assert result["assets"]["scores"]["columns"] == {}
    assert "reads 'revenue'" in result["assets"]["scores"]["unknown"]["*"]
    result = lineage_json(capsys, small, "scored.score")
    (unknown,) = result["unknown"]
    assert unknown["column"] == "scores.score" and "running its function on empty frames raised" in unknown["why"]


def test_the_catalog_caches_column_lineage(small, capsys):
    lineage_json(capsys, small, "--columns")
    rows = dict(stored(small, "SELECT asset, key FROM column_lineage"))
    assert sorted(rows) == ["revenue", "scored", "scores", "stg_orders"]  # scores: its Python code traced
    assert ("revenue", "total", "stg_orders", "amount") in stored(small, "SELECT * FROM column_edge")
    # Mark the stored lineage of revenue, keeping its key: a recomputation or a rewrite would lose the mark.
    (text,) = stored(small, "SELECT lineage FROM column_lineage WHERE asset = 'revenue'")[0]
    marked = json.loads(text)
    marked["direct"]["total"] = ["stg_orders.marked"]
    with closing(sqlite3.connect(small / ".assets" / "catalog.db")) as connection, connection:
        connection.execute("UPDATE column_lineage SET lineage = ? WHERE asset = 'revenue'", (json.dumps(marked),))
    assets = lineage_json(capsys, small, "--columns")["assets"]
    assert assets["revenue"]["columns"]["total"] == ["stg_orders.marked"]  # reused, not recomputed
    assert dict(stored(small, "SELECT asset, key FROM column_lineage")) == rows
    # Editing the SQL changes the key: that asset is computed again and stored.
    (small / "models" / "marts" / "revenue.sql").write_text(REVENUE.replace("sum(o.amount)", "max(o.amount)"))
    assets = lineage_json(capsys, small, "--columns")["assets"]
    assert assets["revenue"]["columns"]["total"] == ["stg_orders.amount"]
    changed = dict(stored(small, "SELECT asset, key FROM column_lineage"))
    assert changed["revenue"] != rows["revenue"] and changed["stg_orders"] == rows["stg_orders"]


def test_materialize_stores_column_lineage(jaffle, capsys):
    code, out, err = run(capsys, jaffle, "materialize", "--json")
    assert code == 0, err
    assert [asset for (asset,) in stored(jaffle, "SELECT asset FROM column_lineage ORDER BY asset")] == [
        "customers", "orders", "stg_customers", "stg_orders", "stg_payments"]
    assert ("customers", "customer_lifetime_value", "stg_payments", "amount") in stored(
        jaffle, "SELECT * FROM column_edge")


def test_a_project_without_sql_assets_pays_nothing_for_lineage(folder):
    folder.write("defs.py", "from assets_core.declaring.definitions import asset\n\n@asset\ndef a():\n    return [1]\n")
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n')
    script = ("import sys; from tui.cli.main import main; code = main(['materialize', '--project', sys.argv[1]]); "
              "print(code, 'assets_core.lineage.sql' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script, str(folder.root)], capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] == "0 False", result.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["custmers"], "'custmers' is neither an asset nor an asset's column"),
    (["custmers"], "did you mean 'customers'"),
    (["customers.lifetime_value"], "did you mean 'customer_lifetime_value'"),
    (["customers.zzz"], "asset 'customers' has no column 'zzz'; its columns are customer_id, first_name"),
    (["customer.first_name"], "did you mean 'customers.first_name'"),
    (["--upstream", "1"], "--upstream and --downstream count levels from a TARGET"),
    (["--format", "svg"], "pass -o FILE"),
    (["-o", "lineage.txt"], "pass --format dot, svg or png"),
])
def test_errors_exit_two_with_a_suggestion(jaffle, capsys, argv, message):
    code, out, err = run(capsys, jaffle, "lineage", *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_errors_as_json(jaffle, capsys):
    code, out, _ = run(capsys, jaffle, "lineage", "custmers", "--json")
    assert code == 2
    assert json.loads(out)["type"] == "SelectionError"


def test_names_with_colons_print_as_they_are_not_as_emoji(folder, capsys):
    """Rich read ':ok:' or ':b:' in a column's name (or a reason) as an emoji code: 'key:ok:value' printed as
    'key🆗value'."""
    folder.write("pyproject.toml", '[tool.assets]\nsql_folders = ["models"]\nsource_folders = ["seeds"]\n')
    folder.write("seeds/raw.csv", "id,key:ok:value\n1,2\n")
    folder.write("models/tagged.sql", 'select id, "key:ok:value" as "a:b:c" from raw\n')
    code, out, err = run(capsys, folder.root, "lineage", "--columns")
    assert code == 0, err
    assert "key:ok:value" in out and "a:b:c" in out and "🆗" not in out and "🅱" not in out
    code, out, err = run(capsys, folder.root, "lineage", "tagged.a:b:c")
    assert code == 0 and "raw.key:ok:value" in out, err


@pytest.mark.parametrize("fmt", ["dot", "openlineage"])
def test_an_empty_output_file_name_is_refused_rather_than_printed(jaffle, capsys, fmt):
    """-o "" (an unset shell variable) printed the drawing, as if -o were left out."""
    code, out, err = run(capsys, jaffle, "lineage", "--format", fmt, "-o", "")
    assert code == 2 and out == "" and "-o names no file" in err and "Traceback" not in err
