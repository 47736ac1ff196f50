"""Reading every asset's state ahead in a helper process: the same state, and never a state the catalog has left."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from catalog import SqlCatalog, ahead, open_catalog, sqlite_url
from catalog.ahead import Answer, ReadAhead
from catalog.quick import STATEMENTS, QuickCatalog
from tests.catalog.conftest import materialization
from tests.catalog.test_quick import _fill

ROOT = Path(__file__).resolve().parents[2]


def _quick(path: Path) -> QuickCatalog:
    catalog = open_catalog(sqlite_url(path))
    assert isinstance(catalog, QuickCatalog)
    return catalog


def _spy(catalog: QuickCatalog) -> list[bool]:
    """Whether each read_state took the helper's rows (True) or read them itself (False)."""
    taken: list[bool] = []
    answer_ahead = catalog._answer_ahead

    def spying(every: bool) -> Answer | None:
        found = answer_ahead(every)
        taken.append(found is not None)
        return found

    catalog._answer_ahead = spying  # type: ignore[method-assign]
    return taken


@contextmanager
def _reading_ahead(path: Path) -> Iterator[tuple[QuickCatalog, QuickCatalog, list[bool]]]:
    """A catalog reading every asset's state ahead (and whether each of its reads took the helper's rows), and
    another on the same file, which reads directly."""
    with _quick(path) as ahead, _quick(path) as direct:
        taken = _spy(ahead)
        ahead.read_ahead(least=0)
        yield ahead, direct, taken


