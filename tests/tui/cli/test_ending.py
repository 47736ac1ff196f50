"""The ``assets`` process ends without freeing every object, and loses nothing Python's own exit would keep."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from tui.cli.ending import _HOLDING, _holding_classes, flush_open_files

# At import, the definitions leave behind everything Python's exit takes care of: a file written and never
# closed, an atexit handler, a thread (not a daemon) that works once the command is over, an idle thread pool
# never shut down (its worker stops only when told by what concurrent.futures registers with threading), and an
# object whose __del__ would say it ran.
DEFINITIONS = '''
import atexit, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from assets_core import asset

LEFT_OPEN = open("left_open.txt", "w")
LEFT_OPEN.write("written, never closed")
atexit.register(lambda: Path("atexit.txt").write_text("ran"))

def _late():
    threading.main_thread().join()  # the command is over, and the process ends
    time.sleep(0.3)
    Path("thread.txt").write_text("finished")

threading.Thread(target=_late).start()
POOL = ThreadPoolExecutor(1)
POOL.submit(lambda: None).result()

class Freed:
    def __del__(self):
        Path("freed.txt").write_text("freed")

KEPT = Freed()

@asset
def numbers():
    return [1, 2, 3]
'''


def test_the_command_ends_with_its_code_and_keeps_what_pythons_exit_keeps(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(DEFINITIONS)
    done = subprocess.run([sys.executable, "-m", "tui.cli.main", "list", "-f", "defs.py", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"numbers"' in done.stdout and done.stdout.rstrip().endswith("]")  # stdout flushed whole
    assert (tmp_path / "left_open.txt").read_text() == "written, never closed"
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    assert (tmp_path / "thread.txt").read_text() == "finished"
    # What is skipped: objects still alive are not freed one by one (Python does not promise their __del__).
    assert not (tmp_path / "freed.txt").exists()


def test_a_failing_command_ends_with_its_own_code(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text("from assets_core import asset\n\n@asset\ndef numbers(missing):\n    return 1\n")
    done = subprocess.run([sys.executable, "-m", "tui.cli.main", "list", "-f", "defs.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "missing" in done.stderr


def test_files_left_open_are_flushed_and_closed_ones_passed_over(tmp_path: Path) -> None:
    text = open(tmp_path / "text.txt", "w")  # noqa: SIM115  # left open on purpose
    binary = open(tmp_path / "binary.bin", "wb")  # noqa: SIM115
    closed = open(tmp_path / "closed.txt", "w")  # noqa: SIM115
    try:
        text.write("through text")
        binary.write(b"bytes")
        closed.write("kept")
        closed.close()
        assert (tmp_path / "text.txt").read_text() == "" and (tmp_path / "binary.bin").read_bytes() == b""
        assert flush_open_files() >= 2  # and no error from the closed one
        assert (tmp_path / "text.txt").read_text() == "through text"
        assert (tmp_path / "binary.bin").read_bytes() == b"bytes"
    finally:
        text.close()
        binary.close()


class _LoggedText(io.TextIOWrapper):
    """A text file of some library's own class, below io.TextIOWrapper."""


class _LoggedTwice(_LoggedText):
    pass


def test_files_of_a_subclass_are_flushed_too(tmp_path: Path) -> None:
    raw = open(tmp_path / "sub.txt", "wb")  # noqa: SIM115  # left open on purpose
    sub = _LoggedTwice(raw, encoding="utf-8")
    try:
        sub.write("from a subclass")
        assert (tmp_path / "sub.txt").read_bytes() == b""
        flush_open_files()
        assert (tmp_path / "sub.txt").read_text() == "from a subclass"
    finally:
        sub.close()


def test_the_classes_looked_for_are_those_isinstance_finds() -> None:
    holding = _holding_classes()
    assert {_LoggedText, _LoggedTwice, *_HOLDING} <= holding
    assert io.StringIO not in holding and io.FileIO not in holding and io.BufferedReader not in holding
    assert all(issubclass(cls, _HOLDING) for cls in holding)
