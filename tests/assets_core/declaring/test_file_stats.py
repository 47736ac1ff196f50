"""Stat'ing many files in a helper process gives exactly what stat'ing them here gives, or falls back to that."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assets_core.declaring import file_stats
from assets_core.declaring.file_stats import stat_files, stat_here


def _files(tmp_path: Path) -> list[str]:
    """A regular file, an empty one, a folder, a missing file, a symlink to a file, a dangling symlink, and a
    name that is not valid UTF-8."""
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link.csv").symlink_to(tmp_path / "a.csv")
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    odd = os.fsdecode(bytes(tmp_path / "odd") + b"-\xff.csv")
    Path(odd).write_text("1")
    os.utime(tmp_path / "a.csv", ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    names = ["a.csv", "empty.csv", "folder", "missing.csv", "link.csv", "dangling.csv"]
    return [str(tmp_path / name) for name in names] + [odd]


def test_the_helper_finds_what_a_stat_here_finds(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    with stat_files(paths, helper_from=1) as pending:
        found = pending.result()
    assert found == stat_here(paths)
    size = len("x,y\n1,2\n")
    empty = os.stat(paths[1]).st_mtime_ns
    assert found == [f"{size}:1700000000123456789", f"0:{empty}", None, None, f"{size}:1700000000123456789", None,
                     f"1:{os.stat(paths[6]).st_mtime_ns}"]


def test_many_files_through_the_helper(tmp_path: Path) -> None:
    """Thousands of paths (more than a pipe holds either way), some missing."""
    paths = []
    for number in range(3000):
        path = tmp_path / f"f{number}.txt"
        if number % 7:
            path.write_text("x" * (number % 50))
        paths.append(str(path))
    with stat_files(paths, helper_from=1) as pending:
        found = pending.result()
    assert found == stat_here(paths)
    assert sum(f is None for f in found) == len(range(0, 3000, 7))


def _helper(tmp_path: Path, body: str) -> str:
    """An executable standing for the helper: it gets the helper's arguments, the answers' descriptor last."""
    script = tmp_path / "helper"
    script.write_text(f"#!{sys.executable}\nimport os, sys, time\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_a_helper_that_fails_leaves_the_stat_to_this_process(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    for broken in ("/bin/false", str(tmp_path / "no-such-interpreter")):
        with stat_files(paths, helper_from=1, executable=broken) as pending:
            assert pending.result() == stat_here(paths)


def test_a_helper_that_answers_short_is_not_believed(tmp_path: Path) -> None:
    """A helper whose answer has the wrong length (here: one that gives one fingerprint and exits 0)."""
    script = _helper(tmp_path, 'os.write(int(sys.argv[-1]), b"1:2\\n")')
    paths = _files(tmp_path)
    with stat_files(paths, helper_from=1, executable=script) as pending:
        assert pending.result() == stat_here(paths)


def test_a_helper_never_asked_is_stopped(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    pending = stat_files(paths, helper_from=1)
    helper = pending._helper
    assert helper is not None
    with pending:
        pass
    assert helper._process.returncode is not None  # reaped: no process left behind
    with pytest.raises(OSError):
        os.fstat(helper._answers)  # and its answers let go of


def test_few_files_are_stated_here(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    pending = stat_files(paths)  # fewer than the helper is worth
    assert pending._helper is None
    assert pending.result() == stat_here(paths)


def test_a_helper_that_says_nothing_is_not_waited_for(tmp_path: Path) -> None:
    """One that never answers: this process stats every file itself and stops the helper, rather than wait."""
    paths = _files(tmp_path)
    started = time.monotonic()
    with stat_files(paths * 20_000, helper_from=1, executable=_helper(tmp_path, "time.sleep(120)")) as pending:
        assert pending.result() == stat_here(paths) * 20_000
    assert time.monotonic() - started < 60


def test_a_chunk_of_the_wrong_length_ends_what_is_taken_from_the_helper(tmp_path: Path) -> None:
    paths = _files(tmp_path)  # 7 paths: one chunk of 7 expected; this helper sends 3 fingerprints
    script = _helper(tmp_path, 'os.write(int(sys.argv[-1]), b"1:2\\x001:2\\x001:2\\n")')
    with stat_files(paths, helper_from=1, executable=script) as pending:
        assert pending.result() == stat_here(paths)


def test_a_line_not_yet_whole_is_not_taken(tmp_path: Path) -> None:
    """A helper that wrote the start of a chunk's line and stopped (killed midway): that part is not believed."""
    paths = _files(tmp_path)
    script = _helper(tmp_path, 'os.write(int(sys.argv[-1]), b"9:9\\x009:9")\ntime.sleep(120)')
    with stat_files(paths, helper_from=1, executable=script) as pending:
        time.sleep(0.5)  # the helper has written its half line by now (or not: either way it is not taken)
        assert pending.result() == stat_here(paths)


