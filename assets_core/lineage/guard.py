"""What a traced function may not do: while it runs on empty frames for its lineage, it may not write, remove
or rename files, open connections, start or kill processes, sleep or leave the process (``os._exit``), and it
may not run longer than :data:`LIMIT` seconds. Each such attempt raises ``PermissionError`` in the function
and is noted, so the trace fails with the reason instead of changing anything, hanging or ending the command.
Only the thread that traces is watched: other threads (a run beside it) are left alone."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

LIMIT = 5.0  # seconds a function may run on empty frames
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_EFFECTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.truncate", "os.chmod", "os.chown", "os.link",
            "os.symlink", "os.utime", "os.chflags", "os.lchflags", "shutil.rmtree", "shutil.copyfile",
            "shutil.move", "shutil.copytree", "shutil.chown", "socket.connect", "socket.bind", "socket.sendto",
            "socket.sendmsg", "socket.getaddrinfo", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
            "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.startfile", "pty.spawn",
            "http.client.connect", "urllib.Request", "ftplib.connect", "smtplib.connect", "os.putenv",
            "os.unsetenv"}
_state = threading.local()


class TooLong(BaseException):
    """The traced function ran longer than LIMIT (a BaseException, so ``except Exception`` does not keep it)."""


def _watched() -> list[str] | None:
    effects: list[str] | None = getattr(_state, "effects", None)
    return effects


def _refuse(what: str) -> None:
    effects = _watched()
    if effects is not None:
        effects.append(what)
        raise PermissionError(f"{what} is not allowed while the lineage traces this function")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _watched() is None:
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITING)
        if writing and not str(path).endswith(".pyc") and ".pyc." not in str(path):
            _refuse(f"writing {path}")
        elif writing:  # a module imported for the first time: its bytecode is simply not cached
            raise PermissionError("no bytecode is written while the lineage traces a function")
    elif event in _EFFECTS:
        _refuse(event)


_real_sleep, _real_exit = time.sleep, os._exit


def _sleep(seconds: float) -> None:
    _refuse("time.sleep")
    _real_sleep(seconds)


def _exit(code: int) -> None:
    _refuse(f"os._exit({code})")
    _real_exit(code)


_installed = threading.Lock()
_ready: list[bool] = []


def _install() -> None:
    with _installed:
        if not _ready:
            sys.addaudithook(_hook)
            time.sleep, os._exit = _sleep, _exit  # type: ignore[assignment]
            _ready.append(True)


@contextlib.contextmanager
def guarded(effects: list[str]) -> Iterator[None]:
    """Run the block with its side effects refused (noted in ``effects``) and at most LIMIT seconds long
    (then :class:`TooLong` is raised in it)."""
    _install()
    ident = threading.get_ident()
    done = threading.Event()

    def interrupt() -> None:
        if not done.wait(LIMIT):
            effects.append(f"running longer than {LIMIT:g} s")
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(TooLong))

    watchdog = threading.Thread(target=interrupt, daemon=True)
    _state.effects = effects
    watchdog.start()
    try:
        yield
    finally:
        _state.effects = None
        done.set()
        watchdog.join()
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)  # one not yet delivered
