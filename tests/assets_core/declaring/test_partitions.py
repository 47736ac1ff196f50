"""Partitionings (keys, windows, selection, DST) and the mappings between an asset and its upstream."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets_core.declaring.partition_mapping import check_mapping, downstream_keys, time_reads, upstream_keys
from assets_core.declaring.partitions import (
    DynamicPartitions,
    MultiPartitions,
    PartitionError,
    Partitions,
    StaticPartitions,
    Window,
)
from assets_core.declaring.time_partitions import (
    DailyPartitions,
    HourlyPartitions,
    MonthlyPartitions,
    TimePartitions,
    WeeklyPartitions,
)
from assets_core.errors import DefinitionError, SelectionError

UTC = timezone.utc
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours(window: Window | None) -> float:
    assert window is not None
    return (window.end - window.start) / timedelta(hours=1)


# Keys and the `now` cut-off


def test_daily_keys_stop_at_the_last_complete_day() -> None:
    days = DailyPartitions("2026-01-01")
    assert days.keys(at("2026-01-05T12:00")) == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    assert days.keys(at("2026-01-05T00:00"))[-1] == "2026-01-04"
    assert days.keys(at("2026-01-04T23:59"))[-1] == "2026-01-03"
    assert days.keys(at("2026-01-01T10:00")) == []


def test_end_is_the_last_window_ending_at_or_before_it() -> None:
    assert DailyPartitions("2026-01-01", end="2026-01-03").keys(NOW) == ["2026-01-01", "2026-01-02"]
    assert DailyPartitions("2026-01-01", end="2026-01-03T12:00").keys(NOW) == ["2026-01-01", "2026-01-02"]
    assert DailyPartitions("2026-01-01", end="2027-01-01").keys(at("2026-01-03T00:00"))[-1] == "2026-01-02"


def test_hourly_weekly_and_monthly_keys() -> None:
    assert HourlyPartitions("2026-01-15T22:00").keys(at("2026-01-16T01:30")) == [
        "2026-01-15T22:00", "2026-01-15T23:00", "2026-01-16T00:00"]
    assert WeeklyPartitions("2026-01-14").keys(at("2026-01-27")) == ["2026-01-12", "2026-01-19"]
    assert MonthlyPartitions("2025-11-20").keys(at("2026-02-01")) == ["2025-11", "2025-12", "2026-01"]


def test_start_is_normalised_to_its_window_and_accepts_dates_and_datetimes() -> None:
    assert WeeklyPartitions(date(2026, 1, 14)).start == datetime(2026, 1, 12, tzinfo=UTC)
    assert MonthlyPartitions("2026-01-15").start == datetime(2026, 1, 1, tzinfo=UTC)
    assert HourlyPartitions(at("2026-01-15T03:30")).start == at("2026-01-15T03:00")
    assert DailyPartitions("2026-01-15") == DailyPartitions(date(2026, 1, 15))
    assert DailyPartitions("2026-01-15") != HourlyPartitions("2026-01-15")  # type: ignore[comparison-overlap]
    assert len({DailyPartitions("2026-01-15"), DailyPartitions(datetime(2026, 1, 15, 9, tzinfo=UTC))}) == 1


def test_an_aware_start_is_taken_in_the_partitionings_zone() -> None:
    paris = DailyPartitions(at("2026-01-14T23:30"), timezone="Europe/Paris")
    assert paris.keys(at("2026-01-16T00:00"))[0] == "2026-01-15"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"start": "2026-01-01", "timezone": "Europe/Pariss"}, ["unknown time zone", "Europe/Paris"]),
        ({"start": "2026-13-01"}, ["'2026-13-01' is not a date", "2026-01-15"]),
        ({"start": "2026-02-01", "end": "2026-01-01"}, ["end (2026-01-01) before they start"]),
    ],
)
def test_bad_arguments_are_definition_errors(arguments: dict[str, str], words: list[str]) -> None:
    with pytest.raises(DefinitionError) as raised:
        DailyPartitions(**arguments)
    for word in words:
        assert word in str(raised.value)


# Time zones and DST


@pytest.mark.parametrize(
    ("zone", "short_day", "long_day"),
    [("Europe/Paris", "2026-03-29", "2026-10-25"), ("America/New_York", "2026-03-08", "2026-11-01")],
)
def test_daily_windows_last_23_and_25_hours_on_dst_days(zone: str, short_day: str, long_day: str) -> None:
    days = DailyPartitions("2026-01-01", timezone=zone)
    assert hours(days.window(short_day)) == 23
    assert hours(days.window(long_day)) == 25
    assert hours(days.window("2026-06-01")) == 24
    assert days.window("2026-01-15").start.astimezone(days.zone).hour == 0


def test_hourly_keys_skip_the_hour_clocks_jump_over() -> None:
    paris = HourlyPartitions("2026-03-29", timezone="Europe/Paris")
    keys = paris.keys(at("2026-03-30T00:00"))
    day = [key for key in keys if key.startswith("2026-03-29")]
    assert len(day) == 23
    assert "2026-03-29T02:00" not in day
    assert paris.select("2026-03-29T01:00..2026-03-29T03:00", NOW) == ["2026-03-29T01:00", "2026-03-29T03:00"]
    assert hours(paris.window("2026-03-29T01:00")) == 1
    with pytest.raises(PartitionError, match="skip that hour"):
        paris.check_key("2026-03-29T02:00", NOW)
    with pytest.raises(PartitionError, match="skip that hour"):
        paris.window("2026-03-29T02:00")


@pytest.mark.parametrize(
    ("zone", "repeated"), [("Europe/Paris", "2026-10-25T02:00"), ("America/New_York", "2026-11-01T01:00")]
)
def test_the_repeated_hour_on_fall_back_is_one_partition_of_two_hours(zone: str, repeated: str) -> None:
    hourly = HourlyPartitions("2026-10-01", timezone=zone)
    day = [key for key in hourly.keys(NOW) if key.startswith(repeated[:10])]
    assert len(day) == 24 and day.count(repeated) == 1
    window = hourly.window(repeated)
    assert hours(window) == 2
    assert hourly.key_of(window.start + timedelta(minutes=90)) == repeated


def test_hourly_keys_agree_with_one_by_one_keys_across_dst() -> None:
    hourly = HourlyPartitions("2026-03-07T05:00", timezone="America/New_York")
    first, last = hourly.bounds(at("2026-11-03T07:00"))
    slow = [hourly.key_at(index) for index in range(first, last + 1) if hourly.exists(index)]
    assert hourly.keys(at("2026-11-03T07:00")) == slow
    assert slow[0] == "2026-03-07T05:00"


# Checking and selecting keys


def test_check_key_explains_what_is_wrong() -> None:
    days = DailyPartitions("2026-01-01")
    with pytest.raises(PartitionError, match="look like 2026-01-15"):
        days.check_key("2026-1-5", NOW)
    with pytest.raises(PartitionError, match="before the first partition 2026-01-01"):
        days.check_key("2025-12-31", NOW)
    with pytest.raises(PartitionError, match="not complete yet .the last complete one is 2026-11-28"):
        days.check_key("2026-11-29", NOW)
    with pytest.raises(PartitionError, match="a Monday"):
        WeeklyPartitions("2026-01-01").check_key("2026-01-14", NOW)
    assert issubclass(PartitionError, SelectionError)


def test_select_one_key_a_range_and_a_list() -> None:
    days = DailyPartitions("2026-01-01")
    now = at("2026-01-10")
    assert days.select("2026-01-03", now) == ["2026-01-03"]
    assert days.select("2026-01-03..2026-01-05", now) == ["2026-01-03", "2026-01-04", "2026-01-05"]
    assert days.select("2026-01-05, 2026-01-01,2026-01-05", now) == ["2026-01-01", "2026-01-05"]
    assert days.select("2026-01-08..2026-01-09,2026-01-01..2026-01-02", now) == [
        "2026-01-01", "2026-01-02", "2026-01-08", "2026-01-09"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("2026-01-05..2026-01-03", "runs backwards; write it as 2026-01-03..2026-01-05"),
        ("2026-01-03,,2026-01-04", "empty item"),
        ("2026-01-03..2026-02-30", "look like 2026-01-15"),
        ("2026-01-20", "not complete yet"),
    ],
)
def test_select_errors(spec: str, message: str) -> None:
    with pytest.raises(PartitionError, match=message):
        DailyPartitions("2026-01-01").select(spec, at("2026-01-10"))


def test_static_select_suggests_the_closest_key() -> None:
    regions = StaticPartitions(["eu", "us", "asia"])
    assert regions.select("us..asia", NOW) == ["us", "asia"]
    with pytest.raises(PartitionError, match="'euu' is not a key of static .eu, us, asia.; did you mean 'eu'"):
        regions.select("euu", NOW)
    with pytest.raises(PartitionError, match="its keys are eu, us, asia"):
        regions.select("zz", NOW)


def test_ranges_compress_runs_in_key_order() -> None:
    days = DailyPartitions("2026-01-01")
    now = at("2026-01-10")
    chosen = ["2026-01-05", "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-09", "2026-01-02"]
    assert days.ranges(chosen, now) == [("2026-01-01", "2026-01-03"), ("2026-01-05", "2026-01-05"),
                                        ("2026-01-09", "2026-01-09")]
    assert days.ranges([], now) == []
    with pytest.raises(PartitionError, match="not complete yet"):
        days.ranges(["2026-01-10"], now)


def test_placeholders_and_describe() -> None:
    both = MultiPartitions(date=DailyPartitions("2026-01-01"), region=StaticPartitions(["eu", "us"]))
    assert HourlyPartitions("2026-01-01").placeholders("2026-01-01T03:00") == {"date": "2026-01-01T03:00"}
    assert StaticPartitions(["eu"]).placeholders("eu") == {"key": "eu"}
    assert DynamicPartitions("customers").placeholders("acme") == {"key": "acme"}
    assert both.placeholders("2026-01-15|eu") == {"date": "2026-01-15", "region": "eu"}
    assert DailyPartitions("2026-01-01").describe() == "daily from 2026-01-01 in UTC"
    assert WeeklyPartitions("2026-01-01", "2026-03-01", "Europe/Paris").describe() == (
        "weekly from 2025-12-29 to 2026-02-23 in Europe/Paris")
    assert both.describe() == "multi (date: daily from 2026-01-01 in UTC, region: static [eu, us])"


# Static, dynamic and multi partitionings


@pytest.mark.parametrize(
    ("keys", "message"),
    [([], "at least one key"), (["a", "a", "b"], "repeat the key.s. a"), (["a", ""], "empty"),
     ("abc", "a list of keys"), (["a|b"], r"holds '\|'"), (["a,b"], "holds ','"), (["a..b"], r"holds '\.\.'"),
     (["a[1]"], r"holds '\['")],
)
def test_static_keys_must_be_usable(keys: list[str], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        StaticPartitions(keys)


def test_dynamic_keys_come_from_the_argument() -> None:
    customers = DynamicPartitions("customers")
    assert customers.keys(NOW, {"customers": ["b", "a", "b"]}) == ["b", "a"]
    assert customers.keys(NOW) == []
    assert customers.dynamic_names() == ("customers",)
    customers.check_new_key("acme")
    with pytest.raises(PartitionError, match=re.escape("'a|b' holds '|'")):
        customers.check_new_key("a|b")
    with pytest.raises(PartitionError, match="added at run time"):
        customers.check_key("c", NOW, {"customers": ["a"]})


def test_multi_keys_are_ordered_by_the_first_dimension() -> None:
    both = MultiPartitions(date=DailyPartitions("2026-01-01"), region=StaticPartitions(["eu", "us"]))
    now = at("2026-01-03")
    assert both.keys(now) == ["2026-01-01|eu", "2026-01-01|us", "2026-01-02|eu", "2026-01-02|us"]
    assert both.select("2026-01-01|us..2026-01-02|eu", now) == ["2026-01-01|us", "2026-01-02|eu"]
    assert both.window("2026-01-02|us") == Window(at("2026-01-02"), at("2026-01-03"))
    assert both.dimension_names == ("date", "region")
    same = MultiPartitions(date=DailyPartitions(date(2026, 1, 1)), region=StaticPartitions(["eu", "us"]))
    assert both == same and hash(both) == hash(same)
    assert both != MultiPartitions(region=StaticPartitions(["eu", "us"]), date=DailyPartitions("2026-01-01"))
    with pytest.raises(PartitionError, match="in dimension 'region'.*did you mean 'eu'"):
        both.check_key("2026-01-01|euu", now)
    with pytest.raises(PartitionError, match=re.escape("look like date|region")):
        both.check_key("2026-01-01", now)


def test_multi_needs_two_single_dimensions() -> None:
    with pytest.raises(DefinitionError, match="at least two"):
        MultiPartitions(date=DailyPartitions("2026-01-01"))
    inner = MultiPartitions(a=StaticPartitions(["x"]), b=StaticPartitions(["y"]))
    with pytest.raises(DefinitionError, match="dimension 'c' must be a single"):
        MultiPartitions(a=StaticPartitions(["x"]), c=inner)
    assert MultiPartitions(a=StaticPartitions(["x"]), b=StaticPartitions(["y"])).window("x|y") is None


def test_a_multi_window_comes_from_its_one_time_dimension_only() -> None:
    """The split into `time_partitions` keeps this: a user's own windowed dimension is not a time dimension,
    and two time dimensions give no window (without checking the key)."""

    class Windowed(StaticPartitions):
        def window(self, key: str) -> Window:
            return Window(at("2026-01-01T00:00"), at("2026-01-02T00:00"))

    day = MultiPartitions(date=DailyPartitions("2026-01-01"), region=Windowed(["eu"]))
    assert day.window("2026-01-02|eu") == Window(at("2026-01-02T00:00"), at("2026-01-03T00:00"))
    assert MultiPartitions(a=Windowed(["x"]), b=StaticPartitions(["y"])).window("x|y") is None
    both = MultiPartitions(day=DailyPartitions("2026-01-01"), hour=HourlyPartitions("2026-01-01"))
    assert both.window("not|keys") is None
    assert DailyPartitions.timed and not StaticPartitions.timed


def test_static_windows_are_none() -> None:
    assert StaticPartitions(["eu"]).window("eu") is None
    assert DynamicPartitions("d").window("x") is None


# Mappings

DAILY = DailyPartitions("2026-01-01", timezone="Europe/Paris")
HOURLY = HourlyPartitions("2026-01-01", timezone="Europe/Paris")
REGIONS = StaticPartitions(["eu", "us"])


def test_unpartitioned_sides() -> None:
    assert upstream_keys(DAILY, "2026-01-05", None, now=NOW).whole
    assert upstream_keys(None, None, REGIONS, now=NOW).keys == ("eu", "us")
    assert downstream_keys(None, None, REGIONS, now=NOW) == ("eu", "us")
    assert downstream_keys(REGIONS, "eu", None, now=NOW) == ()


def test_same_partitioning_reads_the_same_key() -> None:
    assert upstream_keys(REGIONS, "us", REGIONS, now=NOW).keys == ("us",)
    assert upstream_keys(DAILY, "2026-01-05", DAILY, now=NOW).keys == ("2026-01-05",)


@pytest.mark.parametrize(("day", "count"), [("2026-01-05", 24), ("2026-03-29", 23), ("2026-10-25", 24)])
def test_a_day_reads_its_hours(day: str, count: int) -> None:
    read = upstream_keys(DAILY, day, HOURLY, now=NOW).keys
    assert len(read) == count
    assert read[0] == f"{day}T00:00" and read[-1] == f"{day}T23:00"
    assert downstream_keys(HOURLY, read[5], DAILY, now=NOW) == (day,)


def test_an_hour_reads_its_day_and_a_week_its_days() -> None:
    assert upstream_keys(HOURLY, "2026-01-05T03:00", DAILY, now=NOW).keys == ("2026-01-05",)
    weeks = WeeklyPartitions("2026-01-05")
    days = upstream_keys(weeks, "2026-01-12", DailyPartitions("2026-01-01"), now=NOW).keys
    assert days == tuple(f"2026-01-{day}" for day in range(12, 19))
    assert downstream_keys(DailyPartitions("2026-01-01"), "2026-01-18", weeks, now=NOW) == ("2026-01-12",)


def test_a_utc_day_reads_the_paris_days_it_overlaps() -> None:
    read = upstream_keys(DailyPartitions("2026-01-01"), "2026-01-05", DAILY, now=NOW).keys
    assert read == ("2026-01-05", "2026-01-06")


def test_a_weekly_rollup_reads_seven_days_of_every_region() -> None:
    upstream = MultiPartitions(date=DailyPartitions("2026-01-01"), region=REGIONS)
    read = upstream_keys(WeeklyPartitions("2026-01-05"), "2026-01-12", upstream, now=NOW).keys
    assert len(read) == 14 and read[:3] == ("2026-01-12|eu", "2026-01-12|us", "2026-01-13|eu")
    downstream = MultiPartitions(date=DailyPartitions("2026-01-01"), region=REGIONS)
    assert upstream_keys(downstream, "2026-01-12|us", DailyPartitions("2026-01-01"), now=NOW).keys == ("2026-01-12",)
    assert upstream_keys(downstream, "2026-01-12|us", upstream, now=NOW).keys == ("2026-01-12|us",)
    assert downstream_keys(DailyPartitions("2026-01-01"), "2026-01-12", downstream, now=NOW) == (
        "2026-01-12|eu", "2026-01-12|us")


def test_dimensions_pair_by_name_and_static_dimensions_by_equality() -> None:
    down = MultiPartitions(region=REGIONS, day=DailyPartitions("2026-01-01"))
    up = MultiPartitions(day=HourlyPartitions("2026-01-01"), region=REGIONS, kind=StaticPartitions(["a", "b"]))
    read = upstream_keys(down, "us|2026-01-02", up, now=NOW).keys
    assert len(read) == 48
    assert read[:3] == ("2026-01-02T00:00|us|a", "2026-01-02T00:00|us|b", "2026-01-02T01:00|us|a")
    assert downstream_keys(up, "2026-01-02T05:00|eu|b", down, now=NOW) == ("eu|2026-01-02",)


def test_partitionings_without_a_common_dimension_are_a_declaration_problem() -> None:
    problem = check_mapping(REGIONS, StaticPartitions(["eu", "us", "asia"]))
    assert problem is not None and "share no time dimension" in problem
    assert check_mapping(DAILY, REGIONS) is not None
    assert check_mapping(DAILY, HOURLY) is None
    with pytest.raises(DefinitionError, match="partition them alike"):
        upstream_keys(REGIONS, "eu", StaticPartitions(["a"]), now=NOW)


@pytest.mark.parametrize(
    ("down", "up", "window", "message"),
    [
        (DAILY, DAILY, (0, -6), r"runs backwards; write it as \(-6, 0\)"),
        (REGIONS, REGIONS, (-1, 0), "needs one time dimension downstream"),
        (None, DAILY, (-1, 0), "unpartitioned asset has none"),
        (DAILY, None, (-1, 0), "partitioned upstream"),
        (MultiPartitions(date=DAILY, region=REGIONS), REGIONS, (-1, 0), "time dimension upstream"),
    ],
)
def test_window_problems(down: Partitions | None, up: Partitions | None, window: tuple[int, int], message: str) -> None:
    problem = check_mapping(down, up, window)
    assert problem is not None
    assert re.search(message, problem)


def test_a_window_reads_the_last_seven_days_and_counts_those_before_the_start() -> None:
    days = DailyPartitions("2026-01-01")
    read = upstream_keys(days, "2026-01-10", days, now=NOW, window=(-6, 0))
    assert read.keys == tuple(f"2026-01-{day:02d}" for day in range(4, 11)) and read.missing_before_start == 0
    early = upstream_keys(days, "2026-01-02", days, now=NOW, window=(-6, 0))
    assert early.keys == ("2026-01-01", "2026-01-02") and early.missing_before_start == 5
    hourly = upstream_keys(days, "2026-01-01", HourlyPartitions("2026-01-01"), now=NOW, window=(-1, 0))
    assert len(hourly.keys) == 24 and hourly.missing_before_start == 24
    assert downstream_keys(days, "2026-01-04", days, now=NOW, window=(-6, 0)) == tuple(
        f"2026-01-{day:02d}" for day in range(4, 11))


def test_upstream_partitions_not_complete_yet_are_left_out() -> None:
    read = upstream_keys(DailyPartitions("2026-01-01"), "2026-01-07", WeeklyPartitions("2026-01-01"),
                         now=at("2026-01-08"))
    assert read.keys == ()
    assert upstream_keys(DailyPartitions("2026-01-01"), "2026-01-05", DAILY, now=at("2026-01-06")).keys == (
        "2026-01-05",)


def test_a_key_the_downstream_lacks_is_an_error() -> None:
    with pytest.raises(PartitionError, match="not complete yet"):
        upstream_keys(DAILY, "2026-12-01", HOURLY, now=NOW)
    with pytest.raises(PartitionError, match="is needed"):
        upstream_keys(DAILY, None, HOURLY, now=NOW)


# Properties

ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"])
KINDS = st.sampled_from([DailyPartitions, HourlyPartitions, WeeklyPartitions, MonthlyPartitions])
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(kind=KINDS, zone=ZONES, moment=MOMENTS)
def test_keys_round_trip_through_windows(kind: type[TimePartitions], zone: str, moment: datetime) -> None:
    partitions = kind("2024-01-01", timezone=zone)
    key = partitions.key_of(moment)
    window = partitions.window(key)
    assert window.start <= moment < window.end
    assert partitions.key_of(window.start) == key
    assert partitions.key_of(window.end - timedelta(microseconds=1)) == key
    assert partitions.key_of(window.end) != key


@settings(max_examples=100, deadline=None)
@given(kind=KINDS, zone=ZONES, moment=MOMENTS)
def test_consecutive_windows_tile_time(kind: type[TimePartitions], zone: str, moment: datetime) -> None:
    partitions = kind("2024-01-01", timezone=zone)
    keys = partitions.keys(moment)[-30:]
    windows = [partitions.window(key) for key in keys]
    assert all(left.end == right.start for left, right in zip(windows, windows[1:]))
    assert not windows or windows[-1].end <= moment


@settings(max_examples=100, deadline=None)
@given(data=st.data(), zone=ZONES)
def test_ranges_expand_back_to_the_subset(data: st.DataObject, zone: str) -> None:
    partitions = data.draw(st.sampled_from([
        HourlyPartitions("2026-03-27", timezone=zone), DailyPartitions("2026-01-01", timezone=zone),
        MultiPartitions(date=DailyPartitions("2026-10-01", timezone=zone), region=REGIONS)]))
    now = at("2026-11-02")
    keys = partitions.keys(now)
    subset = data.draw(st.sets(st.sampled_from(keys), max_size=60))
    runs = partitions.ranges(subset, now)
    expanded = [key for first, last in runs for key in partitions.select(f"{first}..{last}", now)]
    assert expanded == sorted(subset, key=keys.index)
    positions = [(keys.index(first), keys.index(last)) for first, last in runs]
    assert all(left[1] + 1 < right[0] for left, right in zip(positions, positions[1:]))


PAIRS = [
    (DailyPartitions("2026-10-01", timezone="Europe/Paris"), HourlyPartitions("2026-10-20", timezone="US/Eastern")),
    (HourlyPartitions("2026-10-24", timezone="Europe/Paris"), DailyPartitions("2026-10-01", timezone="Europe/Paris")),
    (WeeklyPartitions("2026-09-01"), DailyPartitions("2026-09-20", timezone="Asia/Kolkata")),
    (DailyPartitions("2026-09-01"), MonthlyPartitions("2026-08-01", timezone="Europe/Paris")),
    (MultiPartitions(date=DailyPartitions("2026-10-20"), region=REGIONS), DailyPartitions("2026-10-22")),
    (WeeklyPartitions("2026-10-01"), MultiPartitions(date=DailyPartitions("2026-10-10"), region=REGIONS)),
]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), pair=st.sampled_from(PAIRS), window=st.sampled_from([None, (0, 0), (-6, 0), (-2, 1)]))
def test_downstream_keys_invert_upstream_keys(
    data: st.DataObject, pair: tuple[Partitions, Partitions], window: tuple[int, int] | None
) -> None:
    down, up = pair
    now = at("2026-11-05")
    down_key = data.draw(st.sampled_from(down.keys(now)))
    read = upstream_keys(down, down_key, up, now=now, window=window).keys
    near = bool(read) and data.draw(st.booleans())  # half the time, a key that is read, so both answers get tested
    up_key = data.draw(st.sampled_from(read if near else up.keys(now)))
    reads = up_key in read
    assert reads == (down_key in downstream_keys(up, up_key, down, now=now, window=window))
    assert all(key in up.keys(now) for key in read)


def test_a_window_near_now_reaches_only_complete_downstream_partitions() -> None:
    days = DailyPartitions("2026-01-01")
    readers = downstream_keys(days, "2026-11-25", days, now=NOW, window=(-6, 0))
    assert readers == ("2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28")
    assert downstream_keys(days, "2026-01-01", days, now=NOW, window=(-1, 1)) == ("2026-01-01", "2026-01-02")


def test_dynamic_dimensions_map_by_key() -> None:
    customers = DynamicPartitions("customers")
    both = MultiPartitions(date=DailyPartitions("2026-01-01"), customer=customers)
    dynamic = {"customers": ["acme", "globex"]}
    assert both.dynamic_names() == ("customers",)
    assert upstream_keys(both, "2026-01-02|globex", customers, now=NOW, dynamic=dynamic).keys == ("globex",)
    assert downstream_keys(customers, "acme", both, now=at("2026-01-03"), dynamic=dynamic) == (
        "2026-01-01|acme", "2026-01-02|acme")
    with pytest.raises(PartitionError, match="added at run time"):
        upstream_keys(both, "2026-01-02|initech", customers, now=NOW, dynamic=dynamic)


def test_key_of_needs_an_aware_moment() -> None:
    with pytest.raises(PartitionError, match="needs a time zone"):
        DailyPartitions("2026-01-01").key_of(datetime(2026, 1, 5))
    assert DailyPartitions("2026-01-01", timezone="Asia/Tokyo").key_of(at("2026-01-05T16:00")) == "2026-01-06"


TIME_PAIRS = [pair for pair in PAIRS if not any(isinstance(side, MultiPartitions) for side in pair)] + [
    (HourlyPartitions("2026-10-20", timezone="America/New_York"), HourlyPartitions("2026-10-22", timezone="UTC")),
    (MonthlyPartitions("2026-01-01"), HourlyPartitions("2026-10-20", end="2026-10-30", timezone="Europe/Paris")),
    # both in UTC (the default), which maps windows without consulting a time zone
    (DailyPartitions("2026-10-01"), HourlyPartitions("2026-10-20T05:00", end="2026-10-30T07:00")),
    (HourlyPartitions("2026-10-24"), DailyPartitions("2026-10-01")),
    (WeeklyPartitions("2026-09-01"), DailyPartitions("2026-09-20")),
    (MonthlyPartitions("2026-01-01"), HourlyPartitions("2026-10-20", end="2026-10-30")),
]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), pair=st.sampled_from(TIME_PAIRS), window=st.sampled_from([None, (0, 0), (-6, 0), (-2, 1)]))
def test_time_reads_of_many_keys_agree_with_upstream_keys_one_by_one(
    data: st.DataObject, pair: tuple[TimePartitions, TimePartitions], window: tuple[int, int] | None
) -> None:
    down, up = pair
    now = at("2026-11-05")
    keys = data.draw(st.lists(st.sampled_from(down.keys(now)), min_size=1, max_size=20))
    up_keys = up.keys(now)
    indexes = [down.index_of(key) for key in keys]
    for key, (slices, before, after) in zip(keys, time_reads(down, indexes, up, now=now, window=window)):
        expected = upstream_keys(down, key, up, now=now, window=window)
        assert tuple(k for start, stop in slices for k in up_keys[start:stop]) == expected.keys
        assert (before, after) == (expected.missing_before_start, expected.missing_after_end)


@settings(max_examples=100, deadline=None)
@given(kind=KINDS, zone=ZONES, moment=MOMENTS, span=st.integers(0, 2000))
def test_indexes_between_are_the_windows_that_exist(kind: type[TimePartitions], zone: str, moment: datetime,
                                                     span: int) -> None:
    partitions = kind("2024-01-01", timezone=zone)
    first = partitions.index_at(moment)
    expected = [index for index in range(first, first + span) if partitions.exists(index)]
    assert partitions.indexes_between(first, first + span - 1) == expected
