"""Every --json command's JSON is written by one function: the same JSON as the standard library's
json.dumps(value, default=str), whatever the value holds."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from assets_core.planning.plan import FRESH, STALE, Reason, ReasonKind, Status
from tui.cli.json_text import json_text


class _Pair(NamedTuple):
    left: int
    right: str


class _Colour(StrEnum):
    RED = "red"


class _Size(IntEnum):
    BIG = 3


@dataclasses.dataclass
class _Point:
    x: int


VALUES: list[Any] = [
    {"asset": "orders", "upstream": ("raw", "stg"), "tags": (), "rows": 3, "ratio": 0.1, "none": None, "ok": True},
    [Status("a", FRESH).to_json(), Status("b", STALE, (Reason(ReasonKind.CODE_CHANGED, "its code changed"),)).to_json()],
    {"at": datetime(2024, 5, 1, 12, 30, 0, 250, tzinfo=timezone.utc), "day": date(2024, 5, 1),
     "naive": datetime(2024, 5, 1), "took": timedelta(seconds=5)},
    {"path": Path("/data/orders.parquet"), "point": _Point(1), "set": {1}, "bytes": b"\x00"},
    {"pair": _Pair(1, "x"), "status": Status("a", FRESH), "colour": _Colour.RED, "size": _Size.BIG},
    {1: "an int key", "big": 2 ** 70, "unicode": "naïve – ☃ \u2028", "nested": [[{"deep": [1, 2.5e300]}]]},
    {"surrogate": "\ud800"},  # not valid Unicode: orjson refuses it, the standard library writes it
    [],
    "text",
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("indent", [False, True])
def test_the_json_is_the_standard_librarys(value: Any, indent: bool) -> None:
    text = json_text(value, indent=indent)
    assert json.loads(text) == json.loads(json.dumps(value, default=str))
    assert ("\n" in text) == (indent and value not in ([], "text"))


def test_compact_json_is_one_line() -> None:
    assert json_text({"a": [1, {"b": "multi\nline"}]}) == '{"a":[1,{"b":"multi\\nline"}]}'


def test_what_no_json_can_hold_raises_as_the_standard_library_does() -> None:
    with pytest.raises(TypeError):
        json_text({(1, 2): "a tuple key"})
