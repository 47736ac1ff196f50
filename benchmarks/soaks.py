"""The soaks' section of RESULTS.md: one line per soak, replaced each time that soak runs.

A soak runs one of the suite's stress tests for many more rounds (``import_soak.py``, ``crash_soak.py``, ...)
and records here how many rounds ran, how many failed, and when.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
import report  # noqa: E402  (this folder, as the script runs from it)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- soaks:begin -->", "<!-- soaks:end -->"
HEADING = "## Soaks"


def soak(name: str, what: str, test: str, keyword: str, variable: str, rounds: int, batches: int) -> int:
    """Run the suite's test ``test -k keyword`` with ``variable=rounds`` (rounds per batch, ``batches`` batches
    spread over two workers), record the outcome, and return pytest's exit code."""
    env = {**os.environ, variable: str(rounds)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", test, "-k", keyword]
    started = time.perf_counter()
    code = subprocess.call(command, cwd=ROOT, env=env)
    print(record(name, rounds * batches, code != 0, time.perf_counter() - started, what))
    return code


def record(name: str, rounds: int, failed: bool, seconds: float, what: str) -> str:
    """Write this soak's line into RESULTS.md (replacing its previous one) and return it."""
    moment = datetime.now(timezone.utc)
    verdict = "failed" if failed else "no failure"
    line = (f"- `{name}`: {what}; {rounds} rounds, **{verdict}**, {seconds:.0f} s "
            f"({moment:%Y-%m-%d %H:%M} UTC, {platform.machine()}, Python {platform.python_version()})")
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    lines = _section_lines(text)
    lines = [existing for existing in lines if not existing.startswith(f"- `{name}`:")] + [line]
    section = "\n".join([BEGIN, HEADING, "", *sorted(lines), END])
    report.write_section(RESULTS, BEGIN, END, section)
    return line


def _section_lines(text: str) -> list[str]:
    if BEGIN not in text:
        return []
    body = text[text.index(BEGIN):text.index(END)]
    return [line for line in body.splitlines() if re.match(r"- `[^`]+`:", line)]
