"""Run events: what happens to the assets of a run, told to the subscribers that act on it.

Alerts and anomaly detection subscribe (see :mod:`assets_core.running.subscribers`); so can anything else that
must follow a run (OpenLineage, metrics). A subscriber may answer an event with events of its own (an anomaly
found in a materialization), which every subscriber is told in turn. Subscribers are called from the run's
scheduling thread: as an asset's attempt starts, and after it ends, before its records are committed.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from assets_core.planning.state import MaterializationRecord


class RunEventKind(enum.StrEnum):
    """What happened to an asset."""

    STARTED = "started"  # its attempt begins
    MATERIALIZED = "materialized"
    FAILED = "failed"  # its own code (or the storing of its value) failed
    CHECK_FAILED = "check_failed"  # a blocking check failed on its new value
    ANOMALY = "anomaly"  # a materialization looks odd against the asset's history


@dataclass(frozen=True)
class RunEvent:
    """One thing that happened to one asset in a run."""

    kind: RunEventKind
    run_id: str
    asset: str
    message: str = ""
    duration: float = 0.0
    rows: int | None = None
    record: MaterializationRecord | None = None  # a materialization: what is recorded of it


class RunSubscriber(Protocol):
    """Something that follows a run's events."""

    def notify(self, event: RunEvent) -> Sequence[RunEvent]:
        """Act on an event; return the events it gives rise to (every subscriber is told them too)."""
        ...

    def close(self) -> Sequence[str]:
        """The run is over: finish what is under way; return the problems to record in the run's log."""
        ...


class RunEvents:
    """Tells a run's events to its subscribers, in the order they were given."""

    def __init__(self, subscribers: Sequence[RunSubscriber] = ()) -> None:
        self.subscribers = tuple(subscribers)

    def publish(self, event: RunEvent) -> list[RunEvent]:
        """Tell every subscriber ``event``, then the events they answer with; return those answers in order."""
        answers: list[RunEvent] = []
        waiting = deque([event])
        while waiting:
            current = waiting.popleft()
            for subscriber in self.subscribers:
                found = subscriber.notify(current)
                answers += found
                waiting.extend(found)
        return answers

    def close(self) -> list[str]:
        """Close every subscriber; return the problems they report."""
        return [problem for subscriber in self.subscribers for problem in subscriber.close()]
