"""The record buffer: finished assets are recorded in batches, and reported only once their batch is committed.

One transaction per batch keeps a run of thousands of small assets fast; the rule "reported means recorded"
keeps the console, the ``--json`` result and the browser from claiming anything the catalog does not hold: a
process killed right after a line saying ``materialized x`` leaves ``x`` recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from assets_core.planning.state import (
    CheckRecord,
    Event,
    FailureRecord,
    MaterializationRecord,
    Recorder,
)

FLUSH_SECONDS = 0.25  # finished assets are recorded at least this often...
FLUSH_COUNT = 500  # ...or once this many wait, in one transaction: few writes, and none while the GIL is contended


class RecordBuffer:
    """Records waiting for their transaction, and the reports that wait for it to commit."""

    def __init__(self, recorder: Recorder, report: Callable[[Event], None],
                 seconds: float = FLUSH_SECONDS, count: int = FLUSH_COUNT) -> None:
        self.recorder, self.report = recorder, report
        self.seconds, self.count = seconds, count
        self._done: list[MaterializationRecord] = []
        self._failed: list[FailureRecord] = []
        self._events: list[Event] = []
        self._checks: list[CheckRecord] = []
        self._reports: list[Event] = []
        self._flushed = time.perf_counter()

    def add(self, materializations: Iterable[MaterializationRecord] = (), failures: Iterable[FailureRecord] = (),
            events: Iterable[Event] = (), checks: Iterable[CheckRecord] = (),
            reports: Iterable[Event] = ()) -> None:
        """Queue records, and the events to report once they are committed."""
        self._done += materializations
        self._failed += failures
        self._events += events
        self._checks += checks
        self._reports += reports

    @property
    def pending(self) -> bool:
        """Whether anything waits to be recorded or reported."""
        return bool(self._done or self._failed or self._events or self._checks or self._reports)

    def due_in(self) -> float:
        """Seconds until the next batch is due (0: now); ``inf`` when nothing waits."""
        if not self.pending:
            return float("inf")
        if len(self._done) + len(self._failed) >= self.count:
            return 0.0
        return max(0.0, self.seconds - (time.perf_counter() - self._flushed))

    def flush(self, lazily: bool = False) -> None:
        """Record what waits in one transaction, then report it (``lazily``: only when the batch is due)."""
        if lazily and self.due_in() > 0:
            return
        if self._done or self._failed or self._events or self._checks:
            self.recorder.record_results(self._done, self._failed, self._events, self._checks)
        reports = self._reports
        self._done, self._failed, self._events, self._checks, self._reports = [], [], [], [], []
        self._flushed = time.perf_counter()
        for event in reports:  # only now: the catalog holds what they say
            self.report(event)
