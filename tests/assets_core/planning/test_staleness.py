"""Staleness as a user meets it: edit code or data on disk, reload, and ask what is stale and why."""

from __future__ import annotations

import pytest

from tests.conftest import reasons_of, statuses_of

BASE = """
import polars as pl
from assets_core.declaring.definitions import asset, source_asset

FACTOR = 2

def scale(frame):
    return frame.with_columns(pl.col("a") * FACTOR)

raw = source_asset("raw", "raw.csv")

@asset(description="Cleaned rows.")
def cleaned(raw):
    \"\"\"Keep positive rows.\"\"\"
    return raw.filter(pl.col("a") > 0)

@asset
def scaled(cleaned):
    return scale(cleaned)

@asset
def total(scaled):
    return {"sum": int(scaled["a"].sum())}
"""


@pytest.fixture
def built(folder):
    folder.write("defs.py", BASE)
    folder.write("raw.csv", "a,b\n1,x\n2,y\n-3,z\n")
    result = folder.load().materialize()
    assert result.status == "success" and result.materialized == ["cleaned", "scaled", "total"]
    return folder


def test_everything_fresh_after_materialize_and_rerun_runs_nothing(built):
    project = built.load()
    assert set(statuses_of(project).values()) == {"fresh"}
    assert len(project.plan()) == 0
    assert project.plan().selected == {"raw", "cleaned", "scaled", "total"}  # the source too, though it never runs
    assert project.plan(force=True).assets == ["cleaned", "scaled", "total"]
    assert project.plan(force=["scaled"]).assets == ["scaled", "total"]  # what it feeds runs after it
    assert project.materialize().outcomes == ()


@pytest.mark.parametrize("old,new", [
    ('    """Keep positive rows."""', '    """Keep rows that are above zero, a new docstring."""'),
    ('@asset(description="Cleaned rows.")', '@asset(description="Another description", tags=["pii"])'),
    ("    return raw.filter(pl.col(\"a\") > 0)", "    # a comment\n    return raw.filter(\n        pl.col('a') > 0\n    )"),
])
def test_cosmetic_edits_change_nothing(built, old, new):
    assert old in BASE
    built.write("defs.py", BASE.replace(old, new))
    assert set(statuses_of(built.load()).values()) == {"fresh"}


def test_body_edit_makes_the_asset_stale_and_its_downstream_wait(built):
    built.write("defs.py", BASE.replace('pl.col("a") > 0', 'pl.col("a") > 1'))
    project = built.load()
    assert reasons_of(project, "cleaned") == ["code_changed"]
    assert reasons_of(project, "scaled") == ["upstream_stale"]
    assert statuses_of(project)["total"] == "stale"


def test_helper_and_constant_edits_make_users_stale(built):
    built.write("defs.py", BASE.replace('pl.col("a") * FACTOR', 'pl.col("a") * FACTOR + 1'))
    assert reasons_of(built.load(), "scaled") == ["code_changed"]
    built.write("defs.py", BASE.replace("FACTOR = 2", "FACTOR = 3"))
    project = built.load()
    assert reasons_of(project, "scaled") == ["code_changed"]
    assert statuses_of(project)["cleaned"] == "fresh"


def test_helper_in_another_project_module_is_followed(folder):
    folder.write("helpers.py", "def tidy(rows):\n    return sorted(rows)\n")
    folder.write("defs.py", """
        from assets_core.declaring.definitions import asset
        import helpers

        @asset
        def tidy_rows():
            return helpers.tidy([3, 1, 2])
    """)
    folder.load().materialize()
    assert statuses_of(folder.load()) == {"tidy_rows": "fresh"}
    folder.write("helpers.py", "def tidy(rows):\n    return sorted(rows, reverse=True)\n")
    assert reasons_of(folder.load(), "tidy_rows") == ["code_changed"]


