"""A :class:`~assets_core.planning.state.Catalog` held in memory, for in-process use (a notebook, a test) where
nothing needs to outlive the process."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace

from assets_core.planning.recorded import RecordedPartitions
from assets_core.planning.state import (
    AssetState,
    BackfillRecord,
    CheckRecord,
    Event,
    FailureRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
    is_live,
    now,
)


class MemoryCatalog:
    """A :class:`Catalog` held in memory, for in-process use where nothing must outlive the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: dict[str, RunRecord] = {}
        self.events: list[Event] = []
        self.materializations: list[MaterializationRecord] = []
        self.failures: list[FailureRecord] = []
        self.observations: list[ObservationRecord] = []
        self.checks: list[CheckRecord] = []
        self.leases: dict[str, str] = {}
        self.dynamic: dict[str, list[str]] = {}
        self.backfills: dict[str, BackfillRecord] = {}
        self._state: dict[str, AssetState] = {}

    def catalog_id(self) -> None:
        return None  # nothing outlives the process: no storage is claimed for it

    def dynamic_partitions(self) -> dict[str, list[str]]:
        with self._lock:
            return {name: list(keys) for name, keys in self.dynamic.items()}

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> list[str]:
        with self._lock:
            known = self.dynamic.setdefault(name, [])
            added = [key for key in dict.fromkeys(keys) if key not in known]
            known.extend(added)
            return added

    def begin_backfill(self, record: BackfillRecord) -> None:
        with self._lock:
            self.backfills[record.backfill_id] = record

    def end_backfill(self, backfill_id: str, status: str) -> None:
        with self._lock:
            self.backfills[backfill_id] = replace(self.backfills[backfill_id], status=status, ended_at=now())

    def read_state(self, assets: Iterable[str]) -> dict[str, AssetState]:
        with self._lock:
            return {name: self._state[name] for name in assets if name in self._state}

    def read_observed(self, assets: Iterable[str]) -> dict[str, RecordedPartitions]:
        wanted = set(assets)
        with self._lock:
            found = [own.observation for own in self._state.values() if own.observation is not None
                     and own.observation.partition and own.observation.asset in wanted]
        return {name: RecordedPartitions.of((o.partition, o.fingerprint, o.data_version) for o in found
                                            if o.asset == name) for name in dict.fromkeys(o.asset for o in found)}

    def asset_history(self, asset: str, limit: int = 50) -> list[MaterializationRecord]:
        with self._lock:
            return [m for m in reversed(self.materializations) if m.asset == asset][:limit]

    def begin_run(self, run: RunRecord) -> None:
        with self._lock:
            self.runs[run.run_id] = run

    def record_events(self, events: Sequence[Event]) -> None:
        with self._lock:
            self.events.extend(events)

    def running_runs(self) -> list[RunRecord]:
        with self._lock:
            return [run for run in self.runs.values() if run.status == "running"]

    def record_results(self, materializations: Sequence[MaterializationRecord], failures: Sequence[FailureRecord],
                       events: Sequence[Event], checks: Sequence[CheckRecord] = ()) -> None:
        with self._lock:
            self.checks.extend(checks)
            for node, run_id in [(r.node, r.run_id) for r in materializations] + \
                    [(r.node, r.run_id) for r in failures]:
                if self.leases.get(node) == run_id:
                    del self.leases[node]
            for record in materializations:
                self.materializations.append(record)
                old = self._state.get(record.node, AssetState())
                self._state[record.node] = old._replace(materialization=record, failure=None)
            for failure in failures:
                self.failures.append(failure)
                old = self._state.get(failure.node, AssetState())
                self._state[failure.node] = old._replace(failure=failure)
            self.events.extend(events)

    def record_observations(self, records: Sequence[ObservationRecord]) -> None:
        with self._lock:
            for record in records:
                self.observations.append(record)
                old = self._state.get(record.node, AssetState())
                self._state[record.node] = old._replace(observation=record)

    def acquire_leases(self, run_id: str, assets: Sequence[str]) -> dict[str, str]:
        with self._lock:
            held = {}
            for asset in assets:
                holder = self.leases.get(asset)
                if holder is not None and holder != run_id and is_live(self.runs.get(holder), now()):
                    held[asset] = holder
                else:
                    self.leases[asset] = run_id
            return held

    def heartbeat(self, run_id: str) -> None:
        with self._lock:
            self.runs[run_id] = replace(self.runs[run_id], heartbeat_at=now())

    def end_run(self, run_id: str, status: str) -> None:
        with self._lock:
            self.runs[run_id] = replace(self.runs[run_id], status=status, ended_at=now())
            self.leases = {asset: holder for asset, holder in self.leases.items() if holder != run_id}
