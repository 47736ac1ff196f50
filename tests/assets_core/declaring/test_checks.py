"""Checks on new data before it is published, and freshness policies."""

from __future__ import annotations

import polars as pl
import pytest

from assets_core.declaring import checks
from assets_core.declaring.checks import CheckResult, check
from assets_core.errors import DefinitionErrors
from tests.conftest import statuses_of
from tui.cli.main import main

DEFS = """
import polars as pl
from assets_core.declaring.definitions import asset, source_asset
from assets_core.declaring import checks
from assets_core.declaring.checks import check, CheckResult

raw = source_asset("raw", "raw.csv")

@asset
def orders(raw):
    return raw

@asset
def report(orders):
    return {"rows": orders.height}

ORDER_CHECKS = [checks.not_null(orders, "id"), checks.unique(orders, "id"),
                checks.accepted_values(orders, "status", ["paid", "open"], blocking=False)]

@check(orders)
def amounts_positive(orders):
    bad = orders.filter(pl.col("amount") <= 0).height
    return CheckResult(bad == 0, f"{bad} order(s) with a non-positive amount", {"bad": bad})
"""


@pytest.fixture
def project(folder):
    folder.write("defs.py", DEFS)
    folder.write("raw.csv", "id,status,amount\n1,paid,10\n2,open,5\n")
    assert folder.load().materialize().status == "success"
    return folder


def _live_rows(project) -> int:
    loaded = project.load()
    record = loaded.catalog.read_state(["orders"])["orders"].materialization
    return loaded.storage.read(record.location).height


def test_passing_checks_are_recorded(project):
    loaded = project.load()
    run = loaded.catalog.list_runs(limit=1)[0]
    messages = [e.message for e in loaded.catalog.run_events(run.run_id, asset="orders") if e.kind == "check"]
    assert sorted(messages) == ["check 'accepted_values' passed", "check 'amounts_positive' passed",
                                "check 'not_null' passed", "check 'unique' passed"]


def test_blocking_check_keeps_the_previous_version_live_and_skips_downstream(project):
    project.write("raw.csv", "id,status,amount\n1,paid,10\n1,open,5\n3,paid,7\n")
    result = project.load().materialize()
    assert result.failed == ["orders"] and result.skipped == ["report"]
    failed = next(o for o in result.outcomes if o.asset == "orders")
    assert failed.detail.startswith("check 'unique' failed: 1 duplicated value(s) of (id), e.g. 1")
    assert _live_rows(project) == 2  # the previous version is still the live one
    statuses = project.load().snapshot().statuses
    assert statuses["orders"].status == "failed" and "check 'unique' failed" in statuses["orders"].reasons[0].detail
    project.write("raw.csv", "id,status,amount\n1,paid,10\n2,open,5\n3,paid,7\n")
    assert project.load().materialize().materialized == ["orders", "report"]
    assert _live_rows(project) == 3


def test_non_blocking_check_records_a_warning_and_publishes(project):
    project.write("raw.csv", "id,status,amount\n1,paid,10\n2,refunded,5\n")
    loaded = project.load()
    result = loaded.materialize()
    assert result.materialized == ["orders", "report"]
    warnings = [e.message for e in loaded.catalog.run_events(result.run_id, levels=["WARNING"])]
    assert warnings == ["non-blocking check 'accepted_values' failed: column 'status' holds values outside the "
                        "accepted ones: 'refunded'"]


def test_custom_check_message_and_metadata(project):
    project.write("raw.csv", "id,status,amount\n1,paid,-1\n2,open,0\n")
    result = project.load().materialize()
    assert next(o for o in result.outcomes if o.asset == "orders").detail == \
        "check 'amounts_positive' failed: 2 order(s) with a non-positive amount"


def test_check_on_unknown_asset_is_a_definition_error(folder):
    folder.write("defs.py", DEFS + "\nextra = checks.not_null('order', 'id')\n")
    with pytest.raises(DefinitionErrors, match="attached to 'order', which is not an asset; did you mean 'orders'"):
        folder.load()


def test_a_raising_check_fails_rather_than_passes():
    @check("t")
    def broken(value):
        raise KeyError("column")

    result = broken.run(pl.DataFrame({"a": [1]}))
    assert not result.passed and "raised KeyError" in result.message


def test_row_count_and_schema_checks():
    frame = pl.DataFrame({"a": [1, 2, 3]})
    assert checks.row_count("t", min=1, max=3).run(frame).passed
    assert checks.row_count("t", max=2).run(frame).message == "3 row(s), more than the maximum 2"
    assert checks.expected_schema("t", {"a": pl.Int64}).run(frame).passed
    assert checks.expected_schema("t", {"a": "Int64", "b": "String"}).run(frame).message == "column 'b' is missing"
    assert isinstance(checks.row_count("t", min=1).run([1, 2]), CheckResult)


