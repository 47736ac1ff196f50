"""Automation conditions judged from facts: cron ticks, new upstream data, missing data, and their combinations."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from assets_core.automation.conditions import (
    CRON_TICK,
    NOT_DUE,
    OWN_FAILURE,
    UPSTREAM_CHANGED,
    UPSTREAM_FAILED,
    WAITING,
    AllOf,
    AnyOf,
    Facts,
    facts_for,
    on_cron,
    on_missing,
    on_upstream_change,
)
from assets_core.errors import DefinitionError
from assets_core.planning.plan import FAILED, FRESH, MISSING, STALE, Reason, ReasonKind, Status

UTC = timezone.utc
NOW = datetime(2026, 3, 30, 12, tzinfo=UTC)
CHANGED = Reason(ReasonKind.UPSTREAM_CHANGED, "upstream 'orders' has new data (aaaa -> bbbb)", "orders")


def status(state=FRESH, *reasons: Reason, name: str = "revenue") -> Status:
    return Status(name, state, reasons)


def facts(own: Status, **more) -> Facts:
    return Facts(node=own.asset, status=own, now=NOW, previous=datetime(2026, 3, 30, 11, tzinfo=UTC), **more)


def test_on_upstream_change_fires_when_an_upstream_has_new_data():
    verdict = on_upstream_change().evaluate(facts(status(STALE, CHANGED)))
    assert verdict.fire and verdict.kind == UPSTREAM_CHANGED
    assert verdict.reason == "upstream 'orders' has new data"


def test_on_upstream_change_does_not_fire_when_an_upstream_reran_with_the_same_data():
    # the upstream ran again, made the same data version: the asset stays fresh, with no reason
    statuses = {"orders": status(name="orders"), "revenue": status()}
    verdict = on_upstream_change().evaluate(facts_for("revenue", statuses, ["orders"], NOW, previous=NOW))
    assert not verdict.fire and verdict.kind == NOT_DUE


@pytest.mark.parametrize("upstream_state", [STALE, MISSING])
def test_on_upstream_change_waits_while_an_upstream_is_not_fresh(upstream_state):
    statuses = {"orders": status(FRESH, name="orders"), "customers": status(upstream_state, name="customers"),
                "revenue": status(STALE, CHANGED)}
    verdict = on_upstream_change().evaluate(facts_for("revenue", statuses, ["orders", "customers"], NOW))
    assert not verdict.fire and verdict.kind == WAITING
    assert verdict.reason == "waits: upstream 'customers' is not fresh"


def test_on_upstream_change_waits_while_an_upstream_runs():
    statuses = {"orders": status(name="orders"), "revenue": status(STALE, CHANGED)}
    verdict = on_upstream_change().evaluate(facts_for("revenue", statuses, ["orders"], NOW, running={"orders"}))
    assert (verdict.fire, verdict.reason) == (False, "waits: upstream 'orders' is running")


def test_an_upstream_that_failed_pauses_every_condition():
    statuses = {"orders": status(FAILED, name="orders"), "revenue": status(STALE, CHANGED)}
    condition = on_upstream_change() | on_missing() | on_cron("0 * * * *")
    verdict = condition.evaluate(facts_for("revenue", statuses, ["orders"], NOW, previous=datetime(2026, 1, 1,
                                                                                                   tzinfo=UTC)))
    assert not verdict.fire and verdict.kind == UPSTREAM_FAILED == "upstream_failed"
    assert verdict.reason == "upstream 'orders' failed in its last attempt; waits until it succeeds"
    statuses["orders"] = status(name="orders")  # it succeeds: the paused asset fires again
    assert condition.evaluate(facts_for("revenue", statuses, ["orders"], NOW)).fire


def test_a_node_that_is_running_does_not_fire():
    verdict = on_missing().evaluate(facts(status(MISSING), running=True))
    assert (verdict.fire, verdict.kind) == (False, "running")


def test_on_missing_fires_for_a_node_without_data_but_not_after_its_own_failure():
    never = Reason(ReasonKind.MISSING, "never materialized")
    assert on_missing().evaluate(facts(status(MISSING, never))).reason == "it is missing (never materialized)"
    failed = on_missing().evaluate(facts(status(FAILED, Reason(ReasonKind.FAILED, "boom"), never)))
    assert (failed.fire, failed.kind) == (False, OWN_FAILURE)
    assert not on_missing().evaluate(facts(status(STALE, CHANGED))).fire


def test_on_cron_fires_once_for_a_tick_since_the_previous_evaluation():
    condition = on_cron("0 2 * * *", "Europe/Paris")
    before, after = datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    fired = condition.evaluate(Facts("revenue", status(), after, previous=before))
    assert fired.fire and fired.kind == CRON_TICK
    assert fired.reason == "cron tick 2026-03-29 03:00 CEST passed"  # 02:00 does not exist that day
    later = condition.evaluate(Facts("revenue", status(), after.replace(hour=5), previous=after))
    assert not later.fire and later.kind == NOT_DUE


def test_on_cron_does_not_fire_when_materialized_since_the_tick_or_at_the_first_evaluation():
    condition = on_cron("0 * * * *")
    done = condition.evaluate(facts(status(), last_materialized=datetime(2026, 3, 30, 12, tzinfo=UTC)))
    assert (done.fire, done.reason) == (False, "materialized since the cron tick 2026-03-30 12:00 UTC")
    first = condition.evaluate(Facts("revenue", status(), NOW))
    assert not first.fire and first.reason.startswith("first evaluation")


def test_conditions_combine_with_or_and_and():
    either = on_cron("0 * * * *") | on_upstream_change() | on_missing()
    assert isinstance(either, AnyOf) and len(either.conditions) == 3  # flattened
    both = on_cron("0 * * * *") & on_upstream_change()
    assert isinstance(both, AllOf)
    changed = facts(status(STALE, CHANGED))
    assert either.evaluate(changed).reason == "cron tick 2026-03-30 12:00 UTC passed; upstream 'orders' has new data"
    assert both.evaluate(changed).reason == "cron tick 2026-03-30 12:00 UTC passed and upstream 'orders' has new data"
    quiet = facts(status())
    assert not both.evaluate(quiet).fire and not (on_missing() & on_upstream_change()).evaluate(changed).fire
    assert str(both | on_missing()) == "(on_cron('0 * * * *') & on_upstream_change()) | on_missing()"


def test_or_with_something_else_is_a_type_error():
    with pytest.raises(TypeError):
        on_missing() | "daily"  # type: ignore[operator]


@pytest.mark.parametrize(("args", "message"), [
    (("0 2 * *",), "has 4 fields"),
    (("0 25 * * *",), "not a valid cron"),
    (("0 0 30 2 *",), "never fires"),
    (("0 2 * * *", "Paris"), "unknown time zone 'Paris'"),
])
def test_a_bad_on_cron_says_where(args, message):
    with pytest.raises(DefinitionError, match=message) as raised:
        on_cron(*args)
    assert raised.value.location is not None
    assert raised.value.location.file == __file__ and raised.value.location.line > 0


def test_only_a_cron_tick_may_fire_for_a_fresh_node_which_lets_a_tick_skip_fresh_nodes() -> None:
    cron = on_cron("0 * * * *")
    kinds = [on_missing(), on_upstream_change(), cron]
    combos = [*kinds, *(a | b for a in kinds for b in kinds), *(a & b for a in kinds for b in kinds)]
    fresh = Status("n", FRESH)
    for condition in combos:
        for facts in (Facts("n", fresh, NOW), Facts("n", fresh, NOW, previous=datetime(2026, 3, 30, 10, 30, tzinfo=UTC))):
            if condition.evaluate(facts).fire:
                assert condition.may_fire_when_fresh(), condition
    assert not (on_missing() | on_upstream_change()).may_fire_when_fresh()
    assert (on_missing() | cron).may_fire_when_fresh() and not (on_missing() & cron).may_fire_when_fresh()
