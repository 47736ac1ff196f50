"""Several catalogs, threads and processes on one SQLite file: nothing fails with "database is locked"."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from assets_core.planning.state import AssetState
from catalog import open_catalog, sqlite_url
from tests.catalog.conftest import event, failure, materialization, record_failure, record_materialization, run

ROOT = Path(__file__).resolve().parents[2]


def test_two_catalogs_on_one_file_see_each_others_writes(catalog_path: Path) -> None:
    url = sqlite_url(catalog_path)
    with open_catalog(url) as first, open_catalog(url) as second:
        first.begin_run(run("r1"))
        second.begin_run(run("r2", started=1))
        record_materialization(first, materialization("a", "r1"), [event("r1", "materialized", "a")])
        record_failure(second, failure("a", "r2"), [event("r2", "failed", "a")])
        record_materialization(first, materialization("b", "r1"), [event("r1", "materialized", "b")])
        second.end_run("r2", "failed")
        first.end_run("r1", "success")

        for catalog in (first, second):
            assert catalog.read_state(["a", "b"]) == {
                "a": AssetState(materialization=materialization("a", "r1"), failure=failure("a", "r2")),
                "b": AssetState(materialization=materialization("b", "r1")),
            }
            assert [(r.run_id, r.status, r.materialized, r.failed) for r in catalog.list_runs()] == [
                ("r2", "failed", 0, 1),
                ("r1", "success", 2, 0),
            ]


def test_threads_with_their_own_catalogs_write_and_read_at_once(catalog_path: Path) -> None:
    url = sqlite_url(catalog_path)
    open_catalog(url).close()
    errors: list[BaseException] = []
    per_writer = 150

    def write(number: int) -> None:
        try:
            with open_catalog(url) as catalog:
                catalog.begin_run(run(f"r{number}"))
                for index in range(per_writer):
                    name = f"w{number}_{index}"
                    record_materialization(catalog, materialization(name, f"r{number}"),
                                                   [event(f"r{number}", "materialized", name)])
                catalog.end_run(f"r{number}", "success")
        except BaseException as error:  # reported below: a thread's exception would be lost
            errors.append(error)

    def read(stop: threading.Event) -> None:
        try:
            with open_catalog(url) as catalog:
                while not stop.is_set():
                    catalog.read_state([f"w0_{index}" for index in range(per_writer)])
                    catalog.list_runs()
        except BaseException as error:
            errors.append(error)

    stop = threading.Event()
    reader = threading.Thread(target=read, args=(stop,))
    writers = [threading.Thread(target=write, args=(number,)) for number in range(4)]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()

    assert errors == []
    with open_catalog(url) as catalog:
        assert len(catalog.read_state(f"w{n}_{i}" for n in range(4) for i in range(per_writer))) == 4 * per_writer
        assert sorted((r.status, r.materialized) for r in catalog.list_runs()) == [("success", per_writer)] * 4


WRITER = textwrap.dedent(
    """
    import sys
    from catalog import open_catalog
    from tests.catalog.conftest import event, materialization, record_materialization, run

    url, number, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open_catalog(url) as catalog:
        catalog.begin_run(run(f"p{number}"))
        for index in range(count):
            name = f"p{number}_{index}"
            record_materialization(catalog, materialization(name, f"p{number}"),
                                           [event(f"p{number}", "materialized", name)])
        catalog.end_run(f"p{number}", "success")
    """
)


def test_processes_create_and_fill_one_new_catalog_at_once(catalog_path: Path) -> None:
    url, count = sqlite_url(catalog_path), 200
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, str(number), str(count)], cwd=ROOT, env=environment,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for number in range(3)
    ]  # fmt: skip
    outcomes = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], [err for _, err in outcomes]
    with open_catalog(url) as catalog:
        assert sorted((r.run_id, r.status, r.materialized) for r in catalog.list_runs()) == [
            (f"p{number}", "success", count) for number in range(3)
        ]
        assert len(catalog.read_state(f"p{n}_{i}" for n in range(3) for i in range(count))) == 3 * count