def test_freshness_policy_makes_an_old_asset_overdue(folder):
    folder.write("raw.csv", "id,status,amount\n1,paid,10\n")
    folder.write("defs.py", "from datetime import timedelta\n" + DEFS
                 + "\nfresh_enough = checks.freshness(report, timedelta(milliseconds=1))\n")
    project = folder.load()
    project.materialize()
    import time

    time.sleep(0.01)
    statuses = folder.load().snapshot().statuses
    assert statuses["report"].status == "stale" and statuses["report"].reasons[0].kind == "overdue"
    assert statuses["orders"].status == "fresh"
    result = folder.load().materialize()
    assert result.materialized == ["report"]  # overdue: it runs even though its upstream is unchanged
    assert statuses_of(folder.load())["orders"] == "fresh"


def test_status_and_show_report_check_results(project, capsys, monkeypatch):
    import json

    from tui.cli.main import main

    monkeypatch.chdir(project.root)
    project.write("raw.csv", "id,status,amount\n1,paid,10\n2,refunded,5\n")
    assert main(["materialize", "-f", "defs.py"]) == 0
    capsys.readouterr()
    assert main(["status", "-f", "defs.py"]) == 0
    out = capsys.readouterr().out
    assert "warning: check 'accepted_values' failed: column 'status' holds values outside" in out
    assert main(["status", "-f", "defs.py", "--json", "orders"]) == 0
    (orders,) = json.loads(capsys.readouterr().out)
    assert {(c["check"], c["passed"], c["blocking"]) for c in orders["checks"]} == {
        ("not_null", True, True), ("unique", True, True), ("accepted_values", False, False),
        ("amounts_positive", True, True)}
    assert main(["show", "orders", "-f", "defs.py"]) == 0
    out = capsys.readouterr().out
    assert "✓ passed not_null" in out and "! warning accepted_values" in out


ODD_CHECKS = """
import polars as pl
from assets_core import CheckResult, asset, check

@asset
def t():
    return pl.DataFrame({"a": [1, 2, 3]})

@asset
def down(t):
    return t

@check(t, blocking=False)
def a_series(t):
    return t["a"] > 0

@check(t, blocking=False)
def forgot_return(t):
    (t["a"] > 0).all()

@check(t, blocking=False)
def a_string(t):
    return "failed"

@check(t, blocking=False)
def passed_as_text(t):
    return CheckResult("False", "as text")

@check(t, blocking=False)
def metadata_a_list(t):
    return CheckResult(True, "", ["not", "a", "mapping"])

@check(t, blocking=False)
def message_a_number(t):
    return CheckResult(False, 42)

@check(t)
def fine(t):
    return CheckResult(True)
"""


def test_a_check_returning_neither_a_result_nor_a_bool_is_a_failed_check_that_says_so(folder):
    # A Series made the asset itself fail (TypeError, naming no check); None read "returned False"; a string
    # passed; CheckResult("False") left a Python traceback and an interrupted run; a list as metadata stopped
    # the run with "asset 't' returned metadata that is not JSON-able"
    folder.write("defs.py", ODD_CHECKS)
    project = folder.load()
    result = project.materialize()
    assert result.status == "success" and result.materialized == ["t", "down"]
    found = {c.check: c for c in project.catalog.latest_checks("t")["t"]}
    assert not found["a_series"].passed and found["a_series"].message.startswith(
        "returned a Series, not a CheckResult or a bool")
    assert not found["forgot_return"].passed and found["forgot_return"].message.startswith("returned None")
    assert not found["a_string"].passed and "returned a str" in found["a_string"].message
    assert not found["passed_as_text"].passed and "passed must be a bool, not a str" in \
        found["passed_as_text"].message
    assert not found["metadata_a_list"].passed and "metadata must be a mapping, not a list" in \
        found["metadata_a_list"].message
    assert not found["message_a_number"].passed and found["message_a_number"].message == "42"
    assert found["fine"].passed


def test_a_check_may_return_a_numpy_like_bool():
    class Bool:  # numpy.bool_ and the like: a bool that is no Python bool
        def __init__(self, value: bool):
            self.value = value

        def __bool__(self) -> bool:
            return self.value

    Bool.__name__ = "bool_"

    @check("t")
    def numpy_like(value):
        return Bool(False)

    assert numpy_like.run(pl.DataFrame({"a": [1]})) == CheckResult(False, "returned False")


PARTITIONED = """
import polars as pl
from assets_core import CheckResult, StaticPartitions, asset, check, row_count

@asset(partitions=StaticPartitions(["eu", "us", "asia"]))
def sales(context):
    rows = {"eu": 3, "us": 0, "asia": 2}[context.partition]
    return pl.DataFrame({"amount": list(range(rows))}, schema={"amount": pl.Int64})

nonempty = row_count(sales, min=1)

@check(sales, blocking=False)
def small(sales):
    return CheckResult(sales.height < 3, f"{sales.height} rows")
"""


