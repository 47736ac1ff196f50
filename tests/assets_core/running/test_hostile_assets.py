"""Hostile and unlucky assets, run by a real ``assets`` process: whatever an asset raises, calls or prints, the
run records what it can and the command says what happened."""

from __future__ import annotations

import json
from pathlib import Path

from tests.assets_core.running.test_recovery import check_consistent, cli

EXITING = """
import sys
from assets_core.declaring.definitions import asset

class Sulky(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")

@asset
def fine():
    return [1]

@asset
def after(fine):
    return fine + [2]

@asset
def exits_zero():
    sys.exit(0)

@asset
def exits_one():
    sys.exit(1)

@asset
def interrupts():
    raise KeyboardInterrupt

@asset
def base():
    raise BaseException("base")

@asset
def generator_exit():
    raise GeneratorExit

@asset
def sulky():
    raise Sulky()
"""


def _project(root: Path, source: str) -> Path:
    (root / "defs.py").write_text(source)
    (root / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    return root


def test_whatever_an_asset_raises_or_calls_fails_that_asset_only(tmp_path):
    root = _project(tmp_path, EXITING)
    done = cli(root, "materialize", "--json", "-j", "2", timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "failed" and sorted(result["materialized"]) == ["after", "fine"]
    details = {o["asset"]: o["detail"] for o in result["outcomes"] if o["status"] == "failed"}
    assert details == {
        "exits_zero": "SystemExit: 0 (the asset called sys.exit)",
        "exits_one": "SystemExit: 1 (the asset called sys.exit)",
        "interrupts": "KeyboardInterrupt",
        "base": "BaseException: base",
        "generator_exit": "GeneratorExit",
        "sulky": "Sulky (its message could not be read: RuntimeError in __str__)",
    }
    check_consistent(root)
    status = json.loads(cli(root, "status", "--json", timeout=120, check=True).stdout)
    assert {s["asset"]: s["status"] for s in status if s["asset"] in ("fine", "after")} == \
        {"fine": "fresh", "after": "fresh"}
    logs = cli(root, "logs", result["run_id"], "--asset", "sulky", timeout=120, check=True).stdout
    assert "Sulky" in logs
