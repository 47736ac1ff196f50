"""Web events, partitioned: a CSV file per day and region, cleaned per partition, rolled up per week, summed
over a rolling 7-day window, and sessionized into an incremental table.

    events          source, day × region      data/events_{date}_{region}.csv
    clean_events    day × region              the usable rows, typed, with their date and region
    weekly_traffic  week                      per region: events, users, time on site (reads 7 days × 2 regions)
    rolling_7d      day                       per region: the same over the 7 days up to this one
    sessions        unpartitioned             sessions per day and region; recomputes only what changed

Set WEB_EVENTS_FAIL to partition keys of clean_events (`2026-01-14|eu,2026-01-20|us`) to make them fail.
"""

from __future__ import annotations

import logging
import os

import polars as pl

from assets_core import (
    DailyPartitions,
    MultiPartitions,
    Output,
    StaticPartitions,
    Upstream,
    WeeklyPartitions,
    asset,
    file_sensor,
    schedule,
    source_asset,
)

log = logging.getLogger(__name__)

# Bounded (end is exclusive), so the example has the same 28 days whatever today's date is.
DAYS = DailyPartitions("2026-01-05", end="2026-02-02")
WEEKS = WeeklyPartitions("2026-01-05", end="2026-02-02")
REGIONS = StaticPartitions(["eu", "us"])
DAY_REGION = MultiPartitions(date=DAYS, region=REGIONS)

SESSION_GAP_MINUTES = 30  # a user's visit more than this long after their previous one starts a new session

events = source_asset("events", "data/events_{date}_{region}.csv", partitions=DAY_REGION)


@asset(partitions=DAY_REGION, group="events")
def clean_events(events: pl.DataFrame, context) -> Output:
    """The usable events of one day and region: a user, a duration of zero or more; typed, with date and region."""
    if context.partition in os.environ.get("WEB_EVENTS_FAIL", "").split(","):
        raise RuntimeError(f"WEB_EVENTS_FAIL names {context.partition}: failing on purpose")
    day, region = context.partition.split("|")
    usable = events.filter(pl.col("user_id").is_not_null() & (pl.col("duration_ms") >= 0))
    frame = usable.select(
        pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"),
        pl.lit(day).str.to_date().alias("date"),
        pl.lit(region).alias("region"),
        "user_id",
        "page",
        pl.col("duration_ms").cast(pl.Int64),
    )
    dropped = events.height - frame.height
    context.log.info("%s: kept %d of %d rows", context.partition, frame.height, events.height)
    return Output(frame, metadata={"rows": frame.height, "dropped": dropped})


def traffic(frame: pl.DataFrame) -> pl.DataFrame:
    """Events, distinct users and time on site per region."""
    return (
        frame.group_by("region")
        .agg(events=pl.len(), users=pl.col("user_id").n_unique(), duration_ms=pl.col("duration_ms").sum(),
             days=pl.col("date").n_unique())
        .sort("region")
    )


@asset(partitions=WEEKS, group="reports")
def weekly_traffic(clean_events: pl.DataFrame, context) -> pl.DataFrame:
    """Per region, one week (Monday to Sunday): events, distinct users, time on site."""
    week = context.partition_window.start.date()
    return traffic(clean_events).select(pl.lit(week).alias("week"), pl.all())


@asset(partitions=DAYS, group="reports", inputs={"last_week": Upstream("clean_events", window=(-6, 0))})
def rolling_7d(last_week: pl.DataFrame, context) -> pl.DataFrame:
    """Per region, the 7 days up to and including this one (fewer at the start: `days` says how many)."""
    day = context.partition_window.start.date()
    return traffic(last_week).select(pl.lit(day).alias("day"), pl.all())


def sessionize(frame: pl.DataFrame) -> pl.DataFrame:
    """Sessions per day and region: a user's events with gaps of at most SESSION_GAP_MINUTES are one session."""
    gap = pl.duration(minutes=SESSION_GAP_MINUTES)
    starts = frame.sort("user_id", "ts").with_columns(
        new=(pl.col("ts").diff().over("date", "region", "user_id").fill_null(gap + gap) > gap)
    )
    per_session = starts.with_columns(session=pl.col("new").cum_sum().over("date", "region", "user_id")).group_by(
        "date", "region", "user_id", "session"
    ).agg(events=pl.len(), length_s=(pl.col("ts").max() - pl.col("ts").min()).dt.total_seconds())
    return per_session.group_by("date", "region").agg(
        sessions=pl.len(), events=pl.col("events").sum(), mean_events=pl.col("events").mean(),
        mean_length_s=pl.col("length_s").mean(),
    )


@asset(group="reports")
def sessions(clean_events: pl.LazyFrame, previous: pl.DataFrame | None) -> Output:
    """Sessions per day and region, kept incrementally: `previous` is this table as last stored; only the days
    and regions whose events changed (or that are new, or were made with another session gap) are sessionized
    again, the other rows are kept as they are."""
    fingerprints = clean_events.group_by("date", "region").agg(
        fingerprint=pl.struct(pl.all()).hash(seed=0).sum()
    ).with_columns(gap_minutes=pl.lit(SESSION_GAP_MINUTES)).collect()
    keys = ["date", "region", "fingerprint", "gap_minutes"]
    if previous is not None and previous.columns == SESSION_COLUMNS:  # else: the first run, or another shape
        kept = previous.join(fingerprints, on=keys, how="semi")  # rows whose day and region did not change
        todo = fingerprints.join(kept, on=keys, how="anti")
    else:
        kept, todo = None, fingerprints
    made = sessionize(clean_events.join(todo.lazy(), on=["date", "region"], how="semi").collect())
    made = made.join(todo, on=["date", "region"]).select(SESSION_COLUMNS)
    reused = 0 if kept is None else kept.height
    log.info("sessionized %d day × region partitions, kept %d rows from before", todo.height, reused)
    table = made if kept is None else pl.concat([kept, made], how="vertical_relaxed")
    return Output(table.sort("date", "region"), metadata={"computed": todo.height, "kept": reused})


SESSION_COLUMNS = ["date", "region", "sessions", "events", "mean_events", "mean_length_s", "fingerprint",
                   "gap_minutes"]


# Under `assets daemon`: every night at 02:00 Paris time, and soon after an events file lands or changes (the
# run is for that file's day and region, and what reads it).
nightly = schedule("nightly", "0 2 * * *", "clean_events+", timezone="Europe/Paris")
arrivals = file_sensor("arrivals", "data/events_*.csv", "clean_events+", interval_seconds=10)