def test_helper_reached_through_a_dotted_module_path_is_followed(folder):
    folder.write("pkg/__init__.py", "")
    folder.write("pkg/util.py", "RATE = 2\n\ndef helper(x):\n    return x * RATE\n")
    folder.write("defs.py", """
        from assets_core.declaring.definitions import asset
        import pkg.util

        @asset
        def through_helper():
            return pkg.util.helper(1)

        @asset
        def through_constant():
            return pkg.util.RATE
    """)
    folder.load().materialize()
    assert statuses_of(folder.load()) == {"through_helper": "fresh", "through_constant": "fresh"}
    folder.write("pkg/util.py", "RATE = 3\n\ndef helper(x):\n    return x * RATE\n")
    project = folder.load()
    assert reasons_of(project, "through_helper") == ["code_changed"]
    assert reasons_of(project, "through_constant") == ["code_changed"]
    folder.load().materialize()
    folder.write("pkg/util.py", "RATE = 3\n\ndef helper(x):\n    return x * RATE + 1\n")
    project = folder.load()
    assert reasons_of(project, "through_helper") == ["code_changed"]
    assert statuses_of(project)["through_constant"] == "fresh"

def test_upstream_data_change_names_the_upstream(built):
    built.write("raw.csv", "a,b\n1,x\n5,y\n")
    statuses = built.load().snapshot().statuses
    assert statuses["raw"].status == "stale"
    reason = statuses["cleaned"].reasons[0]
    assert (reason.kind, reason.upstream) == ("upstream_changed", "raw")
    assert "upstream 'raw' has new data" in reason.detail


def test_source_touched_without_change_is_still_fresh(built):
    path = built.root / "raw.csv"
    path.write_text(path.read_text())  # new mtime, same bytes
    assert set(statuses_of(built.load()).values()) == {"fresh"}


def test_early_cutoff_skips_downstream_when_output_is_unchanged(built):
    # A refactoring that changes the code but not the output: 'a > 0' is 'not (a <= 0)'.
    built.write("defs.py", BASE.replace('pl.col("a") > 0', '~(pl.col("a") <= 0)'))
    project = built.load()
    assert [s.asset for s in project.plan().steps] == ["cleaned", "scaled", "total"]
    result = project.materialize()
    assert result.materialized == ["cleaned"]
    assert result.skipped == ["scaled", "total"]
    skipped = next(o for o in result.outcomes if o.asset == "scaled")
    assert "early cutoff" in skipped.detail
    assert set(statuses_of(built.load()).values()) == {"fresh"}


def test_early_cutoff_after_a_failed_upstream_succeeds_with_the_same_data(built):
    # A bad file fails 'cleaned' (its downstream is skipped and then waits: upstream_failed); once the file is
    # put back, 'cleaned' stores the data it had before, so what reads it need not run again.
    good = (built.root / "raw.csv").read_text()
    built.write("raw.csv", 'a,b\nthis is,"not a csv\n\x00garbage')
    failed = built.load().materialize()
    assert failed.failed == ["cleaned"] and failed.skipped == ["scaled", "total"]
    assert reasons_of(built.load(), "scaled") == ["upstream_failed"]
    built.write("raw.csv", good)
    result = built.load().materialize()
    assert result.materialized == ["cleaned"]
    assert result.skipped == ["scaled", "total"]
    assert "early cutoff" in next(o for o in result.outcomes if o.asset == "scaled").detail
    assert set(statuses_of(built.load()).values()) == {"fresh"}


def test_changed_output_propagates(built):
    built.write("raw.csv", "a,b\n1,x\n2,y\n7,z\n")
    result = built.load().materialize()
    assert result.materialized == ["cleaned", "scaled", "total"]
    assert built.load().storage is not None
    project = built.load()
    latest = project.catalog.read_state(["total"])["total"].materialization
    assert project.storage.read(latest.location) == {"sum": 20}


