"""The layers import in one direction only: tui -> catalog -> assets_core."""

from __future__ import annotations

import subprocess
import sys

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