def test_the_state_read_ahead_is_the_state_read_directly(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with _reading_ahead(path) as (ahead, direct, taken):
        assert ahead.read_state(names) == direct.read_state(names)
        assert list(ahead.read_state(names)) == list(direct.read_state(names))  # in the order asked
        assert taken == [True, False]  # the helper's rows serve one read; the next reads the catalog itself


def test_the_rows_are_the_statements_rows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    with _quick(path) as catalog:
        connection = catalog._connect()
        helper = ReadAhead.start(path, connection, STATEMENTS, 5.0)
        assert helper is not None
        assert helper.answer(connection) == ([connection.execute(sql).fetchall() for sql in STATEMENTS], None)


def test_a_commit_after_the_helper_started_makes_the_command_read_the_catalog_itself(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with _quick(path) as catalog:
        taken = _spy(catalog)
        catalog.read_ahead(least=0)
        with SqlCatalog(sqlite_url(path)) as other:  # another connection records a new value of m3 meanwhile
            other.record_results([materialization("m3", version="after")], [], [])
        state = catalog.read_state(names)
        assert taken == [False]
        assert state["m3"].materialization.data_version == "after"


def test_a_commit_after_the_helper_read_is_seen_too(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with SqlCatalog(sqlite_url(path)) as first:
        first.record_results([materialization(f"m{index}") for index in range(5)], [], [])
    with _quick(path) as catalog:
        connection = catalog._connect()
        helper = ReadAhead.start(path, connection, STATEMENTS, 5.0)
        assert helper is not None
        assert helper._process.wait(timeout=30) == 0  # the helper has read, and handed its rows over...
        with SqlCatalog(sqlite_url(path)) as other:  # ... what another connection then changes
            other.record_results([materialization("m3", version="after")], [], [])
        assert helper.answer(connection) is None


def test_the_helper_hands_over_more_than_a_pipe_holds_and_ends_before_it_is_asked(tmp_path: Path) -> None:
    """The helper ends on its own, however large its answer (through a pipe, it would wait for a reader)."""
    path = tmp_path / "catalog.db"
    with SqlCatalog(sqlite_url(path)) as first:
        first.record_results([materialization(f"asset_{index}", metadata={"note": "x" * 400})
                              for index in range(5_000)], [], [])
    with _quick(path) as catalog:
        connection = catalog._connect()
        helper = ReadAhead.start(path, connection, STATEMENTS, 5.0)
        assert helper is not None
        assert helper._process.wait(timeout=60) == 0  # done before anything reads its answer
        assert helper._answer is not None and os.fstat(helper._answer).st_size > 2 * 1024 * 1024
        assert helper.answer(connection) == ([connection.execute(sql).fetchall() for sql in STATEMENTS], None)
        assert helper.ended


@pytest.mark.parametrize("in_memory", [True, False])
def test_the_answer_is_a_file_no_folder_lists_and_a_damaged_one_gives_nothing(
        in_memory: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not in_memory:  # a system without memfd_create: a temporary file, removed as it is made
        monkeypatch.delattr(os, "memfd_create")
    answer = ahead._answer_file()
    try:
        linked = os.readlink(f"/proc/self/fd/{answer}")
        assert not os.path.exists(linked.removesuffix(" (deleted)")), linked  # in memory, or removed as made
        assert ahead._decoded(answer) is None  # empty: the helper wrote nothing
        os.write(answer, marshal.dumps([[[(1, "a")]], None])[:-3])  # cut short
        assert ahead._decoded(answer) is None
        for foreign in ({"not": "a list"}, [[(1, "a")]], [[[(1, "a")]], "not a listing"], [[], [1, 2]]):
            os.ftruncate(answer, 0)
            os.pwrite(answer, marshal.dumps(foreign), 0)
            assert ahead._decoded(answer) is None, foreign
        os.ftruncate(answer, 0)
        os.pwrite(answer, marshal.dumps([[[(1, "a")]], [1, 2, ["x@1.json"]]]), 0)
        assert ahead._decoded(answer) == ([[(1, "a")]], [1, 2, ["x@1.json"]])
    finally:
        os.close(answer)


def test_a_helper_that_fails_or_answers_another_connection_gives_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    with _quick(path) as catalog, _quick(path) as other:
        connection = catalog._connect()
        failing = ReadAhead.start(path, connection, ["SELECT * FROM no_such_table"], 5.0)
        assert failing is not None and failing.answer(connection) is None and failing._process.returncode != 0
        elsewhere = ReadAhead.start(path, connection, STATEMENTS, 5.0)
        assert elsewhere is not None and elsewhere.answer(other._connect()) is None
        missing = ReadAhead.start(tmp_path / "gone.db", connection, STATEMENTS, 5.0)  # never created by it
        assert missing is not None and missing.answer(connection) is None
        assert not (tmp_path / "gone.db").exists()


def test_a_read_of_a_few_assets_or_a_close_stops_the_helper(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with _reading_ahead(path) as (catalog, direct, taken):
        helper = catalog._ahead
        assert helper is not None
        assert catalog.read_state(names[:3]) == direct.read_state(names[:3])  # looked up one by one instead
        assert taken == [False] and helper.ended and catalog._ahead is None
        catalog.read_ahead(least=0)
        helper = catalog._ahead
        assert helper is not None
    assert helper.ended  # closed: ended, not left behind


def test_a_catalog_with_fewer_assets_than_it_pays_for_starts_no_helper(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with _quick(path) as catalog:
        catalog.read_ahead(least=len(names) + 1)
        assert catalog._ahead is None
        catalog.read_ahead(least=len(names) - 1)  # _fill records all of them but one
        assert catalog._ahead is not None


def test_status_reads_the_state_ahead_while_the_definitions_load(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(textwrap.dedent("""
        import polars as pl
        from assets_core.declaring.definitions import asset

        @asset
        def numbers():
            return pl.DataFrame({"n": [1, 2, 3]})

        @asset
        def doubled(numbers):
            return numbers * 2
    """))
    script = textwrap.dedent(f"""
        import contextlib, io, json
        import catalog.quick as quick
        from tui.cli.main import main
        import os, pathlib
        import assets_core.running.storage as storage
        args = ["-f", "defs.py", "--project", {str(tmp_path)!r}, "--json"]
        with contextlib.redirect_stdout(io.StringIO()):
            main(["materialize", *args])
        started, taken, looked = [], [], []
        read_ahead, answer_ahead = quick.QuickCatalog.read_ahead, quick.QuickCatalog._answer_ahead
        quick.QuickCatalog.read_ahead = lambda self, **given: started.append(read_ahead(self, least=0, **given))
        quick.QuickCatalog._answer_ahead = lambda self, every: taken.append(answer_ahead(self, every)) or taken[-1]
        exists, names = storage.Storage.exists, storage._stored_names  # the command's own looks at the folder
        storage.Storage.exists = lambda self, location: looked.append(location) or exists(self, location)
        storage._stored_names = lambda folder: looked.append(folder) or names(folder)
        answers = []
        for step in ("as made", "a value deleted"):
            if step == "a value deleted":
                [value] = pathlib.Path({str(tmp_path)!r}, ".assets", "storage").glob("numbers@*")
                value.unlink()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["status", *args])
            answers.append({{"code": code, "out": json.loads(out.getvalue())}})
        print(json.dumps({{"answers": answers, "started": len(started), "taken": [t is not None for t in taken],
                          "looked": len(looked)}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["started"] == 2 and found["taken"] == [True, True]
    assert found["looked"] == 0  # the stored values were looked up in the helper's listing of the storage folder
    made, deleted = found["answers"]
    assert made["code"] == 0 and [(s["asset"], s["status"]) for s in made["out"]] == [("numbers", "fresh"),
                                                                                      ("doubled", "fresh")]
    assert deleted["code"] == 0 and [s["status"] for s in deleted["out"]] == ["missing", "stale"]
    assert "is gone" in deleted["out"][0]["reasons"][0]["detail"], deleted


def test_the_helper_lists_the_folder_it_is_given_after_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    folder = tmp_path / "storage"
    folder.mkdir()
    (folder / "a@1.json").write_text("1")
    (folder / "d@4.json").mkdir()  # a folder is no file
    os.symlink(folder / "a@1.json", folder / "b@2.json")  # a link to a file is one
    os.symlink(folder / "gone@0.json", folder / "c@3.json")  # a dangling link is not
    identity = (os.stat(folder).st_dev, os.stat(folder).st_ino)
    with _quick(path) as catalog:
        connection = catalog._connect()
        expected = [connection.execute(sql).fetchall() for sql in STATEMENTS]
        for given, listing in ((folder, (identity, ["a@1.json", "b@2.json"])), (tmp_path / "never made", None),
                               (folder / "a@1.json", None), (None, None)):
            helper = ReadAhead.start(path, connection, STATEMENTS, 5.0, given)
            assert helper is not None
            answer = helper.answer(connection)
            assert answer is not None and answer.rows == expected
            assert (answer.listing and (answer.listing[0], sorted(answer.listing[1]))) == listing, given


def test_a_folder_with_spaces_and_uri_characters_is_read_ahead_too(tmp_path: Path) -> None:
    folder = tmp_path / "a b?c=1#d %20 é"
    folder.mkdir()
    names = _fill(folder / "catalog.db")
    with _reading_ahead(folder / "catalog.db") as (ahead, direct, taken):
        assert ahead.read_state(names) == direct.read_state(names) and taken == [True]


_PROJECT = """
import os
from assets_core.declaring.definitions import asset
{move}

@asset
def numbers():
    return [1, 2, 3]

@asset
def doubled({upstream}):
    return [2 * n for n in numbers]
"""

# Runs a command in process with the helper started at any size; prints its code, how many helpers it started,
# and whether each was done with (its answer closed and the process waited for, not left to the interpreter's end).
_COMMAND = """
import contextlib, io, json, sys
import catalog.ahead as ahead
import catalog.quick as quick
from tui.cli.main import main
read_ahead, start, helpers = quick.QuickCatalog.read_ahead, ahead.ReadAhead.start, []
quick.QuickCatalog.read_ahead = lambda self, **given: read_ahead(self, least=0, **given)
ahead.ReadAhead.start = lambda *args: helpers.append(start(*args)) or helpers[-1]
with contextlib.redirect_stdout(io.StringIO()):
    code = main([*sys.argv[1:], "-f", "defs.py", "--json"])
ended = [h.ended for h in helpers]
print(json.dumps({"code": code, "helpers": len(helpers), "ended": ended}))
"""


def _command(folder: Path, *argv: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _COMMAND, *argv], cwd=folder, capture_output=True, text=True,
                          check=True)
    return dict(json.loads(done.stdout))


def test_a_module_that_moves_the_catalog_finds_the_one_it_names(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "defs.py").write_text(_PROJECT.format(move=f"os.environ['ASSETS_HOME'] = {str(elsewhere)!r}",
                                                      upstream="numbers"))
    (tmp_path / ".assets").mkdir()
    junk = tmp_path / ".assets" / "catalog.db"
    junk.write_text("not a catalog")  # where the catalog would be, were it not moved: neither read nor changed
    assert _command(tmp_path, "materialize")["code"] == 0
    found = _command(tmp_path, "status")
    assert found == {"code": 0, "helpers": 0, "ended": []}
    assert junk.read_text() == "not a catalog" and (elsewhere / "catalog.db").is_file()


def test_definitions_that_fail_after_the_helper_started_leave_no_helper_running(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(_PROJECT.format(move="", upstream="numbers"))
    assert _command(tmp_path, "materialize")["code"] == 0
    assert _command(tmp_path, "status") == {"code": 0, "helpers": 1, "ended": [True]}
    (tmp_path / "defs.py").write_text(_PROJECT.format(move="", upstream="numbrs"))  # an unknown upstream
    assert _command(tmp_path, "status") == {"code": 2, "helpers": 1, "ended": [True]}
    (tmp_path / "defs.py").write_text(_PROJECT.format(move="raise RuntimeError('broken module')", upstream="x"))
    assert _command(tmp_path, "status") == {"code": 2, "helpers": 1, "ended": [True]}


# Materializes a project, then runs status through a helper started at any size; prints the statuses, whether the
# helper's answer was taken, and how often the command looked at the storage folder itself.
_STATUS_AHEAD = """
import contextlib, io, json, os, sys
import assets_core.running.storage as storage
import catalog.quick as quick
from tui.cli.main import main
args = [*sys.argv[1:], "-f", "defs.py", "--json"]
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["materialize", *args]) == 0
os.environ.pop("ASSETS_STORAGE", None)  # as in a new process: set again only by the definitions, if they do
taken, looked = [], []
read_ahead, answer_ahead = quick.QuickCatalog.read_ahead, quick.QuickCatalog._answer_ahead
quick.QuickCatalog.read_ahead = lambda self, **given: read_ahead(self, least=0, **given)
quick.QuickCatalog._answer_ahead = lambda self, every: taken.append(answer_ahead(self, every)) or taken[-1]
exists, names = storage.Storage.exists, storage._stored_names
storage.Storage.exists = lambda self, location: looked.append(location) or exists(self, location)
storage._stored_names = lambda folder: looked.append(folder) or names(folder)
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["status", *args])
print(json.dumps({"code": code, "statuses": [s["status"] for s in json.loads(out.getvalue())],
                  "taken": [t is not None for t in taken], "looked": len(looked)}))
"""


def _status_ahead(folder: Path, *argv: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _STATUS_AHEAD, *argv], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_storage_reached_through_a_link_and_up_again_uses_the_listing_of_the_folder_it_is(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(_PROJECT.format(move="", upstream="numbers"))
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "values").mkdir()  # what the words name without the link: never the storage
    (tmp_path / "x").mkdir()
    os.symlink(tmp_path / "real" / "deep", tmp_path / "x" / "link")
    found = _status_ahead(tmp_path, "--storage", str(tmp_path / "x" / "link" / ".." / "values"))
    assert found == {"code": 0, "statuses": ["fresh", "fresh"], "taken": [True], "looked": 0}
    assert len(list((tmp_path / "real" / "values").glob("*@*"))) == 2 and not list((tmp_path / "values").iterdir())


def test_a_storage_the_definitions_move_is_looked_at_by_the_command_itself(tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    (tmp_path / "defs.py").write_text(_PROJECT.format(move=f"os.environ['ASSETS_STORAGE'] = {str(moved)!r}",
                                                      upstream="numbers"))
    (tmp_path / ".assets" / "storage").mkdir(parents=True)  # the storage before the definitions load: listed...
    found = _status_ahead(tmp_path)
    assert found["code"] == 0 and found["statuses"] == ["fresh", "fresh"] and found["taken"] == [True]
    assert found["looked"] != 0  # ... but it is not the one they name, which the command then looks at itself
    assert len(list(moved.glob("*@*"))) == 2 and not list((tmp_path / ".assets" / "storage").iterdir())
