"""The layers import in one direction only: tui -> catalog -> assets_core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = {
    "assets_core": ["catalog", "tui", "sqlmodel", "sqlalchemy", "textual"],
    "catalog": ["tui", "textual"],
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package):
    """Import every module of the package in a fresh interpreter that refuses the layers above."""
    blocked = FORBIDDEN[package]
    script = f"""
import importlib, importlib.abc, pkgutil, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("layer violation: " + name)
sys.meta_path.insert(0, Block())
import {package}
for info in pkgutil.walk_packages({package}.__path__, "{package}."):
    importlib.import_module(info.name)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_importing_core_starts_no_thread_and_opens_nothing():
    script = """
import threading, assets_core.application.project, assets_core.running.execution, catalog
assert threading.active_count() == 1, threading.enumerate()
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


FRONT_END_BYPASSES = ("RunSettings(", ".run(plan", ".project.run(", ".project.materialize(", "save_definitions(",
                      ".recover(", "storage.prune(", "assets_core.running.execution")


def test_front_ends_reach_runs_only_through_the_application_layer():
    """The command and the browser plan, run, resume, prune and recover through assets_core.application,
    so that a scheduler or a notebook gets the same behaviour (a copy once ignored the retry policy)."""
    root = Path(__file__).resolve().parents[1] / "tui"
    found = [f"{path.relative_to(root.parent)}: {word}" for path in sorted(root.rglob("*.py"))
             for word in FRONT_END_BYPASSES if word in path.read_text()]
    assert found == []
