"""The runs screen and the log view as plain values: run and backfill rows, which log lines a filter keeps, how a
line shows.

A filter is typed as words: ``level:warning`` (that level and worse), ``asset:orders``, and free text to search
for; ``l`` in the view cycles the level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import tzinfo

from rich.text import Text

from assets_core.application.backfills import Progress, describe
from assets_core.planning.state import BackfillRecord
from catalog import RunView
from catalog.browse import LogLine
from tui import formatting
from tui.browser.tab_model import moment

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LEVEL_STYLE = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red", "DEBUG": "dim"}
CYCLE = ("DEBUG", "WARNING", "ERROR")  # the levels ``l`` steps through


def rank(level: str) -> int:
    """How severe a level is (an unknown level counts as INFO).

    >>> rank("ERROR") > rank("warning") > rank("whatever") == rank("INFO")
    True
    """
    upper = level.upper()
    return LEVELS.index(upper) if upper in LEVELS else LEVELS.index("INFO")


@dataclass(frozen=True)
class LogFilter:
    """Which lines of a log are shown: at least ``level``, of ``asset`` only (if set), containing ``text``."""

    level: str = "DEBUG"
    asset: str | None = None
    text: str = ""

    def keeps(self, line: LogLine) -> bool:
        if rank(line.level) < rank(self.level):
            return False
        if self.asset is not None and line.asset != self.asset:
            return False
        return not self.text or self.text.lower() in f"{line.asset or ''} {line.kind} {line.message}".lower()

    def words(self) -> str:
        """The filter as the words that make it (what the filter box shows).

        >>> LogFilter("ERROR", "orders", "boom").words()
        'level:error asset:orders boom'
        """
        parts = [f"level:{self.level.lower()}"] if self.level != "DEBUG" else []
        parts += [f"asset:{self.asset}"] if self.asset else []
        return " ".join([*parts, self.text] if self.text else parts)

    def next_level(self) -> LogFilter:
        """The same filter one step further along DEBUG (everything), WARNING, ERROR, and back.

        >>> LogFilter().next_level().level, LogFilter("ERROR").next_level().level
        ('WARNING', 'DEBUG')
        """
        position = CYCLE.index(self.level) if self.level in CYCLE else 0
        return replace(self, level=CYCLE[(position + 1) % len(CYCLE)])


def parse_filter(text: str) -> LogFilter:
    """A filter from typed words; anything that is not ``level:`` or ``asset:`` is text to search for.

    >>> parse_filter("level:warn asset:orders connection reset")
    LogFilter(level='WARNING', asset='orders', text='connection reset')
    """
    level, asset, rest = "DEBUG", None, []
    for word in text.split():
        key, sep, value = word.partition(":")
        if sep and key == "level" and value:
            level = next((name for name in LEVELS if name.startswith(value.upper())), "DEBUG")
        elif sep and key == "asset" and value:
            asset = value
        else:
            rest.append(word)
    return LogFilter(level, asset, " ".join(rest))


def line_text(line: LogLine, zone: tzinfo | None, search: str = "") -> Text:
    """A log line: time, level, asset and kind, then the message; the searched text highlighted.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 1, 1, 9, 30, tzinfo=timezone.utc)
    >>> line_text(LogLine(1, "r", "log", "hello", "orders", "INFO", at), timezone.utc).plain
    '09:30:00 INFO    orders log: hello'
    """
    head = f"{line.created_at.astimezone(zone):%H:%M:%S} {line.level:<7} {line.asset or '-'} {line.kind}: "
    text = Text(head + line.message, style=LEVEL_STYLE.get(line.level.upper(), ""))
    if search:
        text.highlight_words([search], style="reverse", case_sensitive=False)
    return text


RUN_HEADERS = ("run", "status", "trigger", "started", "took", "done", "skipped", "failed", "selection")


def run_row(run: RunView, zone: tzinfo | None) -> tuple[str | Text, ...]:
    """A run as a row of the runs screen, in the order of :data:`RUN_HEADERS`; its status is a glyph and a word.

    >>> from datetime import datetime, timezone
    >>> start = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
    >>> row = run_row(RunView("r1", "tui", ("a+",), "failed", start, start.replace(minute=1), failed=1), timezone.utc)
    >>> [str(cell) for cell in row]
    ['r1', '✗ failed', 'tui', '2026-01-01 09:00:00', '1m00s', '0', '0', '1', 'a+']
    """
    glyph, colour = formatting.STATUS_STYLE.get(run.status, ("?", ""))
    return (run.run_id, Text(f"{glyph} {run.status}", style=colour), run.trigger, moment(run.started_at, zone),
            formatting.duration(run.duration) if run.ended_at else "running", str(run.materialized), str(run.skipped),
            str(run.failed), " ".join(run.selection) or "*")


def run_head(run: RunView, zone: tzinfo | None, shown: int, total: int) -> Text:
    """The line above a run's log: the run, its status, and how many of its lines the filter shows.

    >>> from datetime import datetime, timezone
    >>> start = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
    >>> run_head(RunView("r1", "tui", (), "running", start), timezone.utc, 3, 5).plain
    'run r1  ▶ running  tui, started 2026-01-01 09:00:00  3 of 5 lines'
    """
    glyph, colour = formatting.STATUS_STYLE.get(run.status, ("?", ""))
    took = f", took {formatting.duration(run.duration)}" if run.ended_at else ""
    return Text.assemble((f"run {run.run_id}", "bold"), "  ", (f"{glyph} {run.status}", colour),
                         f"  {run.trigger}, started {moment(run.started_at, zone)}{took}  {shown} of {total} lines")


BACKFILL_HEADERS = ("backfill", "status", "started", "progress", "what")
BAR = 8  # cells of a backfill's progress bar
BACKFILL_STYLE = {**formatting.STATUS_STYLE, "done": ("✓", "green")}


def backfill_row(record: BackfillRecord, progress: Progress, zone: tzinfo | None) -> tuple[str | Text, ...]:
    """A backfill as a row of the runs screen, in the order of :data:`BACKFILL_HEADERS`.

    >>> from datetime import datetime, timezone
    >>> start = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
    >>> record = BackfillRecord("b1", (), "2026-01-01..2026-01-04", "stale", "failed",
    ...                         ("events[2026-01-01]", "events[2026-01-02]"), start)
    >>> [str(cell) for cell in backfill_row(record, Progress(1, 1, 0), timezone.utc)]
    ['b1', '✗ failed', '2026-01-01 09:00', '████✗✗✗✗ 1 done · 1 failed · 0 left', \
'events: 2026-01-01..2026-01-04 (stale)']
    """
    glyph, colour = BACKFILL_STYLE.get(record.status, ("?", ""))
    started = moment(record.created_at, zone)[:-3]  # to the minute: the row fits in 120 columns
    return (record.backfill_id, Text(f"{glyph} {record.status}", style=colour), started, progress_text(progress),
            describe(record))


def progress_text(progress: Progress, width: int = BAR) -> Text:
    """How far a backfill got: a bar (done, failed, left) and the three counts.

    >>> progress_text(Progress(2, 1, 1), 8).plain
    '████✗✗░░ 2 done · 1 failed · 1 left'
    >>> progress_text(Progress(0, 0, 0), 4).plain
    '···· 0 done · 0 failed · 0 left'
    """
    done, failed, left = bar_cells(progress, width)
    counts = [(f" {progress.done} done", ""), (" · ", "dim"), (f"{progress.failed} failed", "red" if failed else ""),
              (" · ", "dim"), (f"{progress.remaining} left", "")]
    if not done + failed + left:
        return Text.assemble(("·" * width, "dim"), *counts)
    return Text.assemble(("█" * done, "green"), ("✗" * failed, "red"), ("░" * left, "dim"), *counts)


def bar_cells(progress: Progress, width: int) -> tuple[int, int, int]:
    """The cells of a bar ``width`` wide that are done, failed and left, each in proportion, but a failed or a
    left target gets a cell however few they are (no cells at all when there are no targets).

    >>> bar_cells(Progress(98, 1, 1), 10), bar_cells(Progress(1, 0, 3), 10), bar_cells(Progress(0, 0, 0), 10)
    ((8, 1, 1), (2, 0, 8), (0, 0, 0))
    >>> bar_cells(Progress(1, 2, 0), 10), bar_cells(Progress(0, 0, 7), 10), bar_cells(Progress(7, 0, 0), 10)
    ((3, 7, 0), (0, 0, 10), (10, 0, 0))
    """
    counts = (progress.done, progress.failed, progress.remaining)
    total = sum(counts)
    if not total:
        return 0, 0, 0
    cells = [count * width // total for count in counts]
    for i in (1, 2):
        if counts[i] and not cells[i]:
            cells[i] = 1
    while sum(cells) < width:  # to the count rounded down the most (on a tie, the later: a bar never flatters)
        cells[max(range(3), key=lambda i: (counts[i] * width / total - cells[i], i))] += 1
    while sum(cells) > width:  # a failed or left target took a cell: the widest part gives it
        cells[max(range(3), key=lambda i: cells[i])] -= 1
    return cells[0], cells[1], cells[2]
