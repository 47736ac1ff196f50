"""Sensors in threads of their own: a hung one holds up nothing else, and its result is recorded once it returns."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assets_core.application.automation import evaluate
from assets_core.application.sensor_threads import SensorThreads
from assets_core.application.workspace import open_workspace
from assets_core.automation.records import REQUESTED
from tests.assets_core.application.test_daemon import at, project


def test_a_call_not_done_within_the_wait_is_left_running_and_not_started_again() -> None:
    release = threading.Event()
    started: list[int] = []

    def slow() -> str:
        started.append(1)
        release.wait(30)
        return "late"

    threads: SensorThreads[str] = SensorThreads(wait=0.05)
    assert threads.call("s", slow) == (False, None) and threads.under_way() == ["s"]
    assert threads.call("s", slow) == (False, None) and len(started) == 1  # not started a second time
    release.set()
    assert threads.call("s", slow) == (True, "late") and threads.under_way() == []
    assert SensorThreads[str](wait=None).call("t", lambda: "now") == (True, "now")
    with pytest.raises(ZeroDivisionError):
        SensorThreads[int](wait=1).call("u", lambda: 1 // 0)


HANGING = """
from pathlib import Path
from assets_core import RunRequest, asset, schedule, sensor

@asset
def report() -> dict:
    return {"n": 1}

@sensor("hangs", "report", interval_seconds=1)
def hangs(context):
    gate = Path(__file__).with_name("gate")
    while not gate.exists():
        pass
    return RunRequest(run_key="after-the-wait")

hourly = schedule("hourly", "0 * * * *", "report")
"""


def test_a_hung_sensor_holds_up_no_schedule_and_its_result_is_recorded_when_it_returns(tmp_path: Path) -> None:
    options = project(tmp_path, HANGING)
    threads: SensorThreads[object] = SensorThreads(wait=0.2)
    first = evaluate(open_workspace(options), at("2026-03-10T00:30Z"), threads)
    assert [t.name for t in first.ticks] == ["hourly"] and first.waiting == ("hangs",)
    later = evaluate(open_workspace(options), at("2026-03-10T01:30Z"), threads)  # the schedule goes on
    assert [(t.name, t.status) for t in later.ticks] == [("hourly", REQUESTED)] and later.waiting == ("hangs",)
    (tmp_path / "gate").touch()
    threads.wait = 30
    returned = evaluate(open_workspace(options), at("2026-03-10T01:40Z"), threads)
    [tick] = [t for t in returned.ticks if t.name == "hangs"]
    assert tick.status == REQUESTED and tick.evaluated_at == at("2026-03-10T00:30Z")  # as of when it began
    assert [r.run_key for r in returned.requests] == ["after-the-wait"] and returned.waiting == ()
