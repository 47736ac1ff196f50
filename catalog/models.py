"""The SQL tables of the catalog: definitions, asset and column lineage, runs, the history of every record, state
pointers, and automation's state, ticks, requested runs and daemon lease.

History tables (materialization, failure, observation, event) only ever grow. ``asset_state`` holds, per
asset, the ids of its latest records; it is updated in the same transaction as each record, so reading the
state of every asset is one join rather than a scan of history. ``observed_partitions`` repeats the latest
observations of a partitioned source's partitions as one row per source, for commands that read them all.

Some columns are named after words that SQLModel or pydantic reserve (``schema``, ``metadata``); their
Python attributes carry a suffix and the SQL columns keep the plain name.

Only the tables are used, never instances of the models: a command's first write to the catalog pays for
building them, so that is kept cheap. The annotations are types, not strings (no ``from __future__ import
annotations``), which pydantic and SQLAlchemy would otherwise evaluate one by one; and pydantic's validators,
which nothing here uses, are built only if a model is ever validated (``defer_build``).
"""

from datetime import datetime
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# SQLite keeps no time zone: every time is stored in UTC and given back its zone when read.
UtcDateTime = DateTime(timezone=True)


class CatalogModel(SQLModel):
    """What every table model of the catalog is: an SQLModel whose pydantic validator is built on first use."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]  # SQLModel types it as its own TypedDict


class AssetRow(CatalogModel, table=True):
    """An asset definition as last loaded."""

    __tablename__ = "asset"

    name: str = Field(primary_key=True)
    kind: str
    group: str = "default"
    description: str = ""
    code_version: str = ""
    upstream: list[str] = Field(default_factory=list, sa_type=JSON)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    owners: list[str] = Field(default_factory=list, sa_type=JSON)
    file: str = ""
    line: int = 0
    updated_at: datetime = Field(sa_type=UtcDateTime)


class LineageEdgeRow(CatalogModel, table=True):
    """One asset-level lineage edge (upstream feeds downstream), as last loaded."""

    __tablename__ = "lineage_edge"

    upstream: str = Field(primary_key=True)
    downstream: str = Field(primary_key=True, index=True)


class ColumnLineageRow(CatalogModel, table=True):
    """The column lineage of one SQL asset as last computed, with the cache key it was computed for."""

    __tablename__ = "column_lineage"

    asset: str = Field(primary_key=True)
    key: str
    lineage: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # TableLineage.to_json()


class ColumnEdgeRow(CatalogModel, table=True):
    """One direct column lineage edge: ``upstream_asset.upstream_column`` feeds ``asset.column``."""

    __tablename__ = "column_edge"
    __table_args__ = (Index("ix_column_edge_upstream", "upstream_asset", "upstream_column"),)

    asset: str = Field(primary_key=True)
    column: str = Field(primary_key=True)
    upstream_asset: str = Field(primary_key=True)
    upstream_column: str = Field(primary_key=True)


class RunRow(CatalogModel, table=True):
    """One run: an invocation that plans and materializes a selection."""

    __tablename__ = "run"

    run_id: str = Field(primary_key=True)
    trigger: str
    selection: list[str] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(index=True)
    started_at: datetime = Field(sa_type=UtcDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    pid: int | None = None
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    host: str = ""
    plan: list[str] = Field(default_factory=list, sa_type=JSON)


class LeaseRow(CatalogModel, table=True):
    """Which run is materializing an asset right now: two runs never materialize one asset at once."""

    __tablename__ = "lease"

    asset: str = Field(primary_key=True)
    run_id: str = Field(index=True)
    acquired_at: datetime = Field(sa_type=UtcDateTime)


class CheckResultRow(CatalogModel, table=True):
    """The result of one check on one new value of an asset."""

    __tablename__ = "check_result"
    __table_args__ = (Index("ix_check_result_asset_id", "asset", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    asset: str
    check: str
    passed: bool
    blocking: bool
    message: str = ""
    metadata_json: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime)


class MaterializationRow(CatalogModel, table=True):
    """One successful materialization of an asset (or of one partition of it)."""

    __tablename__ = "materialization"

    id: int | None = Field(default=None, primary_key=True)
    asset: str = Field(index=True)
    run_id: str = Field(index=True)
    partition: str = ""
    data_version: str
    code_version: str
    upstream_versions: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    location: str
    rows: int | None = None
    schema_columns: list[list[str]] | None = Field(
        default=None, sa_column=Column("schema", JSON(none_as_null=True), nullable=True)
    )
    bytes: int
    duration: float
    metadata_json: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )
    created_at: datetime = Field(sa_type=UtcDateTime)


class FailureRow(CatalogModel, table=True):
    """One failed attempt to materialize an asset."""

    __tablename__ = "failure"

    id: int | None = Field(default=None, primary_key=True)
    asset: str = Field(index=True)
    run_id: str = Field(index=True)
    partition: str = ""
    attempt: int = 1
    error: str
    traceback: str
    created_at: datetime = Field(sa_type=UtcDateTime)


class ObservationRow(CatalogModel, table=True):
    """One observation of a source asset's files."""

    __tablename__ = "observation"

    id: int | None = Field(default=None, primary_key=True)
    asset: str = Field(index=True)
    run_id: str = Field(index=True)
    data_version: str
    fingerprint: str
    partition: str = ""
    created_at: datetime = Field(sa_type=UtcDateTime)


