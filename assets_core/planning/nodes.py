"""The graph of what runs: one node per unpartitioned asset, named like it, and one node per partition of a
partitioned asset, named ``asset[key]``.

Staleness, plans, leases and runs all work on nodes. Which partitions exist depends on the time (a daily
partitioning grows by one key a day) and on the dynamic keys added so far, so a node graph is made for one
moment: a snapshot's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime

from assets_core.declaring.checks import Check, Freshness
from assets_core.declaring.definitions import Asset
from assets_core.declaring.partition_mapping import TimeRead, time_reads, upstream_keys
from assets_core.declaring.partitions import DynamicPartitions, MultiPartitions, Partitions
from assets_core.declaring.time_partitions import TimePartitions
from assets_core.errors import SelectionError
from assets_core.planning.graph import AssetGraph
from assets_core.planning.state import AssetState, MaterializationRecord, node_name, split_node
from assets_core.planning.versioning import digest

Reads = Mapping[str, tuple[str, ...]]  # upstream asset -> the nodes of it that a node reads, in order


class NodeGraph:
    """The nodes of an :class:`AssetGraph` at one moment, with the nodes each one reads.

    >>> from assets_core.declaring.definitions import asset
    >>> @asset
    ... def a(): return 1
    >>> @asset
    ... def b(a): return a + 1
    >>> nodes = NodeGraph(AssetGraph.build([a, b]), datetime(2026, 1, 1))
    >>> nodes.order(), nodes.upstream("b"), nodes["b"].name
    (['a', 'b'], ('a',), 'b')
    """

    def __init__(self, graph: AssetGraph, now: datetime, dynamic: Mapping[str, Sequence[str]] | None = None):
        self.assets = graph
        self.now = now
        self.dynamic: Mapping[str, Sequence[str]] = dynamic or {}
        self.checks: dict[str, tuple[Check, ...]] = graph.checks
        self.freshness: dict[str, Freshness] = graph.freshness
        self._keys: dict[str, list[str]] = {}
        for item in graph:
            if item.partitions is not None:
                self._keys[item.name] = item.partitions.keys(now, self.dynamic)
        self._key_sets: dict[str, frozenset[str]] = {}  # made when first asked (see _key_set)
        # The unpartitioned assets that read no partitioned asset: each is one node reading whole upstreams.
        keyed = set(self._keys) | {item.name for item in graph if item.partitions is not None}
        self.plain = frozenset(graph.names) if not keyed else frozenset(
            item.name for item in graph if item.name not in keyed and keyed.isdisjoint(item.upstream))
        self._reads: dict[str, Reads] = {}
        self._nodes: dict[str, tuple[str, ...]] = {}
        self._left_out: dict[str, dict[str, tuple[int, int]]] = {}
        self._downstream: dict[str, tuple[str, ...]] | None = None
        self._time: dict[tuple[str, str], dict[str, TimeRead] | None] = {}

    @property
    def partitioned(self) -> bool:
        """Whether any asset has partitions (when none has, every node is an asset)."""
        return bool(self._keys)

    def __getitem__(self, node: str) -> Asset:
        bracket = node.find("[")  # asset names never hold one: what precedes it is the asset
        return self.assets[node if bracket < 0 else node[:bracket]]

    def __contains__(self, node: object) -> bool:
        if not isinstance(node, str):
            return False
        name, key = split_node(node)
        if name not in self.assets:
            return False
        return key in self._key_set(name) if name in self._keys else not key

    def __iter__(self) -> Iterator[Asset]:
        return iter(self.assets)

    def _key_set(self, asset: str) -> frozenset[str]:
        found = self._key_sets.get(asset)
        if found is None:
            found = self._key_sets[asset] = frozenset(self._keys[asset])
        return found

    def keys(self, asset: str) -> list[str]:
        """The partition keys of an asset now, in order (empty for an unpartitioned asset)."""
        return self._keys.get(asset, [])

    def nodes(self, asset: str) -> tuple[str, ...]:
        """The nodes of an asset: itself, or one per partition (made once)."""
        if asset not in self._keys:
            return (asset,)
        found = self._nodes.get(asset)
        if found is None:
            found = self._nodes[asset] = tuple([f"{asset}[{key}]" for key in self._keys[asset]])  # node_name's
        return found

    def order(self, leave_out: Collection[str] = ()) -> list[str]:
        """Every node (but those of the assets left out), each after all it reads: assets in dependency order,
        partitions in key order."""
        if not self._keys:
            return self.assets.order()
        skipped = set(leave_out)
        return [node for name in self.assets.order() if name not in skipped for node in self.nodes(name)]

    def reads(self, node: str) -> Reads:
        """For each upstream asset of the node's asset, the nodes of it that the node reads."""
        found = self._reads.get(node)
        if found is None:
            found = self._reads[node] = self._map(node, self[node], split_node(node)[1])
        return found

    def map_reads(self) -> None:
        """Find now what every partition of a partitioned asset reads (as :meth:`reads` would when first asked):
        work that needs no observation, done while files are stat'ed."""
        for item in self.assets:
            if item.partitions is not None and not item.is_source and item.upstream:
                reads = self._reads
                for node, key in zip(self.nodes(item.name), self._keys[item.name]):
                    if node not in reads:
                        reads[node] = self._map(node, item, key)

    def upstream(self, node: str) -> tuple[str, ...]:
        """Every node the node reads (or waits for, through ``deps``)."""
        if not self._keys:
            return self.assets.upstream(node)
        return tuple(n for slice_ in self.reads(node).values() for n in slice_)

    def downstream(self, node: str) -> tuple[str, ...]:
        """Every node that reads the node."""
        if not self._keys:
            return self.assets.downstream(node)
        if self._downstream is None:
            found: dict[str, list[str]] = {}
            for reader in self.order():
                for up in self.upstream(reader):
                    found.setdefault(up, []).append(reader)
            self._downstream = {up: tuple(readers) for up, readers in found.items()}
        return self._downstream.get(node, ())

    def left_out(self, node: str) -> dict[str, tuple[int, int]]:
        """For each upstream asset, how many partitions the node would read fall before that upstream's first
        partition, and after its last (a window reaching back before the data starts, a week reading days past
        a daily upstream's ``end``): those are left out, and said so."""
        if node in self.plain:
            return {}
        self.reads(node)
        return self._left_out.get(node, {})

    def _map(self, node: str, item: Asset, key: str) -> Reads:
        if node in self.plain:
            return {up: (up,) for up in item.upstream}
        reads: dict[str, tuple[str, ...]] = {}
        for up in item.upstream:
            upstream = self.assets[up]
            if upstream.partitions is None:
                reads[up] = (up,)
                continue
            timed = self._time_reads(item, up)
            if timed is not None:
                slices, before, after = timed[key]
                ups = self.nodes(up)
                reads[up] = ups[slices[0][0]:slices[0][1]] if len(slices) == 1 else \
                    tuple(n for start, stop in slices for n in ups[start:stop])
            else:
                mapped = upstream_keys(item.partitions, key or None, upstream.partitions, now=self.now,
                                       dynamic=self.dynamic, window=item.windows.get(up))
                existing = self._key_set(up)
                reads[up] = tuple(node_name(up, k) for k in mapped.keys if k in existing)
                before, after = mapped.missing_before_start, mapped.missing_after_end
            if before or after:
                self._left_out.setdefault(node, {})[up] = (before, after)
        return reads

    def _time_reads(self, item: Asset, up: str) -> dict[str, TimeRead] | None:
        """What each partition of a time-partitioned asset reads of a time-partitioned upstream, found for
        all its partitions at once (as positions in the upstream's keys); None unless both are time-partitioned."""
        pair = (item.name, up)
        if pair in self._time:
            return self._time[pair]
        partitions, upstream = item.partitions, self.assets[up].partitions
        found = None
        if isinstance(partitions, TimePartitions) and isinstance(upstream, TimePartitions):
            keys = self._keys[item.name]
            indexes = partitions.indexes_between(*partitions.bounds(self.now))  # those of the keys, in order
            assert len(indexes) == len(keys)
            found = dict(zip(keys, time_reads(partitions, indexes, upstream, now=self.now,
                                              window=item.windows.get(up))))
        self._time[pair] = found
        return found


