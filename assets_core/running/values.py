"""The values a run hands from asset to asset: kept in memory until their last consumer is done, else read.

Values made in the run are handed to downstream assets in memory and dropped once their last planned consumer
has finished; everything else is read from storage (or, for a source, from its files).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from assets_core.declaring.definitions import CONTEXT_PARAMETER, PREVIOUS_PARAMETER, Asset
from assets_core.declaring.partitions import Window
from assets_core.declaring.sources import Observation, read_source
from assets_core.errors import AssetsError
from assets_core.planning.nodes import NodeGraph
from assets_core.planning.state import split_node
from assets_core.running.attempts import lazy_parameters
from assets_core.running.context import AssetContext
from assets_core.running.single_run import span
from assets_core.running.storage import ValueStorage


class ValueCache:
    """Upstream values for one run's attempts; safe to read from its worker threads.

    ``locations`` maps each asset with a usable stored value to its location; the scheduling loop updates it
    as assets finish (from one thread), and the workers read it.
    """

    def __init__(self, graph: NodeGraph, storage: ValueStorage, observations: Mapping[str, Observation],
                 run_id: str, home: Path, code_versions: Mapping[str, str]) -> None:
        self.graph, self.storage, self.observations = graph, storage, observations
        self.run_id, self.home, self.code_versions = run_id, home, code_versions
        self.locations: dict[str, str] = {}
        self.previous: dict[str, str] = {}  # node -> location of its value before this run (for ``previous``)
        self.batches: dict[str, tuple[str, ...]] = {}  # single-run batch -> its partitions (see single_run)
        self._values: dict[str, Any] = {}
        self._remaining: dict[str, int] = {}
        self._lock = threading.Lock()
        self._lazy: dict[str, frozenset[str]] = {}

    def expect(self, consumers: Iterable[str]) -> None:
        """Count, for each upstream node, the planned nodes that will read it (its value is dropped after the
        last)."""
        for node in consumers:
            for upstream in self._inputs(node):
                self._remaining[upstream] = self._remaining.get(upstream, 0) + 1

    def _inputs(self, node: str) -> set[str]:
        """The upstream nodes whose values a node's function receives (not those it only waits for)."""
        item = self.graph[node]
        if node in self.graph.plain:
            return set(item.inputs.values())
        reads = self.graph.reads(node)
        return {up for upstream in set(item.inputs.values()) for up in reads.get(upstream, ())}

    def keep(self, name: str, location: str, value: Any) -> None:
        """A new value of ``name`` stored at ``location``: kept in memory if a planned node will read it."""
        self.locations[name] = location
        if self._remaining.get(name) and value is not None:  # the asset's own object is not the one kept
            self._values[name] = value.clone() if isinstance(value, pl.DataFrame) else value

    def forget(self, name: str, location: str) -> None:
        """Another run stored a new value of ``name`` at ``location``: read that one from now on."""
        self.locations[name] = location
        self._values.pop(name, None)

    def release_inputs(self, name: str) -> None:
        """``name`` is done: drop the upstream values no other planned node will read."""
        for upstream in self._inputs(name):
            left = self._remaining.get(upstream, 0) - 1
            self._remaining[upstream] = left
            if left <= 0:
                self._values.pop(upstream, None)

    def arguments(self, node: str, attempt: int) -> dict[str, Any]:
        """The keyword arguments of a node's function: its upstream values, its context and its own previous
        value if it asks."""
        item = self.graph[node]
        lazy = self._lazy.get(item.name)
        if lazy is None:
            lazy = self._lazy[item.name] = lazy_parameters(item)
        location = self.previous.get(node)
        return call_arguments(item, lazy, lambda upstream, as_lazy: self.read(node, upstream, as_lazy),
                              lambda: self.context(node, attempt),
                              lambda: self.storage.read(location, lazy=False) if location else None)

    def context(self, node: str, attempt: int) -> AssetContext:
        """What the node's function learns of its run through a ``context`` parameter."""
        item = self.graph[node]
        key = split_node(node)[1]
        window = self.window(node)
        checkpoint = self.home / "checkpoints" / item.name / (key or "_") / f"{self.code_versions.get(item.name, '')}.json"
        return AssetContext(item.name, self.run_id, self.home, partition=key, attempt=attempt,
                            partition_window=window, checkpoint_path=checkpoint)

    def window(self, node: str) -> Window | None:
        """The time a node covers: a time partition's window, or the span of a single-run batch."""
        item = self.graph[node]
        members = self.batches.get(node)
        if members:
            return span(item, members)
        key = split_node(node)[1]
        return item.partitions.window(key) if key and item.partitions is not None else None

    def _reads(self, node: str) -> Mapping[str, tuple[str, ...]]:
        """What a node reads of each upstream; a batch reads what its partitions read, in order, once."""
        members = self.batches.get(node)
        if not members:
            return self.graph.reads(node)
        reads: dict[str, dict[str, None]] = {}
        for member in members:
            for upstream, nodes in self.graph.reads(member).items():
                reads.setdefault(upstream, {}).update(dict.fromkeys(nodes))
        return {upstream: tuple(nodes) for upstream, nodes in reads.items()}

    def read(self, node: str, upstream: str, lazy: bool) -> Any:
        """What ``node`` reads of the upstream asset ``upstream`` (see :func:`combined`)."""
        nodes = self._reads(node).get(upstream, (upstream,))
        return combined(nodes, [self.value(n, lazy) for n in nodes], lazy)

    def task_reads(self, node: str) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, Any]]]:
        """What a node's function reads, for a worker elsewhere: the nodes read of each upstream asset, and
        where each of them is: ``("stored", location)``, ``("source", paths)``, or ``("missing", why)``."""
        item = self.graph[node]
        reads = self._reads(node)
        chosen = {upstream: reads.get(upstream, (upstream,)) for upstream in set(item.inputs.values())}
        found: dict[str, tuple[str, Any]] = {}
        for nodes in chosen.values():
            for name in nodes:
                found[name] = self._where(name)
        return chosen, found

    def _where(self, name: str) -> tuple[str, Any]:
        if self.graph[name].is_source:
            observation = self.observations.get(name)
            if observation is None:
                return "missing", f"source asset '{name}' has no file to read (see 'assets status {name}')"
            return "source", tuple(str(path) for path in observation.files)
        location = self.locations.get(name)
        if location is None:
            return "missing", f"upstream '{name}' has no stored value; materialize it first ('+{name}')"
        return "stored", location

    def value(self, name: str, lazy: bool) -> Any:
        """The value of ``name``; with ``lazy``, a lazy scan where the value allows it (read once otherwise)."""
        value = self._values.get(name)
        if value is None and lazy:
            return self._load(name, lazy=True)
        if value is None:
            with self._lock:
                value = self._values.get(name)
                if value is None:
                    value = self._values[name] = self._load(name, lazy=False)
        if lazy and isinstance(value, pl.DataFrame):
            return value.lazy()
        return own_copy(value)

    def _load(self, name: str, lazy: bool) -> Any:
        item = self.graph[name]
        if item.is_source:
            observation = self.observations.get(name)
            if observation is None:
                raise AssetsError(f"source asset '{name}' has no file to read (see 'assets status {name}')")
            return read_source(item, observation.files, lazy)
        location = self.locations.get(name)
        if location is None:
            raise AssetsError(f"upstream '{name}' has no stored value; materialize it first ('+{name}')")
        return self.storage.read(location, lazy)


