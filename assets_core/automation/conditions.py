"""Automation conditions of an asset: when the daemon starts it by itself, judged as pure functions of facts.

``on_cron``, ``on_upstream_change`` and ``on_missing`` combine with ``|`` (either) and ``&`` (both). A condition
judges one node (an asset, or one partition of it) from its :class:`Facts` and returns a :class:`Verdict`: fire
or not, with a short sentence saying why.

Rules every condition follows, whatever it combines:

- Pause downstream on failure: a node with an upstream whose last attempt failed never fires; its verdict's kind
  is :data:`UPSTREAM_FAILED`. It fires again once that upstream succeeds (then its data is new).
- A node already running never fires.
- A node whose own last attempt failed is not retried by ``on_missing`` or ``on_upstream_change`` (that would
  retry it at every evaluation); a cron tick or a manual run tries it again.
- ``on_upstream_change`` and ``on_missing`` wait while anything upstream is stale, running or failed, so that a
  node runs once, after its upstreams, and not once per upstream.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from assets_core.automation.cron import cron_problem, last_tick, local_text, zone_problem
from assets_core.errors import DefinitionError, Location
from assets_core.planning.plan import FAILED, FRESH, MISSING, ReasonKind, Status

UPSTREAM_FAILED = "upstream_failed"  # the reason word of a node paused because an upstream failed
CRON_TICK = "cron_tick"
UPSTREAM_CHANGED = "upstream_changed"
MISSING_DATA = "missing"
WAITING = "waiting"  # something upstream is stale or running
RUNNING = "running"
OWN_FAILURE = "failed"
NOT_DUE = "not_due"


@dataclass(frozen=True)
class Facts:
    """What a condition knows about one node at one evaluation.

    ``previous`` is the time of the previous evaluation (None at the first); ``last_materialized`` the time of
    the node's last materialization; the ``upstream_*`` tuples name the upstream nodes (assets, not sources)
    that are not fresh, running, or failed in their last attempt. :func:`facts_for` builds them from statuses.
    """

    node: str
    status: Status
    now: datetime
    previous: datetime | None = None
    last_materialized: datetime | None = None
    running: bool = False
    upstream_stale: tuple[str, ...] = ()
    upstream_running: tuple[str, ...] = ()
    upstream_failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """Whether a condition fires, why (a short sentence), and the reason's word (``kind``)."""

    fire: bool
    reason: str
    kind: str


class Condition(ABC):
    """A condition on one node; ``a | b`` fires when either does, ``a & b`` when both do."""

    def evaluate(self, facts: Facts) -> Verdict:
        """Judge ``facts``, after the rules every condition follows (see the module docstring)."""
        if facts.upstream_failed:
            return Verdict(False, f"{_names('upstream', facts.upstream_failed)} failed in its last attempt; "
                                  "waits until it succeeds", UPSTREAM_FAILED)
        if facts.running:
            return Verdict(False, "it is running", RUNNING)
        return self.judge(facts)

    @abstractmethod
    def judge(self, facts: Facts) -> Verdict:
        """This condition's own verdict (the shared rules are applied by :meth:`evaluate`)."""

    def may_fire_when_fresh(self) -> bool:
        """Whether the condition can fire for a fresh node: only a cron tick can (a fresh node has no upstream
        change and is not missing). A tick passes over fresh nodes without judging them one by one."""
        return False

    def __or__(self, other: Condition) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        return AnyOf((*_parts(self, AnyOf), *_parts(other, AnyOf)))

    def __and__(self, other: Condition) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        return AllOf((*_parts(self, AllOf), *_parts(other, AllOf)))


@dataclass(frozen=True)
class AnyOf(Condition):
    """Fires when any of its conditions fires."""

    conditions: tuple[Condition, ...]

    def judge(self, facts: Facts) -> Verdict:
        verdicts = [condition.judge(facts) for condition in self.conditions]
        firing = [verdict for verdict in verdicts if verdict.fire]
        chosen = firing or verdicts
        return Verdict(bool(firing), "; ".join(dict.fromkeys(v.reason for v in chosen)), chosen[0].kind)

    def may_fire_when_fresh(self) -> bool:
        return any(condition.may_fire_when_fresh() for condition in self.conditions)

    def __str__(self) -> str:
        return " | ".join(_shown(condition, AllOf) for condition in self.conditions)


@dataclass(frozen=True)
class AllOf(Condition):
    """Fires when all of its conditions fire."""

    conditions: tuple[Condition, ...]

    def judge(self, facts: Facts) -> Verdict:
        verdicts = [condition.judge(facts) for condition in self.conditions]
        failing = [verdict for verdict in verdicts if not verdict.fire]
        if failing:
            return failing[0]
        return Verdict(True, " and ".join(dict.fromkeys(v.reason for v in verdicts)), verdicts[0].kind)

    def may_fire_when_fresh(self) -> bool:
        return all(condition.may_fire_when_fresh() for condition in self.conditions)

    def __str__(self) -> str:
        return " & ".join(_shown(condition, AnyOf) for condition in self.conditions)


@dataclass(frozen=True)
class OnCron(Condition):
    """Fires when a tick of ``cron`` passed since the previous evaluation and the node has not been
    materialized since that tick. A tick that passes while the node is paused is not made up later."""

    cron: str
    timezone: str = "UTC"
    location: Location | None = None

    def judge(self, facts: Facts) -> Verdict:
        if facts.previous is None:
            return Verdict(False, "first evaluation: waits for the next cron tick", NOT_DUE)
        tick = last_tick(self.cron, self.timezone, facts.now)
        shown = local_text(tick, self.timezone)
        if tick <= facts.previous:
            return Verdict(False, f"no cron tick since the last evaluation (the last was {shown})", NOT_DUE)
        if facts.last_materialized is not None and facts.last_materialized >= tick:
            return Verdict(False, f"materialized since the cron tick {shown}", NOT_DUE)
        return Verdict(True, f"cron tick {shown} passed", CRON_TICK)

    def may_fire_when_fresh(self) -> bool:
        return True

    def __str__(self) -> str:
        zone = "" if self.timezone == "UTC" else f", {self.timezone!r}"
        return f"on_cron({self.cron!r}{zone})"