def test_failure_skips_only_downstream_and_is_remembered(folder):
    folder.write("defs.py", """
        from assets_core.declaring.definitions import asset

        @asset
        def good(): return [1]
        @asset
        def bad(): raise RuntimeError("no connection to the CRM")
        @asset
        def after_bad(bad): return bad
        @asset
        def after_good(good): return good
    """)
    result = folder.load().materialize()
    assert (sorted(result.materialized), result.failed, result.skipped) == (["after_good", "good"], ["bad"],
                                                                             ["after_bad"])
    statuses = folder.load().snapshot().statuses
    assert statuses["bad"].status == "failed"
    assert "RuntimeError: no connection to the CRM" in statuses["bad"].reasons[0].detail
    assert statuses["after_bad"].status == "missing"
    assert statuses["good"].status == statuses["after_good"].status == "fresh"


def test_unselected_missing_upstream_is_an_error_that_suggests_plus(built):
    from assets_core.errors import SelectionError

    built.write("defs.py", BASE + "\n@asset\ndef extra(total):\n    return total\n\n@asset\ndef more(extra):\n    return extra\n")
    with pytest.raises(SelectionError, match=r"'\+more'"):
        built.load().plan(["more"])


def test_unselected_upstream_is_read_from_storage(built):
    built.write("defs.py", BASE.replace("return {\"sum\": int(scaled[\"a\"].sum())}",
                                        "return {\"sum\": int(scaled[\"a\"].sum()) + 1}"))
    project = built.load()
    result = project.materialize(["total"])
    assert result.materialized == ["total"]
    latest = project.catalog.read_state(["total"])["total"].materialization
    assert project.storage.read(latest.location) == {"sum": 7}


def test_deleted_stored_value_makes_the_asset_missing(built):
    project = built.load()
    location = project.catalog.read_state(["scaled"])["scaled"].materialization.location
    project.storage.path(location).unlink()
    statuses = built.load().snapshot().statuses
    assert statuses["scaled"].status == "missing"
    assert "is gone" in statuses["scaled"].reasons[0].detail
    assert built.load().materialize().materialized[0] == "scaled"


def test_force_reruns_fresh_assets(built):
    result = built.load().materialize(settings=__import__("assets_core.running.execution").running.execution.RunSettings(force=True))
    assert result.materialized == ["cleaned", "scaled", "total"]


def test_a_global_the_asset_declares_and_assigns_is_followed(folder):
    folder.write("defs.py", """
        from assets_core.declaring.definitions import asset

        COUNT = 1

        @asset
        def counted():
            global COUNT
            COUNT += 1
            return COUNT
    """)
    folder.load().materialize()
    assert statuses_of(folder.load()) == {"counted": "fresh"}
    folder.write("defs.py", (folder.root / "defs.py").read_text().replace("COUNT = 1", "COUNT = 5"))
    assert reasons_of(folder.load(), "counted") == ["code_changed"]


def test_a_helper_called_by_a_method_of_a_project_class_is_followed(folder):
    source = """
        from assets_core.declaring.definitions import asset

        def helper():
            return 1

        class Tools:
            @staticmethod
            def value():
                return helper()

        @asset
        def through_method():
            return Tools.value()
    """
    folder.write("defs.py", source)
    folder.load().materialize()
    assert statuses_of(folder.load()) == {"through_method": "fresh"}
    folder.write("defs.py", source.replace("return 1", "return 2"))
    assert reasons_of(folder.load(), "through_method") == ["code_changed"]


def test_a_partial_asset_is_versioned_by_its_function_and_arguments(folder):
    source = """
        import functools
        from assets_core.declaring.definitions import asset

        def scaled(factor):
            return factor * 2

        tripled = asset(functools.partial(scaled, 3), name="tripled")
    """
    folder.write("defs.py", source)
    assert folder.load().materialize().materialized == ["tripled"]
    assert statuses_of(folder.load()) == {"tripled": "fresh"}
    folder.write("defs.py", source.replace("partial(scaled, 3)", "partial(scaled, 4)"))
    assert reasons_of(folder.load(), "tripled") == ["code_changed"]
    folder.load().materialize()
    folder.write("defs.py", source.replace("partial(scaled, 3)", "partial(scaled, 4)").replace("* 2", "* 5"))
    assert reasons_of(folder.load(), "tripled") == ["code_changed"]
