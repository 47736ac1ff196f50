"""The code-version cache: unchanged code is not parsed again, and every edit that changes a version is seen."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from assets_core.application.project import Project
from assets_core.declaring.loading import load_assets
from assets_core.planning import code_syntax
from assets_core.planning.version_cache import CACHE_FILE
from assets_core.planning.versioning import CodeVersioner

HELPERS = "def tidy(rows):\n    return sorted(rows)\n"
DEFS = """
import os
from assets_core.declaring.definitions import asset
import helpers

LIMIT = 3
SCALE = int(os.environ.get("VERSION_CACHE_SCALE", "1"))

def clip(rows):
    return rows[:LIMIT]

@asset
def first():
    return clip(helpers.tidy([3, 1, 2]))

@asset
def second(first):
    return [row * SCALE for row in first]
"""


def _versions(root: Path) -> dict[str, str]:
    """The versions as a command computes them (with the cache in the home), checked against a computation
    without any cache."""
    project = Project(load_assets(root, file="defs.py"), root, home=root / ".assets")
    cached = project.code_versions
    assert cached == CodeVersioner(root).versions(project.graph)
    return cached


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delitem(sys.modules, "helpers", raising=False)  # another test's project's module of that name
    (tmp_path / ".assets").mkdir()
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "defs.py").write_text(DEFS)
    return tmp_path


def test_the_second_command_parses_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _versions(project)
    assert (project / ".assets" / CACHE_FILE).exists()

    def refuse(source: str) -> None:
        raise AssertionError(f"parsed again:\n{source}")

    monkeypatch.setattr(code_syntax, "parse_source", refuse)
    project_again = Project(load_assets(project, file="defs.py"), project, home=project / ".assets")
    assert project_again.code_versions == before


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("file, old, new, changed", [
    ("defs.py", "return clip(helpers.tidy([3, 1, 2]))", "return clip(helpers.tidy([3, 1, 2, 0]))", {"first"}),
    ("defs.py", "return rows[:LIMIT]", "return rows[:LIMIT][::-1]", {"first"}),  # a helper in the same file
    ("defs.py", "LIMIT = 3", "LIMIT = 4", {"first"}),  # a constant
    ("helpers.py", "return sorted(rows)", "return sorted(rows, reverse=True)", {"first"}),  # another file
    ("defs.py", "def clip(rows):\n    return rows[:LIMIT]\n\n@asset\ndef first():\n    return clip(",
     "def cut(rows):\n    return rows[:LIMIT]\n\n@asset\ndef first():\n    return cut(", {"first"}),  # renamed helper
])
def test_every_edit_that_changes_a_version_is_seen(project: Path, file: str, old: str, new: str,
                                                    changed: set[str]) -> None:
    before = _versions(project)
    _edit(project, file, old, new)
    after = _versions(project)
    assert {name for name in before if before[name] != after[name]} == changed


def test_two_functions_that_swap_names_keep_their_own_versions(project: Path) -> None:
    (project / "defs.py").write_text(DEFS + "\n@asset\ndef a():\n    return 1\n\n@asset\ndef b():\n    return 2\n")
    before = _versions(project)
    (project / "defs.py").write_text(DEFS + "\n@asset\ndef a():\n    return 2\n\n@asset\ndef b():\n    return 1\n")
    after = _versions(project)
    assert after["a"] == before["b"] and after["b"] == before["a"] and after["a"] != after["b"]


def test_an_edit_of_the_same_size_and_modification_time_is_seen(project: Path) -> None:
    before = _versions(project)
    path = project / "defs.py"
    stat = path.stat()
    _edit(project, "defs.py", "[3, 1, 2]", "[3, 1, 5]")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert _versions(project)["first"] != before["first"]


def test_a_constant_set_from_the_environment_is_seen_without_any_file_changing(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _versions(project)
    monkeypatch.setenv("VERSION_CACHE_SCALE", "2")
    after = _versions(project)
    assert before["second"] != after["second"] and before["first"] == after["first"]


def test_decorated_functions_are_versioned_by_their_own_bodies(project: Path) -> None:
    (project / "defs.py").write_text(DEFS + """
import functools

def logged(fn):
    @functools.wraps(fn)
    def wrapper():
        return fn()
    return wrapper

@asset
@logged
def one():
    return 1

@asset
@logged
def two():
    return 2
""")
    versions = _versions(project)
    assert versions["one"] != versions["two"]


def test_the_cache_keeps_only_what_the_project_uses_and_survives_a_damaged_file(project: Path) -> None:
    _versions(project)
    cache = project / ".assets" / CACHE_FILE
    first = json.loads(cache.read_text())
    _edit(project, "defs.py", "[3, 1, 2]", "[3, 1, 9]")
    _versions(project)
    second = json.loads(cache.read_text())
    assert len(second["versions"]) == len(first["versions"])  # the edited code's old entries are gone
    assert second["versions"] != first["versions"]
    cache.write_text('{"format": 2, "names": [')  # damaged: read as empty, then written whole again
    assert _versions(project)
    assert json.loads(cache.read_text()) == second


def test_no_cache_is_written_where_the_home_does_not_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "helpers", raising=False)
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "defs.py").write_text(DEFS)
    project = Project(load_assets(tmp_path, file="defs.py"), tmp_path, home=tmp_path / "nowhere")
    assert project.code_versions
    assert not (tmp_path / "nowhere").exists()


def test_a_read_only_look_writes_no_cache(project: Path) -> None:
    from assets_core.application.workspace import Options, open_workspace

    (project / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    writable = open_workspace(Options(project=str(project)))
    writable.catalog.close()  # the catalog now exists, so a read-only look may open it
    looked = open_workspace(Options(project=str(project)), read_only=True)
    assert looked.project.code_versions
    looked.catalog.close()
    assert not (project / ".assets" / CACHE_FILE).exists()