@dataclass(frozen=True)
class OnUpstreamChange(Condition):
    """Fires when an upstream's data version differs from the one the node consumed, and nothing upstream is
    stale, running or failed. An upstream that reran and made the same data changes nothing."""

    def judge(self, facts: Facts) -> Verdict:
        blocked = _blocked(facts)
        if blocked is not None:
            return blocked
        changed = [r.upstream or "?" for r in facts.status.reasons if r.kind == ReasonKind.UPSTREAM_CHANGED]
        if not changed:
            return Verdict(False, "no upstream has new data", NOT_DUE)
        verb = "has" if len(set(changed)) == 1 else "have"
        return Verdict(True, f"{_names('upstream', changed)} {verb} new data", UPSTREAM_CHANGED)

    def __str__(self) -> str:
        return "on_upstream_change()"


@dataclass(frozen=True)
class OnMissing(Condition):
    """Fires when the node holds no data (never materialized, or its stored value is gone), once nothing
    upstream is stale, running or failed."""

    def judge(self, facts: Facts) -> Verdict:
        blocked = _blocked(facts)
        if blocked is not None:
            return blocked
        if facts.status.status != MISSING:
            return Verdict(False, "it holds data", NOT_DUE)
        details = [r.detail for r in facts.status.reasons if r.kind == ReasonKind.MISSING]
        return Verdict(True, f"it is missing ({details[0] if details else 'no data'})", MISSING_DATA)

    def __str__(self) -> str:
        return "on_missing()"


def on_cron(cron: str, timezone: str = "UTC") -> Condition:
    """Materialize the asset after each tick of ``cron`` in ``timezone``.

    >>> str(on_cron("0 2 * * *", "Europe/Paris") | on_missing())
    "on_cron('0 2 * * *', 'Europe/Paris') | on_missing()"
    """
    frame = sys._getframe(1)
    location = Location(os.path.abspath(frame.f_code.co_filename), frame.f_lineno)
    for problem in (cron_problem(cron), zone_problem(timezone)):
        if problem:
            raise DefinitionError(f"on_cron: {problem}", location=location)
    return OnCron(cron, timezone, location)


def on_upstream_change() -> Condition:
    """Materialize the asset when an upstream has new data (not merely when an upstream ran)."""
    return OnUpstreamChange()


def on_missing() -> Condition:
    """Materialize the asset (or partition) when it holds no data."""
    return OnMissing()


def facts_for(node: str, statuses: Mapping[str, Status], upstream: Iterable[str], now: datetime, *,
              previous: datetime | None = None, last_materialized: datetime | None = None,
              running: Collection[str] = ()) -> Facts:
    """The facts of ``node`` from the statuses of the current snapshot: ``upstream`` names its upstream nodes
    that are assets (a source's changes show as the node's own ``upstream_changed`` reason), ``running`` the
    nodes being materialized now."""
    ups = [up for up in upstream if up in statuses]
    return Facts(
        node=node, status=statuses[node], now=now, previous=previous, last_materialized=last_materialized,
        running=node in running,
        upstream_stale=tuple(up for up in ups if statuses[up].status not in (FRESH, FAILED)),
        upstream_running=tuple(up for up in ups if up in running),
        upstream_failed=tuple(up for up in ups if statuses[up].status == FAILED),
    )


def _blocked(facts: Facts) -> Verdict | None:
    """Why a data-aware condition waits (its own failure, or an upstream stale or running), or None."""
    if facts.status.status == FAILED:
        return Verdict(False, "its last attempt failed; a cron tick or a manual run tries it again", OWN_FAILURE)
    busy = tuple(dict.fromkeys((*facts.upstream_running, *facts.upstream_stale)))
    if busy:
        state = "running" if set(busy) <= set(facts.upstream_running) else "not fresh"
        return Verdict(False, f"waits: {_names('upstream', busy)} {'is' if len(busy) == 1 else 'are'} {state}",
                       WAITING)
    if any(r.kind == ReasonKind.UPSTREAM_STALE for r in facts.status.reasons):
        return Verdict(False, "waits: an upstream is not fresh", WAITING)
    return None


def _names(word: str, names: Iterable[str]) -> str:
    """``upstream 'a'``, ``upstreams 'a', 'b'``, or ``upstreams 'a', 'b', 'c' and 2 more``.

    >>> _names("upstream", ["a"]), _names("upstream", ["a", "b", "a"])
    ("upstream 'a'", "upstreams 'a', 'b'")
    """
    unique = list(dict.fromkeys(names))
    shown = ", ".join(f"'{name}'" for name in unique[:3])
    more = f" and {len(unique) - 3} more" if len(unique) > 3 else ""
    return f"{word}{'s' if len(unique) > 1 else ''} {shown}{more}"


def _parts(condition: Condition, kind: type[AnyOf] | type[AllOf]) -> tuple[Condition, ...]:
    return condition.conditions if isinstance(condition, kind) else (condition,)


def _shown(condition: Condition, other: type[Condition]) -> str:
    return f"({condition})" if isinstance(condition, other) else str(condition)
