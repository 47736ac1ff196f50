"""Automation end to end, with a real catalog, real files and real worker processes: one tick at a time, as
``assets daemon --once --now`` evaluates it."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from assets_core.application import usecases
from assets_core.application.automation import CONDITIONS_NAME, evaluate
from assets_core.application.automation_status import overview, set_paused
from assets_core.application.daemon import Daemon
from assets_core.application.workspace import Options, Workspace, open_workspace
from assets_core.automation.records import REQUESTED, SKIPPED
from assets_core.planning.plan import ReasonKind
from tests.commands import in_process


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def project(root: Path, definitions: str) -> Options:
    (root / "defs.py").write_text(definitions)
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    return Options(project=str(root))


def evaluated(options: Options, moment: str):  # type: ignore[no-untyped-def]
    """One evaluation in a workspace opened for it (as a restarted daemon would)."""
    workspace = open_workspace(options)
    try:
        return evaluate(workspace, at(moment))
    finally:
        workspace.catalog.close()


def runs_of(workspace: Workspace, trigger: str) -> list[str]:
    return [run.run_id for run in workspace.catalog.list_runs(200) if run.trigger == trigger]


NIGHTLY = """
from assets_core import DailyPartitions, asset, schedule

DAYS = DailyPartitions("2026-03-01", timezone="Europe/Paris")

@asset(partitions=DAYS)
def daily(context) -> dict:
    return {"day": context.partition}

nightly = schedule("nightly", "0 2 * * *", "daily", timezone="Europe/Paris", catchup=CATCHUP)
hourly = schedule("hourly", "0 * * * *", "daily", catchup=CATCHUP, max_catchup=3)
"""


def test_a_nightly_schedule_runs_yesterdays_partition_across_the_spring_dst_change(tmp_path: Path) -> None:
    options = project(tmp_path, NIGHTLY.replace("CATCHUP", "False").replace("hourly = ", "# "))
    first = evaluated(options, "2026-03-28T12:00Z")
    assert [(t.status, t.reason) for t in first.ticks] == [
        (SKIPPED, "first evaluation: runs from its next tick, 2026-03-29 03:00 CEST")]
    assert evaluated(options, "2026-03-29T00:30Z").ticks == ()  # 01:30 in Paris: not due yet
    lines: list[str] = []
    evaluation = Daemon(options, say=lines.append).once(at("2026-03-29T01:30Z"))  # the clocks jumped to 03:00
    [tick] = evaluation.ticks
    assert tick.status == REQUESTED and tick.scheduled_for == at("2026-03-29T01:00Z")
    assert [r.partition for r in evaluation.requests] == ["2026-03-28"]
    workspace = open_workspace(options)
    [run_id] = runs_of(workspace, "schedule:nightly")
    assert workspace.catalog.find_run(run_id).status == "success"
    assert usecases.statuses(workspace, ["daily"], partition="2026-03-28")[0].status == "fresh"
    assert any("schedule:nightly run of daily [2026-03-28]: run" in line for line in lines)


def test_the_autumn_change_runs_the_nightly_schedule_once(tmp_path: Path) -> None:
    options = project(tmp_path, NIGHTLY.replace("CATCHUP", "True").replace("hourly = ", "# "))
    evaluated(options, "2026-10-23T12:00Z")
    evaluation = evaluated(options, "2026-10-26T12:00Z")  # 24, 25 (the long day) and 26 October
    assert [r.partition for r in evaluation.requests] == ["2026-10-23", "2026-10-24", "2026-10-25"]


@pytest.mark.parametrize("catchup", [False, True])
def test_catch_up_runs_the_latest_missed_tick_or_each_one_in_order(tmp_path: Path, catchup: bool) -> None:
    options = project(tmp_path, NIGHTLY.replace("CATCHUP", str(catchup)).replace("nightly = ", "# "))
    evaluated(options, "2026-03-10T00:30Z")
    later = evaluated(options, "2026-03-10T05:30Z")  # five hourly ticks missed: 01:00 to 05:00
    keys = [r.run_key for r in later.requests]
    if catchup:  # three at a time (max_catchup), from the oldest; the rest at the next evaluation
        assert keys == [f"hourly@2026-03-10T0{h}:00:00+00:00" for h in (1, 2, 3)]
        rest = evaluated(options, "2026-03-10T05:30Z")
        assert [r.run_key for r in rest.requests] == [f"hourly@2026-03-10T0{h}:00:00+00:00" for h in (4, 5)]
    else:
        assert keys == ["hourly@2026-03-10T05:00:00+00:00"]
        assert "4 missed tick(s) left out" in later.ticks[0].reason
        assert evaluated(options, "2026-03-10T05:40Z").requests == ()


SENSED = """
import json
from pathlib import Path
from assets_core import DailyPartitions, RunRequest, asset, file_sensor, sensor, source_asset