def own_copy(value: Any) -> Any:
    """A reader's own copy of a value kept for several readers, so that an asset changing its input in place
    changes only its copy, as it would one read from storage: a table's ``clone`` (its columns shared, not
    copied: microseconds), a JSON list or object (or a source's list of paths) copied whole.

    >>> kept = {"seen": [1, 2]}
    >>> mine = own_copy(kept); mine["seen"].append(3); kept
    {'seen': [1, 2]}
    """
    if isinstance(value, pl.DataFrame):
        return value.clone()
    if isinstance(value, (list, dict)):  # JSON, or a source's paths
        return copy.deepcopy(value)
    return value


def combined(nodes: Sequence[str], values: Sequence[Any], lazy: bool) -> Any:
    """What a node reads of one upstream asset, from the values of the upstream ``nodes`` it reads: the one
    value, or several partitions' values concatenated in key order (for tables; other values come as a dict by
    partition key)."""
    if len(nodes) == 1:
        return values[0]
    if values and all(isinstance(v, (pl.DataFrame, pl.LazyFrame)) for v in values):
        if lazy:
            return pl.concat([v.lazy() for v in values], how="diagonal_relaxed")
        return pl.concat([v.collect() if isinstance(v, pl.LazyFrame) else v for v in values], how="diagonal_relaxed")
    if not values:
        return pl.LazyFrame() if lazy else pl.DataFrame()
    return {split_node(n)[1]: v for n, v in zip(nodes, values, strict=True)}


def call_arguments(item: Asset, lazy: frozenset[str], read: Callable[[str, bool], Any],
                   context: Callable[[], AssetContext], previous: Callable[[], Any]) -> dict[str, Any]:
    """The keyword arguments of an asset's function: ``read(upstream, lazy)`` for each of its inputs (lazily
    for the parameters in ``lazy``), and its context and previous value when its parameters ask for them."""
    values = {param: read(upstream, param in lazy) for param, upstream in item.inputs.items()}
    if item.wants_context:
        values[CONTEXT_PARAMETER] = context()
    if item.wants_previous:
        values[PREVIOUS_PARAMETER] = previous()
    return values
