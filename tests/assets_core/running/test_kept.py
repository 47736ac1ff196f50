"""The tables a worker keeps for the run it serves: read from memory by the attempts after the one that stored or
read them, a lazy frame for a lazy input, the least recently used dropped first, and nothing kept between runs."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from assets_core.application.workspace import Options, open_workspace
from assets_core.declaring.loading import DefinitionsSource
from assets_core.running import remote
from assets_core.running.kept import KeptValues
from assets_core.running.storage import Storage

PROJECT = '''
import polars as pl
from assets_core import asset

@asset
def first():
    return pl.DataFrame({"x": [1, 2, 3]})

@asset
def after(first):
    return first.with_columns(y=pl.col("x") * 2)
'''


def test_a_worker_reads_the_tables_it_kept_for_the_run_and_storage_for_the_others(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(PROJECT)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace = open_workspace(Options(project=str(tmp_path)))
    source, storage, versions = workspace.project.source, workspace.project.storage, workspace.project.code_versions
    assert isinstance(source, DefinitionsSource)
    kept = KeptValues()
    (made,) = remote.perform(remote.Task("first", "first", versions["first"], source, storage, {}, {}), kept)
    assert made.outcome.stored is not None and made.outcome.stored.value is None  # the value stays in the worker
    location = made.outcome.stored.location
    assert kept.locations() == [location]
    assert isinstance(storage, Storage)
    storage.path(location).unlink()  # gone from storage: only the kept table can give it now
    after = remote.Task("after", "after", versions["after"], source, storage, {"first": ("first",)},
                        {"first": ("stored", location)})
    (done,) = remote.perform(after, kept)
    assert done.outcome.status == "materialized"
    assert storage.read(done.outcome.stored.location)["y"].to_list() == [2, 4, 6]  # type: ignore[union-attr]
    (elsewhere,) = remote.perform(after, KeptValues())  # another run's worker reads storage
    assert elsewhere.outcome.status == "failed" and "is gone" in elsewhere.outcome.detail
    (alone,) = remote.perform(after)  # a process pool's worker keeps nothing
    assert alone.outcome.status == "failed"
    workspace.catalog.close()


def test_a_read_table_is_kept_and_given_lazily_to_a_lazy_input_but_a_lazy_read_keeps_nothing(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    frame = pl.DataFrame({"x": [1, 2, 3]})
    one, two = storage.write("one", frame).location, storage.write("two", frame.with_columns(x=pl.col("x") + 1)).location
    kept = KeptValues()
    assert isinstance(kept.read(storage, two, lazy=True), pl.LazyFrame) and kept.locations() == []
    read = kept.read(storage, one, lazy=False)
    assert read.equals(frame) and kept.locations() == [one]
    (tmp_path / one).unlink()
    assert kept.read(storage, one, lazy=False).equals(frame)  # from memory: the file is gone
    lazy = kept.read(storage, one, lazy=True)
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect().equals(frame)


def test_the_least_recently_used_tables_go_first_once_the_limit_is_reached() -> None:
    size = pl.DataFrame({"x": [1, 2, 3]}).estimated_size()
    kept = KeptValues(limit=2 * size, largest=size)
    for name in ("a", "b"):
        kept.keep(f"{name}@1.parquet", pl.DataFrame({"x": [1, 2, 3]}))
    kept.keep("a@1.parquet", pl.DataFrame({"x": [1, 2, 3]}))  # used again: now the most recent
    kept.keep("c@1.parquet", pl.DataFrame({"x": [1, 2, 3]}))
    assert kept.locations() == ["a@1.parquet", "c@1.parquet"]
    kept.keep("big@1.parquet", pl.DataFrame({"x": [1, 2, 3, 4]}))  # larger than any one table kept may be
    assert kept.locations() == ["a@1.parquet", "c@1.parquet"]


MUTATING = '''
import polars as pl
from assets_core import asset

@asset
def first():
    return pl.DataFrame({"x": [1, 2, 3]})

@asset
def mutate(first):
    first.drop_in_place("x")  # the asset's own input, changed in place
    first.insert_column(0, pl.Series("x", [100, 200, 300]))
    return {"done": 1}

@asset
def reader(first):
    return first
'''


def test_a_kept_table_changed_in_place_by_an_attempt_is_not_what_a_later_attempt_reads(tmp_path: Path) -> None:
    """A location names its content: an asset that changes its input (or its own value) in place changes its
    copy only, never the table kept under that location for the run's later attempts in the worker."""
    (tmp_path / "defs.py").write_text(MUTATING)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    workspace = open_workspace(Options(project=str(tmp_path)))
    source, storage, versions = workspace.project.source, workspace.project.storage, workspace.project.code_versions
    assert isinstance(source, DefinitionsSource)
    kept = KeptValues()
    (made,) = remote.perform(remote.Task("first", "first", versions["first"], source, storage, {}, {}), kept)
    assert made.outcome.stored is not None
    found = {"first": ("stored", made.outcome.stored.location)}
    for name in ("mutate", "reader"):
        (done,) = remote.perform(remote.Task(name, name, versions[name], source, storage, {"first": ("first",)},
                                             found), kept)
        assert done.outcome.status == "materialized", done.outcome.detail
    assert done.outcome.stored is not None
    assert storage.read(done.outcome.stored.location)["x"].to_list() == [1, 2, 3]
    workspace.catalog.close()


def test_a_table_kept_or_read_is_handed_out_as_a_copy_its_reader_may_change(tmp_path: Path) -> None:
    storage, frame = Storage(tmp_path), pl.DataFrame({"x": [1, 2, 3]})
    kept = KeptValues()
    kept.keep("a@1.parquet", frame)
    frame[0, "x"] = 99  # the asset that returned it changes it afterwards
    kept.read(storage, "a@1.parquet", lazy=False)[1, "x"] = 42
    assert kept.read(storage, "a@1.parquet", lazy=False)["x"].to_list() == [1, 2, 3]
    location = storage.write("b", pl.DataFrame({"x": [4, 5]})).location
    kept.read(storage, location, lazy=False).drop_in_place("x")  # read from storage, then kept
    (tmp_path / location).unlink()
    assert kept.read(storage, location, lazy=False)["x"].to_list() == [4, 5]


def _data_address(frame: pl.DataFrame) -> int:
    return int(frame.to_arrow().column(0).chunks[0].buffers()[1].address)


def test_a_kept_table_holds_no_memory_of_the_larger_frame_it_was_cut_from() -> None:
    """``estimated_size`` counts only the rows a slice shows, not the buffer it holds alive: a 10-row head of a
    80 MB frame, kept as it was returned, would hold the 80 MB for the rest of the run, past KEPT_BYTES."""
    big = pl.DataFrame({"x": pl.int_range(0, 1_000_000, eager=True)})
    start = _data_address(big)
    kept = KeptValues(largest=1000)
    kept.keep("head@1.parquet", big.head(10))
    text = pl.DataFrame({"s": [f"{n}-{'a' * 100}" for n in range(10_000)]})
    kept.keep("text@1.parquet", text.filter(pl.col("s").str.starts_with("5-")))
    table = kept.read(Storage("/nonexistent"), "head@1.parquet", lazy=False)
    assert table["x"].to_list() == list(range(10))
    assert not start <= _data_address(table) < start + big.estimated_size()
    assert kept.read(Storage("/nonexistent"), "text@1.parquet", lazy=False)["s"].to_list() == [f"5-{'a' * 100}"]
    assert len(kept.locations()) == 2
