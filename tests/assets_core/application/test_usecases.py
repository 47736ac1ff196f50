"""The use cases every front end calls: one behaviour whether the command, the browser or a script asks."""

from __future__ import annotations

import sqlite3

import pytest

from assets_core.application import usecases
from assets_core.errors import ProjectError
from assets_core.application.workspace import Options, open_workspace
from assets_core.errors import ProjectError
from tui.browser.session import Browser
from tui.cli.main import main

FLAKY = """
from pathlib import Path
from assets_core import asset

@asset
def flaky():
    marker = Path(__file__).with_name("tried")
    if not marker.exists():
        marker.write_text("once")
        raise ConnectionError("the first attempt fails")
    return {"ok": True}
"""

CHAIN = """
from assets_core import asset

@asset
def a():
    return {"version": VERSION}

@asset
def b(a):
    return {"from": a}
"""


def _workspace(folder):
    return open_workspace(Options(project=str(folder.root)))


def test_a_run_from_the_browser_follows_the_projects_retry_policy(folder):
    folder.write("defs.py", FLAKY)
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n[tool.assets.retry]\nmax_attempts = 2\n')
    browser = Browser(_workspace(folder))
    plan, snapshot = browser.plan("flaky")
    heard = []
    result = browser.run("flaky", plan, snapshot, heard.append)
    assert result.materialized == ["flaky"] and result.failed == []
    retries = [e.message for e in browser.catalog.run_events(result.run_id) if e.kind == "retry"]
    assert len(retries) == 1 and "the first attempt fails" in retries[0]
    run = browser.find_run(result.run_id)
    assert run.trigger == "tui" and run.status == "success"


def test_settings_take_the_project_workers_unless_the_caller_chooses(folder):
    folder.write("defs.py", CHAIN.replace("VERSION", "1"))
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\nworkers = 3\n[tool.assets.retry]\nmax_attempts = 4\n')
    workspace = _workspace(folder)
    assert usecases.settings(workspace, "manual").workers == 3
    assert usecases.settings(workspace, "manual", workers=7).workers == 7
    for wrong in (-3, 0, 2.5, True):
        with pytest.raises(ProjectError, match="workers must be a whole number of at least 1"):
            usecases.settings(workspace, "manual", workers=wrong)
    assert usecases.settings(workspace, "tui").retry.max_attempts == 4


@pytest.mark.parametrize("command", ["plan", "materialize"])
def test_an_asset_waiting_on_an_unselected_stale_upstream_is_said_so(folder, capsys, monkeypatch, command):
    folder.write("defs.py", CHAIN.replace("VERSION", "1"))
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n')
    monkeypatch.chdir(folder.root)
    assert main(["materialize"]) == 0
    folder.write("defs.py", CHAIN.replace("VERSION", "2"))  # a's code changed: a and b are stale
    capsys.readouterr()
    assert main([command, "b"]) == 0
    out = capsys.readouterr().out
    assert "every selected asset is fresh" not in out
    assert "'b'" in out and "waits on 'a'" in out and "'+b' would run both" in out
    assert main(["status", "b"]) == 0 and "stale" in capsys.readouterr().out


def test_a_fresh_selection_still_says_nothing_to_do(folder, capsys, monkeypatch):
    folder.write("defs.py", CHAIN.replace("VERSION", "1"))
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n')
    monkeypatch.chdir(folder.root)
    assert main(["materialize"]) == 0
    capsys.readouterr()
    assert main(["plan", "b"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to do: every selected asset is fresh"


def test_resumption_names_what_a_failed_run_left_and_what_is_gone(folder):
    folder.write("defs.py", CHAIN.replace("VERSION", "1/0"))
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n')
    workspace = _workspace(folder)
    failed = usecases.materialize(workspace)
    assert failed.failed == ["a"]
    resumed = usecases.resumption(workspace)
    assert (resumed.run.run_id, resumed.assets, resumed.gone) == (failed.run_id, ("a", "b"), ())
    folder.write("defs.py", CHAIN.replace("VERSION", "1"))
    result = usecases.resume(_workspace(folder), resumed)
    assert result.materialized == ["a", "b"]


def test_a_run_resumed_once_has_nothing_left_and_a_second_resume_runs_nothing(folder, capsys):
    """What later runs materialized since a run began is done: resuming the run again (the default still picks
    it: it stays recorded as failed) reruns nothing, rather than making every asset it left a second time."""
    folder.write("defs.py", CHAIN.replace("VERSION", "1/0"))
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n')
    failed = usecases.materialize(_workspace(folder))
    folder.write("defs.py", CHAIN.replace("VERSION", "1"))
    first = usecases.resume(_workspace(folder), usecases.resumption(_workspace(folder)))
    assert first.materialized == ["a", "b"]
    again = usecases.resumption(_workspace(folder))
    assert (again.run.run_id, again.assets, again.since) == (failed.run_id, (), ("a", "b"))
    assert main(["materialize", "--resume", "--project", str(folder.root)]) == 0
    said = capsys.readouterr().out
    assert f"run {failed.run_id} has nothing left to do: 2 asset(s) it left were materialized since" in said
    with sqlite3.connect(folder.root / ".assets" / "catalog.db") as connection:
        assert connection.execute("select count(*) from materialization").fetchone()[0] == 2


def test_a_read_only_look_at_a_project_never_run_creates_nothing(folder):
    folder.write("defs.py", CHAIN.replace("VERSION", "1"))
    folder.write("pyproject.toml", '[tool.assets]\nfile = "defs.py"\n')
    before = sorted(p.name for p in folder.root.rglob("*") if "__pycache__" not in p.parts)
    with pytest.raises(ProjectError, match="nothing is recorded yet: there is no catalog at .*read-only"):
        open_workspace(Options(project=str(folder.root)), read_only=True)
    assert sorted(p.name for p in folder.root.rglob("*") if "__pycache__" not in p.parts) == before
