"""Cron ticks in a time zone: which ticks passed between two moments, and which a schedule must run now.

Cron expressions are read by croniter (imported on first use, so that a project without schedules never loads
it), evaluated in the schedule's time zone, and returned as aware datetimes **in UTC**: two instants in one zone
that differ only by ``fold`` compare equal in Python, so ticks are compared and stored in UTC (as time
partitions' windows are) and shown in local time with :func:`local_text`.

Daylight saving time, in the words of a daily ``0 2 * * *`` schedule in Europe/Paris:

- spring forward (2026-03-29, 02:00 does not exist): croniter moves the tick to the first instant after the gap,
  03:00 CEST; the schedule fires once that day.
- fall back (2026-10-25, 02:00 happens twice): the schedule fires once, at the first 02:00 (CEST). A cron that
  fires every hour (hour field ``*`` or all 24 hours) fires on both 02:00s, as two real hours pass; any other
  cron fires once at a repeated wall-clock time (Vixie cron's rule, by hours).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from assets_core.errors import did_you_mean
from assets_core.imports import late_import

if TYPE_CHECKING:
    from assets_core.automation.declarations import Schedule
    from assets_core.declaring.partitions import Partitions

UTC = timezone.utc
TICK_LIMIT = 10_000  # ticks_between stops after this many unless told otherwise
COUNT_LIMIT = 1_000  # missed ticks left out are counted up to this many (croniter takes ~0.1 ms a tick)
_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_problem(cron: str) -> str | None:
    """What is wrong with a cron expression, or None when it is a valid five-field cron.

    >>> cron_problem("0 2 * * *") is None, cron_problem("@daily") is None
    (True, True)
    >>> cron_problem("0 2 * *")
    "'0 2 * *' has 4 fields; a cron has 5: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'"
    """
    if not isinstance(cron, str):
        return f"{cron!r} is not a cron expression; write one as text, e.g. '0 2 * * *'"
    fields = cron.split()
    if not (len(fields) == 5 or (len(fields) == 1 and fields[0].lower() in _ALIASES)):
        plural = "" if len(fields) == 1 else "s"
        aliases = f" (or one of {', '.join(_ALIASES)})" if cron.startswith("@") else ""
        return (f"'{cron}' has {len(fields)} field{plural}; a cron has 5: minute hour day-of-month month "
                f"day-of-week, e.g. '0 2 * * *'{aliases}")
    croniter = _croniter()
    if not croniter.is_valid(cron):
        return f"'{cron}' is not a valid cron expression; e.g. '0 2 * * *' is every day at 02:00"
    try:
        croniter(cron, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except ValueError:  # CroniterBadDateError: e.g. the 30th of February
        return f"'{cron}' never fires (no such date); check its day and month fields"
    return None


def zone_problem(name: str) -> str | None:
    """What is wrong with a time zone name, or None when it names an IANA zone.

    >>> zone_problem("Europe/Paris") is None
    True
    >>> zone_problem("Europe/Pariss")
    "unknown time zone 'Europe/Pariss'; did you mean 'Europe/Paris'..."
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        hint = did_you_mean(str(name), available_timezones()) or "; use an IANA name like 'Europe/Paris' or 'UTC'"
        return f"unknown time zone '{name}'{hint}"
    return None


def ticks_between(cron: str, timezone: str, after: datetime, until: datetime, *,
                  limit: int = TICK_LIMIT) -> list[datetime]:
    """The cron's ticks ``t`` with ``after < t <= until``, oldest first, in UTC; at most ``limit`` of them
    (the oldest). A caller that must know whether more exist asks for one more than it needs.

    >>> ticks = ticks_between("0 2 * * *", "Europe/Paris", _utc("2026-03-27T12:00"), _utc("2026-03-30T12:00"))
    >>> [local_text(t, "Europe/Paris") for t in ticks]
    ['2026-03-28 02:00 CET', '2026-03-29 03:00 CEST', '2026-03-30 02:00 CEST']
    """
    ticks: list[datetime] = []
    if limit <= 0:
        return ticks
    for tick in _ticks(cron, timezone, after):
        if tick > until:
            break
        ticks.append(tick)
        if len(ticks) >= limit:
            break
    return ticks


def next_tick(cron: str, timezone: str, after: datetime) -> datetime:
    """The first tick strictly after ``after``, in UTC.

    >>> local_text(next_tick("30 2 * * *", "Europe/Paris", _utc("2026-10-25T00:30")), "Europe/Paris")
    '2026-10-26 02:30 CET'
    """
    return next(_ticks(cron, timezone, after))


def last_tick(cron: str, timezone: str, at: datetime) -> datetime:
    """The latest tick at or before ``at``, in UTC.

    >>> local_text(last_tick("0 2 * * *", "Europe/Paris", _utc("2026-03-29T01:00")), "Europe/Paris")
    '2026-03-29 03:00 CEST'
    """
    return _last_tick(cron, timezone, _aware(at))


