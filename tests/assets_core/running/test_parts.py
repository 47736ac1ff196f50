"""The parts a run is made of, each alone: the record buffer, run events, one attempt, structured outcomes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assets_core.application.project import Project
from assets_core.declaring.checks import CheckResult, row_count
from assets_core.declaring.definitions import RetryPolicy, asset
from assets_core.planning.memory import MemoryCatalog
from assets_core.planning.state import (
    CheckRecord,
    Event,
    FailureRecord,
    MaterializationRecord,
)
from assets_core.running.attempts import attempt
from assets_core.running.buffer import RecordBuffer
from assets_core.running.events import RunEvent, RunEventKind, RunEvents
from assets_core.running.runs import Outcome, OutcomeStatus, RunStatus
from assets_core.running.storage import Storage, Stored


class SlowToCommit(MemoryCatalog):
    """A catalog that notes how many results it committed, for a listener to compare with."""

    committed = 0

    def record_results(self, materializations: Sequence[MaterializationRecord], failures: Sequence[FailureRecord],
                       events: Sequence[Event], checks: Sequence[CheckRecord] = ()) -> None:
        super().record_results(materializations, failures, events, checks)
        self.committed += len(materializations) + len(failures)


def test_the_buffer_reports_only_what_it_has_committed() -> None:
    catalog = SlowToCommit()
    seen: list[tuple[str, int]] = []
    buffer = RecordBuffer(catalog, lambda event: seen.append((event.message, catalog.committed)), seconds=60)
    event = Event("r", "failed", "boom", asset="a")
    buffer.add(failures=[FailureRecord("a", "r", "boom", "")], events=[event], reports=[event])
    buffer.flush(lazily=True)  # not due yet: neither recorded nor reported
    assert seen == [] and catalog.committed == 0 and 0 < buffer.due_in() <= 60
    buffer.flush()
    assert seen == [("boom", 1)] and not buffer.pending and buffer.due_in() == float("inf")


def test_a_full_batch_is_due_at_once() -> None:
    buffer = RecordBuffer(MemoryCatalog(), lambda event: None, seconds=60, count=2)
    buffer.add(failures=[FailureRecord(name, "r", "x", "") for name in "ab"])
    assert buffer.due_in() == 0


class Recording:
    """A subscriber that keeps what it is told, and answers one kind of event with another."""

    def __init__(self, answer: dict[RunEventKind, RunEventKind] | None = None) -> None:
        self.told: list[RunEventKind] = []
        self.answer = answer or {}

    def notify(self, event: RunEvent) -> list[RunEvent]:
        self.told.append(event.kind)
        kind = self.answer.get(event.kind)
        return [RunEvent(kind, event.run_id, event.asset)] if kind else []

    def close(self) -> list[str]:
        return ["closed"]


def test_every_subscriber_hears_the_answers_of_the_others() -> None:
    detector = Recording({RunEventKind.MATERIALIZED: RunEventKind.ANOMALY})
    alerts = Recording()
    events = RunEvents([detector, alerts])
    answers = events.publish(RunEvent(RunEventKind.MATERIALIZED, "r", "a"))
    assert [answer.kind for answer in answers] == [RunEventKind.ANOMALY]
    assert alerts.told == detector.told == [RunEventKind.MATERIALIZED, RunEventKind.ANOMALY]
    assert events.close() == ["closed", "closed"]


class NoInputs:
    def read(self, node: str, upstream: str, lazy: bool) -> Any:
        raise AssertionError("no upstream")

    def arguments(self, node: str, attempt: int) -> dict[str, Any]:
        return {}


def test_one_attempt_retries_stores_and_checks(tmp_path: Path) -> None:
    calls = []

    @asset
    def flaky() -> list[int]:
        calls.append(1)
        if len(calls) < 2:
            raise ConnectionError("try again")
        return [1, 2]

    check = row_count(flaky, min=3)
    [done] = attempt("flaky", flaky, NoInputs(), Storage(tmp_path), [check], RetryPolicy(max_attempts=2, delay=0))
    assert len(calls) == 2 and len(done.retries) == 1 and done.stored is not None and done.traceback == ""
    assert done.status == OutcomeStatus.FAILED and done.failed_check and done.data_version is None
    assert done.detail.startswith(f"check '{check.name}' failed")
    assert [kind for kind, _, _ in done.logs] == ["retry"]
    settled = done.settled()
    assert settled.logs == () and settled.stored is not None and settled.stored.value is None


def test_an_outcome_names_the_failure_that_blocked_it(tmp_path: Path) -> None:
    @asset
    def broken() -> int:
        raise ValueError("no")

    @asset
    def reader(broken: int) -> int:
        return broken

    result = Project([broken, reader], tmp_path, Storage(tmp_path / "s"), MemoryCatalog()).materialize()
    assert result.status == RunStatus.FAILED and result.blocked == ["reader"]
    outcomes = {o.asset: o for o in result.outcomes}
    assert outcomes["reader"].status == OutcomeStatus.SKIPPED and outcomes["reader"].blocked_by == ("broken",)
    assert outcomes["broken"].blocked_by == ()
    assert result.to_json()["status"] == "failed"


def test_a_settled_outcome_keeps_every_field_but_its_value_and_log_lines() -> None:
    """Every field is set apart from its default, so a field settled() forgot would show."""
    stored = Stored("a@v.parquet", "v", 3, (("n", "Int64"),), 120, value=object())
    given: dict[str, Any] = {
        "asset": "a[2026]", "status": OutcomeStatus.FAILED, "detail": "check failed", "duration": 1.5,
        "stored": stored, "blocked_by": ("up",), "started_at": datetime(2026, 1, 2, tzinfo=timezone.utc),
        "metadata": {"k": 1}, "logs": (("log", "INFO", "x"),), "retries": ("boom",), "traceback": "Traceback",
        "checks": ((row_count("a", min=1), CheckResult(False, "none")),)}
    assert set(given) == {f.name for f in dataclasses.fields(Outcome)}
    outcome = Outcome(**given)
    assert all(getattr(outcome, name) != f.default for f in dataclasses.fields(Outcome)
               if (name := f.name) and f.default is not dataclasses.MISSING)
    settled = outcome.settled()
    assert settled == dataclasses.replace(outcome, logs=(), stored=dataclasses.replace(stored, value=None))
    assert outcome.stored is stored and stored.value is not None  # the outcome itself is left as it was
    bare = Outcome("b", OutcomeStatus.SKIPPED)
    assert bare.settled() == bare
