"""Write the example's input: one CSV of web events per day and region, always the same.

    python generate.py [OUT_DIR]      # default: data/ next to this script

Days 2026-01-05 (a Monday) to 2026-02-01 (a Sunday): four whole weeks, for the regions eu and us, so 56 files
`events_<day>_<region>.csv` with columns `ts,user_id,page,duration_ms` and a few hundred rows each (fewer at
weekends): visits of one to eight page views by one user, seconds to minutes apart. Each file's rows come from
a random generator seeded with its day and region, so regenerating one file gives the same bytes. About one row in a hundred is unusable (no user, or a negative duration), which
`clean_events` drops.
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

FIRST_DAY, DAYS = date(2026, 1, 5), 28
REGIONS = {"eu": 180, "us": 240}  # users per region
PAGES = ["/", "/pricing", "/docs", "/docs/install", "/blog", "/signup", "/login", "/account"]
PAGE_WEIGHTS = [30, 10, 20, 8, 12, 5, 10, 5]


def days() -> list[date]:
    return [FIRST_DAY + timedelta(days=offset) for offset in range(DAYS)]


def rows(day: date, region: str) -> list[list[str]]:
    """The rows of one file, sorted by time; seeded by day and region only."""
    rng = random.Random(f"web_events {day.isoformat()} {region}")
    count = rng.randint(250, 400) // (2 if day.weekday() >= 5 else 1)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    made: list[list[str]] = []
    while len(made) < count:  # visits: a user views 1 to 8 pages, a few seconds to minutes apart
        at = midnight + timedelta(seconds=rng.randrange(86_400 - 3_600))
        user = f"{region}-{rng.randint(1, REGIONS[region]):04d}"
        for _ in range(min(rng.randint(1, 8), count - len(made))):
            page = rng.choices(PAGES, PAGE_WEIGHTS)[0]
            duration = int(rng.lognormvariate(9, 0.8))  # around 8 s, a long tail
            flaw = rng.random()
            row = [at.strftime("%Y-%m-%dT%H:%M:%SZ"), "" if flaw < 0.005 else user, page,
                   str(-duration if 0.005 <= flaw < 0.01 else duration)]
            made.append(row)
            at += timedelta(milliseconds=duration) + timedelta(seconds=rng.randint(1, 90))
    return sorted(made)


def write(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for day in days():
        for region in REGIONS:
            path = out / f"events_{day.isoformat()}_{region}.csv"
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(["ts", "user_id", "page", "duration_ms"])
                writer.writerows(rows(day, region))
            written += 1
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "data"
    print(f"wrote {write(target)} files to {target}")
