"""Declaring schedules, sensors and conditions: argument errors with file and line, discovery from a
definitions file, and the graph's checks of their names and selections."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from assets_core.automation.conditions import AnyOf, OnCron
from assets_core.automation.declarations import FileSensor, Schedule, Sensor, file_sensor, schedule, sensor
from assets_core.declaring.definitions import Asset
from assets_core.declaring.loading import load_assets
from assets_core.errors import DefinitionError, DefinitionErrors
from assets_core.planning.graph import AssetGraph
from assets_core.planning.versioning import CodeVersioner

DEFS = """
from assets_core import AssetOptions, asset, file_sensor, on_cron, on_missing, on_upstream_change, schedule, sensor
from assets_core import source_asset

raw_orders = source_asset("raw_orders", "incoming/*.csv")

@asset(options=AssetOptions(automation=on_upstream_change() | on_missing()))
def orders(raw_orders):
    return raw_orders

@asset(options=AssetOptions(automation=on_cron("0 2 * * *", "Europe/Paris")))
def revenue(orders):
    return orders

nightly = schedule("nightly", "0 2 * * *", "+revenue", timezone="Europe/Paris", catchup=True)
AUTOMATION = [file_sensor("landed", "incoming/*.csv", "raw_orders+", interval_seconds=5)]

@sensor("poll", "orders")
def poll(context):
    return None