@lru_cache(maxsize=512)
def _last_tick(cron: str, timezone: str, at: datetime) -> datetime:
    """:func:`last_tick`, remembered: one evaluation asks it of thousands of assets' conditions at one moment
    (lru_cache is safe under threads; the answer depends on nothing else)."""
    moments = _croniter()(cron, at.astimezone(ZoneInfo(timezone)) + timedelta(seconds=1))
    while True:
        candidate: datetime = moments.get_prev(datetime).astimezone(UTC)
        if candidate > at:
            continue
        # croniter's get_prev can jump over a tick next to a DST change (its forward steps do not): walk forward
        # from the candidate to the last tick at or before `at`
        latest = None
        for tick in _ticks(cron, timezone, candidate - timedelta(seconds=1)):
            if tick > at:
                break
            latest = tick
        if latest is not None:
            return latest


@dataclass(frozen=True)
class DueTicks:
    """The ticks a schedule runs now, and how many missed ticks are left out.

    With ``catchup=False`` the left-out ticks are skipped for good. With ``catchup=True`` they wait: save
    ``evaluated_until`` as the schedule's last evaluation and the next evaluation continues from there, so a
    long downtime is caught up ``max_catchup`` ticks at a time and no tick is lost.
    """

    ticks: tuple[datetime, ...]
    left_out: int  # counted up to COUNT_LIMIT; see left_out_exact
    evaluated_until: datetime
    left_out_exact: bool = True

    def describe(self) -> str:
        """A short sentence for a tick record, e.g. '1 tick due; 3 older missed ticks skipped'."""
        text = f"{len(self.ticks)} tick(s) due"
        if self.left_out:
            more = "" if self.left_out_exact else " or more"
            text += f"; {self.left_out}{more} missed tick(s) left out"
        return text


def due_ticks(schedule: Schedule, last_evaluated: datetime | None, now: datetime) -> DueTicks:
    """The ticks ``schedule`` must run at ``now``, given when it was last evaluated.

    Never evaluated (``None``): a new schedule does not run the past; its first tick is the next one after now.
    ``catchup=False``: only the latest missed tick runs. ``catchup=True``: missed ticks run in order from the
    oldest, at most ``max_catchup`` per evaluation (the rest wait for the next; see :class:`DueTicks`).
    """
    if last_evaluated is None or last_evaluated >= now:
        return DueTicks((), 0, now)
    if schedule.catchup:
        wanted = schedule.max_catchup + COUNT_LIMIT + 1
        missed = ticks_between(schedule.cron, schedule.timezone, last_evaluated, now, limit=wanted)
        ticks = tuple(missed[: schedule.max_catchup])
        rest = len(missed) - len(ticks)
        until = ticks[-1] if rest else now
        return DueTicks(ticks, min(rest, COUNT_LIMIT), until, rest <= COUNT_LIMIT)
    latest = last_tick(schedule.cron, schedule.timezone, now)
    if latest <= last_evaluated:
        return DueTicks((), 0, now)
    older = ticks_between(schedule.cron, schedule.timezone, last_evaluated, latest, limit=COUNT_LIMIT + 2)
    skipped = len(older) - 1
    return DueTicks((latest,), min(skipped, COUNT_LIMIT), now, skipped <= COUNT_LIMIT)


def partition_for_tick(partitions: Partitions | None, tick: datetime) -> str | None:
    """The time partition a run at ``tick`` makes: the last window complete at the tick (a daily schedule
    at 02:00 runs yesterday's partition). None for partitions that are not time windows, or when no window
    is complete yet.

    >>> from assets_core.declaring.time_partitions import DailyPartitions
    >>> partition_for_tick(DailyPartitions("2026-01-01", timezone="Europe/Paris"), _utc("2026-03-29T00:00"))
    '2026-03-28'
    """
    if partitions is None or not partitions.timed:
        return None
    first, last = partitions.bounds(tick)  # type: ignore[attr-defined]  # every timed partitioning has bounds
    if last < first:
        return None
    return str(partitions.key_at(last))  # type: ignore[attr-defined]


def local_text(moment: datetime, timezone: str) -> str:
    """A moment as local time with the zone's abbreviation, for messages.

    >>> local_text(_utc("2026-03-29T01:00"), "Europe/Paris")
    '2026-03-29 03:00 CEST'
    """
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def _ticks(cron: str, timezone: str, after: datetime) -> Iterator[datetime]:
    """Every tick after ``after``, in UTC, with a repeated wall-clock time kept once (see the module doc)."""
    zone = ZoneInfo(timezone)
    every_hour = _fires_every_hour(cron)
    moments = _croniter()(cron, _aware(after).astimezone(zone))
    previous = after
    while True:
        tick = moments.get_next(datetime).astimezone(UTC)
        if tick <= previous:  # never go backwards, whatever the iterator does around a transition
            continue
        previous = tick
        if every_hour or not _repeated(tick, zone):
            yield tick


def _repeated(tick: datetime, zone: ZoneInfo) -> bool:
    """Whether ``tick`` is the second occurrence of its local wall-clock time (the clocks fell back)."""
    wall = tick.astimezone(zone).replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0)
    return first.utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset() and first.astimezone(UTC) != tick


@lru_cache(maxsize=256)
def _fires_every_hour(cron: str) -> bool:
    hours = _croniter().expand(cron)[0][1]
    return hours == ["*"] or len(hours) == 24


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"the moment {moment} needs a time zone (e.g. datetime.now(timezone.utc))")
    return moment


def _croniter() -> Any:
    with late_import():  # croniter is loaded only by projects with schedules or cron conditions
        from croniter import croniter  # type: ignore[import-untyped]
    return croniter


def _utc(text: str) -> datetime:
    """A UTC moment from ISO text (for the examples)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