def test_the_helper_itself_answers_every_path_as_stat_here_does(tmp_path: Path) -> None:
    """The helper run to its end, as the command starts it (isolated, without site): every chunk answered."""
    paths = _files(tmp_path) * 300  # more than one chunk
    names, answers = os.memfd_create("paths"), os.memfd_create("answers")
    try:
        os.write(names, "\0".join(paths).encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()))
        os.lseek(names, 0, os.SEEK_SET)
        subprocess.run([sys.executable, "-I", "-S", file_stats.__file__, str(os.getpid()), str(names), str(answers)],
                       pass_fds=(names, answers), check=True, timeout=60)
        lines = os.pread(answers, 1 << 24, 0).decode("ascii").split("\n")
    finally:
        os.close(names)
        os.close(answers)
    assert lines[-1] == "" and len(lines) - 1 == -(-len(paths) // file_stats.CHUNK)
    assert [found or None for line in lines[:-1] for found in line.split("\0")] == stat_here(paths)


def _joined(paths: list[str]) -> bytes:
    return "\0".join(paths).encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())


def test_a_helper_begun_early_on_the_same_paths_is_taken_over(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    assert file_stats.stat_early(_joined(paths), helper_from=1)
    begun = file_stats._early[0][1]
    with stat_files(paths, helper_from=1) as pending:
        assert pending.early and pending._helper is begun
        assert pending.result() == stat_here(paths)
    assert begun._process.returncode is not None  # reaped once done


def test_a_helper_begun_early_on_other_paths_is_stopped_and_the_files_stated_afresh(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    assert file_stats.stat_early(_joined(paths[:-1]), helper_from=1)  # one path short: not the same list
    begun = file_stats._early[0][1]
    with stat_files(paths, helper_from=1) as pending:
        assert not pending.early and begun._process.returncode is not None
        assert pending.result() == stat_here(paths)
    assert file_stats.stat_early(_joined(paths), helper_from=1)
    begun = file_stats._early[0][1]
    assert stat_files(paths[:2]).result() == stat_here(paths[:2])  # too few for a helper: stopped as well
    assert begun._process.returncode is not None and not file_stats._early


def test_an_early_helper_nobody_takes_over_is_stopped_at_exit(tmp_path: Path) -> None:
    """The command failed before it stat'ed anything: the helper does not outlive it."""
    marker = tmp_path / "helper-pid"
    # written aside and renamed: the marker never shows empty (the parent exits as soon as it shows at all)
    script = _helper(tmp_path, f"open({str(marker)!r} + '.part', 'w').write(str(os.getpid()))\n"
                               f"os.replace({str(marker)!r} + '.part', {str(marker)!r})\ntime.sleep(120)")
    code = ("import sys, time\nfrom assets_core.declaring import file_stats\n"
            f"assert file_stats.stat_early(b'/a\\0/b', helper_from=1, executable={script!r})\n"
            f"while not __import__('os').path.exists({str(marker)!r}): time.sleep(0.01)\n"
            "sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(int(marker.read_text()), 0)


def test_the_paths_of_the_last_look_are_kept_in_the_home(tmp_path: Path) -> None:
    assert file_stats.recall(tmp_path) is None
    file_stats.remember(tmp_path, b"/a\0/b")
    assert file_stats.recall(tmp_path) == b"/a\0/b"
    file_stats.remember(tmp_path, b"/c")
    assert file_stats.recall(tmp_path) == b"/c"
    assert sorted(p.name for p in tmp_path.iterdir()) == [file_stats.HINT]  # no temporary file left
    file_stats.remember(tmp_path / "missing", b"/a")  # no home: nothing written, nothing raised
    assert not (tmp_path / "missing").exists()
    (tmp_path / "file").write_text("x")
    file_stats.remember(tmp_path / "file", b"/a")  # a home that is a file (--home pointing at one): the same
    assert (tmp_path / "file").read_text() == "x"


def test_a_kept_paths_file_that_is_no_file_is_ignored_at_once(tmp_path: Path) -> None:
    """A FIFO (or anything but a plain file) where the paths are kept: no paths recalled, and no command waits on
    it for a writer that never comes."""
    os.mkfifo(tmp_path / file_stats.HINT)
    found: list[bytes | None] = []
    looking = threading.Thread(target=lambda: found.append(file_stats.recall(tmp_path)), daemon=True)
    looking.start()
    looking.join(timeout=10)
    assert not looking.is_alive() and found == [None]
    (tmp_path / file_stats.HINT).unlink()
    (tmp_path / file_stats.HINT).mkdir()
    assert file_stats.recall(tmp_path) is None


def test_no_file_descriptor_to_spare_means_no_helper_not_a_traceback() -> None:
    """Out of file descriptors (a soft limit reached): the files are stat'ed in the command's own process."""
    code = ("import os, resource\nfrom assets_core.declaring import file_stats\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
            "held = []\n"
            "while True:\n"
            "    try:\n"
            "        held.append(os.open(os.devnull, os.O_RDONLY))\n"
            "    except OSError:\n"
            "        break\n"
            "os.close(held.pop())  # one left: the first in-memory file opens, the second does not\n"
            "print(file_stats._launch(b'/a\\0/b', 2, None))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "None", done.stderr


def test_a_helper_whose_command_ended_without_its_exit_handlers_stops(tmp_path: Path) -> None:
    """A command ended by a signal, or by os._exit (as a Ctrl-C'd command ends): its early helper, never taken
    over and not stopped at exit, stops stat'ing instead of working through the whole list by itself."""
    count = 1_000_000  # a thousand chunks: far more than the helper answers before the command is gone
    code = ("import os, sys\nfrom assets_core.declaring import file_stats\n"
            f"assert file_stats.stat_early(b'\\0'.join([b'/no/such/file'] * {count}), helper_from=1)\n"
            "helper = file_stats._early[0][1]\n"
            "print(helper._process.pid, helper._answers, flush=True)\n"
            "sys.stdin.readline()\n"
            "os._exit(0)\n")
    command = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert command.stdout is not None and command.stdin is not None
    pid, answers = map(int, command.stdout.readline().split())
    kept = os.open(f"/proc/{command.pid}/fd/{answers}", os.O_RDONLY)  # the helper's answers, read after it ends
    try:
        command.stdin.write(b"\n")
        command.stdin.close()
        assert command.wait(timeout=60) == 0
        deadline = time.monotonic() + 60
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _running(pid)
        answered = os.pread(kept, 1 << 26, 0).count(b"\n")
    finally:
        os.close(kept)
    assert answered < count // file_stats.CHUNK  # it stopped on its own once the command was gone


def _running(pid: int) -> bool:
    """Whether a process (not this one's child) runs: it exists and is no zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
