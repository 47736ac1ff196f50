"""The `assets` command as a user drives it: text and JSON output, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui.cli.main import main

ROOT = Path(__file__).resolve().parents[3]

DEFS = """
import polars as pl
from assets_core.declaring.definitions import asset, source_asset

raw = source_asset("raw", "raw.csv", group="extract")

@asset(group="extract", tags=["pii"])
def customers(raw):
    \"\"\"Customers as exported.\"\"\"
    print("read", raw.height, "rows")
    return raw

@asset(group="marts")
def report(customers):
    return {"rows": customers.height}
"""


@pytest.fixture
def project(folder, monkeypatch):
    folder.write("defs.py", DEFS)
    folder.write("raw.csv", "id,name\n1,ana\n2,bo\n")
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n')
    monkeypatch.chdir(folder.root)
    return folder


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


def test_first_materialize_then_nothing_to_do(project, capsys):
    code, result = run_json(capsys, "materialize")
    assert code == 0
    assert result["status"] == "success" and result["materialized"] == ["customers", "report"]
    assert result["skipped"] == [] and result["failed"] == [] and len(result["run_id"]) == 12
    code, result = run_json(capsys, "materialize")
    assert (code, result["materialized"], result["skipped"]) == (0, [], [])
    code, statuses = run_json(capsys, "status")
    assert {s["status"] for s in statuses} == {"fresh"}
    assert set(statuses[0]) == {"asset", "status", "reasons"}


def test_list_json_gives_every_field_of_each_asset_in_order(project, capsys):
    code, listed = run_json(capsys, "list")
    assert code == 0
    assert listed == [
        {"asset": "raw", "kind": "source", "group": "extract", "description": "", "upstream": [],
         "downstream": ["customers"], "tags": [], "owners": []},
        {"asset": "customers", "kind": "python", "group": "extract", "description": "Customers as exported.",
         "upstream": ["raw"], "downstream": ["report"], "tags": ["pii"], "owners": []},
        {"asset": "report", "kind": "python", "group": "marts", "description": "", "upstream": ["customers"],
         "downstream": [], "tags": [], "owners": []},
    ]


def test_a_failed_non_blocking_check_is_a_warning_the_run_reports(project, capsys):
    """materialize said nothing of a failed non-blocking check (only status showed it): the run summary counts
    the warnings and names each, and --json lists them."""
    project.write("defs.py", DEFS + """
