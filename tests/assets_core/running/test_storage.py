"""Stored values on real files: data versions are stable, a corrupted file is repaired by the next write of its
content and a read of it names the file and the fix."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from assets_core.application.project import Project
from assets_core.declaring.definitions import asset
from assets_core.errors import StorageError
from assets_core.planning.memory import MemoryCatalog
from assets_core.running import leftovers
from assets_core.running import storage as storage_module
from assets_core.running.content import content_version
from assets_core.running.runs import RunSettings
from assets_core.running.storage import Storage

SMALL = pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]})
BIG = pl.DataFrame({"n": range(storage_module.SMALL_TABLE_ROWS + 10)})  # the threaded writer's path


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _overwrite(path: Path) -> None:
    """Same size, other bytes: only a hash tells it apart."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    path.write_bytes(bytes(data))


def _holds_its_name(storage: Storage, location: str) -> bool:
    return content_version(storage.path(location).read_bytes()) == location.rpartition("@")[2].rpartition(".")[0]


def _no_temporary_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(leftovers.TEMPORARY_PREFIX)]


@pytest.fixture(params=["unnamed", "renamed"])
def storage(request, tmp_path) -> Storage:
    """Storage both ways a file reaches its name: an unnamed file linked in, or a named one renamed."""
    storage = Storage(tmp_path / "storage")
    if request.param == "renamed":
        storage.files.unnamed = False
    return storage


@pytest.mark.parametrize("value", [SMALL, {"rows": 3}, BIG], ids=["table", "json", "big table"])
@pytest.mark.parametrize("damage", [_truncate, _overwrite], ids=["truncated", "overwritten"])
def test_a_repeated_write_repairs_a_corrupted_file(storage, value, damage):
    stored = storage.write("orders", value)
    path = storage.path(stored.location)
    damage(path)
    assert not _holds_its_name(storage, stored.location)
    with pytest.raises(StorageError) as raised:
        storage.read(stored.location)
    assert str(path) in str(raised.value) and "assets materialize --force orders" in str(raised.value)

    again = storage.write("orders", value)
    assert again.location == stored.location
    assert _holds_its_name(storage, stored.location)
    assert _no_temporary_files(storage.root)
    read = storage.read(stored.location)
    assert read == value if isinstance(value, dict) else read.equals(value)


def test_an_intact_file_is_kept_not_rewritten(tmp_path):
    storage = Storage(tmp_path)
    stored = storage.write("orders", SMALL)
    before = storage.path(stored.location).stat().st_ino
    storage.write("orders", SMALL)
    assert storage.path(stored.location).stat().st_ino == before


def test_a_lazy_read_of_a_corrupted_table_fails_at_once(tmp_path):
    """A LazyFrame would only fail when collected, inside whoever reads it: the read itself must fail."""
    storage = Storage(tmp_path)
    stored = storage.write("orders", SMALL)
    _overwrite(storage.path(stored.location))
    with pytest.raises(StorageError, match="is corrupted.*assets materialize --force orders"):
        storage.read(stored.location, lazy=True)


def test_files_named_by_the_earlier_sha256_versions_stay_readable(tmp_path):
    storage = Storage(tmp_path)
    for value, suffix in ((SMALL, ".parquet"), ({"a": 1}, ".json")):
        stored = storage.write("old", value)
        data = storage.path(stored.location).read_bytes()
        legacy = f"old@{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
        storage.path(stored.location).rename(storage.path(legacy))
        read = storage.read(legacy)
        assert read == value if isinstance(value, dict) else read.equals(value)


