"""The Columns tab's list as plain values: an asset's columns, each with its direct upstreams or why unknown.

What is known of the columns, and where one column comes from and what it feeds, is the column graph's
(:mod:`assets_core.lineage.columns`, :mod:`assets_core.lineage.view`); this module only lays it out as rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assets_core.declaring.definitions import Asset
from assets_core.lineage import columns

if TYPE_CHECKING:
    from assets_core.lineage.sql import TableLineage


@dataclass(frozen=True)
class ColumnInfo:
    """One column of an asset: the upstream columns it comes from directly, or why that is unknown."""

    column: str
    origins: tuple[str, ...] = ()  # "asset.column"
    unknown: str = ""  # "" when the lineage is known


@dataclass(frozen=True)
class AssetColumns:
    """The columns of an asset, or why they are not known (then ``columns`` is empty)."""

    columns: tuple[ColumnInfo, ...]
    problem: str = ""


def asset_columns(item: Asset, lineage: TableLineage | None, schema: Sequence[str] | None) -> AssetColumns:
    """What is known of an asset's columns (:func:`assets_core.lineage.columns.asset_columns`), as rows.

    >>> from assets_core.declaring.definitions import source_asset
    >>> asset_columns(source_asset("raw", "raw.csv"), None, ["id"]).columns
    (ColumnInfo(column='id', origins=(), unknown=''),)
    """
    known = columns.asset_columns(item, lineage, schema)
    if known.columns is None:
        return AssetColumns((), known.why("*"))
    return AssetColumns(tuple(ColumnInfo(c, tuple(known.direct.get(c, ())), known.why(c)) for c in known.columns))
