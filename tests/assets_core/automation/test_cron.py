"""Cron ticks in a time zone across DST, catch-up after downtime, and the partition a tick runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets_core.automation import cron
from assets_core.automation.cron import (
    COUNT_LIMIT,
    due_ticks,
    last_tick,
    local_text,
    next_tick,
    partition_for_tick,
    ticks_between,
)
from assets_core.automation.declarations import schedule
from assets_core.declaring.partitions import StaticPartitions
from assets_core.declaring.time_partitions import (
    DailyPartitions,
    HourlyPartitions,
    MonthlyPartitions,
    WeeklyPartitions,
)

UTC = timezone.utc
PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(ticks: list[datetime], zone: str) -> list[str]:
    return [local_text(tick, zone) for tick in ticks]


def test_a_daily_tick_the_clocks_skip_fires_once_just_after_the_gap_in_paris():
    # 2026-03-29: 02:00 CET does not exist; croniter moves the tick to 03:00 CEST (01:00 UTC), once
    ticks = ticks_between("0 2 * * *", PARIS, utc("2026-03-27T12:00"), utc("2026-03-30T12:00"))
    assert local(ticks, PARIS) == ["2026-03-28 02:00 CET", "2026-03-29 03:00 CEST", "2026-03-30 02:00 CEST"]
    assert ticks[1] == utc("2026-03-29T01:00")


def test_a_daily_tick_in_the_repeated_hour_fires_once_on_fall_back_in_paris():
    ticks = ticks_between("30 2 * * *", PARIS, utc("2026-10-24T12:00"), utc("2026-10-26T12:00"))
    assert local(ticks, PARIS) == ["2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"]


def test_an_hourly_cron_fires_on_both_real_hours_when_the_clocks_fall_back():
    ticks = ticks_between("0 * * * *", PARIS, utc("2026-10-24T23:30"), utc("2026-10-25T02:30"))
    assert ticks == [utc("2026-10-25T00:00"), utc("2026-10-25T01:00"), utc("2026-10-25T02:00")]
    assert local(ticks, PARIS) == ["2026-10-25 02:00 CEST", "2026-10-25 02:00 CET", "2026-10-25 03:00 CET"]


def test_an_hourly_cron_skips_the_hour_the_clocks_skip():
    ticks = ticks_between("0 * * * *", PARIS, utc("2026-03-28T23:30"), utc("2026-03-29T02:30"))
    assert local(ticks, PARIS) == ["2026-03-29 01:00 CET", "2026-03-29 03:00 CEST", "2026-03-29 04:00 CEST"]


def test_new_york_changes_its_clocks_on_other_days():
    spring = ticks_between("30 2 * * *", NEW_YORK, utc("2026-03-07T12:00"), utc("2026-03-09T12:00"))
    assert local(spring, NEW_YORK) == ["2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT"]
    autumn = ticks_between("30 1 * * *", NEW_YORK, utc("2026-10-31T12:00"), utc("2026-11-02T12:00"))
    assert local(autumn, NEW_YORK) == ["2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"]


def test_ticks_are_utc_and_bounds_are_after_exclusive_until_inclusive():
    ticks = ticks_between("0 2 * * *", "UTC", utc("2026-01-01T02:00"), utc("2026-01-03T02:00"))
    assert ticks == [utc("2026-01-02T02:00"), utc("2026-01-03T02:00")]
    assert all(tick.tzinfo == UTC for tick in ticks)


def test_the_limit_keeps_the_oldest_ticks():
    ticks = ticks_between("* * * * *", "UTC", utc("2026-01-01T00:00"), utc("2027-01-01T00:00"), limit=3)
    assert ticks == [utc("2026-01-01T00:01"), utc("2026-01-01T00:02"), utc("2026-01-01T00:03")]


def test_next_and_last_tick_across_fall_back():
    # in the repeated hour (the second 02:15), the next 02:30 is the repeated one: skipped, so tomorrow's
    assert local_text(next_tick("30 2 * * *", PARIS, utc("2026-10-25T01:15")), PARIS) == "2026-10-26 02:30 CET"
    assert last_tick("30 2 * * *", PARIS, utc("2026-10-25T01:45")) == utc("2026-10-25T00:30")
    assert last_tick("0 2 * * *", "UTC", utc("2026-01-02T02:00")) == utc("2026-01-02T02:00")  # at counts
    # at the second 02:00 (CET), the last tick is the first 02:30 (CEST), which croniter's get_prev jumps over
    assert last_tick("30 2 * * *", PARIS, utc("2026-10-25T01:00")) == utc("2026-10-25T00:30")


def test_naive_moments_are_refused():
    with pytest.raises(ValueError, match="needs a time zone"):
        next_tick("0 2 * * *", "UTC", datetime(2026, 1, 1))


DST_DAYS = [datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC),
            datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)]
CRONS = ["0 2 * * *", "30 2 * * *", "0 * * * *", "*/20 * * * *", "15 1-3 * * *", "0 0 * * 1"]
around_a_change = st.sampled_from(DST_DAYS).flatmap(lambda day: st.lists(
    st.integers(0, 3 * 24 * 60).map(lambda minutes: day + timedelta(minutes=minutes)), min_size=3, max_size=3))


@settings(max_examples=150, deadline=None)
@given(cron=st.sampled_from(CRONS), zone=st.sampled_from([PARIS, NEW_YORK, "UTC"]), bounds=around_a_change)
def test_ticks_between_splits_at_any_moment(cron, zone, bounds):
    a, b, c = sorted(bounds)
    whole = ticks_between(cron, zone, a, c)
    assert whole == ticks_between(cron, zone, a, b) + ticks_between(cron, zone, b, c)
    assert whole == sorted(set(whole))  # in order, no tick twice
    if whole:
        assert next_tick(cron, zone, a) == whole[0]
        assert last_tick(cron, zone, c) == whole[-1]


def nightly(**options):
    return schedule("nightly", "0 2 * * *", "*", timezone=PARIS, **options)


def test_a_new_schedule_does_not_run_the_past():
    due = due_ticks(nightly(catchup=True), None, utc("2026-03-30T12:00"))
    assert due.ticks == () and due.left_out == 0 and due.evaluated_until == utc("2026-03-30T12:00")


def test_without_catchup_only_the_latest_missed_tick_runs():
    due = due_ticks(nightly(), utc("2026-03-25T12:00"), utc("2026-03-30T12:00"))
    assert local(list(due.ticks), PARIS) == ["2026-03-30 02:00 CEST"]
    assert due.left_out == 4 and due.evaluated_until == utc("2026-03-30T12:00")
    assert due.describe() == "1 tick(s) due; 4 missed tick(s) left out"


def test_nothing_is_due_between_two_ticks():
    due = due_ticks(nightly(), utc("2026-03-30T03:00"), utc("2026-03-30T12:00"))
    assert due.ticks == () and due.left_out == 0


def test_with_catchup_every_missed_tick_runs_in_order_across_the_dst_change():
    due = due_ticks(nightly(catchup=True), utc("2026-03-27T12:00"), utc("2026-03-30T12:00"))
    assert local(list(due.ticks), PARIS) == ["2026-03-28 02:00 CET", "2026-03-29 03:00 CEST",
                                             "2026-03-30 02:00 CEST"]
    assert due.left_out == 0 and due.evaluated_until == utc("2026-03-30T12:00")


def test_max_catchup_runs_the_oldest_and_the_rest_wait_for_the_next_evaluation():
    plan = nightly(catchup=True, max_catchup=2)
    first = due_ticks(plan, utc("2026-03-20T12:00"), utc("2026-03-26T12:00"))
    assert [t.day for t in first.ticks] == [21, 22] and first.left_out == 4
    assert first.evaluated_until == first.ticks[-1]
    second = due_ticks(plan, first.evaluated_until, utc("2026-03-26T12:00"))
    third = due_ticks(plan, second.evaluated_until, utc("2026-03-26T12:00"))
    assert [t.day for t in (*second.ticks, *third.ticks)] == [23, 24, 25, 26]
    assert third.left_out == 0 and third.evaluated_until == utc("2026-03-26T12:00")


def test_a_long_downtime_counts_what_it_leaves_out_up_to_a_limit():
    every_minute = schedule("often", "* * * * *", "*", catchup=True, max_catchup=5)
    due = due_ticks(every_minute, utc("2026-01-01T00:00"), utc("2026-01-10T00:00"))
    assert len(due.ticks) == 5 and due.left_out == COUNT_LIMIT and not due.left_out_exact
    assert "or more" in due.describe()


@pytest.mark.parametrize(("partitions", "tick", "key"), [
    (DailyPartitions("2026-01-01"), "2026-03-10T02:00", "2026-03-09"),
    (DailyPartitions("2026-01-01", timezone=PARIS), "2026-03-29T01:00", "2026-03-28"),  # 03:00 CEST
    (DailyPartitions("2026-01-01", timezone=PARIS), "2026-03-09T23:30", "2026-03-09"),  # 00:30 CET the 10th
    (HourlyPartitions("2026-01-01"), "2026-03-10T02:00", "2026-03-10T01:00"),
    (HourlyPartitions("2026-01-01", timezone=PARIS), "2026-03-29T01:00", "2026-03-29T01:00"),
    (WeeklyPartitions("2026-01-05"), "2026-03-11T02:00", "2026-03-02"),
    (MonthlyPartitions("2026-01-01"), "2026-03-01T02:00", "2026-02"),
    (DailyPartitions("2026-03-10"), "2026-03-10T02:00", None),  # no complete day yet
    (StaticPartitions(["eu", "us"]), "2026-03-10T02:00", None),
    (None, "2026-03-10T02:00", None),
])
def test_a_tick_runs_the_last_complete_window(partitions, tick, key):
    assert partition_for_tick(partitions, utc(tick)) == key


def test_a_tick_after_the_partitions_end_runs_the_last_partition():
    partitions = DailyPartitions("2026-01-01", end="2026-02-01")
    assert partition_for_tick(partitions, utc("2026-03-10T02:00")) == "2026-01-31"


def test_last_tick_is_remembered_per_moment_whatever_its_zone():
    cron._last_tick.cache_clear()
    at = utc("2026-03-30T12:34")
    first = last_tick("0 * * * *", PARIS, at)
    again = last_tick("0 * * * *", PARIS, at.astimezone(ZoneInfo(NEW_YORK)))  # the same instant
    assert first == again == utc("2026-03-30T12:00")
    assert cron._last_tick.cache_info().hits == 1


@settings(max_examples=40, deadline=None)
@given(cron=st.sampled_from(["0 2 * * *", "0 * * * *", "*/20 * * * *"]), zone=st.sampled_from([PARIS, NEW_YORK]),
       gaps=st.lists(st.integers(1, 12 * 60), min_size=1, max_size=6), max_catchup=st.integers(1, 5))
def test_catchup_runs_every_tick_once_however_the_evaluations_fall(cron, zone, gaps, max_catchup):
    plan = schedule("often", cron, "*", timezone=zone, catchup=True, max_catchup=max_catchup)
    start = last = utc("2026-10-24T20:00")  # the clocks fall back in Paris 5 hours later
    now, ran = start, []
    for minutes in gaps:
        now += timedelta(minutes=minutes)
        due = due_ticks(plan, last, now)
        assert len(due.ticks) <= max_catchup
        ran += due.ticks
        last = due.evaluated_until
    while last < now:  # the daemon keeps evaluating: what was left out comes next
        due = due_ticks(plan, last, now)
        ran += due.ticks
        last = due.evaluated_until
    assert ran == ticks_between(cron, zone, start, now)


@settings(max_examples=60, deadline=None)
@given(gaps=st.lists(st.integers(1, 3 * 24 * 60), min_size=1, max_size=8))
def test_without_catchup_each_evaluation_runs_at_most_the_latest_tick(gaps):
    plan = schedule("nightly", "0 2 * * *", "*", timezone=PARIS)
    last = now = utc("2026-03-27T00:00")
    for minutes in gaps:
        now += timedelta(minutes=minutes)
        due = due_ticks(plan, last, now)
        expected = ticks_between(plan.cron, PARIS, last, now)
        assert list(due.ticks) == expected[-1:] and due.left_out == max(len(expected) - 1, 0)
        last = due.evaluated_until
