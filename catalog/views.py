"""The frozen values the catalog hands to its callers instead of ORM rows or sessions."""

from __future__ import annotations

from dataclasses import dataclass

from assets_core.planning.state import RunRecord


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


@dataclass(frozen=True)
class ColumnEdge:
    """One direct column lineage edge: the value of ``asset.column`` comes (in part) from
    ``upstream_asset.upstream_column``."""

    asset: str
    column: str
    upstream_asset: str
    upstream_column: str

    @property
    def upstream(self) -> str:
        """The upstream column as ``asset.column``.

        >>> ColumnEdge("customers", "name", "raw.customers", "full_name").upstream
        'raw.customers.full_name'
        """
        return f"{self.upstream_asset}.{self.upstream_column}"
