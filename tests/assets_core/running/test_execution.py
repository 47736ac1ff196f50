"""Running plans: parallelism, what assets may return, captured output, and atomic storage."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

import assets_core
from assets_core.application.project import Project
from assets_core.declaring.definitions import AssetOptions, Output, RetryPolicy, asset, source_asset
from assets_core.errors import StorageError
from assets_core.planning.memory import MemoryCatalog
from assets_core.running.execution import RunSettings
from assets_core.running.storage import Storage
from tui.cli.main import main


def _project(tmp_path, *assets, catalog=None) -> Project:
    return Project(assets, tmp_path, Storage(tmp_path / "storage"), catalog or MemoryCatalog())


def test_independent_assets_run_at_the_same_time(tmp_path):
    # Each of the two waits for the other: they can only both finish if they run in parallel.
    barrier = threading.Barrier(2, timeout=10)

    @asset
    def left():
        barrier.wait()
        return [1]

    @asset
    def right():
        barrier.wait()
        return [2]

    @asset
    def joined(left, right):
        return left + right

    result = _project(tmp_path, left, right, joined).materialize(settings=RunSettings(workers=2))
    assert result.status == "success" and sorted(result.materialized) == ["joined", "left", "right"]


def test_one_worker_still_runs_everything_in_order(tmp_path):
    order = []

    @asset
    def first():
        order.append("first")
        return 1

    @asset
    def second(first):
        order.append("second")
        return first + 1

    _project(tmp_path, second, first).materialize(settings=RunSettings(workers=1))
    assert order == ["first", "second"]


def test_values_of_every_kind_round_trip(tmp_path):
    @asset
    def frame():
        return pl.DataFrame({"a": [1, 2, 3]})

    @asset
    def arrow():
        return pa.table({"b": ["x", "y"]})

    @asset
    def lazy():
        return pl.LazyFrame({"c": [1.5]}).with_columns(pl.col("c") * 2)

    @asset
    def document():
        return Output({"k": [1, 2]}, metadata={"source": "test", "count": 2})

    @asset
    def received(frame, arrow, lazy, document):
        assert isinstance(frame, pl.DataFrame) and isinstance(arrow, pl.DataFrame)
        return {"frame": frame["a"].sum(), "arrow": arrow.height, "lazy": lazy["c"][0], "doc": document["k"]}

    project = _project(tmp_path, frame, arrow, lazy, document, received)
    result = project.materialize()
    assert result.status == "success", result.outcomes
    state = project.catalog.read_state(["received", "document", "lazy"])
    assert project.storage.read(state["received"].materialization.location) == \
        {"frame": 6, "arrow": 2, "lazy": 3.0, "doc": [1, 2]}
    assert state["document"].materialization.metadata == {"source": "test", "count": 2}
    assert state["lazy"].materialization.rows == 1
    assert state["lazy"].materialization.schema == (("c", "Float64"),)


def test_lazyframe_annotation_receives_a_scan(tmp_path):
    (tmp_path / "big.csv").write_text("n\n1\n2\n3\n")
    raw = source_asset("raw", "big.csv")

    @asset
    def stored():
        return pl.DataFrame({"n": [10, 20]})

    @asset
    def lazily(raw: pl.LazyFrame, stored: pl.LazyFrame):
        assert isinstance(raw, pl.LazyFrame) and isinstance(stored, pl.LazyFrame)
        return pl.concat([raw, stored]).select(pl.col("n").sum())

    project = _project(tmp_path, raw, stored, lazily)
    assert project.materialize().status == "success"
    location = project.catalog.read_state(["lazily"])["lazily"].materialization.location
    assert project.storage.read(location)["n"][0] == 36


def test_prints_and_logging_are_captured_per_asset(tmp_path):
    @asset
    def chatty():
        import logging

        print("hello from chatty")
        logging.getLogger("pipeline").warning("careful")
        return 1

    @asset
    def quiet():
        return 2

    catalog = MemoryCatalog()
    _project(tmp_path, chatty, quiet, catalog=catalog).materialize()
    logs = [(e.asset, e.level, e.message) for e in catalog.events if e.kind == "log"]
    assert ("chatty", "INFO", "hello from chatty") in logs
    assert ("chatty", "WARNING", "pipeline: careful") in logs
    assert not [entry for entry in logs if entry[0] == "quiet"]


def test_an_unfinished_last_line_is_kept_and_goes_to_its_own_asset(tmp_path):
    """Written without a newline (to stdout and stderr), a line is kept when the attempt ends, and ends there:
    nothing of it is left for the next asset the same worker thread runs."""
    @asset
    def unfinished():
        import sys

        print("done", end="")
        sys.stderr.write("almost\rwarned")
        return 1

    @asset
    def after(unfinished):
        print("next")
        return 2

    catalog = MemoryCatalog()
    settings = RunSettings(workers=1)
    assert _project(tmp_path, unfinished, after, catalog=catalog).materialize(settings=settings).status == "success"
    logs = [(e.asset, e.level, e.message) for e in catalog.events if e.kind == "log"]
    assert sorted(logs) == [("after", "INFO", "next"), ("unfinished", "INFO", "done"),
                            ("unfinished", "WARNING", "warned")]


def test_failure_keeps_the_users_traceback(tmp_path):
    @asset
    def broken():
        return {"a": 1}["missing"]

    catalog = MemoryCatalog()
    result = _project(tmp_path, broken, catalog=catalog).materialize()
    assert result.failed == ["broken"]
    failure = catalog.failures[0]
    assert failure.error == "KeyError: 'missing'"
    assert 'return {"a": 1}["missing"]' in failure.traceback
    framework = str(Path(assets_core.__file__).parent)
    assert framework not in failure.traceback  # none of the framework's own frames


def test_retries_until_success(tmp_path):
    calls = []

    @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=3, delay=0.01)))
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("try again")
        return len(calls)

    catalog = MemoryCatalog()
    result = _project(tmp_path, flaky, catalog=catalog).materialize()
    assert result.materialized == ["flaky"] and len(calls) == 3
    retries = [e.message for e in catalog.events if e.kind == "retry"]
    assert len(retries) == 2 and "attempt 1 of 3 failed: ConnectionError: try again" in retries[0]


def test_the_log_lists_each_retry_between_the_attempts_it_separates(folder, capsys, monkeypatch):
    """`assets logs` reads in the order things happened: attempt 1's lines, its retry, attempt 2's lines."""
    folder.write("defs.py", """
        from assets_core import AssetOptions, RetryPolicy, asset

        calls = []

        @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=3, delay=0.01)))
        def flaky():
            calls.append(1)
            print(f"attempt {len(calls)} starts")
            if len(calls) < 3:
                raise ConnectionError("try again")
            return {"calls": len(calls)}
    """)
    monkeypatch.chdir(folder.root)
    assert main(["materialize", "-f", "defs.py", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["logs", run_id, "--json", "-f", "defs.py"]) == 0
    lines = [(e["kind"], e["message"].split(":")[0]) for e in json.loads(capsys.readouterr().out)["events"]
             if e["kind"] in ("log", "retry")]
    assert lines == [("log", "attempt 1 starts"), ("retry", "attempt 1 of 3 failed"), ("log", "attempt 2 starts"),
                     ("retry", "attempt 2 of 3 failed"), ("log", "attempt 3 starts")]


def test_unstorable_value_fails_with_a_clear_message(tmp_path):
    @asset
    def odd():
        return object()

    result = _project(tmp_path, odd).materialize()
    assert result.failed == ["odd"]
    assert "neither a table nor JSON" in result.outcomes[0].detail


def test_write_is_atomic_a_failure_mid_write_keeps_the_previous_version(tmp_path, monkeypatch):
    storage = Storage(tmp_path)
    first = storage.write("orders", pl.DataFrame({"a": [1, 2]}))

    import assets_core.running.storage as storage_module

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module.os, "replace", crash)  # the named temporary file's way into place
    monkeypatch.setattr(storage_module.os, "link", crash)  # the unnamed file's way into place
    with pytest.raises(StorageError, match="No space left on device.*previous version is untouched"):
        storage.write("orders", pl.DataFrame({"a": [3, 4, 5]}))
    assert [p.name for p in tmp_path.iterdir()] == [first.location]  # no temporary file left
    assert storage.read(first.location)["a"].to_list() == [1, 2]


def test_large_frames_take_the_threaded_writer_and_still_round_trip(tmp_path):
    storage = Storage(tmp_path)
    frame = pl.DataFrame({"n": range(200_000)})
    stored = storage.write("big", frame)
    again = storage.write("big", frame)
    assert stored.data_version == again.data_version and stored.rows == 200_000
    assert storage.read(stored.location)["n"].sum() == frame["n"].sum()


def test_identical_values_share_one_file_and_versions_differ_by_content(tmp_path):
    storage = Storage(tmp_path)
    a = storage.write("x", {"v": 1})
    b = storage.write("x", {"v": 1})
    c = storage.write("x", {"v": 2})
    assert a.location == b.location != c.location
    assert storage.locations("x") == sorted([a.location, c.location])
    assert storage.prune("x", keep=[c.location]) == [a.location]
    assert storage.read(c.location) == {"v": 2}


@pytest.mark.parametrize("name", ["../outside", "a/b", "/etc/passwd", "a..b", "a@b"])
def test_no_name_reaches_outside_the_storage_folder(tmp_path, name):
    storage = Storage(tmp_path / "storage")
    with pytest.raises(StorageError):
        storage.write(name, {"x": 1})
    with pytest.raises(StorageError, match="outside the storage folder"):
        storage.read("../../etc/passwd")
    assert not (tmp_path / "outside").exists()


def test_corrupted_stored_file_is_a_clear_error(tmp_path):
    storage = Storage(tmp_path)
    stored = storage.write("t", pl.DataFrame({"a": [1]}))
    storage.path(stored.location).write_bytes(b"not parquet")
    with pytest.raises(StorageError, match="is corrupted.*assets materialize --force t"):
        storage.read(stored.location)


def test_context_parameter_tells_the_run_and_home(tmp_path):
    seen = {}

    @asset
    def side_output(context):
        seen["context"] = context
        context.log.info("writing beside the storage")
        (context.home / "side.txt").write_text(context.run_id)
        return [1]

    catalog = MemoryCatalog()
    project = Project([side_output], tmp_path, catalog=catalog, home=tmp_path / "home")
    result = project.materialize()
    context = seen["context"]
    assert (context.asset, context.run_id, context.attempt) == ("side_output", result.run_id, 1)
    assert (tmp_path / "home" / "side.txt").read_text() == result.run_id
    assert side_output.upstream == ()
    assert ("side_output", "assets.side_output: writing beside the storage") in \
        [(e.asset, e.message) for e in catalog.events if e.kind == "log"]


def test_source_read_options_reach_polars(tmp_path):
    (tmp_path / "codes.csv").write_text("zip\n" + "01067\n" * 3)
    plain = source_asset("plain", "codes.csv")
    typed = source_asset("typed", "codes.csv", read_options={"schema_overrides": {"zip": pl.String}})

    @asset
    def both(plain, typed):
        return {"plain": plain["zip"][0], "typed": typed["zip"][0]}

    project = _project(tmp_path, plain, typed, both)
    project.materialize()
    location = project.catalog.read_state(["both"])["both"].materialization.location
    assert project.storage.read(location) == {"plain": 1067, "typed": "01067"}


def test_nothing_to_do_records_no_run(tmp_path):
    @asset
    def one():
        return {"a": 1}

    catalog = MemoryCatalog()
    project = _project(tmp_path, one, catalog=catalog)
    first = project.materialize()
    assert first.run_id is not None and catalog.materializations[0].rows is None  # a dict has no rows
    again = project.materialize()
    assert again.run_id is None and again.outcomes == () and len(catalog.runs) == 1


def test_flaky_asset_succeeds_on_its_third_attempt_after_growing_delays(tmp_path):
    import time

    attempts: list[float] = []

    @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=4, delay=0.2, backoff=2.0, retry_on=(IOError,))))
    def flaky():
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionResetError(f"attempt {len(attempts)} lost the connection")
        return [len(attempts)]

    catalog = MemoryCatalog()
    result = _project(tmp_path, flaky, catalog=catalog).materialize()
    assert result.materialized == ["flaky"] and len(attempts) == 3
    gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:])]
    assert 0.2 <= gaps[0] < 0.35 and 0.4 <= gaps[1] < 0.6  # delay, then delay * backoff
    logged = [e.message for e in catalog.events if e.kind == "retry"]
    assert logged == ["attempt 1 of 4 failed: ConnectionResetError: attempt 1 lost the connection; retrying in 0.20s",
                      "attempt 2 of 4 failed: ConnectionResetError: attempt 2 lost the connection; retrying in 0.40s"]


def test_exhausted_retries_fail_with_the_last_error_and_count_attempts(tmp_path):
    calls = []

    @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=3, delay=0.0)))
    def hopeless():
        calls.append(1)
        raise TimeoutError(f"try {len(calls)}")

    catalog = MemoryCatalog()
    result = _project(tmp_path, hopeless, catalog=catalog).materialize()
    assert result.failed == ["hopeless"] and len(calls) == 3
    assert catalog.failures[-1].error == "TimeoutError: try 3" and catalog.failures[-1].attempt == 3
    assert len([e for e in catalog.events if e.kind == "retry"]) == 2


def test_errors_outside_retry_on_are_not_retried(tmp_path):
    calls = []

    @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=3, retry_on=(ConnectionError,))))
    def wrong():
        calls.append(1)
        raise ValueError("a bug, not a blip")

    assert _project(tmp_path, wrong).materialize().failed == ["wrong"] and len(calls) == 1


def test_project_default_retry_policy_from_pyproject(folder):
    from assets_core.declaring.loading import read_config

    folder.write("pyproject.toml", "[tool.assets.retry]\nmax_attempts = 3\ndelay = 0.5\nbackoff = 2\n"
                                   'retry_on = ["ConnectionError", "socket.timeout"]\n')
    policy = read_config(folder.root).retry
    assert (policy.max_attempts, policy.delay, policy.backoff) == (3, 0.5, 2.0)
    assert ConnectionError in policy.retry_on and len(policy.retry_on) == 2
    folder.write("pyproject.toml", '[tool.assets.retry]\nretry_on = ["NoSuchError"]\n')
    with pytest.raises(Exception, match="no exception class"):
        read_config(folder.root)


def test_without_unnamed_files_a_named_temporary_file_is_renamed_into_place(tmp_path):
    storage = Storage(tmp_path)
    storage.files.unnamed = False  # as on a system or file system without O_TMPFILE
    stored = storage.write("plain", pl.DataFrame({"a": [1, 2]}))
    assert [p.name for p in tmp_path.iterdir()] == [stored.location]
    assert storage.read(stored.location)["a"].to_list() == [1, 2]
    again = Storage(tmp_path).write("plain", pl.DataFrame({"a": [1, 2]}))  # the default way, same content
    assert again.location == stored.location and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("count", [3, 250])  # below and above the count from which the folder is listed
def test_stored_values_deleted_outside_the_framework_are_found_missing(tmp_path, count):
    storage = Storage(tmp_path / "storage")
    stored = [storage.write(f"a{index}", {"n": index}).location for index in range(count)]
    (tmp_path / "storage" / stored[1]).unlink()
    (tmp_path / "storage" / f".tmp-{stored[2]}").write_text("a leftover temporary file is no stored value")
    asked = [*stored, "never@stored.json", "../outside@x.json"]
    assert storage.existing(asked) == set(stored) - {stored[1]}
    assert {location for location in asked if storage.exists(location)} == set(stored) - {stored[1]}
