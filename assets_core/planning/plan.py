"""Staleness: pure functions of the graph, the recorded state and the current versions (plans: :mod:`steps`).

An asset is *fresh* when its last materialization ran the current code on the current data of every upstream
and its last attempt did not fail; otherwise it is *missing*, *failed* or *stale*, with reasons that say why.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from assets_core.declaring.definitions import Asset
from assets_core.planning.evidence import Evidence, evidence_of
from assets_core.planning.nodes import NodeGraph, Reads, read_version
from assets_core.planning.state import AssetState, MaterializationRecord, split_node
from assets_core.value_tuples import ValueTuple


class AssetStatus(StrEnum):
    """Whether an asset's stored value is what its code and upstreams make now."""

    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"
    FAILED = "failed"


class ReasonKind(StrEnum):
    """Why an asset is not fresh (or, for ``FORCED``, why it runs anyway)."""

    MISSING = "missing"
    CODE_CHANGED = "code_changed"
    UPSTREAM_CHANGED = "upstream_changed"
    UPSTREAM_STALE = "upstream_stale"
    UPSTREAM_FAILED = "upstream_failed"  # an upstream's last attempt failed: this waits until that succeeds
    FAILED = "failed"
    OVERDUE = "overdue"
    SOURCE_CHANGED = "source_changed"
    FORCED = "forced"


WAITS_FOR_UPSTREAM = frozenset({ReasonKind.UPSTREAM_STALE, ReasonKind.UPSTREAM_FAILED})  # resolved by running it
FRESH, STALE, MISSING, FAILED = AssetStatus.FRESH, AssetStatus.STALE, AssetStatus.MISSING, AssetStatus.FAILED
STATUSES = tuple(AssetStatus)


@dataclass(frozen=True)
class Reason:
    """Why an asset is not fresh, in words (``detail``) and as a :class:`ReasonKind`."""

    kind: ReasonKind
    detail: str
    upstream: str | None = None

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


class _Status(NamedTuple):
    asset: str
    status: AssetStatus
    reasons: tuple[Reason, ...] = ()


class Status(ValueTuple, _Status):
    """An asset's (or a partition's) status, with its reasons. A named tuple (see :mod:`assets_core.value_tuples`):
    an assessment makes one per node, and as a frozen dataclass it took 0.26 s of assessing 100,000 assets."""

    __slots__ = ()

    @property
    def fresh(self) -> bool:
        return self.status == FRESH

    def to_json(self) -> dict[str, object]:
        reasons = self.reasons
        return {"asset": self.asset, "status": self.status, "reasons": [r.to_json() for r in reasons] if reasons else []}


@dataclass(frozen=True)
class Step:
    asset: str
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, object]:
        return {"asset": self.asset, "reasons": [r.to_json() for r in self.reasons]}