class ObservedPartitionsRow(CatalogModel, table=True):
    """The latest observation of every observed partition of one source, kept together (``catalog.observed``):
    the same ones ``asset_state`` points at for each of its partitions, updated in the same transactions, but
    read as one row rather than one joined row per partition."""

    __tablename__ = "observed_partitions"

    asset: str = Field(primary_key=True)
    keys: str = Field(sa_type=Text)  # JSON lists, one item per partition, in the same order
    fingerprints: str = Field(sa_type=Text)
    data_versions: str = Field(sa_type=Text)


class EventRow(CatalogModel, table=True):
    """A log line or a lifecycle event of a run, optionally about one asset."""

    __tablename__ = "event"
    # Starts with run_id, for a run's log; holds kind and asset too, so a run's counts never read the rows.
    __table_args__ = (Index("ix_event_run_id_kind_asset", "run_id", "kind", "asset"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str
    asset: str | None = Field(default=None, index=True)
    kind: str
    level: str = "INFO"
    message: str
    created_at: datetime = Field(sa_type=UtcDateTime)


class AssetStateRow(CatalogModel, table=True):
    """Pointers to the latest records of one asset; ``failure_id`` is set only while the latest attempt failed."""

    __tablename__ = "asset_state"
    # Looked up and updated by asset only: on SQLite the primary key is the table, one B-tree instead of two.
    __table_args__ = {"sqlite_with_rowid": False}

    asset: str = Field(primary_key=True)
    materialization_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("materialization.id"), nullable=True)
    )
    failure_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("failure.id"), nullable=True)
    )
    observation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("observation.id"), nullable=True)
    )


class DynamicPartitionRow(CatalogModel, table=True):
    """One key added to a set of dynamic partitions (``assets partitions add NAME KEY...``)."""

    __tablename__ = "dynamic_partition"

    name: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    position: int  # keys are listed in the order they were added
    added_at: datetime = Field(sa_type=UtcDateTime)


