"""Evaluating sensors declared in a real definitions file: cursors, return values, and the user's own errors."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from assets_core.automation.declarations import RunRequest, Sensor, SensorContext
from assets_core.automation.sensors import evaluate_sensor
from assets_core.declaring.loading import load_assets

NOW = datetime(2026, 3, 30, 12, tzinfo=timezone.utc)

DEFS = """
from assets_core import RunRequest, asset, sensor

@asset
def orders():
    return [1]

@sensor("files", "orders")
def files(context):
    seen = set((context.cursor or "").split(",")) - {""}
    new = sorted({p.name for p in (context.root / "incoming").glob("*.csv")} - seen)
    context.update_cursor(",".join(sorted(seen | set(new))))
    return [RunRequest(partition=name, run_key=name) for name in new]

@sensor("single", "orders")
def single(context):
    return RunRequest("+orders", run_key="x")

@sensor("nothing", "orders")
def nothing(context):
    context.update_cursor("moved")
    return None

@sensor("broken", "orders")
def broken(context):
    context.update_cursor("lost")
    values = {}
    return values["missing"]

@sensor("exits", "orders")
def exits(context):
    raise SystemExit(3)

@sensor("wrong", "orders")
def wrong(context):
    return {"selection": "orders"}

@sensor("mixed", "orders")
def mixed(context):
    return [RunRequest(run_key="a"), "b"]

@sensor("bad_cursor", "orders")
def bad_cursor(context):
    context.update_cursor(42)

@sensor("bad_selection", "orders")
def bad_selection(context):
    return RunRequest(selection="colour:red")

@sensor("repeats", "orders")
def repeats(context):
    return [RunRequest(run_key="a"), RunRequest(run_key="a"), RunRequest(partition="p")]

@sensor("interrupted", "orders")
def interrupted(context):
    raise KeyboardInterrupt
"""


@pytest.fixture
def sensors(tmp_path: Path) -> dict[str, Sensor]:
    (tmp_path / "defs.py").write_text(textwrap.dedent(DEFS))
    return {item.name: item for item in load_assets(tmp_path, file="defs.py") if isinstance(item, Sensor)}


def line_of(root: Path, text: str) -> int:
    return next(number for number, line in enumerate((root / "defs.py").read_text().splitlines(), 1) if text in line)


def test_a_cursor_is_kept_from_one_evaluation_to_the_next(sensors, tmp_path):
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / "a.csv").write_text("x\n")
    first = evaluate_sensor(sensors["files"], None, NOW, tmp_path)
    assert first.ok and first.cursor == "a.csv"
    assert first.requests == (RunRequest("orders", "a.csv", "a.csv"),)  # the sensor's selection filled in
    (tmp_path / "incoming" / "b.csv").write_text("x\n")
    second = evaluate_sensor(sensors["files"], first.cursor, NOW, tmp_path)
    assert second.cursor == "a.csv,b.csv" and [r.run_key for r in second.requests] == ["b.csv"]
    assert evaluate_sensor(sensors["files"], second.cursor, NOW, tmp_path).requests == ()


def test_a_single_request_or_none_is_normalized(sensors, tmp_path):
    assert evaluate_sensor(sensors["single"], None, NOW, tmp_path).requests == (RunRequest("+orders", None, "x"),)
    nothing = evaluate_sensor(sensors["nothing"], "old", NOW, tmp_path)
    assert nothing.requests == () and nothing.cursor == "moved" and nothing.ok


def test_repeated_run_keys_in_one_evaluation_start_one_run(sensors, tmp_path):
    result = evaluate_sensor(sensors["repeats"], None, NOW, tmp_path)
    assert [(r.run_key, r.partition) for r in result.requests] == [("a", None), (None, "p")]


def test_an_exception_is_recorded_with_the_users_file_and_line_and_the_cursor_kept(sensors, tmp_path):
    result = evaluate_sensor(sensors["broken"], "kept", NOW, tmp_path)
    assert not result.ok and result.requests == () and result.cursor == "kept"
    line = line_of(tmp_path, 'return values["missing"]')
    assert f"sensor 'broken' (defs.py:{line}) raised KeyError: 'missing'" in (result.error or "").replace(
        str(tmp_path) + "/", "")
    assert "its cursor is kept" in (result.error or "")
    assert result.traceback is not None and 'values["missing"]' in result.traceback


def test_system_exit_is_recorded_but_keyboard_interrupt_stops(sensors, tmp_path):
    assert "raised SystemExit: 3" in (evaluate_sensor(sensors["exits"], None, NOW, tmp_path).error or "")
    with pytest.raises(KeyboardInterrupt):
        evaluate_sensor(sensors["interrupted"], None, NOW, tmp_path)


@pytest.mark.parametrize(("name", "message"), [
    ("wrong", "returned {'selection': 'orders'} (dict); return a RunRequest, a list of them, or None"),
    ("mixed", "(list); return a RunRequest, a list of them, or None"),
    ("bad_cursor", "raised TypeError: update_cursor takes text, not int 42"),
    ("bad_selection", "returned a RunRequest that has the selection 'colour:red'"),
])
def test_a_wrong_return_value_is_an_error_message(sensors, tmp_path, name, message):
    result = evaluate_sensor(sensors[name], "kept", NOW, tmp_path)
    assert message in (result.error or "") and result.cursor == "kept" and result.requests == ()
    assert "defs.py:" in (result.error or "")


def test_a_run_request_takes_text():
    with pytest.raises(TypeError, match="partition is text or None"):
        RunRequest(partition=20260101)  # type: ignore[arg-type]


def test_the_context_shows_what_the_sensor_sees(tmp_path):
    context = SensorContext("files", "c1", NOW, tmp_path)
    context.update_cursor("c2")
    assert (context.cursor, context.now, context.root) == ("c2", NOW, tmp_path)
    assert repr(context) == "SensorContext('files', cursor='c2', now=2026-03-30T12:00:00+00:00)"
