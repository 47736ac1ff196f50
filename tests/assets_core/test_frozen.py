"""The quick maker of frozen dataclass instances makes exactly what their __init__ makes."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from assets_core.declaring.definitions import Asset, AssetOptions, RetryPolicy, Upstream, asset, source_asset
from assets_core.declaring.time_partitions import DailyPartitions
from assets_core.errors import Location
from assets_core.frozen import EMPTY, Maker


def _same(made: object, expected: object) -> None:
    assert type(made) is type(expected)
    names = [f.name for f in dataclasses.fields(expected)]  # type: ignore[arg-type]
    assert {name: getattr(made, name) for name in names} == {name: getattr(expected, name) for name in names}


def _fn(left, right):  # noqa: ANN001, ANN202
    return left


ASSET_ARGUMENTS = [
    {"name": "a", "kind": "python"},
    {"name": "b", "kind": "python", "inputs": {"left": "a", "right": "c"}, "deps": ("c", "d"), "fn": _fn},
    {"name": "b", "kind": "python", "inputs": {"left": "a", "right": "a"}, "deps": ("a",)},
    {"name": "s", "kind": "source", "path": "data/x.csv", "read_options": {"sep": ";"}, "tags": ("pii",),
     "location": Location("defs.py", 3), "options": AssetOptions(retry=RetryPolicy(max_attempts=3)),
     "windows": {"a": (-6, 0)}, "time_column": "day", "backfill": "single_run", "lineage": {"x": ("a.x",)}},
]


@pytest.mark.parametrize("arguments", ASSET_ARGUMENTS)
def test_an_asset_made_by_keyword_equals_the_one_init_makes(arguments: dict[str, object]) -> None:
    made = Maker(Asset)(**arguments)
    _same(made, Asset(**arguments))
    assert made.upstream == Asset(**arguments).upstream  # set after __init__, by __post_init__
    assert made.is_source == (arguments["kind"] == "source")


def test_an_asset_made_from_a_dict_equals_the_one_init_makes_and_leaves_the_dict_alone() -> None:
    for arguments in ASSET_ARGUMENTS:
        given = dict(arguments)
        made = Maker(Asset).made(given)
        assert given == arguments
        _same(made, Asset(**arguments))
        assert made.upstream == Asset(**arguments).upstream


def test_only_the_fields_that_differ_from_their_defaults_are_set_on_the_instance() -> None:
    duckdb = "".join(["duck", "db"])  # the default's equal but not itself: set, harmless
    made = Maker(Asset)(name="a", kind="python", group=Asset.group, deps=(), dialect=duckdb, inputs={"left": "b"})
    # group and deps are the defaults themselves: left to the class; is_source is set only for sources
    assert set(vars(made)) == {"name", "kind", "inputs", "dialect", "upstream"}
    assert not made.is_source and Maker(Asset)(name="s", kind="source").is_source
    assert Asset(name="s", kind="source").is_source and not Asset(name="a", kind="python").is_source


def test_repeated_upstreams_are_listed_once_in_their_first_place() -> None:
    for make in (Asset, Maker(Asset)):
        assert make(name="b", kind="python", inputs={"l": "a", "r": "a", "m": "c"}).upstream == ("a", "c")
        assert make(name="b", kind="python", inputs={"l": "a", "r": "c"}, deps=("c", "d")).upstream == ("a", "c", "d")
        assert make(name="b", kind="python", inputs={"l": "a"}).upstream == ("a",)
        assert make(name="b", kind="python").upstream == ()


def test_an_asset_made_by_the_maker_survives_pickling() -> None:
    for arguments in ASSET_ARGUMENTS:
        made = Maker(Asset)(**arguments)
        back = pickle.loads(pickle.dumps(made))
        _same(back, made)
        assert back.upstream == made.upstream and back.is_source == made.is_source
    raw = source_asset("raw", "data/raw.csv")
    assert pickle.loads(pickle.dumps(raw)).is_source


def test_a_factory_default_is_new_for_each_instance() -> None:
    @dataclasses.dataclass(frozen=True)
    class Listed:
        items: list[int] = dataclasses.field(default_factory=list)

    first, second = Maker(Listed)(), Maker(Listed)()
    assert first.items == [] and first.items is not second.items


def test_the_shared_empty_mapping_cannot_change_and_survives_pickling() -> None:
    made = Maker(Asset)(name="a", kind="python")
    assert made.inputs == {} and made.windows == {} and made.read_options == {} and len(made.inputs) == 0
    assert made.windows.get("up") is None and "up" not in made.windows and list(made.windows) == []
    with pytest.raises(TypeError):
        made.windows["up"] = (-1, 0)  # type: ignore[index]
    with pytest.raises(KeyError):
        made.windows["up"]
    assert pickle.loads(pickle.dumps(EMPTY)) is EMPTY and repr(EMPTY) == "{}"


def test_it_refuses_what_init_refuses() -> None:
    make = Maker(Asset)
    with pytest.raises(TypeError):
        make(name="a")  # kind missing
    with pytest.raises(TypeError):
        make(name="a", kind="python", colour="red")  # no such field
    with pytest.raises(TypeError):
        make(colour="red", name="a", kind="python")  # no such field, before the others
    with pytest.raises(TypeError):
        make.made({"kind": "python", "inputs": {"x": "y"}})  # name missing, given as a dict
    with pytest.raises(TypeError):
        make.made({"name": "a", "kind": "python", 1: 2})  # type: ignore[dict-item]  # a key that is no name
    made = make(name="a", kind="python")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "b"  # type: ignore[misc]  # still frozen


def test_a_class_it_cannot_make_is_refused_at_once() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        x: int

    @dataclasses.dataclass(frozen=True)
    class Late:
        x: int
        y: int = dataclasses.field(init=False, default=0)

    @dataclasses.dataclass(frozen=True)
    class Moved:
        x: int = 0

    Moved.x = 1  # type: ignore[misc]  # the default is no longer the class attribute

    @dataclasses.dataclass(frozen=True)
    class LateFactory:
        x: int
        y: list[int] = dataclasses.field(init=False, default_factory=list)

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True)
    class LateMoved:
        x: int
        y: int = dataclasses.field(init=False, default=0)

        def __post_init__(self) -> None:
            pass

    LateMoved.y = 1  # type: ignore[misc]

    for cls in (Slotted, Late, Moved, LateFactory, LateMoved):
        with pytest.raises(TypeError, match="cannot be made by a Maker"):
            Maker(cls)


def test_the_decorator_and_source_asset_make_what_init_would() -> None:
    @asset(name="b", inputs={"right": "c"}, deps=["d"], tags={"tier": "gold"}, group="g")
    def made(left, right, context):  # noqa: ANN001, ANN202
        """Adds.

        More words."""
        return left

    expected = Asset(name="b", kind="python", inputs={"left": "left", "right": "c"}, deps=("d",), group="g",
                     description="Adds.", tags=("tier=gold",), fn=made.fn, location=made.location,
                     wants_context=True)
    _same(made, expected)
    raw = source_asset("raw", "data/raw.csv")
    _same(raw, Asset(name="raw", kind="source", group="default", path="data/raw.csv", location=raw.location))


def _plain(left, previous):  # noqa: ANN001, ANN202
    return left


def _documented():  # noqa: ANN202
    """First paragraph,
    two lines.

    Not this one."""


# The decorator passes on only what differs from a field's default: each declaration here leaves some default and
# changes others, and must make the asset __init__ makes from every field (the expected ones, written out).
DECORATED = [
    (dict(), _plain, dict(name="_plain", kind="python", inputs={"left": "left"}, wants_previous=True)),
    (dict(name="finance.orders", group="", description="", owners=["ana"], options=AssetOptions(io="json")),
     _documented, dict(name="finance.orders", kind="python", group="finance", owners=("ana",),
                       options=AssetOptions(io="json"))),
    (dict(deps=("x",), tags=["pii"]), _documented,
     dict(name="_documented", kind="python", deps=("x",), tags=("pii",),
          description="First paragraph, two lines.")),
    (dict(inputs={"left": Upstream("up", window=(-1, 0)), "previous": "prev"},
          partitions=DailyPartitions("2026-01-01")),
     _plain, dict(name="_plain", kind="python", inputs={"left": "up", "previous": "prev"}, windows={"up": (-1, 0)},
                  partitions=DailyPartitions("2026-01-01"))),
    (dict(name="1st", inputs={"nope": "x"}), _plain, None),  # problems kept on the asset
]


@pytest.mark.parametrize(("arguments", "fn", "expected"), DECORATED)
def test_each_declaration_makes_what_init_makes_from_every_field(
        arguments: dict[str, object], fn: object, expected: dict[str, object] | None) -> None:
    made = asset(**arguments)(fn)  # type: ignore[arg-type]
    if expected is None:  # a bad declaration: its problems, and the rest as __init__ makes it
        details = [p.detail for p in made.problems]
        assert details[0].startswith("maps inputs['nope']") and "not a valid asset name" in details[1]
        expected = dict(name="1st", kind="python", inputs={"left": "left"}, wants_previous=True,
                        problems=made.problems)
    _same(made, Asset(**expected, fn=fn, location=made.location))  # type: ignore[arg-type]
    assert made.upstream == Asset(**expected).upstream  # type: ignore[arg-type]


def test_equal_functions_of_two_files_keep_their_own_file() -> None:
    source = "def same(left):\n    return left\n"
    made = []
    for file in ("/project/one.py", "/project/two.py"):
        scope: dict[str, object] = {}
        exec(compile(source, file, "exec"), scope)  # equal code objects: code equality ignores the file
        made.append(asset(scope["same"]))
    assert made[0].fn.__code__ == made[1].fn.__code__
    assert [item.location.file for item in made] == ["/project/one.py", "/project/two.py"]