def test_show_lists_the_checks_of_a_partitioned_asset_and_of_one_partition(folder, capsys, monkeypatch):
    # show looked the results up under the asset's name, while a partition's are recorded under 'sales[us]':
    # it listed no checks at all, and --json gave "checks": [] for a partition whose blocking check failed
    import json

    from tui.cli.main import main

    folder.write("defs.py", PARTITIONED)
    monkeypatch.chdir(folder.root)
    assert main(["materialize", "-f", "defs.py"]) == 1
    capsys.readouterr()
    assert main(["show", "sales", "--partition", "us", "-f", "defs.py", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["checks"]
    assert {(c["check"], c["passed"], c["blocking"]) for c in shown} == {("row_count", False, True),
                                                                          ("small", True, False)}
    assert main(["show", "sales", "--partition", "us", "-f", "defs.py"]) == 0
    out = capsys.readouterr().out
    assert "✗ failed row_count: 0 row(s), fewer than the minimum 1" in out and "✓ passed small: 0 rows" in out
    assert main(["show", "sales", "-f", "defs.py"]) == 0
    out = capsys.readouterr().out
    assert "✗ failed row_count [us]: 0 row(s), fewer than the minimum 1" in out
    assert "! warning small [eu]: 3 rows" in out and "4 passed)" in out
    assert main(["show", "sales", "-f", "defs.py", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["checks"]
    assert {(c["check"], c["partition"], c["passed"]) for c in shown} == {
        ("row_count", "eu", True), ("row_count", "us", False), ("row_count", "asia", True),
        ("small", "eu", False), ("small", "us", True), ("small", "asia", True)}


SOURCE_CHECKS = """
from assets_core import asset, source_asset, not_null, accepted_values, DailyPartitions

raw = source_asset("raw", "raw.csv")
other = source_asset("other", "other.csv")
days = source_asset("days", "days/{date}.csv", partitions=DailyPartitions("2026-01-01", end="2026-01-04"))

@asset
def clean(raw):
    return raw

@asset
def apart(other):
    return other

@asset(partitions=DailyPartitions("2026-01-01", end="2026-01-04"))
def daily(days):
    return days

CHECKS = [not_null(raw, "id"), accepted_values(raw, "name", ["a", "b"], blocking=False), not_null(days, "id"),
          not_null(other, "id")]
"""


def test_checks_on_a_source_run_before_what_reads_it_and_a_blocking_one_stops_it(folder, capsys):
    """A check declared on a source never ran (a source is never materialized): what read it was made from data
    the check would have refused. Now each run that reads a source checks it first, as dbt tests its sources."""
    folder.write("defs.py", SOURCE_CHECKS)
    folder.write("raw.csv", "id,name\n1,a\n,c\n")
    folder.write("other.csv", "id\n\n")  # fails not_null, but nothing the run makes reads it
    for day, ids in (("01", "1"), ("02", ""), ("03", "3")):
        folder.write(f"days/2026-01-{day}.csv", f"id\n{ids}\n")
    result = folder.load().materialize(["clean", "daily"])
    assert result.status == "failed"
    assert sorted(result.failed) == ["days[2026-01-02]", "raw"]
    assert sorted(result.skipped) == ["clean", "daily[2026-01-02]"]
    assert sorted(result.materialized) == ["daily[2026-01-01]", "daily[2026-01-03]"]
    failed = next(o for o in result.outcomes if o.asset == "raw")
    assert failed.detail == "check 'not_null' failed: column 'id' has 1 null value(s)"
    assert [(asset, check) for asset, check, _ in result.warnings] == [("raw", "accepted_values")]
    loaded = folder.load()
    recorded = loaded.catalog.latest_checks()
    assert {c.check: c.passed for c in recorded["raw"]} == {"not_null": False, "accepted_values": False}
    assert "other" not in recorded  # no run read it
    assert main(["status", "raw", "--project", str(folder.root), "-f", "defs.py"]) == 0
    out = capsys.readouterr().out
    assert "check 'not_null' failed in the last run that read it: column 'id' has 1 null" in out
    assert out.splitlines()[-1] == "1 source check failed"  # not counted fresh
    folder.write("raw.csv", "id,name\n1,a\n2,b\n")
    again = folder.load().materialize(["clean"])
    assert (again.status, again.materialized, again.warnings) == ("success", ["clean"], [])
    assert all(c.passed for c in folder.load().catalog.latest_checks()["raw"])


def test_a_run_stopped_by_a_check_on_a_source_is_resumed_once_the_data_is_fixed(folder, capsys):
    """The run's message says 'fix the cause, then resume', but the resume found nothing left: what the failed
    source blocked was taken for skipped as fresh, since the source is no step of the plan."""
    folder.write("defs.py", SOURCE_CHECKS)
    folder.write("raw.csv", "id,name\n1,a\n,b\n")
    failed = folder.load().materialize(["clean"])
    assert (failed.status, failed.failed, failed.skipped) == ("failed", ["raw"], ["clean"])
    folder.write("raw.csv", "id,name\n1,a\n2,b\n")
    assert main(["materialize", "--resume", str(failed.run_id), "--project", str(folder.root), "-f", "defs.py"]) == 0
    assert "nothing left" not in capsys.readouterr().out
    assert statuses_of(folder.load())["clean"] == "fresh"