"""


def write(root: Path, text: str, name: str = "defs.py") -> Path:
    path = root / name
    path.write_text(textwrap.dedent(text))
    return path


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_discovery_finds_schedules_and_sensors_and_the_graph_keeps_them(tmp_path):
    path = write(tmp_path, DEFS)
    definitions = load_assets(tmp_path, file="defs.py")
    graph = AssetGraph.build(definitions)
    assert list(graph.schedules) == ["nightly"] and sorted(graph.sensors) == ["landed", "poll"]
    nightly = graph.schedules["nightly"]
    assert (nightly.cron, nightly.timezone, nightly.catchup, nightly.max_catchup) == ("0 2 * * *", "Europe/Paris",
                                                                                        True, 100)
    assert nightly.location is not None and nightly.location.file == str(path)
    assert nightly.location.line == line_of(path, "nightly = schedule(")
    assert isinstance(graph.sensors["landed"], FileSensor) and graph.sensors["landed"].interval_seconds == 5
    poll = graph.sensors["poll"]
    assert isinstance(poll, Sensor) and poll.location.line == line_of(path, '@sensor("poll"')  # decorator line
    assert isinstance(graph["orders"].options.automation, AnyOf)
    assert isinstance(graph["revenue"].options.automation, OnCron)


def test_automation_leaves_the_code_version_alone(tmp_path):
    plain = write(tmp_path, "from assets_core import asset\n\n@asset\ndef orders():\n    return [1]\n", "plain.py")
    automated = write(tmp_path, "from assets_core import AssetOptions, asset, on_missing\n\n"
                      "@asset(options=AssetOptions(automation=on_missing()))\ndef orders():\n    return [1]\n",
                      "automated.py")
    versions = [CodeVersioner(tmp_path).version(next(d for d in load_assets(tmp_path, file=path.name)
                                                     if isinstance(d, Asset))) for path in (plain, automated)]
    assert versions[0] == versions[1]


def test_graph_reports_duplicate_names_and_unknown_selections_at_once_with_file_and_line(tmp_path):
    path = write(tmp_path, """
        from assets_core import AssetOptions, asset, file_sensor, schedule, sensor

        @asset
        def orders():
            return [1]

        @asset(options=AssetOptions(automation="daily"))
        def revenue(orders):
            return orders

        first = schedule("nightly", "0 2 * * *", "orders")
        second = schedule("nightly", "0 3 * * *", "orders")
        landed = file_sensor("nightly", "in/*.csv", "orders")
        typo = schedule("typo", "0 2 * * *", "+ordrs")
        group = schedule("by_group", "0 2 * * *", "group:finance")

        @sensor("poll", "revenu")
        def poll(context):
            return None
    """)
    with pytest.raises(DefinitionErrors) as raised:
        AssetGraph.build(load_assets(tmp_path, file="defs.py"))
    errors = raised.value.errors
    messages = [error.detail for error in errors]
    assert len(errors) == 6, messages
    duplicates = [e for e in errors if "declared twice" in e.detail]
    assert [e.location.line for e in duplicates] == [line_of(path, "second ="), line_of(path, "landed =")]
    assert "file sensor 'nightly' is declared twice: here and at" in duplicates[1].detail
    typo = next(e for e in errors if "'typo'" in e.detail)
    assert typo.location.line == line_of(path, "typo =")
    assert "schedule 'typo' selects '+ordrs', but 'ordrs' is not an asset; did you mean 'orders'?" in typo.detail
    assert any("by_group" in m and "known groups: default" in m for m in messages)
    poll = next(e for e in errors if "'poll'" in e.detail)
    assert "did you mean 'revenue'?" in poll.detail and poll.location.line == line_of(path, '@sensor("poll"')
    assert any(e.asset == "revenue" and "options.automation='daily'" in e.detail for e in errors)


def test_a_selection_may_name_a_status_or_a_wildcard(tmp_path):
    write(tmp_path, """
        from assets_core import asset, schedule

        @asset
        def orders():
            return [1]

        stale = schedule("stale", "0 2 * * *", "status:stale")
        every = schedule("every", "0 2 * * *", "*")
    """)
    assert sorted(AssetGraph.build(load_assets(tmp_path, file="defs.py")).schedules) == ["every", "stale"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: schedule("nightly", "0 2 * *", "x"), "schedule 'nightly': '0 2 \\* \\*' has 4 fields"),
    (lambda: schedule("nightly", "0 2 * * *", "x", timezone="Europe/Pariss"),
     "unknown time zone 'Europe/Pariss'; did you mean 'Europe/Paris'"),
    (lambda: schedule("nightly", "0 2 * * *", "x", max_catchup=0), "max_catchup=0; give a whole number"),
    (lambda: schedule("", "0 2 * * *", "x"), "schedule name '' is not a name"),
    (lambda: schedule("nightly", "0 2 * * *", ""), "selection=''; give the assets to run"),
    (lambda: schedule("nightly", "0 2 * * *", "colour:red"), "has the selection 'colour:red'"),
    (lambda: file_sensor("landed", "in/*.csv", "x", interval_seconds=0), "interval_seconds=0; give a positive"),
    (lambda: file_sensor("landed", "", "x"), "path=''; give a glob"),
    (lambda: sensor("poll", "x", interval_seconds=-1)(lambda context: None), "interval_seconds=-1"),
    (lambda: file_sensor("landed", "in/*.csv", "x", interval_seconds=float("inf")), r"interval_seconds=inf; .* at most 86400 \(a day"),
    (lambda: sensor("bad name", "x")(lambda context: None), "sensor name 'bad name' is not a name"),
])
def test_bad_arguments_are_definition_errors_with_the_callers_location(call, message):
    with pytest.raises(DefinitionError, match=message) as raised:
        call()
    assert raised.value.location is not None and raised.value.location.file == __file__
    assert str(raised.value).startswith("tests/assets_core/automation/test_declarations.py:") or \
        str(raised.value).startswith(__file__)


def test_declarations_are_plain_values():
    nightly = schedule("nightly", "@daily", "*")
    assert isinstance(nightly, Schedule) and nightly.trigger == "schedule:nightly"
    assert file_sensor("landed", Path("in") / "*.csv", "*").path == "in/*.csv"


def test_a_bare_sensor_decorator_says_what_it_needs():
    with pytest.raises(DefinitionError, match=r"@sensor needs a name and a selection") as raised:
        @sensor  # type: ignore[arg-type]
        def poll(context):
            return None
    assert raised.value.location is not None and raised.value.location.file == __file__
