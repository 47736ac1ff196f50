"""Capturing what an asset's own code prints and logs, per worker thread, while assets run in parallel.

What is kept of one attempt is bounded: its first and last lines up to :data:`KEEP_HEAD` and :data:`KEEP_TAIL`
characters, with one line in between saying how much was dropped, so that an asset printing without end costs
neither memory nor a huge catalog. Progress bars that redraw a line with ``\\r`` keep only the line's last
state, as a terminal would show it.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

KEEP_HEAD = 256 * 1024  # characters of an attempt's first log lines kept...
KEEP_TAIL = 256 * 1024  # ...and of its last ones; what lies between is dropped
LINE_LIMIT = 16 * 1024  # characters of one line kept (its head and tail); a longer line is cut in the middle
LINE_COST = 64  # what a line costs besides its characters (a catalog row): many empty lines are not free


class Captured:
    """Log lines of one asset's attempt, (level, message), of bounded size: the head and the tail."""

    def __init__(self, head: int = KEEP_HEAD, tail: int = KEEP_TAIL) -> None:
        self._head: list[tuple[str, str]] = []
        self._tail: deque[tuple[str, str]] = deque()
        self._room, self._tail_budget, self._tail_size = head, tail, 0
        self.dropped_lines = self.dropped_chars = 0

    def add(self, level: str, text: str) -> None:
        """Keep one line (in the head while it has room, else in the tail, dropping the tail's oldest)."""
        text = clipped(text)
        cost = len(text) + LINE_COST
        if cost <= self._room and not self._tail:
            self._head.append((level, text))
            self._room -= cost
            return
        self._tail.append((level, text))
        self._tail_size += cost
        while self._tail_size > self._tail_budget and self._tail:
            _, gone = self._tail.popleft()
            self._tail_size -= len(gone) + LINE_COST
            self.dropped_lines += 1
            self.dropped_chars += len(gone)

    @property
    def lines(self) -> list[tuple[str, str]]:
        """The lines kept, with one saying what was dropped between the head and the tail."""
        if not self.dropped_lines:
            return [*self._head, *self._tail]
        gap = (f"[{self.dropped_lines} line(s), {self.dropped_chars} character(s) of output dropped here: "
               "an attempt keeps its first and last lines only]")
        return [*self._head, ("WARNING", gap), *self._tail]


def clipped(text: str, limit: int = LINE_LIMIT) -> str:
    """A line cut in the middle when longer than ``limit``, saying how much was cut.

    >>> clipped("a" * 6 + "b" * 6, limit=4)
    'aa[… 8 characters dropped …]bb'
    """
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}[… {len(text) - 2 * half} characters dropped …]{text[-half:]}"


def shown(line: str) -> str:
    """What a terminal would show of a line that redraws itself with carriage returns.

    >>> shown("10%\\r50%\\r100%\\r")
    '100%'
    """
    return line.rstrip("\r").rsplit("\r", 1)[-1]


_current = threading.local()


def _buffer() -> Captured | None:
    return getattr(_current, "captured", None)


class _Partial:
    """The unfinished last line a thread wrote, in pieces (joined once, when the line ends: linear time)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts, self.size = [], 0
        return text

    def extend(self, text: str) -> str | None:
        """Add text without a newline; return the line so far when it grows too long to hold."""
        if not text:
            return None
        if self.parts and self.parts[-1].endswith("\r"):  # the line is redrawn from its start
            self.parts, self.size = [], 0
        cut = text.rstrip("\r").rfind("\r")
        if cut >= 0:  # so is it within this text: only what follows the last carriage return will show
            self.parts, self.size = [], 0
            text = text[cut + 1:]
        self.parts.append(text)
        self.size += len(text)
        return self.take() if self.size > LINE_LIMIT else None


# CPython's print() holds sys.stdout without a reference of its own while it writes: a thread an asset left
# printing as the run puts the real streams back would write through a freed stream (an AttributeError on
# 'original', then a crash). The streams of the last runs are kept alive so that such a write still finds them.
_RETIRED: deque[tuple[_RoutedStream, _RoutedStream]] = deque(maxlen=8)


class _RoutedStream(io.TextIOBase):
    """Stands in for stdout/stderr: text written by a capturing thread goes to its asset's log."""

    def __init__(self, original: TextIO, level: str):
        self.original = original
        self.level = level
        self._partial = threading.local()

    def _pending(self) -> _Partial:
        partial: _Partial | None = getattr(self._partial, "value", None)
        if partial is None:
            partial = self._partial.value = _Partial()
        return partial

    def write(self, text: str) -> int:
        captured = _buffer()
        if captured is None:
            return self.original.write(text)
        partial = self._pending()
        end = text.rfind("\n")
        if end < 0:
            piece = partial.extend(text)
            if piece is not None:
                captured.add(self.level, shown(piece))
            return len(text)
        complete = (partial.take() + text[:end]).split("\n")
        for line in complete:
            captured.add(self.level, shown(line))
        if end + 1 < len(text):
            partial.extend(text[end + 1:])
        return len(text)

    def flush(self) -> None:
        captured = _buffer()
        if captured is None:
            self.original.flush()
            return
        partial: _Partial | None = getattr(self._partial, "value", None)
        if partial is None or not partial.parts:  # no unfinished line: as after every attempt that ends its lines
            return
        rest = partial.take()
        if rest:
            captured.add(self.level, shown(rest))

    def isatty(self) -> bool:
        return self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")


class _RoutedHandler(logging.Handler):
    """Log records of capturing threads go to their asset; those of a thread an asset started and left running
    (not the run's, not a worker's) go to stderr, saying whose they are, rather than nowhere."""

    def __init__(self, stray: TextIO) -> None:
        super().__init__(logging.DEBUG)
        self.stray, self.run_thread = stray, threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        captured = _buffer()
        try:
            if captured is not None:
                captured.add(record.levelname, self.format(record))
            elif record.thread != self.run_thread:
                self.stray.write(f"{record.levelname} {self.format(record)} "
                                 f"(logged by thread '{record.threadName}', which is not an asset's)\n")
        except Exception:  # a log call with bad arguments must not fail the asset
            self.handleError(record)


@contextmanager
def capturing_run() -> Iterator[None]:
    """For the duration of a run: route prints and log records of capturing threads to their asset."""
    out, err = sys.stdout, sys.stderr
    handler = _RoutedHandler(err)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    routed_streams = (_RoutedStream(out, "INFO"), _RoutedStream(err, "WARNING"))
    sys.stdout, sys.stderr = routed_streams
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        _RETIRED.append(routed_streams)
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

