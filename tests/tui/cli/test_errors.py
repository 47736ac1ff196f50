"""Every error a user can cause, as the `assets` command reports it: a message that says what, where and how to
fix it, the right exit code, and never a Python traceback. The README's table of errors lists these cases."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui.cli.main import main

GOOD = """
from assets_core.declaring.definitions import asset, source_asset

raw = source_asset("raw", "raw.csv")

@asset
def orders(raw):
    return raw

@asset
def report(orders):
    return {"rows": orders.height}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "defs.py").write_text(GOOD)
    (tmp_path / "raw.csv").write_text("id,amount\n1,10\n2,20\n")
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


DEFINITION_ERRORS = [
    ("unknown upstream", GOOD.replace("def report(orders)", "def report(order)").replace(
        "orders.height", "order.height"), ["asset 'report' (defs.py:", "reads 'order'", "did you mean 'orders'?"]),
    ("cycle", GOOD + "\n@asset\ndef a(b): return b\n@asset\ndef b(a): return a\n",
     ["is part of a cycle: a -> b -> a"]),
    ("duplicate", GOOD + "\n@asset(name='orders')\ndef other(): return 1\n",
     ["is defined twice", "here and at defs.py:6"]),
    ("invalid name", GOOD + "\n@asset(name='bad name')\ndef other(): return 1\n", ["not a valid asset name"]),
    ("variadic parameter", GOOD + "\n@asset\ndef many(*parts): return 1\n", ["'*parts'", "names no upstream"]),
    ("inputs key", GOOD + "\n@asset(inputs={'x': 'orders'})\ndef y(z): return z\n",
     ["inputs['x']", "not a parameter of y()"]),
    ("check on unknown asset",
     GOOD + "\nfrom assets_core.declaring import checks\nc = checks.not_null('ordrs', 'id')\n",
     ["attached to 'ordrs'", "did you mean 'orders'?"]),
    ("syntax error", GOOD + "\ndef broken(:\n", ["defs.py:14", "has a syntax error"]),
    ("exception while importing", GOOD + "\nLIMIT = int('ten')\n",
     ["defs.py:14", "failed while loading the definitions: ValueError"]),
]


@pytest.mark.parametrize("case,text,fragments", DEFINITION_ERRORS, ids=[c[0] for c in DEFINITION_ERRORS])
def test_definition_errors(project, capsys, case, text, fragments):
    (project / "defs.py").write_text(text)
    code, output = run(capsys, "status")
    assert code == 2
    for fragment in fragments:
        assert fragment in output, (fragment, output)


def test_a_single_definition_error_is_the_message_itself(project, capsys):
    (project / "defs.py").write_text(DEFINITION_ERRORS[0][1])
    code, output = run(capsys, "status")
    assert code == 2 and "problem(s)" not in output
    assert output.startswith("error: asset 'report' (defs.py:"), output


def test_several_definition_errors_are_reported_together(project, capsys):
    (project / "defs.py").write_text(DEFINITION_ERRORS[0][1] + DEFINITION_ERRORS[1][1].replace(GOOD, ""))
    code, output = run(capsys, "plan")
    assert code == 2 and "2 problem(s)" in output and "cycle" in output and "did you mean 'orders'" in output


SQL_ERRORS = [
    ("syntax", "select id,\nfrom raw where", ["bad.sql:2:", "SQL syntax error"]),
    ("unknown table", "select id\nfrom  ordrs", ["bad.sql:2:7", "reads 'ordrs'", "did you mean 'orders'?"]),
    ("not a select", "delete from raw", ["is a DELETE statement", "one SELECT"]),
    ("two statements", "select 1; select 2", ["holds 2 SQL statements"]),
    ("dbt's jinja", "-- orders as dbt has them\nselect id from {{ ref('orders') }}",  # was: Expected table name
     ["bad.sql:2:16", "uses dbt's Jinja", "replace {{ ref('orders') }} with orders"]),
    ("a dbt config block", "{{ config(materialized='table') }}\nselect 1",
     ["bad.sql:1:1", "remove the other templates"]),
    ("not jinja in a literal", "select 1 as x where 'a{%' like '{{%'\nand nope(", ["SQL syntax error"]),
    ("nested too deeply", "select " + "(" * 3000 + "1" + ")" * 3000, ["bad.sql", "nested too deeply"]),  # was:
]  # a RecursionError traceback