DAYS = DailyPartitions("2026-03-01")
raw = source_asset("raw", "landing/{date}.csv", partitions=DAYS)

@asset(partitions=DAYS)
def daily(context, raw) -> dict:
    return {"day": context.partition, "rows": raw.height}

"""
ARRIVALS = """
arrivals = file_sensor("arrivals", "landing/*.csv", "daily", interval_seconds=10)
"""
COUNTER = """
@sensor("counter", "daily", interval_seconds=10)
def counter(context):
    seen = int(context.cursor or 0) + 1
    context.update_cursor(str(seen))
    (context.root / "evaluations.txt").write_text(str(seen))
    return [RunRequest(partition="2026-03-02", run_key="always-the-same"), RunRequest(run_key=f"n{seen}")]
"""


def test_a_file_arriving_runs_its_partition(tmp_path: Path) -> None:
    options = project(tmp_path, SENSED + ARRIVALS)
    (tmp_path / "landing").mkdir()
    assert evaluated(options, "2026-03-05T00:00Z").ticks[0].reason == "nothing new"
    (tmp_path / "landing" / "2026-03-03.csv").write_text("a\n1\n2\n")
    evaluation = Daemon(options, say=lambda line: None).once(at("2026-03-05T00:00:10Z"))
    [request] = evaluation.requests
    assert (request.partition, request.trigger) == ("2026-03-03", "sensor:arrivals")
    workspace = open_workspace(options)
    assert usecases.statuses(workspace, ["daily"], partition="2026-03-03")[0].status == "fresh"
    assert evaluated(options, "2026-03-05T00:00:20Z").requests == ()  # nothing new since
    (tmp_path / "landing" / "2026-03-03.csv").write_text("a\n1\n2\n")  # rewritten, same bytes: nothing new
    assert evaluated(options, "2026-03-05T00:00:30Z").requests == ()
    (tmp_path / "landing" / "2026-03-03.csv").write_text("a\n1\n2\n3\n")
    assert [r.partition for r in evaluated(options, "2026-03-05T00:00:40Z").requests] == ["2026-03-03"]


def test_a_sensor_keeps_its_cursor_across_restarts_and_a_run_key_runs_once(tmp_path: Path) -> None:
    options = project(tmp_path, SENSED + COUNTER)
    first = evaluated(options, "2026-03-05T00:00Z")
    assert [r.run_key for r in first.requests] == ["always-the-same", "n1"]
    assert evaluated(options, "2026-03-05T00:00:05Z").ticks == ()  # within its interval: not evaluated
    second = evaluated(options, "2026-03-05T00:00:10Z")  # a new workspace each time: a restarted daemon
    assert [r.run_key for r in second.requests] == ["n2"]
    assert (tmp_path / "evaluations.txt").read_text() == "2"
    workspace = open_workspace(options)
    assert workspace.catalog.automation_states()["counter"].cursor == "2"
    assert [len(t.requests) for t in workspace.catalog.list_ticks("counter")] == [1, 2]


def test_a_sensor_that_raises_is_recorded_and_the_others_go_on(tmp_path: Path) -> None:
    broken = SENSED + ARRIVALS + COUNTER.replace("    seen = int", "    raise ValueError('no feed')\n    seen = int")
    options = project(tmp_path, broken)
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "2026-03-03.csv").write_text("a\n1\n")
    evaluation = evaluated(options, "2026-03-05T00:00Z")
    by_name = {tick.name: tick for tick in evaluation.ticks}
    assert by_name["counter"].status == "failed" and "ValueError: no feed" in (by_name["counter"].error or "")
    assert "defs.py" in (by_name["counter"].error or "")
    assert by_name["arrivals"].status == REQUESTED


CONDITIONED = """
import json
from pathlib import Path
from assets_core import asset, on_missing, on_upstream_change, source_asset

raw = source_asset("raw", "raw.json")

@asset
def upstream(raw) -> dict:
    if Path(__file__).with_name("broken").exists():
        raise RuntimeError("upstream is broken")
    data = json.loads(raw.read_text())
    return {"value": data["value"]}

