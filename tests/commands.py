"""The `assets` command run inside the test's own process, where its start-up is not what a test is about."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tui.cli.main import main


def in_process(*argv: str, cwd: Path, env: Mapping[str, str] | None = None, unset: Iterable[str] = (),
               no_bytecode: bool = False) -> subprocess.CompletedProcess[str]:
    """``assets ARGV`` run through ``main`` from ``cwd`` (where the project is found and the assets write their
    files), with the variables ``unset`` removed and ``env`` set as a child process would have them (and no
    bytecode written, as PYTHONDONTWRITEBYTECODE=1 makes a child): its exit code, stdout and stderr, as
    ``subprocess.run(..., capture_output=True, text=True)`` gives them."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in unset:
            patch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        if no_bytecode:
            patch.setenv("PYTHONDONTWRITEBYTECODE", "1")
            patch.setattr(sys, "dont_write_bytecode", True)
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    return subprocess.CompletedProcess(["assets", *argv], code, out.getvalue(), err.getvalue())


def assets_variables() -> list[str]:
    """The ASSETS_* variables of this process (which would point a command at another home or catalog)."""
    return [name for name in os.environ if name.startswith("ASSETS_")]
