"""The catalog's schema version: creating a new database, migrating an old one, refusing one we cannot read.

``MIGRATIONS[n]`` upgrades a database from version ``n`` to ``n + 1``, so ``len(MIGRATIONS)`` is always
``SCHEMA_VERSION``. A new database is created at the current version directly; migrations only ever run on
databases an older release wrote. To change the schema: change the models, append a migration that brings a
database of the previous version to the new shape, and increase ``SCHEMA_VERSION``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text, update
from sqlalchemy.engine import URL

from assets_core.errors import CatalogError
from assets_core.planning.recorded import RecordedPartitions
from catalog.engine import describe
from catalog.messages import HOW_TO_MOVE
from catalog.models import (
    ASSET_STATE,
    AUTOMATION_STATE,
    BACKFILL,
    CHECK_RESULT,
    COLUMN_EDGE,
    COLUMN_LINEAGE,
    DAEMON_LEASE,
    DYNAMIC_PARTITION,
    LEASE,
    META,
    OBSERVATION,
    OBSERVED_PARTITIONS,
    RUN,
    RUN_REQUEST,
    TABLES,
    TICK,
)
from catalog.observed import encode
from catalog.version import SCHEMA_VERSION

Migration = Callable[[Connection], None]


def _create_missing_tables(connection: Connection) -> None:
    """Version 0 to 1: version 0 is a database with the meta table whose other tables may be missing."""
    for table in TABLES:
        table.create(connection, checkfirst=True)


def _add_column_lineage(connection: Connection) -> None:
    """Version 1 to 2: the column lineage of SQL assets and its edges, two new tables (empty until the next
    ``assets lineage`` or ``assets materialize`` computes them)."""
    for table in (COLUMN_LINEAGE, COLUMN_EDGE):
        table.create(connection, checkfirst=True)


def _add_leases_checks_and_run_plans(connection: Connection) -> None:
    """Version 2 to 3: leases (one run materializes an asset at a time), check results, and the host and plan
    of each run (so that a dead run is told from a live one, and a failed run can be resumed)."""
    for table in (LEASE, CHECK_RESULT):
        table.create(connection, checkfirst=True)
    columns = {column["name"] for column in inspect(connection).get_columns(RUN.name)}
    if "host" not in columns:
        connection.execute(text("ALTER TABLE run ADD COLUMN host VARCHAR NOT NULL DEFAULT ''"))
    if "plan" not in columns:
        connection.execute(text("ALTER TABLE run ADD COLUMN plan JSON NOT NULL DEFAULT '[]'"))


def _add_partitions(connection: Connection) -> None:
    """Version 3 to 4: partitioned sources' observations name their partition; dynamic partitions' keys and
    backfills get a table each."""
    for table in (DYNAMIC_PARTITION, BACKFILL):
        table.create(connection, checkfirst=True)
    columns = {column["name"] for column in inspect(connection).get_columns(OBSERVATION.name)}
    if "partition" not in columns:
        connection.execute(text("ALTER TABLE observation ADD COLUMN partition VARCHAR NOT NULL DEFAULT ''"))


def _add_automation(connection: Connection) -> None:
    """Version 4 to 5: automation's state per schedule, sensor or condition, its ticks, the runs they request,
    and the lease of the active daemon, four new tables."""
    for table in (AUTOMATION_STATE, TICK, RUN_REQUEST, DAEMON_LEASE):
        table.create(connection, checkfirst=True)


def _add_observed_partitions(connection: Connection) -> None:
    """Version 5 to 6: the latest observations of each source's partitions, one row per source, filled from the
    observations ``asset_state`` points at."""
    OBSERVED_PARTITIONS.create(connection, checkfirst=True)
    rows = connection.execute(
        select(OBSERVATION.c.asset, OBSERVATION.c.partition, OBSERVATION.c.fingerprint, OBSERVATION.c.data_version)
        .join(ASSET_STATE, ASSET_STATE.c.observation_id == OBSERVATION.c.id)
        .where(OBSERVATION.c.partition != "").order_by(OBSERVATION.c.asset, ASSET_STATE.c.asset))
    by_asset: dict[str, list[tuple[str, str, str]]] = {}
    for asset, key, fingerprint, version in rows:
        by_asset.setdefault(asset, []).append((key, fingerprint, version))
    for asset, found in by_asset.items():
        connection.execute(OBSERVED_PARTITIONS.insert().values(**encode(asset, RecordedPartitions.of(found))))


MIGRATIONS: tuple[Migration, ...] = (_create_missing_tables, _add_column_lineage, _add_leases_checks_and_run_plans,
                                     _add_partitions, _add_automation, _add_observed_partitions)


SCHEMA_LOCK = 0x617373657473  # PostgreSQL's advisory lock taken around schema changes ("assets")


def ensure_schema(connection: Connection, url: URL) -> None:
    """Create, migrate or check the schema, in the open write transaction of ``connection``.

    Raises:
        CatalogError: the database belongs to something else, or to a newer release of ``assets``.
    """
    if connection.dialect.name == "postgresql":  # two processes creating or migrating the schema: one at a time
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
    tables = set(inspect(connection).get_table_names())
    if not tables:
        for table in TABLES:
            table.create(connection)
        connection.execute(META.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        return
    found = _stored_version(connection, url, tables)
    if found > SCHEMA_VERSION:
        raise CatalogError(
            f"the catalog {describe(url)} has schema version {found}, written by a newer release of assets; "
            f"this release reads up to version {SCHEMA_VERSION}: upgrade the assets package "
            "(pip install -U assets), or point --catalog / ASSETS_CATALOG at another file"
        )
    if found < SCHEMA_VERSION:
        migrate(connection, found)


def migrate(connection: Connection, version: int) -> None:
    """Run every migration from ``version`` to :data:`SCHEMA_VERSION`, then record the new version."""
    for migration in MIGRATIONS[version:SCHEMA_VERSION]:
        migration(connection)
    connection.execute(update(META).where(META.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))


def _stored_version(connection: Connection, url: URL, tables: set[str]) -> int:
    if META.name not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise CatalogError(
            f"{describe(url)} is a database of something else (tables: {shown}), not an assets catalog; "
            f"{HOW_TO_MOVE}"
        )
    value = connection.execute(select(META.c.value).where(META.c.key == "schema_version")).scalar()
    if value is None or not value.strip().isdigit():
        raise CatalogError(
            f"the catalog {describe(url)} records no valid schema version ({value!r}); it is damaged "
            f"or was not written by assets; {HOW_TO_MOVE}"
        )
    return int(value)
