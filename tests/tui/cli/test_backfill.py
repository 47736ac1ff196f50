"""``assets backfill``, ``backfills`` and ``partitions`` as a user runs them: killed with ``kill -9`` mid-way
and resumed (in their own processes), and retrying exactly the failed partitions (in this process, through
``main``, as the command runs them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.commands import in_process

DEFINITIONS = """
import os, time
from pathlib import Path
from assets_core import asset, check, DailyPartitions, DynamicPartitions

DAYS = DailyPartitions("2026-01-01", end="2026-01-08")

@asset(partitions=DAYS)
def daily(context) -> list[str]:
    if Path(f"fail_{context.partition}").exists():
        raise ValueError(f"day {context.partition} is broken")
    time.sleep(float(os.environ.get("PAUSE", "0")))
    Path("made.log").open("a").write(context.partition + "\\n")
    return [context.partition]

@asset(partitions=DynamicPartitions("customers"))
def per_customer(context) -> str:
    return context.partition


@check(daily, blocking=False)
def not_the_third(value) -> bool:
    return value != ["2026-01-03"]
"""


def _project(root: Path) -> Path:
    (root / "defs.py").write_text(DEFINITIONS)
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    return root


def _process(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process, as ``assets`` runs it."""
    return subprocess.run([sys.executable, "-m", "tui.cli.main", *argv], cwd=root, capture_output=True, text=True,
                          timeout=120, check=False)