@dataclass(frozen=True)
class Plan:
    """The assets that would run, in dependency order, each with its reasons."""

    steps: tuple[Step, ...]
    selected: frozenset[str]
    waiting: tuple[Step, ...] = ()  # selected stale assets left out: each waits on an unselected stale upstream

    @property
    def assets(self) -> list[str]:
        return [step.asset for step in self.steps]

    def __len__(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class Versions:
    """The versions staleness compares against: code versions now, and the data each asset holds now."""

    code: Mapping[str, str]
    sources: Mapping[str, str | None]  # source asset -> data version of its files now (None: no file)
    lost: Collection[str] = frozenset()  # assets whose stored value has vanished from storage
    now: datetime | None = None  # the time freshness policies are judged at (None: not judged)


def assess(graph: NodeGraph, state: Mapping[str, AssetState], versions: Versions,
           leave_out: Collection[str] = ()) -> dict[str, Status]:
    """The status of every node (every asset, or every partition of a partitioned one), in dependency order;
    but those of the sources ``leave_out`` names (observed as a block, which gives their statuses)."""
    statuses: dict[str, Status] = {}

    assets, plain, sources = graph.assets, graph.plain, versions.sources
    by_name, code, lost, freshness = assets.by_name, versions.code, versions.lost, graph.freshness
    held = _held_by_sources(graph, sources)  # and, as they are found fresh, by the assets
    evidence = evidence_of(state)  # what the fast paths compare, read without decoding whole records

    def version_of(node: str) -> str | None:
        return data_version(node, graph[node], state.get(node), versions)

    for name in graph.order(leave_out):
        item = by_name.get(name) or graph[name]
        if name not in lost and item.name not in freshness and not item.is_source:
            found = evidence(name)
            if found is not None and (_fresh_as_recorded(item, found, code[name], held) if name in plain else
                                      _fresh_as_read(found, code[item.name], graph.reads(name), statuses, by_name,
                                                     sources, version_of)):
                statuses[name] = _fresh(name)
                held[name] = found[1]  # the data version it holds
                continue
        if item.is_source:
            statuses[name] = _source_status(name, item, state.get(name), versions)
            continue
        if name in plain:  # the usual case, an asset reading whole assets: no partitions to map
            stale_upstreams = {up for up in item.upstream if not assets[up].is_source and not statuses[up].fresh}
            failed = {up for up in stale_upstreams if statuses[up].status == FAILED}
            current = {up: data_version(up, assets[up], state.get(up), versions) for up in item.upstream}
        else:
            reads = graph.reads(name)
            stale_upstreams = {up for up, nodes in reads.items()
                               if not assets[up].is_source and not all(statuses[n].fresh for n in nodes)}
            failed = {up for up in stale_upstreams if any(statuses[n].status == FAILED for n in reads[up])}
            current = {up: read_version(nodes, sources.get if assets[up].is_source else version_of)
                       for up, nodes in reads.items()}
        own = state.get(name, AssetState())
        reasons = reasons_for(item, own, versions.code[item.name], current, stale_upstreams, name in versions.lost,
                              failed)
        policy = graph.freshness.get(item.name)
        if policy is not None and versions.now is not None and own.materialization is not None:
            reasons += _overdue(own.materialization, policy.max_age, versions.now)
        statuses[name] = Status(name, _status_of(own, reasons, name in versions.lost), tuple(reasons))
        if statuses[name].status is FRESH and own.materialization is not None:
            held[name] = own.materialization.data_version
    return statuses


def _fresh_as_recorded(item: Asset, evidence: Evidence, code_version: str, held: Mapping[str, str]) -> bool:
    """Whether an asset reading whole assets is fresh by the usual evidence alone (that of its last
    materialization, its last attempt not failed): it ran the current code on exactly the data each upstream
    holds now, and every upstream is fresh (``held``: the data each source holds now, and each asset found fresh
    so far; see :func:`_held_by_sources`). (What this cannot tell, such as a lost value or a freshness policy,
    the caller checks; anything else goes the long way, through :func:`reasons_for`, which finds the same for
    these.)"""
    made_with, _, consumed = evidence
    if made_with != code_version:
        return False
    for up in item.upstream:
        now = held.get(up)
        if now is None or consumed.get(up) != now:
            return False
    return True


def _held_by_sources(graph: NodeGraph, sources: Mapping[str, str | None]) -> dict[str, str]:
    """The data each unpartitioned source holds now (those holding none left out): what an asset reading it
    whole compares with what it read."""
    held = {}
    for item in graph.assets:
        if item.is_source and item.partitions is None:
            now = sources.get(item.name)
            if now is not None:
                held[item.name] = now
    return held


def _fresh_as_read(evidence: Evidence, code_version: str, reads: Reads, statuses: Mapping[str, Status],
                   by_name: Mapping[str, Asset], sources: Mapping[str, str | None],
                   version_of: Callable[[str], str | None]) -> bool:
    """:func:`_fresh_as_recorded` for a node that reads partitions (``reads``): its last materialization (its
    last attempt not failed) ran the current code on exactly the data it reads now, every node of which is
    fresh."""
    made_with, _, consumed = evidence
    if made_with != code_version:
        return False
    for up, nodes in reads.items():
        if by_name[up].is_source:
            now = read_version(nodes, sources.get)
        elif all(statuses[node].status is FRESH for node in nodes):
            now = read_version(nodes, version_of)
        else:
            return False
        if now is None or consumed.get(up) != now:
            return False
    return True


def _fresh(name: str) -> Status:
    return Status(name, FRESH)


def reasons_for(item: Asset, own: AssetState, code_version: str, upstream_versions: Mapping[str, str | None],
                stale_upstreams: Collection[str] = (), lost: bool = False,
                failed_upstreams: Collection[str] = ()) -> list[Reason]:
    """Why ``item`` would need to run, given its record and the data its upstreams hold now."""
    record = own.materialization
    reasons: list[Reason] = []
    if own.failure is not None:
        reasons.append(Reason(ReasonKind.FAILED, f"the last attempt failed: {own.failure.error}"))
    if record is None:
        return reasons + [Reason(ReasonKind.MISSING, "never materialized")] + [
            Reason(ReasonKind.UPSTREAM_FAILED, f"upstream '{up}' failed in its last attempt; it runs once that succeeds",
                   up) for up in item.upstream if up in failed_upstreams]
    if lost:
        reasons.append(Reason(ReasonKind.MISSING, f"its stored value {record.location} is gone"))
    if record.code_version != code_version:
        reasons.append(Reason(ReasonKind.CODE_CHANGED, "its code changed since the last materialization"))
    consumed = record.upstream_versions
    for up in item.upstream:
        now = upstream_versions.get(up)
        if now is not None and consumed.get(up) == now and up not in stale_upstreams:
            continue  # the usual case, decided without building anything
        reasons.extend(_upstream_reasons(up, record, now, up in stale_upstreams, up in failed_upstreams))
    return reasons


def data_version(node: str, item: Asset, own: AssetState | None, versions: Versions) -> str | None:
    """The data version a node holds now (None when it holds nothing)."""
    if item.is_source:
        return versions.sources.get(node)
    if own is None or own.materialization is None or node in versions.lost:
        return None
    return own.materialization.data_version


def _source_status(node: str, item: Asset, own: AssetState | None, versions: Versions) -> Status:
    now = versions.sources.get(node)
    if now is None:
        return Status(node, MISSING, (Reason(ReasonKind.MISSING, f"no file matches '{source_path(node, item)}'"),))
    observed = own.observation if own is not None else None
    if observed is None:
        return Status(node, STALE, (Reason(ReasonKind.SOURCE_CHANGED, "not observed yet"),))
    if observed.data_version != now:
        return Status(node, STALE, (Reason(ReasonKind.SOURCE_CHANGED, "its files changed since last observed"),))
    return Status(node, FRESH)


def source_path(node: str, item: Asset) -> str:
    """The path of a source node's files: a partition's own, with its key's parts put in."""
    key = split_node(node)[1]
    if not key or item.partitions is None:
        return item.path or ""
    return (item.path or "").format_map(item.partitions.placeholders(key))


def _upstream_reasons(up: str, record: MaterializationRecord, now: str | None, stale: bool,
                      failed: bool = False) -> list[Reason]:
    reasons = []
    if failed:
        reasons.append(Reason(ReasonKind.UPSTREAM_FAILED,
                              f"upstream '{up}' failed in its last attempt; it runs once that succeeds", up))
    elif stale:
        reasons.append(Reason(ReasonKind.UPSTREAM_STALE, f"upstream '{up}' is not fresh and runs first", up))
    consumed = record.upstream_versions.get(up)
    if now is None:
        if not stale:
            reasons.append(Reason(ReasonKind.UPSTREAM_STALE, f"upstream '{up}' holds no data", up))
    elif consumed is None:
        reasons.append(Reason(ReasonKind.UPSTREAM_CHANGED, f"it now reads '{up}', which it did not read before", up))
    elif consumed != now:
        reasons.append(Reason(
            ReasonKind.UPSTREAM_CHANGED, f"upstream '{up}' has new data ({consumed[:8]} -> {now[:8]})", up))
    return reasons


def _overdue(record: MaterializationRecord, max_age: timedelta, now: datetime) -> list[Reason]:
    age = now - record.created_at
    if age <= max_age:
        return []
    return [Reason(ReasonKind.OVERDUE, f"last materialized {_hours(age)} ago; its freshness policy allows {_hours(max_age)}")]


def _hours(delta: timedelta) -> str:
    """A duration in the largest fitting unit.

    >>> _hours(timedelta(hours=26)), _hours(timedelta(minutes=90)), _hours(timedelta(seconds=30))
    ('26h', '90m', '30s')
    """
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 3600:
        return f"{seconds // 3600}h"
    if seconds >= 120:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _status_of(own: AssetState, reasons: list[Reason], lost: bool) -> AssetStatus:
    if own.failure is not None:
        return FAILED
    if own.materialization is None or lost:
        return MISSING
    return STALE if reasons else FRESH