@asset(automation=on_upstream_change() | on_missing())
def downstream(upstream) -> dict:
    return {"double": upstream["value"] * 2}
"""


def test_on_upstream_change_ignores_a_rerun_with_the_same_data_and_fires_on_new_data(tmp_path: Path) -> None:
    options = project(tmp_path, CONDITIONED)
    (tmp_path / "raw.json").write_text('{"value": 1, "noise": 1}')
    workspace = open_workspace(options)
    usecases.materialize(workspace)
    assert evaluated(options, "2026-03-05T00:00Z").requests == ()
    (tmp_path / "raw.json").write_text('{"value": 1, "noise": 2}')  # upstream reruns and makes the same data
    usecases.materialize(workspace, ["upstream"])
    quiet = evaluated(options, "2026-03-05T00:01Z")
    assert quiet.requests == () and quiet.ticks[0].status == SKIPPED
    (tmp_path / "raw.json").write_text('{"value": 5}')
    usecases.materialize(workspace, ["upstream"])
    fired = Daemon(options, say=lambda line: None).once(at("2026-03-05T00:02Z"))
    [request] = fired.requests
    assert (request.selection, request.trigger) == (("downstream",), CONDITIONS_NAME)
    assert "upstream 'upstream' has new data" in fired.ticks[0].reason
    assert usecases.statuses(open_workspace(options), ["downstream"])[0].status == "fresh"


def test_a_failed_upstream_pauses_its_downstream_until_it_succeeds(tmp_path: Path) -> None:
    options = project(tmp_path, CONDITIONED)
    (tmp_path / "raw.json").write_text('{"value": 1}')
    (tmp_path / "broken").touch()
    workspace = open_workspace(options)
    usecases.materialize(workspace, ["upstream"])
    paused = evaluated(options, "2026-03-05T00:00Z")
    assert paused.requests == () and "upstream_failed" in paused.ticks[0].reason
    [status] = usecases.statuses(workspace, ["downstream"])
    assert ReasonKind.UPSTREAM_FAILED in [r.kind for r in status.reasons]
    (tmp_path / "broken").unlink()
    usecases.materialize(workspace, ["upstream"])
    assert [r.selection for r in evaluated(options, "2026-03-05T00:01Z").requests] == [("downstream",)]


def test_pause_and_unpause(tmp_path: Path) -> None:
    options = project(tmp_path, NIGHTLY.replace("CATCHUP", "False").replace("nightly = ", "# "))
    evaluated(options, "2026-03-10T00:30Z")
    workspace = open_workspace(options)
    assert set_paused(workspace, "hourly", True).paused
    skipped = evaluated(options, "2026-03-10T01:30Z")
    assert skipped.requests == () and skipped.ticks[0].reason.startswith("paused")
    assert evaluated(options, "2026-03-10T01:40Z").ticks == ()  # the paused tick is not made up later
    assert not set_paused(workspace, "hourly", False).paused
    assert [r.run_key for r in evaluated(options, "2026-03-10T02:10Z").requests] == ["hourly@2026-03-10T02:00:00+00:00"]
    [entry] = overview(workspace, at("2026-03-10T02:10Z"))
    last = entry.last_tick.status if entry.last_tick else None
    assert (entry.name, entry.paused, last) == ("hourly", False, REQUESTED)


def test_the_command_runs_one_tick_and_lists_ticks_and_automation(tmp_path: Path) -> None:
    project(tmp_path, NIGHTLY.replace("CATCHUP", "False").replace("nightly = ", "# "))

    def assets(*argv: str) -> subprocess.CompletedProcess[str]:
        return in_process(*argv, cwd=tmp_path)

    assert assets("daemon", "--once", "--now", "2026-03-10T00:30+00:00").returncode == 0
    done = assets("daemon", "--once", "--now", "2026-03-10T01:30+00:00", "--json")
    assert done.returncode == 0, done.stderr
    assert [t["requests"][0]["partition"] for t in json.loads(done.stdout)["ticks"]] == ["2026-03-09"]
    listed = json.loads(assets("ticks", "hourly", "--json").stdout)
    assert [t["status"] for t in listed] == ["requested", "skipped"]
    assert listed[0]["requests"][0]["run_id"]  # claimed by the worker that ran it
    shown = json.loads(assets("automation", "--json").stdout)
    assert shown["automation"][0]["name"] == "hourly" and shown["daemon"] is None
    assert assets("automation", "pause", "hourly").returncode == 0
    refused = assets("automation", "pause", "hourlyy")
    assert refused.returncode == 2 and "did you mean 'hourly'" in refused.stderr
    unknown = assets("ticks", "hourli")
    assert unknown.returncode == 2 and "did you mean 'hourly'" in unknown.stderr
    bad = assets("daemon", "--once", "--now", "2026-03-10T01:30")
    assert bad.returncode == 2 and "no time zone" in bad.stderr


ALERTED = """
import time
from datetime import timedelta
from pathlib import Path
from assets_core import alert, asset, freshness, sensor