def _cli(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The command run in this process from ``root`` (the project is found by the current directory, and the
    assets write their files there)."""
    return in_process(*argv, cwd=root)


def _json(root: Path, *argv: str, run=_cli) -> object:
    done = run(root, *argv, "--json")
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def _made(root: Path) -> list[str]:
    path = root / "made.log"
    return path.read_text().split() if path.exists() else []


def test_a_backfill_killed_mid_way_resumes_without_rerunning_what_was_done(tmp_path: Path) -> None:
    root = _project(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "backfill", "daily", "--partition",
                                "2026-01-01..2026-01-07", "-j", "1"], cwd=root, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "PAUSE": "0.3"})
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if "materialized daily[2026-01-03]" in line:  # reported, so recorded
                os.kill(process.pid, signal.SIGKILL)
                break
    finally:
        process.wait(timeout=60)
    before = _made(root)
    [listed] = _json(root, "backfills", run=_process)
    assert listed["status"] == "running" and listed["done"] >= 3 and listed["done"] + listed["remaining"] == 7

    resumed = _json(root, "backfill", "--resume", run=_process)
    assert resumed["status"] == "success"
    again = [name[len("daily["):-1] for name in resumed["materialized"]]
    assert not set(again) & {"2026-01-01", "2026-01-02", "2026-01-03"}  # nothing recorded as done runs again
    assert sorted(set(before) | set(again)) == [f"2026-01-0{day}" for day in range(1, 8)]
    [finished] = _json(root, "backfills", run=_process)
    assert (finished["status"], finished["done"], finished["failed"], finished["remaining"]) == ("done", 7, 0, 0)


def test_reprocess_failed_reruns_exactly_the_failed_partitions(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "fail_2026-01-04").write_text("")
    first = _cli(root, "backfill", "daily", "--partition", "2026-01-01..2026-01-07", "--json")
    assert first.returncode == 1, first.stderr
    result = json.loads(first.stdout)
    assert result["failed"] == ["daily[2026-01-04]"] and len(result["materialized"]) == 6
    assert [o["partition"] for o in result["outcomes"] if o["status"] == "failed"] == ["2026-01-04"]
    [listed] = _json(root, "backfills")
    assert (listed["status"], listed["failed"], listed["done"]) == ("failed", 1, 6)

    dry = _json(root, "backfill", "daily", "--partition", "2026-01-01..2026-01-07", "--reprocess", "failed",
                "--dry-run")
    assert [step["asset"] for step in dry["steps"]] == ["daily[2026-01-04]"]
    (root / "fail_2026-01-04").unlink()
    (root / "made.log").unlink()
    retried = _json(root, "backfill", "daily", "--partition", "2026-01-01..2026-01-07", "--reprocess", "failed")
    assert retried["materialized"] == ["daily[2026-01-04]"] and _made(root) == ["2026-01-04"]
    statuses = _json(root, "status", "daily")
    assert statuses[0]["partitions"]["fresh"] == 7 and statuses[0]["status"] == "fresh"


def test_a_backfill_that_did_everything_stays_done_when_a_later_run_fails(tmp_path: Path) -> None:
    """A finished backfill listed '✓ done' with FAILED 1 once a later run's attempt at one of its partitions
    failed: what a backfill did is its own; a failed or interrupted one still shows as done once later runs
    finish what it left."""
    root = _project(tmp_path)
    assert _cli(root, "backfill", "daily", "--partition", "2026-01-01..2026-01-03").returncode == 0
    (root / "fail_2026-01-02").write_text("")
    later = _cli(root, "materialize", "daily", "--partition", "2026-01-02", "--force")
    assert later.returncode == 1, later.stdout + later.stderr
    [listed] = _json(root, "backfills")
    assert (listed["status"], listed["done"], listed["failed"], listed["remaining"]) == ("done", 3, 0, 0)


def test_status_summarizes_partitions_with_ranges_and_one_partition_on_its_own(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _cli(root, "materialize", "daily", "--partition", "2026-01-02,2026-01-05..2026-01-06").returncode == 0
    [summary] = _json(root, "status", "daily")
    assert summary["status"] == "missing"
    assert summary["partitions"]["ranges"]["fresh"] == [["2026-01-02", "2026-01-02"], ["2026-01-05", "2026-01-06"]]
    assert summary["partitions"]["ranges"]["missing"] == [["2026-01-01", "2026-01-01"], ["2026-01-03", "2026-01-04"],
                                                          ["2026-01-07", "2026-01-07"]]
    text = _cli(root, "status", "daily").stdout
    assert "3 fresh · 4 missing of 7" in text
    run_id = _json(root, "runs")[0]["run_id"]
    logged = _json(root, "logs", run_id, "--asset", "daily")["events"]
    assert {e["asset"] for e in logged} == {"daily[2026-01-02]", "daily[2026-01-05]", "daily[2026-01-06]"}
    assert {e["asset"] for e in _json(root, "logs", run_id, "--asset", "daily[2026-01-05]")["events"]} == \
        {"daily[2026-01-05]"}
    [one] = _json(root, "status", "daily", "--partition", "2026-01-05")
    assert (one["asset"], one["partition"], one["status"]) == ("daily", "2026-01-05", "fresh")
    shown = _cli(root, "show", "daily")
    assert shown.returncode == 0 and "partitions: 3 fresh · 4 missing of 7" in shown.stdout, shown.stderr
    drawn = _cli(root, "lineage")
    assert drawn.returncode == 0 and "daily" in drawn.stdout and "missing" in drawn.stdout, drawn.stderr
    wrong = _cli(root, "status", "daily", "--partition", "2026-02-30")
    assert wrong.returncode == 2 and "2026-02-30" in wrong.stderr and "Traceback" not in wrong.stderr


def test_show_names_the_partition_of_each_materialization(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _cli(root, "materialize", "daily", "--partition", "2026-01-02,2026-01-05").returncode == 0
    shown = _cli(root, "show", "daily", "--head", "1")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    latest = _json(root, "show", "daily")["latest"]["partition"]
    assert f"  partition    {latest}" in lines
    history = lines[lines.index("history") + 1:]
    assert history[0].split()[:2] == ["RUN", "PARTITION"]
    assert sorted(line.split()[1] for line in history[1:3]) == ["2026-01-02", "2026-01-05"]
    assert f"first 1 rows of partition {latest}" in lines


def test_show_one_partition_gives_its_status_history_and_rows(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _cli(root, "materialize", "daily", "--partition", "2026-01-02,2026-01-05").returncode == 0
    assert _cli(root, "materialize", "daily", "--partition", "2026-01-05", "--force").returncode == 0
    one = _json(root, "show", "daily", "--partition", "2026-01-02", "--head", "5")
    assert (one["asset"], one["partition"], one["status"], one["head"]) == ("daily", "2026-01-02", "fresh",
                                                                            ["2026-01-02"])
    assert [r["partition"] for r in one["history"]] == ["2026-01-02"]
    shown = _cli(root, "show", "daily", "--partition", "2026-01-05")
    assert shown.returncode == 0 and shown.stdout.startswith("daily[2026-01-05]  ✓ fresh"), shown.stdout
    assert [line.split()[1] for line in shown.stdout.split("history\n")[1].splitlines()[1:]] == ["2026-01-05"] * 2
    missing = _json(root, "show", "daily", "--partition", "2026-01-03")
    assert (missing["status"], missing["latest"], missing["history"]) == ("missing", None, [])
    for wrong, said in ((("daily", "--partition", "2026-01-32"), "'2026-01-32' is not a partition of 'daily'"),
                        (("per_customer", "--partition", "x"), "'per_customer' has no partitions yet")):
        done = _cli(root, "show", *wrong)
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_show_head_of_a_partitioned_source_reads_its_last_partition_with_a_file(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text("from assets_core import DailyPartitions, source_asset\n"
                                      "events = source_asset('events', 'data/e_{date}.csv', "
                                      "partitions=DailyPartitions('2026-01-01', end='2026-01-08'))\n")
    (tmp_path / "data").mkdir()
    for day in ("01", "02"):
        (tmp_path / "data" / f"e_2026-01-{day}.csv").write_text(f"n\n{day}\n")
    shown = _cli(tmp_path, "show", "events", "--head", "1", "-f", "defs.py")
    assert shown.returncode == 0, shown.stderr
    assert "first 1 rows of partition 2026-01-02" in shown.stdout


def test_dynamic_partitions_are_added_from_the_command_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    added = _json(root, "partitions", "add", "customers", "acme", "globex")
    assert added == {"name": "customers", "added": ["acme", "globex"]}
    result = _json(root, "materialize", "per_customer")
    assert sorted(result["materialized"]) == ["per_customer[acme]", "per_customer[globex]"]
    unknown = _cli(root, "partitions", "add", "custmers", "x")
    assert unknown.returncode == 2 and "did you mean 'customers'" in unknown.stderr


def test_a_failed_run_of_partitions_resumes_only_what_it_left(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "fail_2026-01-03").write_text("")
    first = _cli(root, "materialize", "daily", "--json")
    assert first.returncode == 1 and json.loads(first.stdout)["failed"] == ["daily[2026-01-03]"]
    (root / "fail_2026-01-03").unlink()
    (root / "made.log").unlink()
    resumed = _json(root, "materialize", "--resume")
    assert resumed["materialized"] == ["daily[2026-01-03]"] and _made(root) == ["2026-01-03"]


def test_a_partitioned_assets_failed_checks_show_in_its_status(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _cli(root, "materialize", "daily", "--partition", "2026-01-02..2026-01-04").returncode == 0
    text = _cli(root, "status", "daily").stdout
    assert "check 'not_the_third' failed on 1 partition(s), e.g. daily[2026-01-03]" in text
    [summary] = _json(root, "status", "daily")
    assert [(c["check"], c["partition"], c["passed"]) for c in summary["checks"]] == [
        ("not_the_third", "2026-01-03", False)]
