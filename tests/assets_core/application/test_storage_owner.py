"""A storage belongs to one catalog: two homes with catalogs of their own and one storage (a folder or a bucket)
are refused before one deletes the other's values, and homes sharing one catalog share one storage as before."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from assets_core.application import usecases
from assets_core.application.catalogs import sqlite_url
from assets_core.application.workspace import Options, open_workspace
from assets_core.errors import StorageOwnedError
from assets_core.running.leftovers import temporary_name
from assets_core.running.object_storage import storage_at
from tui.cli.main import main

DEFS = "from assets_core import asset\n\n@asset\ndef numbers():\n    return {{'value': {value}}}\n\n" \
       "@asset\ndef twice(numbers):\n    return {{'value': 2 * numbers['value']}}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "defs.py").write_text(DEFS.format(value=1))
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _assets(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out = _assets(capsys, *argv, "--json")
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize("where", ["folder", "bucket"])
def test_a_second_catalog_is_refused_the_storage_and_prunes_nothing_of_the_first(
        project: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest, where: str) -> None:
    shared = str(project / "shared") if where == "folder" else request.getfixturevalue("s3_bucket")
    home_a, home_b = ["--home", str(project / "a"), "--storage", shared], ["--home", str(project / "b"),
                                                                            "--storage", shared]
    for value in (1, 2):  # B's older and current values
        (project / "defs.py").write_text(DEFS.format(value=value))
        assert _assets(capsys, "materialize", *home_b)[0] == 0
    storage = storage_at(shared)
    before = storage.versions()
    assert sum(len(found) for found in before.values()) == 4

    code, out = _assets(capsys, "materialize", *home_a)
    assert code == 2
    message = " ".join(out.split())
    for part in (f"the storage {shared} is used by another catalog", "two catalogs must not share one storage",
                 "--catalog or ASSETS_CATALOG", "a storage of its own"):
        assert part in message, message
    assert _json(capsys, "runs", *home_a) == []  # no run recorded

    code, out = _assets(capsys, "prune", "--keep", "1", *home_a)
    assert code == 2 and "used by another catalog" in out
    assert storage.versions() == before  # nothing deleted
    assert {entry["status"] for entry in _json(capsys, "status", *home_b)} == {"fresh"}
    assert _assets(capsys, "prune", "--keep", "1", *home_b)[0] == 0  # the owner prunes its own old versions
    assert sum(len(found) for found in storage.versions().values()) == 2


def test_homes_sharing_one_catalog_share_one_storage(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = ["--catalog", sqlite_url(project / "team.db"), "--storage", str(project / "shared")]
    first = _json(capsys, "materialize", "--home", str(project / "a"), *shared)
    (project / "defs.py").write_text(DEFS.format(value=2))
    second = _json(capsys, "materialize", "--home", str(project / "b"), *shared)
    assert first["status"] == second["status"] == "success"
    assert _assets(capsys, "prune", "--keep", "1", "--home", str(project / "a"), *shared)[0] == 0
    statuses = _json(capsys, "status", "--home", str(project / "b"), *shared)
    assert {entry["status"] for entry in statuses} == {"fresh"}


def test_a_home_whose_catalog_was_deleted_is_told_how_to_give_its_storage_to_the_new_one(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(project / "a")]
    assert _assets(capsys, "materialize", *home)[0] == 0
    (project / "a" / "catalog.db").unlink()  # a reset that kept the stored values
    code, out = _assets(capsys, "materialize", *home)
    mark = project / "a" / "storage" / ".owner"
    assert code == 2 and f"delete the mark {mark} to give the storage to this catalog" in " ".join(out.split())
    mark.unlink()
    assert _json(capsys, "materialize", *home)["status"] == "success"


def test_a_sqlite_catalog_in_memory_checks_no_owner_as_a_memory_catalog_does(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--catalog sqlite:// lives as long as one command: each had an id of its own and marked the storage, so
    the second command with it was refused the storage the first had used."""
    for value in (1, 2):
        (project / "defs.py").write_text(DEFS.format(value=value))
        code, out = _assets(capsys, "materialize", "--catalog", "sqlite://")
        assert code == 0, out
    assert not (project / ".assets" / "storage" / ".owner").exists()


def _dead_pid() -> int:
    """A process id no process has: one above the largest the system gives (an ended process's id could be given
    again meanwhile)."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


@pytest.mark.parametrize("writer", ["materialize", "prune"])
def test_a_killed_writers_leftover_is_left_by_a_look_and_swept_by_what_writes_next(
        project: Path, capsys: pytest.CaptureFixture[str], writer: str) -> None:
    assert _assets(capsys, "materialize")[0] == 0
    storage = project / ".assets" / "storage"
    dead, alive = storage / temporary_name(_dead_pid()), storage / temporary_name(os.getpid())
    for leftover in (dead, alive):
        leftover.write_bytes(b"half a value")
    for look in ("status", "plan", "list"):
        assert _assets(capsys, look)[0] == 0
    assert _assets(capsys, "materialize")[0] == 0  # nothing to run: nothing written, nothing swept
    assert dead.exists() and alive.exists()
    (project / "defs.py").write_text(DEFS.format(value=2))  # something to run, or an older value to prune
    argv = ["prune", "--keep", "1"] if writer == "prune" else [writer]
    code, out = _assets(capsys, *argv)
    assert code == 0, out
    assert not dead.exists() and alive.exists()  # a live writer's file is never touched


def _shared_with_leftover(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, Path]:
    """A storage folder the catalog of home ``b`` materialized into and owns, holding a dead writer's file."""
    shared = str(project / "shared")
    assert _assets(capsys, "materialize", "--home", str(project / "b"), "--storage", shared)[0] == 0
    leftover = Path(shared) / temporary_name(_dead_pid())
    leftover.write_bytes(b"half a value of the first catalog's writer")
    return shared, leftover


def test_a_storage_refused_to_a_second_catalog_is_not_swept_by_it(project: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    shared, leftover = _shared_with_leftover(project, capsys)
    assert _assets(capsys, "materialize", "--home", str(project / "a"), "--storage", shared)[0] == 2
    assert leftover.exists()


def test_recover_marks_dead_runs_and_sweeps_only_its_own_storage(project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    shared, leftover = _shared_with_leftover(project, capsys)
    theirs = open_workspace(Options(project=str(project), home=str(project / "a"), storage=shared))
    with pytest.raises(StorageOwnedError):
        usecases.recover(theirs)
    assert leftover.exists()
    ours = open_workspace(Options(project=str(project), home=str(project / "b"), storage=shared))
    assert usecases.recover(ours) == [] and not leftover.exists()
