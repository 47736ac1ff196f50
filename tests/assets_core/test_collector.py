"""Pausing the cyclic collector, and freezing what a pause made in a process that runs one command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter: objects made in a pause, then cyclic garbage made after it.
_PAUSE = """
import gc, json, sys
from assets_core.collector import collector_paused, one_command_process

class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it

if sys.argv[1] != "plain":
    one_command_process()
gc.collect()
with collector_paused(kept=sys.argv[1] != "unkept"):
    paused_off = not gc.isenabled()
    kept = [Node() for _ in range(1000)]
young = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
frozen = gc.get_freeze_count()
for _ in range(10):
    Node()  # garbage at once, made after the pause
print(json.dumps({"paused_off": paused_off, "on_after": gc.isenabled(), "frozen": frozen,
                  "kept_in_generations": sum(id(node) in young for node in kept), "collected": gc.collect()}))
"""


def _pause(mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _PAUSE, mode], cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def test_a_pause_freezes_what_it_made_only_if_kept_in_a_process_of_one_command() -> None:
    for mode in ("plain", "unkept"):  # kept in a process that goes on; not kept in one of one command
        plain = _pause(mode)
        assert plain["paused_off"] and plain["on_after"]
        assert plain["frozen"] == 0 and plain["kept_in_generations"] == 1000
    frozen = _pause("kept")
    assert frozen["paused_off"] and frozen["on_after"]
    assert isinstance(frozen["frozen"], int) and frozen["frozen"] >= 1000 and frozen["kept_in_generations"] == 0
    assert plain["collected"] == frozen["collected"] >= 10  # garbage made after the pause is still collected


def test_the_assets_command_freezes_after_its_pauses_and_a_call_of_main_does_not(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text("from assets_core.declaring.definitions import asset\n\n"
                                      "@asset\ndef numbers():\n    return [1, 2]\n")
    script = textwrap.dedent(f"""
        import contextlib, gc, io, json, sys
        from tui.cli.main import main
        with contextlib.redirect_stdout(io.StringIO()):
            main(["list", "-f", "defs.py", "--project", {str(tmp_path)!r}], own_process=sys.argv[1] == "own")
        print(json.dumps(gc.get_freeze_count()))
    """)
    frozen = {mode: json.loads(subprocess.run([sys.executable, "-c", script, mode], cwd=ROOT, capture_output=True,
                                              text=True, check=True).stdout) for mode in ("own", "call")}
    assert frozen["call"] == 0 and frozen["own"] > 1000
