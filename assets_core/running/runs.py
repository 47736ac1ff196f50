"""What a run is asked to do and what became of it: settings, outcomes, results."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assets_core.declaring.definitions import RetryPolicy
from assets_core.planning.state import Event

MATERIALIZED, SKIPPED, FAILED = "materialized", "skipped", "failed"


@dataclass(frozen=True)
class Outcome:
    """What became of one planned asset in a run."""

    asset: str
    status: str  # materialized | skipped | failed
    detail: str = ""
    duration: float = 0.0
    data_version: str | None = None
    rows: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"asset": self.asset, "status": self.status, "detail": self.detail,
                "duration": round(self.duration, 6), "data_version": self.data_version, "rows": self.rows}


@dataclass(frozen=True)
class RunResult:
    run_id: str | None  # None when there was nothing to do and no run was recorded
    status: str  # success | failed
    outcomes: tuple[Outcome, ...]

    def _names(self, status: str) -> list[str]:
        return [o.asset for o in self.outcomes if o.status == status]

    @property
    def materialized(self) -> list[str]:
        return self._names(MATERIALIZED)

    @property
    def skipped(self) -> list[str]:
        return self._names(SKIPPED)

    @property
    def failed(self) -> list[str]:
        return self._names(FAILED)

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "materialized": self.materialized,
                "skipped": self.skipped, "failed": self.failed,
                "outcomes": [o.to_json() for o in self.outcomes]}


@dataclass(frozen=True)
class RunSettings:
    workers: int = max(4, os.cpu_count() or 1)
    force: bool = False
    trigger: str = "manual"
    retry: RetryPolicy | None = None  # the project default; an asset's own policy wins
    selection: tuple[str, ...] = ()


Listener = Callable[[Event], None]


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]