def read_version(nodes: tuple[str, ...], version_of: Callable[[str], str | None]) -> str | None:
    """The data version of what a node reads of one upstream: that of the one node it reads, else one version
    standing for all of them (None when any holds no data).

    >>> versions = {"e[1]": "v1", "e[2]": "v2"}
    >>> read_version(("e[1]",), versions.get), read_version(("e[1]", "e[3]"), versions.get)
    ('v1', None)
    >>> read_version(("e[1]", "e[2]"), versions.get) != read_version(("e[2]", "e[1]"), versions.get)
    True
    """
    if len(nodes) == 1:
        return version_of(nodes[0])
    versions = list(map(version_of, nodes))
    if None in versions:
        return None
    return digest("partitions", "\n".join(map("=".join, zip(nodes, versions))))  # type: ignore[arg-type]


def read_versions(reads: Reads, version_of: Callable[[str], str | None]) -> dict[str, str | None]:
    """:func:`read_version` for each upstream asset a node reads."""
    return {up: read_version(nodes, version_of) for up, nodes in reads.items()}


def uses_dynamic(graph: AssetGraph) -> bool:
    """Whether any asset has dynamic partitions (whose keys the catalog holds)."""
    return any(item.partitions is not None and _dynamic(item.partitions) for item in graph)


