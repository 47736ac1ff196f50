"""Statuses kept as ranges: a partitioned asset's partitions are fresh unless listed.

A source observed hour by hour for eleven years has 100,000 partitions, nearly all fresh. Making one
:class:`Status` per partition at every command cost more than observing the files, so an asset's partitions
can be held as a :class:`PartitionStatuses`: the nodes in key order and the few that are not fresh. A
snapshot's :class:`NodeMap` answers for every node, whether held one by one or in such blocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from assets_core.planning.plan import FRESH, AssetStatus, Status

V = TypeVar("V")


class PartitionStatuses(Mapping[str, Status]):
    """The statuses of one asset's partitions: ``unusual`` maps the index (in ``nodes``) of each partition
    that is not fresh to its status; every other partition is fresh.

    >>> from assets_core.planning.plan import MISSING
    >>> block = PartitionStatuses(("e[1]", "e[2]", "e[3]"), {1: Status("e[2]", MISSING)})
    >>> block["e[1]"].status, block["e[2]"].status, len(block), "e[4]" in block
    (<AssetStatus.FRESH: 'fresh'>, <AssetStatus.MISSING: 'missing'>, 3, False)
    >>> block.runs()
    [(<AssetStatus.FRESH: 'fresh'>, 0, 0), (<AssetStatus.MISSING: 'missing'>, 1, 1), (<AssetStatus.FRESH: 'fresh'>, 2, 2)]
    """

    def __init__(self, nodes: Sequence[str], unusual: Mapping[int, Status]) -> None:
        self.nodes = nodes
        self.unusual = unusual
        self._index: dict[str, int] | None = None

    def __getitem__(self, node: str) -> Status:
        if self._index is None:
            self._index = {name: index for index, name in enumerate(self.nodes)}
        index = self._index[node]
        found = self.unusual.get(index)
        return found if found is not None else Status(node, FRESH)

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def in_order(self) -> list[AssetStatus]:
        """Each partition's status, in key order, made from the unusual ones alone.

        >>> from assets_core.planning.plan import MISSING
        >>> PartitionStatuses(("e[1]", "e[2]"), {1: Status("e[2]", MISSING)}).in_order()
        [<AssetStatus.FRESH: 'fresh'>, <AssetStatus.MISSING: 'missing'>]
        """
        found = [FRESH] * len(self.nodes)
        for index, status in self.unusual.items():
            found[index] = status.status
        return found

    def runs(self) -> list[tuple[object, int, int]]:
        """The statuses in key order as ``(status, first index, last index)`` runs, from the unusual ones alone."""
        found: list[tuple[object, int, int]] = []
        at = 0
        for index in sorted(self.unusual):
            if index > at:
                found.append((FRESH, at, index - 1))
            status = self.unusual[index].status
            if found and found[-1][0] == status and found[-1][2] == index - 1:
                found[-1] = (status, found[-1][1], index)
            else:
                found.append((status, index, index))
            at = index + 1
        if at < len(self.nodes):
            if found and found[-1][0] == FRESH:
                found[-1] = (FRESH, found[-1][1], len(self.nodes) - 1)
            else:
                found.append((FRESH, at, len(self.nodes) - 1))
        return found


class NodeMap(Mapping[str, V]):
    """A value for every node of a snapshot: one by one in ``single``, and by asset in ``blocks`` (an asset's
    partitions held together, such as a :class:`PartitionStatuses`).

    >>> block = PartitionStatuses(("e[1]",), {})
    >>> statuses = NodeMap({"a": Status("a", FRESH)}, {"e": block})
    >>> sorted(statuses), statuses["e[1]"].status, statuses.block("e") is block, statuses.block("a")
    (['a', 'e[1]'], <AssetStatus.FRESH: 'fresh'>, True, None)
    """

    def __init__(self, single: Mapping[str, V], blocks: Mapping[str, Mapping[str, V]] | None = None) -> None:
        self.single = single
        self.blocks = blocks or {}

    def __getitem__(self, node: str) -> V:
        found = self.single.get(node)
        if found is not None:
            return found
        bracket = node.find("[")
        block = self.blocks.get(node[:bracket]) if bracket > 0 else None
        if block is None:
            raise KeyError(node)
        return block[node]

    def __iter__(self) -> Iterator[str]:
        yield from self.single
        for block in self.blocks.values():
            yield from block

    def __len__(self) -> int:
        return len(self.single) + sum(map(len, self.blocks.values()))

    def block(self, asset: str) -> Mapping[str, V] | None:
        """The values of an asset's partitions when they are held as one block."""
        return self.blocks.get(asset)


def with_reasons(statuses: Mapping[str, Status]) -> list[str]:
    """The nodes whose status gives reasons to run, read in the order the statuses were made: 100,000 of them
    are looked at in 4 ms so, against 70 ms in the hash order of a set of their names (each status is then a
    cache miss). A block's fresh partitions have none.

    >>> from assets_core.planning.plan import MISSING, Reason, ReasonKind
    >>> never = (Reason(ReasonKind.MISSING, "never materialized"),)
    >>> block = PartitionStatuses(("e[1]", "e[2]"), {1: Status("e[2]", MISSING, never)})
    >>> with_reasons(NodeMap({"a": Status("a", FRESH), "b": Status("b", MISSING, never)}, {"e": block}))
    ['b', 'e[2]']
    >>> with_reasons({"a": Status("a", FRESH)})
    []
    """
    if isinstance(statuses, NodeMap):
        return [*with_reasons(statuses.single), *(node for block in statuses.blocks.values()
                                                  for node in with_reasons(block))]
    if isinstance(statuses, PartitionStatuses):
        return [statuses.nodes[index] for index, status in statuses.unusual.items() if status.reasons]
    return [node for node, status in statuses.items() if status.reasons]
