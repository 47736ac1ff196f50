"""What a run is asked to do and what became of it: settings, statuses, outcomes, results."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assets_core.declaring.checks import Check, CheckResult
from assets_core.declaring.retry import RetryPolicy
from assets_core.errors import MaterializationError
from assets_core.planning.state import Event, split_node
from assets_core.running.storage import Stored


class OutcomeStatus(enum.StrEnum):
    """What became of one planned asset."""

    MATERIALIZED = "materialized"
    SKIPPED = "skipped"
    FAILED = "failed"


class RunStatus(enum.StrEnum):
    """Where a run stands: running until it ends, then one of the other three."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process stopped (or died) before the plan was done


SHOWN_FAILED = 5  # the other failed assets a raised failure names (then "...")

# The outcome statuses by their old names, which event kinds also use.
MATERIALIZED, SKIPPED, FAILED = OutcomeStatus.MATERIALIZED, OutcomeStatus.SKIPPED, OutcomeStatus.FAILED


@dataclass(frozen=True)
class Outcome:
    """What became of one planned asset in a run.

    A worker thread's attempt at an asset returns one (materialized or failed, with what the run must record:
    its log lines, retries, checks, traceback); the scheduling loop records it and keeps it :meth:`settled`.
    A skipped asset's outcome is made by the loop alone; ``blocked_by`` names the failed upstreams it was skipped
    for (empty for every other outcome).
    """

    asset: str  # the node: the asset, or one partition of it as asset[key]
    status: OutcomeStatus
    detail: str = ""  # "N rows" or "stored", the error, or why it was skipped
    duration: float = 0.0
    stored: Stored | None = None  # the value written (also when a blocking check failed on it: not published)
    blocked_by: tuple[str, ...] = ()
    started_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    logs: tuple[tuple[str, str, str], ...] = ()  # (event kind, level, text) in order: "log" or "retry" lines
    retries: tuple[str, ...] = ()  # one line per failed attempt that was retried
    traceback: str = ""
    checks: tuple[tuple[Check, CheckResult], ...] = ()

    @property
    def data_version(self) -> str | None:
        """The data version it published (None unless materialized)."""
        return self.stored.data_version if self.stored is not None and self.status == MATERIALIZED else None

    @property
    def rows(self) -> int | None:
        """The rows it published (None unless a table was materialized)."""
        return self.stored.rows if self.stored is not None and self.status == MATERIALIZED else None

    @property
    def failed_check(self) -> bool:
        """Whether it failed for a blocking check on a value that was computed and stored."""
        return self.status == FAILED and self.stored is not None

    def settled(self) -> Outcome:
        """The outcome as a run keeps it once recorded: without its value (which the run's memory must not
        hold to the end) nor its log lines (which are in the catalog). Made by the constructors, field by field
        (a test checks that every other field is kept): ``dataclasses.replace`` took 5 us of the main thread's
        time per asset of a run."""
        stored = self.stored
        if stored is not None and stored.value is not None:
            stored = Stored(stored.location, stored.data_version, stored.rows, stored.schema, stored.bytes, None)
        return Outcome(self.asset, self.status, self.detail, self.duration, stored, self.blocked_by, self.started_at,
                       self.metadata, (), self.retries, self.traceback, self.checks)

    def to_json(self) -> dict[str, Any]:
        """The outcome as ``--json`` prints it."""
        asset, partition = split_node(self.asset)
        return {"asset": asset, "partition": partition or None, "status": str(self.status), "detail": self.detail,
                "duration": round(self.duration, 6), "data_version": self.data_version, "rows": self.rows}


