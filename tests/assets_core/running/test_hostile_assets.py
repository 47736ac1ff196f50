"""Hostile and unlucky assets, run by a real ``assets`` process: whatever an asset raises, calls or prints, the
run records what it can and the command says what happened."""

from __future__ import annotations

import json
from pathlib import Path

from assets_core.running.capture import KEEP_HEAD, KEEP_TAIL
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

PRINTING = """
import sys
from assets_core.declaring.definitions import asset

@asset
def progress_bar():
    for step in range(1_000_000):  # 16 MB of a redrawn line, never a newline
        sys.stdout.write(f"\\r{step:>9} steps")
    return [1]

@asset
def chatty():
    line = "x" * 99
    for _ in range(500_000):  # 50 MB of lines
        print(line)
    print("the end")
    return [2]
"""


def test_captured_output_is_linear_in_time_and_bounded(tmp_path):
    """16 MB of carriage returns took hours when each write copied the line so far; 50 MB of lines were all
    kept in memory and in the catalog."""
    root = _project(tmp_path, PRINTING)
    done = cli(root, "materialize", "--json", timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    events = json.loads(cli(root, "logs", run_id, "--json", timeout=120, check=True).stdout)["events"]
    bar = [e["message"] for e in events if e["asset"] == "progress_bar" and e["kind"] == "log"]
    assert bar == ["   999999 steps"]  # what the terminal would show at the end
    chatty = [e["message"] for e in events if e["asset"] == "chatty" and e["kind"] == "log"]
    kept = sum(len(message) for message in chatty)
    assert kept < KEEP_HEAD + KEEP_TAIL
    assert chatty[0] == "x" * 99 and chatty[-1] == "the end"
    assert any("character(s) of output dropped here" in message for message in chatty)
    assert (root / ".assets" / "catalog.db").stat().st_size < 10 * (KEEP_HEAD + KEEP_TAIL)

BACKGROUND = """
import logging
import threading
import time
from assets_core.declaring.definitions import asset

def chatter():
    for number in range(30):
        print(f"background line {number}")
        logging.getLogger("chatter").warning("background warning %d", number)
        time.sleep(0.02)

@asset
def starts_a_thread():
    threading.Thread(target=chatter, name="chatter").start()
    time.sleep(0.2)
    return [1]

@asset
def later(starts_a_thread):
    time.sleep(0.2)
    return starts_a_thread
"""


def test_a_thread_an_asset_leaves_running_keeps_json_output_whole(tmp_path):
    """Its prints went to the command's stdout, in the middle of --json output, and its log lines nowhere."""
    root = _project(tmp_path, BACKGROUND)
    done = cli(root, "materialize", "--json", timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["materialized"] == ["starts_a_thread", "later"]
    assert "[output of thread 'chatter', which is not the command's, follows on stderr" in done.stderr
    assert all(f"background line {number}\n" in done.stderr for number in range(30))
    assert "WARNING chatter: background warning 0 (logged by thread 'chatter', which is not an asset's)" \
        in done.stderr