def test_sql_too_deep_for_the_column_analysis_runs_and_its_lineage_says_why(project, capsys):
    """The run succeeded, then the column analysis hit Python's recursion limit: the command ended with a
    RecursionError traceback (exit 1). That asset's lineage is now unknown, with the reason."""
    (project / "models").mkdir()
    (project / "models" / "deep.sql").write_text("select " + " + ".join(["1"] * 1500) + " as x")
    (project / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\nsql_folders = ["models"]\n')
    code, output = run(capsys, "materialize", "deep")
    assert code == 0, output
    code, output = run(capsys, "lineage", "deep", "--columns")
    assert code == 0 and "its columns could not be analysed (RecursionError" in output, output


@pytest.mark.parametrize("case,sql,fragments", SQL_ERRORS, ids=[c[0] for c in SQL_ERRORS])
def test_sql_errors_point_at_file_line_and_column(project, capsys, case, sql, fragments):
    (project / "models").mkdir()
    (project / "models" / "bad.sql").write_text(sql)
    (project / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\nsql_folders = ["models"]\n')
    code, output = run(capsys, "status")
    assert code == 2
    for fragment in fragments:
        assert fragment in output, (fragment, output)


@pytest.mark.parametrize("argv,fragments", [
    (["status", "ordrs"], ["'ordrs' is not an asset", "did you mean 'orders'?"]),
    (["status", "grop:x"], ["not a selection term", "did you mean 'group'?"]),
    (["status", "group:nothing"], ["matches no asset", "known groups: default"]),
    (["status", "status:stal"], ["status is one of", "did you mean 'stale'?"]),
    (["show", "reprt"], ["did you mean 'report'?"]),
    (["logs", "nosuchrun"], ["no run"]),
    (["materialize", "-m", "nosuch"], ["no module named 'nosuch'"]),
    (["materialize", "-f", "nosuch.py"], ["no file", "nosuch.py"]),
    (["materialize", "--project", "/nonexistent/folder"], ["does not exist"]),
])
def test_usage_errors(project, capsys, argv, fragments):
    code, output = run(capsys, *argv)
    assert code == 2
    for fragment in fragments:
        assert fragment in output, (fragment, output)


def test_bad_option_values_are_usage_errors(project, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["materialize", "--workers", "0"])
    assert exited.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_unselected_upstream_without_a_value(project, capsys):
    code, output = run(capsys, "materialize", "report")
    assert code == 2 and "reads 'orders', which is not selected and has no stored value" in output
    assert "'+report'" in output


def test_config_errors(project, capsys):
    (project / "pyproject.toml").write_text("[tool.assets\n")
    code, output = run(capsys, "status")
    assert code == 2 and "must be valid TOML" in output
    (project / "pyproject.toml").write_text('[tool.assets]\nsql_folders = ["models"]\n')
    code, output = run(capsys, "status")
    assert code == 2 and "sql_folders names 'models'" in output and "is not a folder" in output
    (project / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n[tool.assets.alerts]\nwebhook = "x"\n')
    code, output = run(capsys, "status")
    assert code == 2 and "must start with http" in output


@pytest.mark.parametrize("line", ["module = 5", "home = 5", "catalog = 5", 'file = ["defs.py"]', 'workers = "four"',
                                  "workers = -3", 'durable = "false"', "[tool.assets.alerts]\non = 5",
                                  "[tool.assets.retry]\nmax_attempts = 2.9"])
def test_a_wrong_setting_is_a_message_naming_the_file_and_key(project, capsys, line):
    (project / "pyproject.toml").write_text("[tool.assets]\n" + line + "\n")
    code, output = run(capsys, "materialize")
    key = line.split("\n")[-1].split(" =")[0]
    assert code == 2 and "pyproject.toml" in output and f" {key} must be " in output
    (project / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    code, output = run(capsys, "runs", "--json")
    assert code == 0 and json.loads(output) == []  # nothing ran, so no run was left "interrupted"


def test_a_top_level_tool_that_is_no_table(project, capsys):
    (project / "pyproject.toml").write_text("tool = 5\n")
    code, output = run(capsys, "status")
    assert code == 2 and "[tool] must be a table" in output


@pytest.mark.parametrize(("url", "expected"), [
    ("http://x", "names 'http', which is no database SQLAlchemy knows"),
    ("redis://localhost/0", "or install a package that serves 'redis' catalogs (entry point group assets.catalogs)"),
    ("mysql://ana@127.0.0.1/db", "needs the database driver 'MySQLdb', which is not installed"),
    ("postgresql+psycopg://ana:secret@127.0.0.1:abc/db", "'postgresql+psycopg://ana:***@127.0.0.1:abc/db' is not a "
                                                         "database URL: its port 'abc' is not a number"),
    ("postgresql+psycopg://ana@[::1/db", "its port ':1' is not a number"),  # the port as SQLAlchemy read it
    ("postgres://ana@127.0.0.1/db", "did you mean 'postgresql+psycopg'?"),
    ("postgresql+pyscopg://ana@127.0.0.1/db", "did you mean 'postgresql+psycopg'?"),
    ("postgresql+psycopg2://ana@127.0.0.1/db", "e.g. postgresql+psycopg://"),
])
def test_a_catalog_url_without_a_database_or_driver(project, capsys, monkeypatch, url, expected):
    monkeypatch.setitem(sys.modules, "MySQLdb", None)  # as on a machine without the driver: importing it fails
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    code, output = run(capsys, "status", "--catalog", url)
    assert code == 2 and expected in output and "secret" not in output


def test_a_limit_too_big_for_the_catalog(project, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["runs", "--limit", "99999999999999999999"])
    assert exited.value.code == 2 and "must be at most 9223372036854775807" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["runs", "--json"], ["status", "--json"], ["list"]])
def test_output_to_a_reader_that_went_away_ends_quietly(project, command):
    """``assets runs --json | head -1``: the reader closes the pipe; no traceback, the exit of a Unix tool."""
    reader, writer = os.pipe()
    os.close(reader)
    result = subprocess.run([sys.executable, "-m", "tui.cli.main", *command], stdout=writer, stderr=subprocess.PIPE,
                            text=True, check=False)
    os.close(writer)
    assert (result.returncode, result.stderr) == (128 + signal.SIGPIPE, "")


def test_escape_sequences_in_an_error_are_shown_not_obeyed(project, capsys):
    (project / "defs.py").write_text(GOOD.replace('return {"rows": orders.height}',
                                                  'raise ValueError("boom\\x1b[2J\\x1b]0;owned\\x07 [bold]x")'))
    outputs = [run(capsys, "materialize"), run(capsys, "status")]
    [listed] = json.loads(run(capsys, "runs", "--json")[1])
    code = main(["logs", listed["run_id"]])  # the log holds the asset's own traceback: not run(), which forbids one
    outputs.append((code, "".join(capsys.readouterr())))
    for code, output in outputs:
        assert code in (0, 1)
        assert "\x1b" not in output and "\x07" not in output  # nothing reaches the terminal raw
        assert "boom\\x1b[2J\\x1b]0;owned\\x07 [bold]x" in output  # shown as written, markup included


def test_no_definitions(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, output = run(capsys, "status")
    assert code == 2 and "no definitions to load" in output and "[tool.assets]" in output


def test_failing_asset_exits_one_with_a_summary(project, capsys):
    (project / "defs.py").write_text(GOOD.replace('return {"rows": orders.height}', "return 1 / 0"))
    code, output = run(capsys, "materialize")
    assert code == 1
    assert "report: ZeroDivisionError: division by zero" in output and "assets logs" in output


def test_unstorable_value_fails_and_odd_metadata_is_kept_as_text(project, capsys):
    (project / "defs.py").write_text(GOOD + "\n@asset\ndef odd(): return object()\n"
                                     "\nfrom assets_core.declaring.definitions import Output\n"
                                     "@asset\ndef meta(): return Output([1], metadata={'x': object})\n")
    code, output = run(capsys, "materialize")
    assert code == 1 and "odd: StorageError" in output and "neither a table nor JSON" in output
    code, output = run(capsys, "show", "meta", "--json")
    assert code == 0 and "\"x\":\"<class 'object'>\"" in output


def test_sql_reading_a_column_its_upstream_lacks_fails_as_its_sql_not_as_storage(project, capsys):
    (project / "models").mkdir()
    (project / "models" / "bad.sql").write_text("select id,\n  amont from orders")
    (project / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\nsql_folders = ["models"]\n')
    code, output = run(capsys, "materialize")
    assert code == 1 and "StorageError" not in output and "cannot store" not in output, output
    assert "bad: MaterializationError" in output and "models/bad.sql" in output and "amont" in output, output


def test_missing_source_file(project, capsys):
    (project / "raw.csv").unlink()
    code, output = run(capsys, "status")
    assert code == 0 and "no file matches 'raw.csv'" in output
    code, output = run(capsys, "materialize")
    assert code == 1 and "source asset 'raw' has no file to read" in output


def test_unreadable_source_file_suggests_read_options(project, capsys):
    (project / "raw.csv").write_text("id,amount\n" + "1,10\n" * 200 + "x,y\n")
    code, output = run(capsys, "materialize")
    assert code == 1 and "cannot read" in output and "read_options" in output


def test_deleted_stored_value_makes_the_asset_missing_not_a_crash(project, capsys):
    assert run(capsys, "materialize")[0] == 0
    for stored in (project / ".assets" / "storage").glob("orders@*"):
        stored.unlink()
    code, output = run(capsys, "status")
    assert code == 0 and "missing" in output and "is gone" in output
    code, output = run(capsys, "materialize")
    assert code == 0 and "materialized orders" in output


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # the same size, other bytes: only the content's hash tells
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 4]) + data[middle + 4:])


def _holds_its_name(path: Path) -> bool:
    from assets_core.running.content import content_version

    return content_version(path.read_bytes()) == path.name.partition("@")[2].rpartition(".")[0]


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_corrupted_stored_value_fails_its_reader_and_force_repairs_it(project, capsys, how):
    assert run(capsys, "materialize")[0] == 0
    [stored] = (project / ".assets" / "storage").glob("orders@*")
    _corrupt(stored, how)
    code, output = run(capsys, "materialize", "report", "--force")
    assert code == 1 and "is corrupted" in output and "assets materialize --force orders" in output
    assert run(capsys, "materialize", "orders", "--force")[0] == 0
    assert _holds_its_name(stored)
    code, output = run(capsys, "materialize", "report", "--force")
    assert code == 0 and "materialized report" in output


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
@pytest.mark.parametrize("command", [["show", "orders", "--head", "2"], ["show", "orders", "--head", "2", "--json"]])
def test_show_of_a_corrupted_stored_value_is_a_message(project, capsys, how, command):
    assert run(capsys, "materialize")[0] == 0
    [stored] = (project / ".assets" / "storage").glob("orders@*")
    _corrupt(stored, how)
    code, output = run(capsys, *command)
    assert code == 2 and str(stored) in output and "assets materialize --force orders" in output


def test_show_of_an_unreadable_source_file_is_a_message(project, capsys):
    (project / "raw.csv").write_text('id,amount\n1,10\n2,x"\n')
    code, output = run(capsys, "show", "raw", "--head", "2")
    assert code == 2 and "raw.csv" in output and "read_options" in output


def test_corrupted_catalog(project, capsys):
    home = project / ".assets"
    home.mkdir()
    (home / "catalog.db").write_bytes(b"this is not a database" * 100)
    code, output = run(capsys, "status")
    assert code == 2 and "catalog.db" in output and "not a SQLite database" in output


def test_catalog_from_a_newer_release(project, capsys):
    assert run(capsys, "status")[0] == 0
    with sqlite3.connect(project / ".assets" / "catalog.db") as connection:
        connection.execute("update catalog_meta set value = '999' where key = 'schema_version'")
    code, output = run(capsys, "status")
    assert code == 2 and "newer" in output and "upgrade" in output


def test_home_that_cannot_be_created(project, capsys):
    (project / "blocker").write_text("a file where a folder should be")
    code, output = run(capsys, "materialize", "--home", str(project / "blocker" / "home"))
    assert code == 2 and "blocker" in output and "choose another home with --home" in output


def test_a_lazy_query_that_fails_while_computed_is_the_assets_failure_not_a_storage_one(project, capsys):
    write(project / "defs.py", GOOD + """
import polars as pl

@asset
def typed(raw):
    return raw.lazy().select(pl.lit("x").cast(pl.Int32).alias("n"))
""")
    code, output = run(capsys, "materialize", "typed")
    assert code == 1 and "✗ typed: InvalidOperationError: conversion from `str` to `i32` failed" in output, output
    assert "StorageError" not in output and "cannot store" not in output


def test_full_disk_keeps_the_previous_version(project):
    """A file size limit stands in for a full disk: writes fail with EFBIG, as they would with ENOSPC."""
    assert main(["materialize"]) == 0  # in process: only the run on a full disk needs its own (its file size limit)
    before = sorted(p.name for p in (project / ".assets" / "storage").iterdir())
    (project / "raw.csv").write_text("id,amount\n" + "".join(f"{i},{i * 7919 % 10007}\n" for i in range(300_000)))

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))

    result = subprocess.run([sys.executable, "-m", "tui.cli.main", "materialize"], cwd=project, capture_output=True,
                            text=True, preexec_fn=limit, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode in (1, 2), result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "cannot store asset 'orders'" in output and "File too large" in output
    assert "previous version is untouched" in output
    after = sorted(p.name for p in (project / ".assets" / "storage").iterdir())
    assert after == before  # nothing half-written, the previous versions untouched