@dataclass(frozen=True)
class RunResult:
    """What a run did: its id, its final status and the outcome of each asset it planned."""

    run_id: str | None  # None when there was nothing to do and no run was recorded
    status: RunStatus  # success | failed | interrupted (asked to stop)
    outcomes: tuple[Outcome, ...]
    abandoned: tuple[str, ...] = ()  # assets still under way when the run stopped, left to their threads
    checked: tuple[tuple[str, Check, CheckResult], ...] = ()  # the checks of the sources it read: (source, ...)
    notices: tuple[str, ...] = ()  # what its subscribers could not do: alerts undelivered, lineage events dropped

    def _names(self, status: OutcomeStatus) -> list[str]:
        return [o.asset for o in self.outcomes if o.status == status]

    @property
    def materialized(self) -> list[str]:
        """The assets the run materialized, in the order they finished."""
        return self._names(OutcomeStatus.MATERIALIZED)

    @property
    def skipped(self) -> list[str]:
        """The assets the run skipped (made fresh meanwhile, early cutoff, or blocked by a failure)."""
        return self._names(OutcomeStatus.SKIPPED)

    @property
    def failed(self) -> list[str]:
        """The assets whose attempt failed."""
        return self._names(OutcomeStatus.FAILED)

    @property
    def blocked(self) -> list[str]:
        """The assets skipped because an upstream failed."""
        return [o.asset for o in self.outcomes if o.blocked_by]

    def raise_for_failure(self) -> RunResult:
        """Raise a :class:`~assets_core.errors.MaterializationError` naming the first asset that failed (its error,
        then its traceback), if any did; else return this result. (A stopped run's abandoned assets did not fail.)

        >>> RunResult("r1", RunStatus.SUCCESS, (Outcome("a", MATERIALIZED, "3 rows"),)).raise_for_failure().status
        <RunStatus.SUCCESS: 'success'>
        >>> RunResult("r1", RunStatus.FAILED, (Outcome("a", FAILED, "ValueError: bad"),
        ...                                    Outcome("b", FAILED, "KeyError: 'x'"))).raise_for_failure()
        Traceback (most recent call last):
        assets_core.errors.MaterializationError: asset 'a' failed: ValueError: bad (1 more failed: b)
        """
        failed = [o for o in self.outcomes if o.status == FAILED]
        if not failed:
            return self
        first, others = failed[0], [o.asset for o in failed[1:]]
        more = f" ({len(others)} more failed: {', '.join(others[:SHOWN_FAILED])}" \
               f"{', ...' if len(others) > SHOWN_FAILED else ''})" if others else ""
        trace = f"\n{first.traceback.rstrip()}" if first.traceback else ""
        raise MaterializationError(first.asset, f"{first.detail}{more}{trace}")

    @property
    def warnings(self) -> list[tuple[str, str, str]]:
        """The non-blocking checks that failed on the values the run published: (asset, check, message)."""
        checked = [(o.asset, check, result) for o in self.outcomes if o.status == MATERIALIZED
                   for check, result in o.checks]
        return [(asset, check.name, result.message) for asset, check, result in [*self.checked, *checked]
                if not result.passed and not check.blocking]

    def to_json(self) -> dict[str, Any]:
        """The result as ``--json`` prints it."""
        result = {"run_id": self.run_id, "status": str(self.status), "materialized": self.materialized,
                  "skipped": self.skipped, "failed": self.failed,
                  "warnings": [{"asset": asset, "check": check, "message": message}
                               for asset, check, message in self.warnings],
                  "outcomes": [o.to_json() for o in self.outcomes]}
        if self.notices:
            result["notices"] = list(self.notices)
        return {**result, "abandoned": list(self.abandoned)} if self.abandoned else result


@dataclass(frozen=True)
class RunSettings:
    """How to run a plan: parallelism, forcing, what started it, the default retry policy, the selection."""

    # None: the executor decides (threads: one at a time while assets finish quickly, up to
    # max(4, cores) while they are slow; processes and Dask: one per core); N: N at once, whatever they do
    workers: int | None = None
    force: bool = False
    trigger: str = "manual"
    retry: RetryPolicy | None = None  # the project default; an asset's own policy wins
    selection: tuple[str, ...] = ()
    run_id: str | None = None  # the run's id, when chosen beforehand (a daemon's request claimed with it)
    executor: str = "threads"  # where attempts execute: threads, processes or dask (see running.executors)
    dask_address: str | None = None  # the Dask scheduler to use (None: a local cluster started for the run)


Listener = Callable[[Event], None]


def new_run_id() -> str:
    """A new random run id of 12 hex digits."""
    return uuid.uuid4().hex[:12]
