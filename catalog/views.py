"""The frozen values the catalog hands to its callers instead of ORM rows or sessions."""

from __future__ import annotations

from dataclasses import dataclass

from assets_core.planning.state import DefinitionView, RunView

__all__ = ["ColumnEdge", "DefinitionView", "RunView"]  # the first two are the core's: a catalog hands them back


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