def _dynamic(partitions: Partitions) -> bool:
    if isinstance(partitions, MultiPartitions):
        return any(isinstance(dimension, DynamicPartitions) for _, dimension in partitions.dimensions)
    return isinstance(partitions, DynamicPartitions)


def latest_record(nodes: NodeGraph, state: Mapping[str, AssetState], asset: str) -> MaterializationRecord | None:
    """The latest materialization of an asset, of any of its partitions."""
    records = [own.materialization for node in nodes.nodes(asset)
               if (own := state.get(node)) is not None and own.materialization is not None]
    return max(records, key=lambda record: record.created_at, default=None)


def select_nodes(nodes: NodeGraph, assets: Collection[str], spec: str | None, upward: bool = True) -> set[str]:
    """The nodes of the selected assets; with ``spec`` (``KEY``, ``FIRST..LAST`` or ``K1,K2``), only those
    partitions of each partitioned asset whose partitioning knows them, with the partitions of the other
    selected partitioned assets that those read (unless not ``upward``) or are read by (an hourly upstream's
    hours of a selected day, a weekly downstream's week).

    Raises:
        PartitionError: no selected asset has partitions that ``spec`` names.
    """
    if spec is None:
        if not nodes.partitioned:  # every node is an asset
            return set(assets)
        return {node for asset in assets for node in nodes.nodes(asset)}
    chosen = {asset for asset in assets if nodes.assets[asset].partitions is None}
    partitioned = [asset for asset in nodes.assets.order() if asset in assets and asset not in chosen]
    if not partitioned:
        raise SelectionError(f"--partition {spec}: no selected asset has partitions; "
                             "drop --partition or select a partitioned asset")
    accepted, problems = set(), []
    for asset in partitioned:
        try:
            keys = nodes.assets[asset].partitions.select(spec, nodes.now, nodes.dynamic)  # type: ignore[union-attr]
        except SelectionError as error:
            problems.append(error)
            continue
        accepted.add(asset)
        chosen.update(node_name(asset, key) for key in keys)
    if not accepted:
        raise problems[0]
    others = set(partitioned) - accepted
    if others:
        chosen |= _connected(nodes, [n for n in chosen if split_node(n)[0] in accepted], others, upward)
    return chosen


def _connected(nodes: NodeGraph, start: list[str], within: set[str], upward: bool = True) -> set[str]:
    """The nodes of the ``within`` assets reached from ``start`` upward and downward through them."""
    found: set[str] = set()
    for step in (nodes.upstream, nodes.downstream) if upward else (nodes.downstream,):
        stack = list(start)
        while stack:
            for near in step(stack.pop()):
                if near not in found and split_node(near)[0] in within:
                    found.add(near)
                    stack.append(near)
    return found


def left_out_lines(counts: Mapping[str, tuple[int, int]]) -> list[str]:
    """What a node's log says of the partitions it would read that do not exist (see :meth:`NodeGraph.left_out`).

    >>> left_out_lines({"daily": (2, 0), "hourly": (0, 5)})[1]
    "it would read 5 partition(s) of 'hourly' after that asset's last partition (its end, or not complete yet): \
they are left out"
    """
    lines = []
    for up, (before, after) in counts.items():
        if before:
            lines.append(f"its window reaches {before} partition(s) of '{up}' before that asset's first partition: "
                         "they are left out")
        if after:
            lines.append(f"it would read {after} partition(s) of '{up}' after that asset's last partition (its end, "
                         "or not complete yet): they are left out")
    return lines
