"""The values a run hands from asset to asset: kept in memory until their last consumer is done, else read.

Values made in the run are handed to downstream assets in memory and dropped once their last planned consumer
has finished; everything else is read from storage (or, for a source, from its files).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from assets_core.declaring.definitions import CONTEXT_PARAMETER, Asset
from assets_core.declaring.sources import Observation, read_source
from assets_core.errors import AssetsError
from assets_core.planning.graph import AssetGraph
from assets_core.running.attempts import lazy_parameters
from assets_core.running.context import AssetContext
from assets_core.running.storage import Storage


class ValueCache:
    """Upstream values for one run's attempts; safe to read from its worker threads.

    ``locations`` maps each asset with a usable stored value to its location; the scheduling loop updates it
    as assets finish (from one thread), and the workers read it.
    """

    def __init__(self, graph: AssetGraph, storage: Storage, observations: Mapping[str, Observation],
                 run_id: str, home: Path) -> None:
        self.graph, self.storage, self.observations = graph, storage, observations
        self.run_id, self.home = run_id, home
        self.locations: dict[str, str] = {}
        self._values: dict[str, Any] = {}
        self._remaining: dict[str, int] = {}
        self._lock = threading.Lock()
        self._lazy: dict[str, frozenset[str]] = {}

    def expect(self, consumers: Iterable[str]) -> None:
        """Count, for each upstream, the planned assets that will read it (its value is dropped after the last)."""
        for name in consumers:
            for upstream in set(self.graph[name].inputs.values()):
                self._remaining[upstream] = self._remaining.get(upstream, 0) + 1

    def keep(self, name: str, location: str, value: Any) -> None:
        """A new value of ``name`` stored at ``location``: kept in memory if a planned asset will read it."""
        self.locations[name] = location
        if self._remaining.get(name) and value is not None:
            self._values[name] = value

    def forget(self, name: str, location: str) -> None:
        """Another run stored a new value of ``name`` at ``location``: read that one from now on."""
        self.locations[name] = location
        self._values.pop(name, None)

    def release_inputs(self, name: str) -> None:
        """``name`` is done: drop the upstream values no other planned asset will read."""
        for upstream in set(self.graph[name].inputs.values()):
            left = self._remaining.get(upstream, 0) - 1
            self._remaining[upstream] = left
            if left <= 0:
                self._values.pop(upstream, None)

    def arguments(self, item: Asset, attempt: int) -> dict[str, Any]:
        """The keyword arguments of the asset's function: its upstream values, and its context if it asks."""
        lazy = self._lazy.get(item.name)
        if lazy is None:
            lazy = self._lazy[item.name] = lazy_parameters(item)
        values = {param: self.value(upstream, param in lazy) for param, upstream in item.inputs.items()}
        if item.wants_context:
            values[CONTEXT_PARAMETER] = AssetContext(item.name, self.run_id, self.home, attempt=attempt)
        return values

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
        return value

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
