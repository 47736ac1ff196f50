"""What a declaration adds to an asset besides its function or SQL: partitions and declared column lineage,
each checked where it is declared (a problem is kept on the asset, and reported with every other one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from assets_core.errors import DefinitionError

if TYPE_CHECKING:
    from assets_core.declaring.definitions import Asset
    from assets_core.declaring.partitions import Partitions

BACKFILL_CHOICES = ("per_partition", "single_run")


def partitioned(item: Asset, partitions: Partitions | None, time_column: str | None, backfill: str) -> Asset:
    """The asset split into ``partitions`` (unchanged without); problems with the arguments are kept on it."""
    if partitions is None and time_column is None and backfill == "per_partition" and not item.windows:
        return item
    problems = list(item.problems)
    if partitions is not None and not hasattr(partitions, "keys"):
        problems.append(DefinitionError(
            f"has partitions={partitions!r}; give DailyPartitions(...), StaticPartitions([...]) or another "
            "partitioning from assets_core", asset=item.name, location=item.location))
        partitions = None
    if backfill not in BACKFILL_CHOICES:
        problems.append(DefinitionError(f"has backfill={backfill!r}; choose one of {', '.join(BACKFILL_CHOICES)}",
                                        asset=item.name, location=item.location))
    elif backfill == "single_run" and (time_column is None or partitions is None):
        problems.append(DefinitionError(
            "has backfill='single_run', which needs time partitions and a time_column (the column that says "
            "which partition a row belongs to)", asset=item.name, location=item.location))
    if item.windows and partitions is None:
        problems.append(DefinitionError(
            "reads a window of partitions (Upstream(..., window=...)) but has no partitions of its own; "
            "declare partitions=... or drop the window", asset=item.name, location=item.location))
    return replace(item, partitions=partitions, time_column=time_column, backfill=backfill, problems=tuple(problems))


def declared_lineage(item: Asset, lineage: Mapping[str, Sequence[str]]) -> Asset:
    """The asset with its declared column lineage; a value naming no column of one of its inputs is a problem.

    >>> from assets_core.declaring.definitions import asset
    >>> @asset(lineage={"n": ["orders.id"], "m": ["order.id"]})
    ... def counts(orders):
    ...     return orders
    >>> counts.lineage["n"]
    ('orders.id',)
    >>> print(counts.problems[0].detail)
    declares lineage['m'] = 'order.id', which is no column of its inputs (orders); write 'upstream.column'
    """
    upstreams = set(item.inputs.values())
    declared: dict[str, tuple[str, ...]] = {}
    problems = list(item.problems)
    for column, origins in lineage.items():
        declared[column] = (origins,) if isinstance(origins, str) else tuple(origins)
        for origin in declared[column]:
            head, _, tail = str(origin).rpartition(".")
            if head not in upstreams or not tail:
                problems.append(DefinitionError(
                    f"declares lineage[{column!r}] = {origin!r}, which is no column of its inputs "
                    f"({', '.join(sorted(upstreams)) or 'none'}); write 'upstream.column'",
                    asset=item.name, location=item.location))
    return replace(item, lineage=declared, problems=tuple(problems))
