"""A run's leases: which planned assets another live run is materializing, and the heartbeat that keeps ours.

A run takes the lease of each asset it plans before it starts; an asset another live run holds is parked
until that run records it (or dies), then this run judges it afresh from what the other run recorded.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from assets_core.planning.state import Recorder

HEARTBEAT_SECONDS = 5.0  # a running run tells the catalog it is alive at least this often
POLL_SECONDS = 0.25  # how often a run waiting for another run's lease asks again


class Leases:
    """The leases one run waits for, and its heartbeat. Used from the run's scheduling thread only."""

    def __init__(self, recorder: Recorder, run_id: str) -> None:
        self.recorder, self.run_id = recorder, run_id
        self.held: dict[str, str] = {}  # asset -> the other run holding its lease
        self.made_by: dict[str, str] = {}  # asset -> the run that held its lease before this one took it
        self._polled = self._beaten = time.perf_counter()

    def take(self, assets: Sequence[str]) -> dict[str, str]:
        """Take the leases of ``assets``; return ``{asset: holding run}`` for those another live run holds."""
        self.held = self.recorder.acquire_leases(self.run_id, assets)
        return dict(self.held)

    def poll(self, parked: Collection[str]) -> list[str]:
        """The parked assets whose lease this run took now (asks the catalog at most every ``POLL_SECONDS``)."""
        if not parked or time.perf_counter() - self._polled < POLL_SECONDS:
            return []
        self._polled = time.perf_counter()
        still = self.recorder.acquire_leases(self.run_id, sorted(parked))
        freed = sorted(set(parked) - set(still))
        for name in freed:
            self.made_by[name] = self.held.pop(name)
        return freed

    def beat(self) -> None:
        """Tell the catalog this run is alive, if the last heartbeat is ``HEARTBEAT_SECONDS`` old."""
        if time.perf_counter() - self._beaten >= HEARTBEAT_SECONDS:
            self.recorder.heartbeat(self.run_id)
            self._beaten = time.perf_counter()
