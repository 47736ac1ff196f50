"""The Automation screen as plain values: a row per schedule, sensor or set of conditions, a row per tick, and the
line that says whether a daemon is running."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from rich.text import Text

from assets_core.application.automation_status import AutomationEntry
from assets_core.automation.records import FAILED, REQUESTED, SKIPPED, DaemonLease, TickRecord
from tui.browser.tab_model import moment

ENTRY_HEADERS = ("name", "kind", "state", "when", "last tick", "next tick")
TICK_HEADERS = ("at", "status", "runs", "why")
WHEN_WIDTH = 44  # characters of a cron, glob or conditions shown in the table (the line below shows them all)
TICK_STYLE = {REQUESTED: ("▶", "green"), SKIPPED: ("-", "dim"), FAILED: ("✗", "red")}
STATE_STYLE = {False: ("●", "green", "active"), True: ("‖", "yellow", "paused")}
EMPTY = ("no schedules, sensors or asset conditions are declared: add schedule(...), file_sensor(...) or "
         "@asset(automation=on_missing()) to the definitions module (all from assets_core)")


@dataclass(frozen=True)
class AutomationView:
    """What the screen shows at one moment: every automation, and the daemon's lease if it is alive."""

    entries: tuple[AutomationEntry, ...]
    daemon: DaemonLease | None  # None: no daemon is running (none ever ran, or its lease went stale)


def state_text(paused: bool) -> Text:
    """An automation's state, a glyph and a word.

    >>> state_text(True).plain, state_text(False).plain
    ('‖ paused', '● active')
    """
    glyph, colour, word = STATE_STYLE[paused]
    return Text(f"{glyph} {word}", style=colour)


def tick_status(status: str) -> Text:
    """A tick's status, a glyph and a word.

    >>> tick_status("requested").plain, tick_status("failed").plain, tick_status("odd").plain
    ('▶ requested', '✗ failed', '? odd')
    """
    glyph, colour = TICK_STYLE.get(status, ("?", ""))
    return Text(f"{glyph} {status}", style=colour)


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut.

    >>> shorten("0 2 * * * (UTC)", 20), shorten("orders: on_missing()", 10)
    ('0 2 * * * (UTC)', 'orders: o…')
    """
    return text if len(text) <= width else text[:width - 1] + "…"


def entry_row(entry: AutomationEntry, zone: tzinfo | None) -> tuple[str | Text, ...]:
    """An automation as a row, in the order of :data:`ENTRY_HEADERS`.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 1, 2, 2, tzinfo=timezone.utc)
    >>> tick = TickRecord("nightly", "schedule", "requested", "cron tick", at)
    >>> entry = AutomationEntry("nightly", "schedule", "0 2 * * * (UTC)", "+revenue", False, tick,
    ...                         at.replace(day=3))
    >>> [str(cell) for cell in entry_row(entry, timezone.utc)]
    ['nightly', 'schedule', '● active', '0 2 * * * (UTC)', '2026-01-02 02:00:00 ▶ requested', '2026-01-03 02:00:00']
    """
    last: str | Text = "-"
    if entry.last_tick is not None:
        last = Text.assemble(moment(entry.last_tick.evaluated_at, zone) + " ", tick_status(entry.last_tick.status))
    upcoming = moment(entry.next_tick, zone) if entry.next_tick is not None else "-"
    return (entry.name, entry.kind, state_text(entry.paused), shorten(entry.detail, WHEN_WIDTH), last, upcoming)


def tick_row(tick: TickRecord, zone: tzinfo | None) -> tuple[str | Text, ...]:
    """A tick as a row, in the order of :data:`TICK_HEADERS`: a sensor's error in red instead of its reason, on
    one line (a row is one line high).

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 1, 2, 2, tzinfo=timezone.utc)
    >>> error = "boom\\nat line 3"
    >>> [str(c) for c in tick_row(TickRecord("landed", "file_sensor", "failed", "raised", at, error=error), None)]
    ['2026-01-02 02:00:00', '✗ failed', '0', 'boom · at line 3']
    """
    why: str | Text = " · ".join(tick.reason.splitlines())
    if tick.error:
        why = Text(" · ".join(tick.error.splitlines()), style="red")
    return moment(tick.evaluated_at, zone), tick_status(tick.status), str(len(tick.requests)), why


def entry_line(entry: AutomationEntry) -> str:
    """The line above an automation's ticks: everything about it the row may have cut.

    >>> from datetime import datetime, timezone
    >>> entry_line(AutomationEntry("landed", "file_sensor", "in/*.csv, every 30 s", "raw+", True, None, None))
    'file_sensor landed (paused): in/*.csv, every 30 s; runs raw+'
    """
    state = " (paused)" if entry.paused else ""
    return f"{entry.kind} {entry.name}{state}: {entry.detail}; runs {entry.selection}"


def daemon_text(lease: DaemonLease | None, hint: bool = True) -> Text:
    """Whether a daemon is running (``lease``: the lease of a live daemon), for a status line; ``hint`` says how
    to start one.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 1, 2, tzinfo=timezone.utc)
    >>> daemon_text(DaemonLease("h", 42, "box", at, at)).plain
    'daemon: ● running (pid 42 on box)'
    >>> daemon_text(None).plain, daemon_text(None, hint=False).plain
    ("daemon: ○ not running; 'assets daemon' starts one", 'daemon: ○ not running')
    """
    if lease is None:
        return Text.assemble("daemon: ", ("○ not running", "yellow"), "; 'assets daemon' starts one" if hint else "")
    return Text.assemble("daemon: ", ("● running", "green"), f" (pid {lease.pid} on {lease.host})")
