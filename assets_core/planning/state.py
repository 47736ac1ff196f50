"""What planning knows of the past, and the narrow protocol through which execution records the present.

The catalog package implements :class:`Catalog` on SQL; :class:`~assets_core.planning.memory.MemoryCatalog`
implements it in memory for in-process use (a notebook, a test) where nothing needs to outlive the process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from assets_core.planning.recorded import RecordedPartitions
from assets_core.value_tuples import ValueTuple


def now() -> datetime:
    """The current time, timezone-aware in UTC (every recorded time is)."""
    return datetime.now(timezone.utc)


def node_name(asset: str, partition: str = "") -> str:
    """What staleness, plans and runs call one partition of an asset (the asset's name when unpartitioned).

    >>> node_name("events", "2026-01-15"), node_name("orders")
    ('events[2026-01-15]', 'orders')
    """
    return f"{asset}[{partition}]" if partition else asset


def split_node(node: str) -> tuple[str, str]:
    """The asset and partition key a node names (asset names never hold ``[``).

    >>> split_node("events[2026-01-15|eu]"), split_node("orders")
    (('events', '2026-01-15|eu'), ('orders', ''))
    """
    if node.endswith("]"):
        asset, _, key = node.partition("[")
        return asset, key[:-1]
    return node, ""


# The records below are named tuples (see assets_core.value_tuples): a catalog reads one per asset at every
# command. catalog.decode makes them from a row's values with tuple.__new__, bypassing the defaults their
# __new__ fills in (a row has every value).
_NOW = datetime(1, 1, 1, tzinfo=timezone.utc)  # created_at not given: the record is made now (compared by identity)
_NEW_DICT: Mapping[str, Any] = MappingProxyType({})  # metadata not given: a new dict (compared by identity)
_new = tuple.__new__


class _Materialization(NamedTuple):
    asset: str
    run_id: str
    data_version: str
    code_version: str
    upstream_versions: Mapping[str, str]  # upstream asset -> data version it consumed
    location: str  # path of the stored value, relative to the storage root
    rows: int | None
    schema: tuple[tuple[str, str], ...] | None  # (column, type) in column order
    bytes: int
    duration: float  # seconds spent in the asset's own code and storage
    metadata: Mapping[str, Any]
    partition: str
    created_at: datetime


class MaterializationRecord(ValueTuple, _Materialization):
    """One successful materialization of an asset (``metadata`` a new dict, ``created_at`` now, if not given)."""

    __slots__ = ()

    def __new__(cls, asset: str, run_id: str, data_version: str, code_version: str,
                upstream_versions: Mapping[str, str], location: str, rows: int | None,
                schema: tuple[tuple[str, str], ...] | None, bytes: int, duration: float,
                metadata: Mapping[str, Any] = _NEW_DICT, partition: str = "",
                created_at: datetime = _NOW) -> MaterializationRecord:
        return _new(cls, (asset, run_id, data_version, code_version, upstream_versions, location, rows, schema, bytes,
                          duration, {} if metadata is _NEW_DICT else metadata, partition,
                          now() if created_at is _NOW else created_at))

    @property
    def node(self) -> str:
        return node_name(self.asset, self.partition)


class _Failure(NamedTuple):
    asset: str
    run_id: str
    error: str  # one-line message
    traceback: str
    attempt: int
    partition: str
    created_at: datetime


class FailureRecord(ValueTuple, _Failure):
    """One failed attempt to materialize an asset (``created_at`` now, if not given)."""

    __slots__ = ()

    def __new__(cls, asset: str, run_id: str, error: str, traceback: str, attempt: int = 1, partition: str = "",
                created_at: datetime = _NOW) -> FailureRecord:
        return _new(cls, (asset, run_id, error, traceback, attempt, partition,
                          now() if created_at is _NOW else created_at))

    @property
    def node(self) -> str:
        return node_name(self.asset, self.partition)


class _Observation(NamedTuple):
    asset: str
    run_id: str
    data_version: str
    fingerprint: str  # cheap summary (paths, sizes, mtimes) that lets an unchanged file skip re-hashing
    partition: str
    created_at: datetime


class ObservationRecord(ValueTuple, _Observation):
    """One observation of a source asset's files (``created_at`` now, if not given)."""

    __slots__ = ()

    def __new__(cls, asset: str, run_id: str, data_version: str, fingerprint: str, partition: str = "",
                created_at: datetime = _NOW) -> ObservationRecord:
        return _new(cls, (asset, run_id, data_version, fingerprint, partition,
                          now() if created_at is _NOW else created_at))

    @property
    def node(self) -> str:
        return node_name(self.asset, self.partition)


class _AssetState(NamedTuple):
    materialization: MaterializationRecord | None = None
    failure: FailureRecord | None = None  # set only when the latest attempt failed
    observation: ObservationRecord | None = None


class AssetState(ValueTuple, _AssetState):
    """The recorded past of one asset that staleness depends on."""

    __slots__ = ()

    def made_since(self, moment: datetime, despite_failure: bool = False) -> bool:
        """Whether the latest value was recorded at or after ``moment`` (work done since then), and no attempt
        failed after it (unless ``despite_failure``)."""
        made = self.materialization
        return made is not None and made.created_at >= moment and (despite_failure or self.failure is None)


@dataclass(frozen=True)
class RunRecord:
    """A run: one invocation that plans and materializes a selection."""

    run_id: str
    trigger: str  # "manual", "schedule", "sensor", "tui", ...
    selection: tuple[str, ...]
    status: str  # "running", "success", "failed", "interrupted"
    started_at: datetime
    ended_at: datetime | None = None
    pid: int | None = None
    host: str = ""  # the machine the run's process runs on
    plan: tuple[str, ...] = ()  # the assets it planned to run, in order
    heartbeat_at: datetime | None = None  # last sign of life of its process


@dataclass(frozen=True)
class BackfillRecord:
    """A backfill: the partitions of a selection it runs, recorded so that it can be resumed."""

    backfill_id: str
    selection: tuple[str, ...]
    partitions: str  # the range asked for, as given to --partition
    reprocess: str  # which partitions of the range it runs: missing | stale | failed | all
    status: str  # running | done | failed | interrupted
    targets: tuple[str, ...]  # the nodes it runs, in order
    created_at: datetime = field(default_factory=now)
    ended_at: datetime | None = None


@dataclass(frozen=True)
class CheckRecord:
    """The result of one check on one new value of an asset."""

    asset: str
    run_id: str
    check: str
    passed: bool
    blocking: bool
    message: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class Event:
    """A log line or a lifecycle event of a run, optionally about one asset."""

    run_id: str
    kind: str  # "log", "planned", "started", "materialized", "skipped", "failed", "observed", ...
    message: str
    asset: str | None = None
    level: str = "INFO"
    created_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class DefinitionView:
    """An asset definition as last loaded, stripped of its code: what the browser lists without importing it."""

    name: str
    kind: str  # "python", "sql", "source", ...
    group: str = "default"
    description: str = ""
    code_version: str = ""
    upstream: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class RunView(RunRecord):
    """A run as recorded, with what it did counted from its events.

    ``duration`` is in seconds, ``None`` while the run has not ended.

    >>> from datetime import datetime, timezone
    >>> start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> RunView("r1", "manual", ("a",), "success", start, start.replace(second=3)).duration
    3.0
    """

    materialized: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or ``None`` while the run has not ended."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class StateReader(Protocol):
    """Reads the recorded state that planning needs."""

    def read_state(self, assets: Iterable[str]) -> Mapping[str, AssetState]:
        """The state of each named asset that has any (assets with no record are left out)."""
        ...

    def read_observed(self, assets: Iterable[str]) -> dict[str, RecordedPartitions]:
        """For each named (partitioned source) asset with an observed partition, every such partition's last
        recorded observation, as columns: what observing its files again is compared with."""
        ...

    def asset_history(self, asset: str, limit: int = 50) -> list[MaterializationRecord]:
        """The latest ``limit`` materializations of an asset, newest first."""
        ...

    def running_runs(self) -> Sequence[RunRecord]:
        """The runs recorded as running (some may have died: see ``assets_core.running.recovery``)."""
        ...

    def dynamic_partitions(self) -> dict[str, list[str]]:
        """The keys of every set of dynamic partitions, in the order they were added."""
        ...


class Recorder(Protocol):
    """Records what a run does. Called from one thread at a time."""

    def begin_run(self, run: RunRecord) -> None: ...

    def record_events(self, events: Sequence[Event]) -> None: ...

    def record_results(self, materializations: Sequence[MaterializationRecord], failures: Sequence[FailureRecord],
                       events: Sequence[Event], checks: Sequence[CheckRecord] = ()) -> None:
        """Store finished materializations, failed attempts, their check results and events, atomically, and
        release the recording run's leases on those assets.

        A materialization clears its asset's latest failure; a failure leaves its latest materialization.
        """
        ...

    def record_observations(self, records: Sequence[ObservationRecord]) -> None:
        """Store observations of sources (or of their partitions), atomically."""
        ...

    def acquire_leases(self, run_id: str, assets: Sequence[str]) -> dict[str, str]:
        """Take the lease of each asset no other live run holds; return ``{asset: holding run}`` for the rest.

        A lease held by a run that is no longer running, or whose heartbeat is older than
        ``LEASE_TIMEOUT``, is taken over.
        """
        ...

    def heartbeat(self, run_id: str) -> None:
        """Record that the run's process is alive (its leases stay held)."""
        ...

    def end_run(self, run_id: str, status: str) -> None:
        """Record the run's final status, and release every lease it still holds."""
        ...

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> list[str]:
        """Add keys to a set of dynamic partitions (those it has are left); return the keys added."""
        ...

    def begin_backfill(self, record: BackfillRecord) -> None:
        """Record a backfill (again: replace its record)."""
        ...

    def end_backfill(self, backfill_id: str, status: str) -> None:
        """Record a backfill's status (done, failed, interrupted) and end time."""
        ...


class Catalog(StateReader, Recorder, Protocol):
    """Both halves: what a run reads and what it records."""

    def catalog_id(self) -> str | None:
        """The catalog's stable id, which its storage's owner mark names (None: no storage is checked)."""
        ...


LEASE_TIMEOUT = timedelta(seconds=60)  # a run silent for longer has died; its leases can be taken over


def is_live(run: RunRecord | None, at: datetime) -> bool:
    """Whether a run still counts as running: recorded so, with a recent heartbeat."""
    if run is None or run.status != "running":
        return False
    last = run.heartbeat_at or run.started_at
    return at - last <= LEASE_TIMEOUT
