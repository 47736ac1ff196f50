"""What a run takes over from the other runs recorded meanwhile: the scheduling loop's view of assets another
run materialized while this one waited for their lease, or read as upstreams this run does not plan.

:class:`Adoption` is a part of :class:`~assets_core.running.execution.Execution`: the state it reads and
updates is the run's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from assets_core.planning.nodes import NodeGraph
from assets_core.planning.state import AssetState, Catalog
from assets_core.running.leases import Leases
from assets_core.running.runs import RunSettings
from assets_core.running.values import ValueCache


class Adoption:
    """Taking other runs' records as this run's view of the assets concerned."""

    graph: NodeGraph
    recorder: Catalog
    leases: Leases
    settings: RunSettings
    run_id: str
    state: Mapping[str, AssetState]
    data_versions: dict[str, str | None]
    values: ValueCache
    _planned: frozenset[str]

    def _unpark(self, parked: set[str]) -> list[str]:
        """The parked assets whose lease this run could take now, with their state as the other run left it,
        and their unplanned upstreams as recorded now (the other run may have recorded newer ones meanwhile:
        a forced rerun must not read what was replaced)."""
        freed = self.leases.poll(parked)
        if freed:
            reads = self._unplanned_upstreams(freed)
            recorded = self.recorder.read_state([*freed, *reads])
            for name in freed:
                if name in recorded:
                    self._adopt(name, recorded[name])
            self._adopt_newer(reads, recorded)
            parked.difference_update(freed)
        return freed

    def _unplanned_upstreams(self, names: Iterable[str]) -> set[str]:
        """The upstreams of these planned assets that this run does not plan (nor observe: sources)."""
        planned = self._planned
        return {up for name in names for up in self.graph.upstream(name)
                if up not in planned and not self.graph[up].is_source}

    def _adopt_newer(self, reads: Iterable[str], recorded: Mapping[str, AssetState]) -> None:
        """Take as this run's view each upstream recorded otherwise than this run knows it."""
        for name in reads:
            own = recorded.get(name)
            if own is not None and own.materialization is not None \
                    and own.materialization != self.state.get(name, AssetState()).materialization:
                self._adopt(name, own)

    def _adopt_recorded(self, planned: Sequence[str], taken: Sequence[str]) -> None:
        """Once the run is recorded as running and holds its leases, read in one go what other runs recorded
        since its snapshot: its unselected upstreams as recorded now (from now on a prune leaves the versions it
        reads), and the planned assets whose lease it took that another run recorded meanwhile (that run counts
        as having held the lease, so the skip rule judges them afresh rather than running them twice; not when
        forced)."""
        reads = self._unplanned_upstreams(planned)
        meanwhile = [] if self.settings.force else list(taken)
        recorded = self.recorder.read_state([*reads, *meanwhile]) if reads or meanwhile else {}
        for name in meanwhile:
            own = recorded.get(name)
            before = self.state.get(name, AssetState()).materialization
            after = own.materialization if own is not None else None
            if own is None or after is None or after.run_id == self.run_id:
                continue
            if before is None or (after.run_id, after.created_at) != (before.run_id, before.created_at):
                self._adopt(name, own)
                self.leases.made_by[name] = after.run_id
        self._adopt_newer(reads, recorded)

    def _adopt(self, name: str, own: AssetState) -> None:
        """Take the state another run recorded for an asset as this run's view of it."""
        self.state = {**self.state, name: own}
        if own.materialization is not None:
            self.data_versions[name] = own.materialization.data_version
            self.values.forget(name, own.materialization.location)