def test_data_versions_are_the_same_in_every_process(tmp_path):
    storage = Storage(tmp_path / "here")
    here = [storage.write("a", {"x": [1, 2]}).data_version, storage.write("b", SMALL).data_version]
    script = textwrap.dedent(f"""
        import polars as pl
        from assets_core.running.storage import Storage
        storage = Storage({str(tmp_path / "there")!r})
        print(storage.write("a", {{"x": [1, 2]}}).data_version)
        print(storage.write("b", pl.DataFrame({{"id": [1, 2, 3], "name": ["a", "b", "c"]}})).data_version)
    """)
    there = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert there.stdout.split() == here
    assert here[0] == content_version(b'{"x":[1,2]}') == "120eec90f4ffe01d240fb385083a28e3"


def test_materialize_force_repairs_a_corrupted_value_and_downstream_reads_it(tmp_path):
    @asset
    def orders():
        return SMALL

    @asset
    def report(orders):
        return {"rows": orders.height}

    storage = Storage(tmp_path / "storage")
    project = Project([orders, report], tmp_path, storage, MemoryCatalog())

    def forced(*words: str):
        return project.materialize(words, RunSettings(selection=words, force=True))

    assert project.materialize().status == "success"
    stored = storage.locations("orders")[0]
    _overwrite(storage.path(stored))
    failed = forced("report")
    assert failed.failed == ["report"] and "assets materialize --force orders" in failed.outcomes[0].detail

    assert forced("orders").status == "success" and _holds_its_name(storage, stored)
    assert forced("report").status == "success"
    assert storage.read(storage.locations("report")[0]) == {"rows": 3}


@pytest.mark.parametrize("value", [SMALL, {"rows": 3}], ids=["table", "json"])
def test_a_failed_repair_leaves_no_half_written_file(tmp_path, monkeypatch, value):
    storage = Storage(tmp_path)
    stored = storage.write("orders", value)
    path = storage.path(stored.location)
    _truncate(path)
    damaged = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module.os, "replace", crash)
    with pytest.raises(StorageError, match="No space left on device"):
        storage.write("orders", value)
    assert path.read_bytes() == damaged and _no_temporary_files(tmp_path)


@pytest.mark.parametrize("lazy", [False, True], ids=["frame", "lazy"])
def test_a_column_of_python_objects_is_refused_naming_the_asset_and_column(tmp_path, lazy):
    """Parquet would store the objects' memory addresses, a new data version at every run; the asset fails,
    the run goes on."""
    @asset
    def things():
        frame = pl.DataFrame({"id": [1, 2], "thing": pl.Series([object(), object()], dtype=pl.Object)})
        return frame.lazy() if lazy else frame

    @asset
    def other():
        return {"fine": True}

    storage = Storage(tmp_path / "storage")
    result = Project([things, other], tmp_path, storage, MemoryCatalog()).materialize()
    assert result.failed == ["things"] and result.materialized == ["other"]
    detail = result.outcomes[[o.asset for o in result.outcomes].index("things")].detail
    assert "asset 'things'" in detail and "column 'thing'" in detail and "cast it" in detail
    assert storage.locations("things") == []


def test_leftover_cleanup_sweeps_only_this_hosts_dead_writers(tmp_path):
    """Two machines sharing a home: a process id says nothing about another host's writer, so its temporary
    file stays until it has been untouched for a day."""
    storage = Storage(tmp_path)
    storage.write("a", {"n": 1})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    mine = leftovers.temporary_name(int(dead))
    theirs = leftovers.temporary_name(int(dead), host="another-machine")
    stale = leftovers.temporary_name(int(dead), host="a-machine-gone-long-ago")
    older_release = f".tmp-{dead}-0f3a.part"  # no host in its name: only its age tells
    for name in (mine, theirs, stale, older_release):
        (tmp_path / name).write_text("half a file")
    day_ago = time.time() - leftovers.FOREIGN_LEFTOVER_AGE - 60
    os.utime(tmp_path / stale, (day_ago, day_ago))
    assert sorted(storage.sweep(lambda pid: False)) == sorted([mine, stale])
    assert (tmp_path / theirs).exists() and (tmp_path / older_release).exists()
    assert storage.sweep(lambda pid: True) == []