@asset
def report() -> dict:
    return {"at": time.time()}

stale_soon = freshness("report", timedelta(seconds=1))

@sensor("feed", "report", interval_seconds=1)
def feed(context):
    raise ConnectionError("the feed is down")

@alert(on=["freshness", "sensor"])
def note(alert):
    with open(Path(__file__).with_name("alerts.txt"), "a") as out:
        out.write(alert.kind + " " + alert.text + "\\n")
"""


def test_a_violated_freshness_policy_alerts_once_per_violation_and_a_raising_sensor_once_per_failure(
        tmp_path: Path) -> None:
    options = project(tmp_path, ALERTED)
    workspace = open_workspace(options)
    usecases.materialize(workspace)
    alerts = tmp_path / "alerts.txt"
    time.sleep(1.2)
    evaluated(options, "2026-03-05T00:00:00Z")
    evaluated(options, "2026-03-05T00:00:02Z")  # the same violation, the same failure: no second alert
    lines = sorted(alerts.read_text().splitlines())  # delivered at once, each in a thread of its own
    assert [line.split()[0] for line in lines] == ["freshness", "sensor"]
    assert "asset report is overdue" in lines[0] and "ConnectionError: the feed is down" in lines[1]
    usecases.materialize(workspace, force=True)  # a new value, late again later: a new violation
    time.sleep(1.2)
    evaluated(options, "2026-03-05T00:00:04Z")
    assert [line.split()[0] for line in alerts.read_text().splitlines()].count("freshness") == 2


def test_on_missing_fires_each_time_the_asset_is_missing_again(tmp_path: Path) -> None:
    # the same missing state seen again (its stored value gone a second time) used to give the same run key,
    # so the second time was 'run key ... was used before' and the asset stayed missing for good
    options = project(tmp_path, "from assets_core import asset, on_missing\n\n"
                                "@asset(automation=on_missing())\ndef a() -> dict:\n    return {'v': 1}\n")
    daemon = Daemon(options, say=lambda line: None)
    for minute in range(3):
        assert len(daemon.once(at(f"2026-03-05T00:0{minute}Z")).requests) == 1
        assert usecases.statuses(open_workspace(options), ["a"])[0].status == "fresh"
        for stored in (tmp_path / ".assets" / "storage").glob("a@*"):
            stored.unlink()


def test_an_asset_already_requested_by_conditions_is_not_requested_again_before_it_runs(tmp_path: Path) -> None:
    # a tick that saw anything else change (here a new asset) made a new run key, and requested 'a' once more
    # while its first request still waited for a worker (a busy daemon, or runs slower than the interval)
    one = "from assets_core import asset, on_missing\n\n@asset(automation=on_missing())\ndef a() -> dict:\n" \
          "    return {'v': 1}\n"
    options = project(tmp_path, one)
    evaluated(options, "2026-03-05T00:00Z")
    project(tmp_path, one + "\n@asset(automation=on_missing())\ndef b() -> dict:\n    return {'v': 2}\n")
    evaluated(options, "2026-03-05T00:01Z")
    workspace = open_workspace(options)
    try:
        assert sorted(r.selection for r in workspace.catalog.pending_requests()) == [("a",), ("b",)]
    finally:
        workspace.catalog.close()


def test_a_run_whose_process_died_with_exit_code_3_is_not_reported_as_nothing_to_do(tmp_path: Path) -> None:
    """The worker's 'nothing was stale' exit code is 3, which an asset calling os._exit(3) also gives: the daemon
    said 'nothing was stale, no run' of a run that started and died."""
    project(tmp_path, "import os\nfrom assets_core import asset, on_missing\n\n"
                      "@asset(automation=on_missing())\ndef dies():\n    os._exit(3)\n")
    done = in_process("daemon", "--once", "--now", "2026-03-10T00:30+00:00", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "nothing was stale" not in done.stdout, done.stdout
    assert "ended with exit code 3" in done.stdout and "interrupted" in done.stdout, done.stdout
