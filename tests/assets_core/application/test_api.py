"""The Python API and the public import: one `from assets_core import ...` for definitions and runs."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import polars as pl
import pytest

import assets_core
from assets_core import AssetsError, asset, load, materialize, plan, source_asset, status
from tui.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


@asset
def numbers():
    return pl.DataFrame({"n": [1, 2, 3]})


@asset
def total(numbers):
    return {"total": int(numbers["n"].sum())}


def test_materialize_a_list_records_a_python_run_the_command_shows(tmp_path, capsys):
    result = materialize([numbers, total], project=tmp_path)
    assert result.status == "success" and len(result.run_id) == 12
    assert (result.materialized, result.skipped, result.failed) == (["numbers", "total"], [], [])
    assert main(["runs", "--project", str(tmp_path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["trigger"], r["materialized"]) for r in runs] == [(result.run_id, "python", 2)]
    again = materialize([numbers, total], project=tmp_path)
    assert (again.run_id, again.materialized) == (None, [])


def test_status_plan_and_load_read_the_same_home(tmp_path):
    assert [s.status for s in status([numbers, total], project=tmp_path)] == ["missing", "missing"]
    assert [step.asset for step in plan([numbers, total], "+total", project=tmp_path).steps] == ["numbers", "total"]
    materialize([numbers, total], project=tmp_path)
    assert [s.to_json()["status"] for s in status([numbers, total], project=tmp_path)] == ["fresh", "fresh"]
    assert plan([numbers, total], project=tmp_path).steps == ()
    assert load("total", project=tmp_path) == {"total": 6}
    assert load("numbers", project=tmp_path)["n"].to_list() == [1, 2, 3]
    forced = materialize([numbers, total], "numbers", project=tmp_path, force=True, workers=1)
    assert forced.materialized == ["numbers"]


def test_a_module_of_assets_and_an_explicit_home(tmp_path):
    def doubled(raw):
        return raw.with_columns(pl.col("x") * 2)

    module = types.ModuleType("pipeline")
    module.raw = source_asset("raw", "raw.csv")
    module.doubled = asset(doubled)
    (tmp_path / "raw.csv").write_text("x\n1\n2\n")
    home = tmp_path / "elsewhere"
    assert materialize(module, project=tmp_path, home=home).materialized == ["doubled"]
    assert (home / "catalog.db").exists() and not (tmp_path / ".assets").exists()
    assert load("doubled", project=tmp_path, home=home)["x"].to_list() == [2, 4]


def test_loading_what_was_never_stored_says_how_to_fix_it(tmp_path):
    materialize([numbers], project=tmp_path)
    with pytest.raises(AssetsError, match=r"asset 'total' has no stored value .*assets materialize \+total"):
        load("total", project=tmp_path)


def test_loading_a_misspelt_name_or_a_partition_of_an_unpartitioned_asset_says_so(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    (tmp_path / "defs.py").write_text("from assets_core import asset\n\n@asset\ndef revenue():\n    return {'t': 1}\n")
    materialize(project=tmp_path)
    with pytest.raises(AssetsError, match=r"'revenu' is not an asset; did you mean 'revenue'\?"):
        load("revenu", project=tmp_path)
    with pytest.raises(AssetsError, match=r"asset 'revenue' is not partitioned; load it without partition="):
        load("revenue", partition="2026-01-01", project=tmp_path)
    assert load("revenue", project=tmp_path) == {"t": 1}


def test_materialize_refuses_what_is_not_an_asset(tmp_path):
    with pytest.raises(AssetsError, match="got a int"):
        materialize([numbers, 5], project=tmp_path)


def test_one_asset_alone_or_a_list_lacking_an_upstream_says_how_to_fix_it(tmp_path):
    assert materialize(numbers, project=tmp_path).materialized == ["numbers"]  # it was: 'Asset' is not iterable
    assert [s.asset for s in status(numbers, project=tmp_path)] == ["numbers"]
    with pytest.raises(AssetsError, match=r"asset 'total' reads 'numbers', which is not among the assets given; "
                                          r"add it to the list, or pass the module"):
        materialize([total], project=tmp_path)

def test_a_list_lacking_an_upstream_whose_module_also_declares_checks_and_policies(tmp_path, monkeypatch):
    """The module beside the assets holds a freshness policy, a check and a schedule, which have no name:
    it was AttributeError: 'Freshness' object has no attribute 'name'."""
    (tmp_path / "listed_defs.py").write_text(
        "from datetime import timedelta\n"
        "import polars as pl\n"
        "from assets_core import asset, freshness, not_null, schedule\n\n"
        "@asset\ndef base():\n    return pl.DataFrame({'id': [1]})\n\n"
        "@asset\ndef top(base):\n    return base\n\n"
        "daily = freshness(top, timedelta(hours=24))\n"
        "checks = [not_null(base, 'id')]\n"
        "nightly = schedule('nightly', '0 2 * * *', '+top')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import listed_defs
    with pytest.raises(AssetsError, match=r"asset 'top' reads 'base', which is not among the assets given"):
        materialize([listed_defs.top], project=tmp_path)
    assert materialize([listed_defs.base, listed_defs.top], project=tmp_path).materialized == ["base", "top"]


def test_every_public_name_resolves_and_is_listed():
    for name in assets_core.__all__:
        assert getattr(assets_core, name) is not None
    with pytest.raises(AttributeError):
        assets_core.no_such_name  # noqa: B018


def test_readme_and_examples_import_only_from_the_package_top():
    """Users are taught one import: `from assets_core import ...` (the examples run it end to end)."""
    texts = {path: path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "examples").rglob("*.py"))]}
    deep = {str(path.relative_to(ROOT)): found for path, text in texts.items()
            if (found := re.findall(r"(?:from|import) assets_core\.[\w.]+", text))}
    assert deep == {}
    taught = {name for text in texts.values()
              for names in re.findall(r"from assets_core import ([\w, ]+)", text) for name in names.split(", ")}
    assert taught and taught <= set(assets_core.__all__)


@asset
def broken(numbers):
    raise ValueError(f"no good: {numbers.height} rows")


@asset
def after(broken):
    return broken


def test_raise_on_error_raises_for_the_first_failed_asset_once_the_run_is_recorded(tmp_path):
    from assets_core import MaterializationError

    assert materialize([numbers, broken, after], project=tmp_path).failed == ["broken"]  # returned, as ever
    with pytest.raises(MaterializationError, match=r"asset 'broken' failed: ValueError: no good: 3 rows") as raised:
        materialize([numbers, broken, after], project=tmp_path, raise_on_error=True)
    assert raised.value.asset == "broken"
    assert 'raise ValueError(f"no good' in str(raised.value)  # the traceback's line in the user's code
    assert [s.status for s in status([numbers, broken, after], project=tmp_path)] == ["fresh", "failed", "missing"]
    assert materialize([numbers, total], project=tmp_path, raise_on_error=True).status == "success"
