"""The run-event subscribers every run has: anomaly detection, and alerts to the project's hooks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from assets_core.planning.state import MaterializationRecord
from assets_core.running.alerts import Alert, AlertHook, Delivery
from assets_core.running.anomalies import (
    might_be_slow,
    might_have_odd_rows,
    odd_rows,
    slow_run,
)
from assets_core.running.events import RunEvent, RunEventKind

ANOMALY_HISTORY = 20  # materializations an anomaly is judged against
ALERT_KINDS = {RunEventKind.FAILED: "failure", RunEventKind.CHECK_FAILED: "check", RunEventKind.ANOMALY: "anomaly"}


class AnomalyDetector:
    """Compares each materialization with the asset's history: a slow run or an odd row count is an anomaly.

    The history is read only when a cheap test on the new materialization says it might be odd.
    """

    def __init__(self, previous: Callable[[str], MaterializationRecord | None],
                 history: Callable[[str, int], Sequence[MaterializationRecord]]) -> None:
        self.previous, self.history = previous, history

    def notify(self, event: RunEvent) -> list[RunEvent]:
        """Answer a materialization with the anomalies found in it."""
        if event.kind != RunEventKind.MATERIALIZED:
            return []
        previous = self.previous(event.asset)
        slow = might_be_slow(event.duration)
        odd = might_have_odd_rows(event.rows, previous.rows if previous else None)
        if not (slow or odd):
            return []
        history = self.history(event.asset, ANOMALY_HISTORY)
        found = []
        if slow and (anomaly := slow_run(event.asset, event.duration, [m.duration for m in history])):
            found.append(anomaly)
        counts = [m.rows for m in history if m.rows is not None]
        if odd and event.rows is not None and (anomaly := odd_rows(event.asset, event.rows, counts)):
            found.append(anomaly)
        return [RunEvent(RunEventKind.ANOMALY, event.run_id, event.asset, anomaly.message) for anomaly in found]

    def close(self) -> list[str]:
        """Nothing to finish."""
        return []


class AlertSender:
    """Sends failures, failed blocking checks and anomalies to the hooks that want them, in the background:
    a slow webhook must not hold the run up. Each delivery has its own deadline, so the run's end waits at most
    that long after its last alert."""

    def __init__(self, hooks: Sequence[AlertHook], project: str = "") -> None:
        self.hooks, self.project = tuple(hooks), project
        self._deliveries: list[Delivery] = []

    def notify(self, event: RunEvent) -> list[RunEvent]:
        """Send an alert for the event if it is one some hook wants."""
        kind = ALERT_KINDS.get(event.kind)
        hooks = [hook for hook in self.hooks if kind in hook.on]
        if kind is None or not hooks:
            return []
        alert = Alert(kind, event.asset, event.run_id, event.message, self.project)
        self._deliveries += [Delivery(hook, alert) for hook in hooks]
        return []

    def hurry(self, seconds: float) -> None:
        """The run is stopping (Ctrl-C): wait at most ``seconds`` more for any delivery."""
        until = time.monotonic() + seconds
        for delivery in self._deliveries:
            delivery.until = min(delivery.until, until)

    def close(self) -> list[str]:
        """Wait for the alerts still being delivered, each until its deadline; return a line for every delivery
        that failed or was given up."""
        return [problem for delivery in self._deliveries if (problem := delivery.outcome()) is not None]
