"""A current SQLite catalog opens without SQLAlchemy and answers as the full catalog does."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from assets_core.application.catalogs import sqlite_path
from assets_core.errors import CatalogError
from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.recorded import RecordedPartitions
from assets_core.planning.state import ObservationRecord
from catalog import DefinitionView, SqlCatalog, open_catalog, sqlite_url
from catalog.quick import STATE_BATCH, QuickCatalog
from tests.catalog.conftest import (
    LINEAGE_SQL,
    event,
    failure,
    materialization,
    observation,
    record_failure,
    record_materialization,
    run,
    stored,
)

ROOT = Path(__file__).resolve().parents[2]
MANY = STATE_BATCH + 150  # more assets than one IN (...) list holds


def _fill(path: Path) -> list[str]:
    """A catalog with every kind of record, and enough assets for the batched reads; returns the names."""
    with SqlCatalog(sqlite_url(path)) as catalog:
        catalog.begin_run(run("r1", status="running"))
        record_materialization(catalog, 
            materialization("a", metadata={"n": 1, "nested": [1.5, None, "x"]}, upstream_versions={"raw": "r1"},
                            partition="2024"), [event("r1", "materialized", "a")])
        record_materialization(catalog, materialization("b", schema=None, rows=None), [])
        record_failure(catalog, failure("b", attempt=2), [])
        record_failure(catalog, failure("never_made"), [])
        catalog.record_observations([observation("raw")])
        catalog.record_results([materialization(f"m{index}", version=f"v{index}") for index in range(MANY)], [], [])
        catalog.save_definitions([DefinitionView("a", "python", upstream=("raw",))])
    # a partition's state is kept under its node's name, asset[key]
    return ["a[2024]", "b", "never_made", "raw", "nothing_recorded", *(f"m{index}" for index in range(MANY))]


def test_a_current_catalog_file_opens_quickly_and_reads_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with open_catalog(sqlite_url(path)) as quick, SqlCatalog(sqlite_url(path)) as full:
        assert isinstance(quick, QuickCatalog)
        for asked in (names, names[:7], names[:MANY // 3] + ["m7"], list(reversed(names))):
            assert quick.read_state(asked) == full.read_state(asked)
            assert list(quick.read_state(asked)) == list(full.read_state(asked))  # in the order asked
        state = quick.read_state(names)
        assert "nothing_recorded" not in state and state["a[2024]"].materialization.metadata["nested"] == [1.5, None, "x"]
        assert state["b"].failure.attempt == 2 and state["raw"].observation.data_version == "o1"
        assert quick.running_runs() == full.running_runs() and [r.run_id for r in quick.running_runs()] == ["r1"]
        assert quick._full is not None  # a running run is read by the full catalog


def test_its_answers_need_no_full_catalog_until_something_else_is_asked(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with open_catalog(sqlite_url(path)) as catalog:
        catalog.end_run("r1", "success")  # anything else: the full catalog opens and does it
    with open_catalog(sqlite_url(path)) as catalog:
        assert catalog.running_runs() == [] and len(catalog.read_state(names)) == len(names) - 1
        assert catalog.save_definitions([DefinitionView("a", "python", upstream=("raw",))]) is False
        assert catalog._full is None
        assert catalog.save_definitions([DefinitionView("a", "python", upstream=("raw", "b"))]) is True
        assert stored(path, LINEAGE_SQL) == [("b", "a"), ("raw", "a")]
        with pytest.raises(CatalogError, match="more than one is named 'x'"):
            catalog.save_definitions([DefinitionView("x", "python"), DefinitionView("x", "python")])


def test_any_other_catalog_is_opened_in_full(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    assert isinstance(open_catalog(sqlite_url(path)), SqlCatalog)  # a new file: created
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE catalog_meta SET value = '2' WHERE key = 'schema_version'")
    with open_catalog(sqlite_url(path)) as migrated:  # an older schema: migrated
        assert isinstance(migrated, SqlCatalog)
    assert isinstance(open_catalog(sqlite_url(path)), QuickCatalog)  # now current
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(CatalogError, match="not a SQLite database"):
        open_catalog(sqlite_url(tmp_path / "junk.db"))


@pytest.mark.parametrize("name", ["plain.db", "a b%c.db", "x?y#z.db", "ünï.db", "a@b:c.db"])
def test_urls_name_the_same_file_as_sqlalchemy_reads_them(tmp_path: Path, name: str) -> None:
    url = sqlite_url(tmp_path / name)
    assert make_url(url).database == str(tmp_path / name) == str(sqlite_path(url))
    assert sqlite_path("sqlite:///relative/catalog.db") == Path(make_url("sqlite:///relative/catalog.db").database)


def test_status_and_a_no_op_materialize_never_import_sqlalchemy(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(textwrap.dedent("""
        import polars as pl
        from assets_core.declaring.definitions import asset

        @asset
        def numbers():
            return pl.DataFrame({"n": [1, 2, 3]})
    """))
    script = textwrap.dedent(f"""
        import contextlib, io, json, sys
        from tui.cli.main import main
        args = ["-f", "defs.py", "--project", {str(tmp_path)!r}, "--json"]
        with contextlib.redirect_stdout(io.StringIO()):
            first = main(["materialize", *args])  # a new catalog: created in full
        loaded = "sqlalchemy" in sys.modules
        for name in [n for n in sys.modules if n.split(".")[0] in ("sqlalchemy", "sqlmodel", "catalog")]:
            del sys.modules[name]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            codes = [main(["status", *args]), main(["materialize", *args])]
        print(json.dumps({{"first": first, "loaded": loaded, "codes": codes,
                          "after": "sqlalchemy" in sys.modules, "out": out.getvalue()}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["first"] == 0 and found["loaded"] and found["codes"] == [0, 0]
    assert '"status":"fresh"' in found["out"]
    assert found["after"] is False


def test_the_records_of_one_read_come_from_one_commit(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with open_catalog(sqlite_url(path)) as catalog:
        statements: list[str] = []
        catalog._connection.set_trace_callback(statements.append)
        catalog.read_state(names[:5])
        reads = [index for index, sql in enumerate(statements) if sql.startswith("SELECT s.asset")]
        assert len(reads) == 3  # materializations, failures, observations
        assert statements.index("BEGIN") < reads[0] and reads[-1] < statements.index("COMMIT")


def test_two_threads_may_read_at_once(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    names = _fill(path)
    with open_catalog(sqlite_url(path)) as catalog:
        expected = catalog.read_state(names)
        found, failures = [], []

        def read() -> None:
            try:
                for _ in range(20):
                    found.append(catalog.read_state(names) == expected)
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                failures.append(error)

        threads = [threading.Thread(target=read) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [] and found == [True] * 60


def test_the_observed_partitions_of_sources_read_the_same_from_every_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    memory = MemoryCatalog()
    records = [ObservationRecord("hits", "r1", f"v{key}", f"f{key}", key) for key in ("2026-01-01", "2026-01-02")]
    records += [ObservationRecord("hits_x", "r1", "vx", "fx", "k"), ObservationRecord("hits", "r1", "whole", "fw")]
    records.append(ObservationRecord("hits", "r2", "v2b", "f2b", "2026-01-02"))  # the latest one counts
    with SqlCatalog(sqlite_url(path)) as full:
        full.record_observations(records)
    memory.record_observations(records)
    expected = {"hits": RecordedPartitions(["2026-01-01", "2026-01-02"], ["f2026-01-01", "f2b"], ["v2026-01-01", "v2b"])}
    with open_catalog(sqlite_url(path)) as quick, SqlCatalog(sqlite_url(path)) as full:
        assert isinstance(quick, QuickCatalog)
        assert quick.read_observed(["hits"]) == full.read_observed(["hits"]) == memory.read_observed(["hits"]) \
            == expected
        assert quick.read_observed(["hits_x", "nothing"]) == full.read_observed(["hits_x"]) \
            == {"hits_x": RecordedPartitions(["k"], ["fx"], ["vx"])}
        assert quick.read_observed([]) == full.read_observed([]) == {}


def test_definitions_as_rows_read_and_digest_as_the_views_they_hold() -> None:
    from assets_core.planning.definition_rows import FIELDS, DefinitionRows, names_of
    from catalog.version import definitions_digest
    from catalog.views import DefinitionView

    views = [DefinitionView("b", "python", code_version="c2", upstream=("a",), file="defs.py", line=9),
             DefinitionView("a", "source", group="raw", description="Raw rows.", tags=("pii",), owners=("ann",))]
    rows = DefinitionRows([tuple(getattr(view, name) for name in FIELDS) for view in views])
    assert list(rows) == views and rows[1] == views[1] and rows[:1] == views[:1] and len(rows) == 2
    assert names_of(rows) == names_of(views) == ["b", "a"]
    assert definitions_digest(rows) == definitions_digest(views)
    assert definitions_digest(rows) != definitions_digest(views[:1])


def test_the_digest_of_definitions_changes_with_every_field_and_not_with_their_order() -> None:
    from dataclasses import replace

    from catalog.version import definitions_digest
    from catalog.views import DefinitionView

    views = [DefinitionView("b", "python", code_version="c2", upstream=("a",), file="defs.py", line=9),
             DefinitionView("a", "source", group="raw", description="Raw rows.", tags=("pii",), owners=("ann",))]
    digest = definitions_digest(views)
    assert definitions_digest(list(reversed(views))) == digest
    changes = {"name": "c", "kind": "sql", "group": "g", "description": "Rows.", "code_version": "c3",
               "upstream": ("a", "x"), "tags": ("pii", "x"), "owners": ("bob",), "file": "other.py", "line": 10}
    changed = {definitions_digest([replace(views[0], **{field: value}), views[1]]) for field, value in changes.items()}
    assert len(changed) == len(changes) and digest not in changed
    assert definitions_digest([replace(views[0], line=None)]) != definitions_digest([replace(views[0], line=0)])
    odd = [replace(views[0], tags=(object,))]  # a value JSON cannot hold: digested by its repr instead
    assert len(definitions_digest(odd)) == len(digest) and definitions_digest(odd) != definitions_digest(views[:1])
