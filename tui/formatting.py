"""Text output of the command line: aligned tables whose status cells carry a glyph and a colour."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from assets_core.imports import LazyModule

_markup: Any = LazyModule("rich.markup")  # rich is imported by the first command that prints markup, not by --json

DRAWING_FORMATS = ("dot", "svg", "png")  # what `assets lineage --format` draws with Graphviz (tui.drawing)

STATUS_STYLE = {
    "fresh": ("✓", "green"),
    "stale": ("~", "yellow"),
    "missing": ("○", "blue"),
    "failed": ("✗", "red"),
    "running": ("▶", "cyan"),
    "source": ("◆", "magenta"),
    "success": ("✓", "green"),
    "interrupted": ("!", "red"),
    "materialized": ("✓", "green"),
    "skipped": ("-", "yellow"),
}


# C0 and C1 control characters and DEL, but newline and tab: what a terminal would obey rather than show.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """``text`` with rich's markup characters escaped, so that it prints as it is.

    >>> print(escape("[red]not red[/]"))
    \\[red]not red\\[/]
    """
    escaped: str = _markup.escape(text)
    return escaped


def visible(text: str) -> str:
    """``text`` with its control characters written out as escapes: a message a project wrote (an error, a
    log line) is shown on the terminal, never obeyed by it (``\\x1b[2J`` would clear the screen).

    >>> print(visible("boom\\x1b[2J\\r\\tdone"))
    boom\\x1b[2J\\r	done
    """
    return CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


class Cell:
    """A table cell: plain text for measuring, markup for printing."""

    def __init__(self, text: str, style: str = ""):
        self.text = text
        self.style = style

    def markup(self) -> str:
        return f"[{self.style}]{escape(self.text)}[/]" if self.style else escape(self.text)


def status_cell(status: str) -> Cell:
    glyph, colour = STATUS_STYLE.get(status, ("?", ""))
    return Cell(f"{glyph} {status}", colour)


def asset_status_cell(kind: str, status: str) -> Cell:
    """An asset's status as shown to people: a fresh source shows as a source."""
    return status_cell("source" if kind == "source" and status == "fresh" else status)


class Lines(list[str]):
    """Lines of rich markup that also know their plain text (what they show without colours), so that
    thousands of them can be written without rich parsing each one."""

    def __init__(self, markup: Sequence[str], plain: Sequence[str]) -> None:
        super().__init__(markup)
        self.plain = list(plain)


def table(headers: Sequence[str], rows: Sequence[Sequence[str | Cell]]) -> Lines:
    """Rows (rich markup) aligned under upper-case headers; the last column is never padded.

    >>> print("\\n".join(table(["a", "b"], [["x", "1"], ["long", Cell("2", "red")]])))
    [bold]A[/]     [bold]B[/]
    x     1
    long  [red]2[/]
    """
    cells = [[c if isinstance(c, Cell) else Cell(str(c)) for c in row] for row in rows]
    heads = [Cell(h.upper(), "bold") for h in headers]
    widths = [max(len(r[i].text) for r in [heads, *cells]) for i in range(len(headers))]
    lines, plain = [], []
    for row in [heads, *cells]:
        parts, texts = [], []
        for i, cell in enumerate(row):
            pad = "" if i == len(row) - 1 else " " * (widths[i] - len(cell.text) + 2)
            parts.append(cell.markup() + pad)
            texts.append(cell.text + pad)
        lines.append("".join(parts).rstrip())
        plain.append("".join(texts).rstrip())
    return Lines(lines, plain)


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit.

    >>> from datetime import timedelta
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> age(t, t + timedelta(minutes=5)), age(t, t + timedelta(days=2)), age(None)
    ('5m ago', '2d ago', 'never')
    """
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{max(int(seconds), 0)}s ago"


def duration(seconds: float | None) -> str:
    """A duration for people.

    >>> duration(0.0123), duration(75), duration(None)
    ('12ms', '1m15s', '-')
    """
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def size(count: int | None) -> str:
    """A byte count for people.

    >>> size(512), size(2048), size(None)
    ('512 B', '2.0 KiB', '-')
    """
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def moment(value: datetime | None) -> str:
    """A timestamp in local time, to the second."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"
