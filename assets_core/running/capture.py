"""Capturing what an asset's own code prints and logs, per worker thread, while assets run in parallel."""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Captured:
    """Log lines of one asset's attempt: (level, message)."""

    lines: list[tuple[str, str]] = field(default_factory=list)


_current = threading.local()


def _buffer() -> Captured | None:
    return getattr(_current, "captured", None)


class _RoutedStream(io.TextIOBase):
    """Stands in for stdout/stderr: text written by a capturing thread goes to its asset's log."""

    def __init__(self, original: TextIO, level: str):
        self.original = original
        self.level = level
        self._partial = threading.local()

    def write(self, text: str) -> int:
        captured = _buffer()
        if captured is None:
            return self.original.write(text)
        pending = getattr(self._partial, "text", "") + text
        *complete, rest = pending.split("\n")
        captured.lines.extend((self.level, line) for line in complete)
        self._partial.text = rest
        return len(text)

    def flush(self) -> None:
        captured = _buffer()
        rest = getattr(self._partial, "text", "")
        if captured is not None and rest:
            captured.lines.append((self.level, rest))
            self._partial.text = ""
        if captured is None:
            self.original.flush()

    def isatty(self) -> bool:
        return self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")


class _RoutedHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        captured = _buffer()
        if captured is not None:
            try:
                captured.lines.append((record.levelname, self.format(record)))
            except Exception:  # a log call with bad arguments must not fail the asset
                self.handleError(record)


@contextmanager
def capturing_run() -> Iterator[None]:
    """For the duration of a run: route prints and log records of capturing threads to their asset."""
    out, err = sys.stdout, sys.stderr
    handler = _RoutedHandler(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    sys.stdout, sys.stderr = _RoutedStream(out, "INFO"), _RoutedStream(err, "WARNING")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        root.removeHandler(handler)
        root.setLevel(old_level)


@contextmanager
def capture() -> Iterator[Captured]:
    """In a worker thread: collect what the code run inside prints and logs."""
    captured = Captured()
    _current.captured = captured
    try:
        yield captured
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, _RoutedStream):
                stream.flush()
        _current.captured = None