class BackfillRow(CatalogModel, table=True):
    """A backfill: the partitions it targets, and whether it is still under way."""

    __tablename__ = "backfill"

    backfill_id: str = Field(primary_key=True)
    selection: list[str] = Field(default_factory=list, sa_type=JSON)
    partitions: str  # the range asked for, as given to --partition
    reprocess: str  # missing | stale | failed | all
    status: str = Field(index=True)  # running | done | failed | interrupted
    targets: list[str] = Field(default_factory=list, sa_type=JSON)  # the nodes it runs, in order
    created_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AutomationStateRow(CatalogModel, table=True):
    """What one schedule, sensor or condition carries from one tick to the next."""

    __tablename__ = "automation_state"

    name: str = Field(primary_key=True)
    kind: str
    paused: bool = False
    cursor: str | None = Field(default=None, sa_type=Text)
    last_tick: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class TickRow(CatalogModel, table=True):
    """One evaluation of one automation (``id`` keeps the order ticks evaluated at one moment were recorded)."""

    __tablename__ = "tick"
    __table_args__ = (Index("ix_tick_name_evaluated_at", "name", "evaluated_at"),)

    id: int | None = Field(default=None, primary_key=True)
    tick_id: str = Field(unique=True)
    name: str
    kind: str
    status: str
    reason: str = Field(sa_type=Text)
    evaluated_at: datetime = Field(sa_type=UtcDateTime, index=True)
    scheduled_for: datetime | None = Field(default=None, sa_type=UtcDateTime)
    error: str | None = Field(default=None, sa_type=Text)


class RunRequestRow(CatalogModel, table=True):
    """A run a tick requested; a run key is used once per origin (NULL keys never collide)."""

    __tablename__ = "run_request"
    __table_args__ = (UniqueConstraint("origin", "run_key", name="uq_run_request_origin_run_key"),
                      Index("ix_run_request_status_created_at", "status", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(unique=True)
    tick_id: str | None = Field(default=None, index=True)
    origin: str
    trigger: str
    selection: list[str] = Field(default_factory=list, sa_type=JSON)
    partition: str | None = None
    run_key: str | None = None
    status: str  # pending | started
    run_id: str | None = None
    created_at: datetime = Field(sa_type=UtcDateTime)


class DaemonLeaseRow(CatalogModel, table=True):
    """The active daemon of the catalog: one row at most, keyed by a constant."""

    __tablename__ = "daemon_lease"

    key: str = Field(primary_key=True)
    holder: str
    pid: int
    host: str
    started_at: datetime = Field(sa_type=UtcDateTime)
    heartbeat_at: datetime = Field(sa_type=UtcDateTime)


class MetaRow(CatalogModel, table=True):
    """Facts about the catalog database itself, such as ``schema_version``."""

    __tablename__ = "catalog_meta"

    key: str = Field(primary_key=True)
    value: str


def table_of(model: type[CatalogModel]) -> Table:
    """The Core :class:`~sqlalchemy.Table` behind a table model, for fast Core statements."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


ASSET = table_of(AssetRow)
LINEAGE_EDGE = table_of(LineageEdgeRow)
COLUMN_LINEAGE = table_of(ColumnLineageRow)
COLUMN_EDGE = table_of(ColumnEdgeRow)
RUN = table_of(RunRow)
MATERIALIZATION = table_of(MaterializationRow)
FAILURE = table_of(FailureRow)
OBSERVATION = table_of(ObservationRow)
OBSERVED_PARTITIONS = table_of(ObservedPartitionsRow)
EVENT = table_of(EventRow)
ASSET_STATE = table_of(AssetStateRow)
META = table_of(MetaRow)
LEASE = table_of(LeaseRow)
CHECK_RESULT = table_of(CheckResultRow)
DYNAMIC_PARTITION = table_of(DynamicPartitionRow)
BACKFILL = table_of(BackfillRow)
AUTOMATION_STATE = table_of(AutomationStateRow)
TICK = table_of(TickRow)
RUN_REQUEST = table_of(RunRequestRow)
DAEMON_LEASE = table_of(DaemonLeaseRow)

# Every table of the catalog, parents before children (the order ``create_all`` would pick anyway).
TABLES: tuple[Table, ...] = (
    META,
    ASSET,
    LINEAGE_EDGE,
    COLUMN_LINEAGE,
    COLUMN_EDGE,
    RUN,
    MATERIALIZATION,
    FAILURE,
    OBSERVATION,
    EVENT,
    ASSET_STATE,
    LEASE,
    CHECK_RESULT,
    DYNAMIC_PARTITION,
    BACKFILL,
    AUTOMATION_STATE,
    TICK,
    RUN_REQUEST,
    DAEMON_LEASE,
    OBSERVED_PARTITIONS,
)