from assets_core import accepted_values, not_null
checks = [accepted_values(customers, "name", ["ana"], blocking=False), not_null(customers, "id", blocking=False)]
""")
    code, out, _ = run(capsys, "materialize")
    assert code == 0
    assert "success: 2 materialized, 0 skipped, 0 failed, 1 warning(s)" in out
    assert "! customers: non-blocking check 'accepted_values' failed: column 'name' holds values outside" in out
    assert "not_null" not in out  # passed
    code, result = run_json(capsys, "materialize", "--force")
    assert [(w["asset"], w["check"]) for w in result["warnings"]] == [("customers", "accepted_values")]
    code, out, _ = run(capsys, "materialize")
    assert "warning" not in out  # nothing ran


def test_status_and_plan_explain_why(project, capsys):
    code, statuses = run_json(capsys, "status")
    by_name = {s["asset"]: s for s in statuses}
    assert by_name["customers"]["reasons"] == [{"kind": "missing", "detail": "never materialized"}]
    code, steps = run_json(capsys, "plan")
    assert [s["asset"] for s in steps] == ["customers", "report"]
    assert {"kind": "upstream_stale", "detail": "upstream 'customers' runs first"} in steps[1]["reasons"]
    code, out, _ = run(capsys, "plan")
    assert "1  customers  never materialized" in out and "2 asset(s) would run" in out
    code, out, _ = run(capsys, "status")
    assert "○ missing" in out and "customers" in out


def test_line_output_when_not_a_terminal(project, capsys):
    code, out, _ = run(capsys, "materialize")
    assert code == 0
    assert "✓ materialized customers: 2 rows" in out
    assert "run " in out and "success: 2 materialized, 0 skipped, 0 failed" in out


def test_source_change_shows_in_status(project, capsys):
    run(capsys, "materialize")
    (project.root / "raw.csv").write_text("id,name\n1,ana\n2,bo\n3,cy\n")
    code, statuses = run_json(capsys, "status", "+customers")
    by_name = {s["asset"]: s for s in statuses}
    assert set(by_name) == {"raw", "customers"}
    assert by_name["customers"]["reasons"][0]["kind"] == "upstream_changed"
    assert "raw" in by_name["customers"]["reasons"][0]["detail"]


def test_selection_and_force(project, capsys):
    run(capsys, "materialize")
    code, result = run_json(capsys, "materialize", "report", "--force")
    assert result["materialized"] == ["report"]


def test_failed_asset_exits_one_and_logs_keep_the_output(project, capsys):
    project.write("defs.py", DEFS.replace('return {"rows": customers.height}', 'raise ValueError("bad report")'))
    code, result = run_json(capsys, "materialize")
    assert code == 1 and result["failed"] == ["report"] and result["status"] == "failed"
    code, out, _ = run(capsys, "logs", result["run_id"][:6])
    assert code == 0 and "ValueError: bad report" in out and "read 2 rows" in out
    code, out, _ = run(capsys, "logs", result["run_id"], "--level", "ERROR")
    assert "read 2 rows" not in out and "bad report" in out
    code, runs = run_json(capsys, "runs")
    assert runs[0]["run_id"] == result["run_id"] and runs[0]["failed"] == 1 and runs[0]["materialized"] == 1


def test_show_prints_the_latest_materialization_and_rows(project, capsys):
    run(capsys, "materialize")
    code, shown = run_json(capsys, "show", "customers", "--head", "1")
    assert code == 0
    assert shown["asset"] == "customers" and shown["status"] == "fresh" and shown["upstream"] == ["raw"]
    assert shown["latest"]["rows"] == 2 and shown["latest"]["schema"] == [["id", "Int64"], ["name", "String"]]
    assert shown["head"] == [{"id": 1, "name": "ana"}] and shown["description"] == "Customers as exported."
    code, out, _ = run(capsys, "show", "customers", "--head", "1")
    assert "latest materialization" in out and "ana" in out and "bo" not in out


@pytest.mark.parametrize("argv,message", [
    (["show", "customer"], "did you mean 'customers'"),
    (["materialize", "repor"], "did you mean 'report'"),
    (["status", "group:nothing"], "known groups"),
    (["logs", "nope"], "no run"),
])
def test_user_errors_exit_two_with_a_message_and_no_traceback(project, capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err + out


def test_bad_definitions_exit_two_listing_every_problem(project, capsys):
    project.write("defs.py", DEFS + "\n@asset\ndef broken(custmers, nothing):\n    return 1\n")
    code, out, err = run(capsys, "status")
    assert code == 2 and "2 problem(s)" in err and "did you mean 'customers'" in err and "defs.py:" in err


def test_no_definitions_says_how_to_declare_them(folder, capsys, monkeypatch):
    monkeypatch.chdir(folder.root)
    code, out, err = run(capsys, "status")
    assert code == 2 and "[tool.assets]" in err and "-m MODULE" in err


def test_module_option_and_home_option(folder, capsys, tmp_path_factory):
    folder.write("pipeline.py", DEFS)
    folder.write("raw.csv", "id,name\n1,ana\n")
    home = tmp_path_factory.mktemp("home")
    code, out, err = run(capsys, "materialize", "--project", str(folder.root), "-m", "pipeline", "--home", str(home))
    assert code == 0, err
    assert (home / "catalog.db").exists() and list((home / "storage").glob("customers@*.parquet"))
    assert not (folder.root / ".assets").exists()


def test_real_entry_point(project):
    result = subprocess.run([sys.executable, "-m", "tui.cli.main", "materialize", "--json"], capture_output=True,
                            text=True, cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["materialized"] == ["customers", "report"]


@pytest.mark.parametrize("command", ["list", "status", "plan", "materialize", "runs", "logs", "show", "prune"])
def test_every_subcommand_has_help(capsys, command):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert "--json" in help_text and "--home" in help_text and "--catalog" in help_text


def test_prune_keeps_the_newest_versions(project, capsys):
    for rows in range(3, 6):
        (project.root / "raw.csv").write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(rows)))
        assert run(capsys, "materialize")[0] == 0
    folder = project.root / ".assets" / "storage"
    assert len(list(folder.glob("customers@*"))) == 3
    code, result = run_json(capsys, "prune", "customers", "--keep", "1")
    assert code == 0 and len(result["removed"]["customers"]) == 2
    assert len(list(folder.glob("customers@*"))) == 1
    code, shown = run_json(capsys, "show", "customers", "--head", "10")
    assert len(shown["head"]) == 5 and shown["status"] == "fresh"


def test_a_json_command_never_imports_rich_and_a_printing_one_does(tmp_path: Path) -> None:
    """rich takes a twentieth of a second to import: a --json command, which prints through json alone, skips it."""
    (tmp_path / "defs.py").write_text("from assets_core import asset\n\n@asset\ndef numbers():\n    return [1, 2]\n")
    script = textwrap.dedent(f"""
        import contextlib, io, json, sys
        from tui.cli.main import main
        args = ["-f", "defs.py", "--project", {str(tmp_path)!r}]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            codes = [main(["materialize", "--json", *args]), main(["status", "--json", *args])]
        quiet = sorted(n for n in sys.modules if n.split(".")[0] == "rich")
        with contextlib.redirect_stdout(out):
            codes.append(main(["status", *args]))
        print(json.dumps({{"codes": codes, "quiet": quiet, "printing": "rich.console" in sys.modules,
                          "out": out.getvalue()}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["codes"] == [0, 0, 0] and found["quiet"] == [] and found["printing"] is True
    assert '"status":"fresh"' in found["out"] and "✓ fresh" in found["out"]


def test_a_ctrl_c_that_lands_as_the_last_asset_finishes_is_not_said_to_interrupt_the_run(capsys):
    """The first Ctrl-C says the run ends interrupted; when it came after the last asset had finished, the run
    ended success (exit 0): the command says so rather than leave the two messages disagreeing."""
    import argparse

    from rich.console import Console

    from assets_core.running.runs import RunResult, RunStatus
    from tui.cli.commands import run_reported

    def start(workers, listener, stop):
        stop.request()  # what the Ctrl-C handler does, after the schedule loop ended
        return RunResult("r1", RunStatus.SUCCESS, ())

    result = run_reported(argparse.Namespace(json=True, workers=None), Console(), 0, start)
    assert result.status == "success"
    assert "the run had already finished when Ctrl-C came: it ends success, not interrupted" in \
        capsys.readouterr().err
