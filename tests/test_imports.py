"""Late imports are safe when worker threads reach them at once, and no value is judged by ``sys.modules``.

A fresh `assets materialize` once failed at random: a worker thread storing a dict looked at a pyarrow that
another worker thread was still importing. The stress test runs fresh processes on a project that mixes
table, JSON and SQL assets (``ASSETS_RACE_ROUNDS`` sets the rounds per batch; ``benchmarks/import_soak.py``
runs many more).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assets_core", "catalog", "tui")
ROUNDS = int(os.environ.get("ASSETS_RACE_ROUNDS", "6"))


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _late_imports(tree: ast.AST) -> list[ast.stmt]:
    """Import statements inside a function that are not inside ``with late_import():``."""
    found: list[ast.stmt] = []

    def visit(node: ast.AST, in_function: bool, locked: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and in_function and not locked:
                found.append(child)
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            holds = locked or (isinstance(child, ast.With) and any(
                isinstance(item.context_expr, ast.Call) and getattr(item.context_expr.func, "id", "") == "late_import"
                for item in child.items))
            visit(child, inner, holds)

    visit(tree, False, False)
    return found


def test_every_import_inside_a_function_holds_the_late_import_lock():
    unlocked = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in _modules()
                for node in _late_imports(ast.parse(path.read_text()))]
    assert unlocked == [], "wrap these in 'with late_import():' (assets_core/imports.py says why)"


def test_the_guard_sees_an_unlocked_import():
    source = "def f():\n    import json\n\ndef g():\n    with late_import():\n        import json\n"
    assert [node.lineno for node in _late_imports(ast.parse(source))] == [2]


def test_no_module_reads_sys_modules_but_the_loader():
    """Only loading definitions (which adds and removes the user's modules) touches ``sys.modules``."""
    readers = [str(path.relative_to(ROOT)) for path in _modules() if "sys.modules" in path.read_text()]
    assert readers == ["assets_core/declaring/loading.py"]


def test_telling_a_table_never_imports_pyarrow():
    script = ("import sys; from assets_core.running.storage import is_table; "
              "print(is_table({'a': 1}), is_table([1]), is_table('x'), 'pyarrow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.split() == ["False", "False", "False", "False"], result.stderr


def test_a_pyarrow_table_is_a_table():
    import pyarrow as pa

    from assets_core.running.storage import is_table

    assert is_table(pa.table({"a": [1]}))
    assert not is_table(pa.array([1]))


MIXED = '''
import os
import polars as pl
from assets_core.declaring.definitions import asset
from assets_core.declaring.sql import sql_asset

@asset
def a():
    return pl.DataFrame({"k": list(range(100)), "v": [i * 3 % 17 for i in range(100)]})

@asset
def b(a):
    return a.with_columns(w=pl.col("v") * 2)

@asset
def c(a):
    return a.group_by("v").len().sort("v")

@asset
def d(b, c):
    return pl.DataFrame({"n": [b.height + c.height]})

@asset
def where():
    return {"pid": os.getpid()}

@asset
def counts():
    return [1, 2, 3]

@asset
def label():
    return "mixed"

totals = sql_asset("totals", "select v, count(*) as n from a group by v")
'''
NAMES = {"a", "b", "c", "d", "where", "counts", "label", "totals"}


def materialize_fresh(project: Path, home: Path) -> tuple[int, dict, str]:
    """One fresh `assets materialize --json` into an empty home, with the default worker count."""
    command = [str(Path(sys.executable).with_name("assets")), "materialize", "-f", "defs.py",
               "--project", str(project), "--home", str(home), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=project)
    try:
        outcome = json.loads(result.stdout)
    except json.JSONDecodeError:
        outcome = {}
    return result.returncode, outcome, result.stderr


@pytest.mark.parametrize("batch", range(2))
def test_fresh_runs_of_a_mixed_project_never_fail(tmp_path, batch):
    (tmp_path / "defs.py").write_text(textwrap.dedent(MIXED))
    failures = []
    for round_ in range(ROUNDS):
        code, outcome, error = materialize_fresh(tmp_path, tmp_path / f"home{round_}")
        if code != 0 or set(outcome.get("materialized", [])) != NAMES:
            failures.append((round_, code, outcome.get("outcomes"), error[-2000:]))
    assert failures == []
