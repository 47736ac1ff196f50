"""The detail pane's content as plain values: overview fields, the row-count sparkline, schema changes, history
rows, plan rows and an asset's code."""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from rich.text import Text

from assets_core.declaring.definitions import Asset
from assets_core.errors import Location
from assets_core.planning.plan import Plan, ReasonKind, Status
from assets_core.planning.state import FailureRecord, MaterializationRecord
from tui import formatting

BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Spark:
    """A series of row counts, oldest first, drawn as bars, with its smallest, latest and last change."""

    bars: str
    minimum: int
    maximum: int
    last: int
    change: int | None  # latest minus the one before (None: only one known)

    def summary(self) -> str:
        """The numbers beside the bars.

        >>> sparkline([100, 120, 90]).summary()
        'min 90  last 90  change -30 (-25.0%)'
        """
        text = f"min {self.minimum:,}  last {self.last:,}"
        if self.change is None:
            return text
        before = self.last - self.change
        share = f" ({self.change / before:+.1%})" if before else ""
        return f"{text}  change {self.change:+,}{share}"


def sparkline(values: Sequence[int | None]) -> Spark | None:
    """Bars for row counts, oldest first (an unknown count is a space); ``None`` when none is known.

    >>> sparkline([1, 8, None, 4]).bars, sparkline([5, 5]).bars, sparkline([None])
    ('▁█ ▄', '▁▁', None)
    """
    known = [v for v in values if v is not None]
    if not known:
        return None
    low, high = min(known), max(known)
    span = high - low

    def bar(value: int | None) -> str:
        if value is None:
            return " "
        return BARS[0] if span == 0 else BARS[round((value - low) / span * (len(BARS) - 1))]

    change = known[-1] - known[-2] if len(known) > 1 else None
    return Spark("".join(bar(v) for v in values), low, high, known[-1], change)


@dataclass(frozen=True)
class SchemaRow:
    """One column of the latest schema, or one the previous materialization had and the latest lacks."""

    column: str
    type: str
    change: str = ""  # "", "added", "changed" or "removed"
    previous_type: str = ""

    def describe(self) -> str:
        """The change in words, with a mark that does not rely on colour.

        >>> SchemaRow("n", "Int64", "changed", "Int32").describe(), SchemaRow("n", "Int64").describe()
        ('~ type was Int32', '')
        """
        return {"added": "+ added", "removed": "- removed", "changed": f"~ type was {self.previous_type}"}.get(
            self.change, "")


Schema = Sequence[tuple[str, str]]


def schema_changes(current: Schema | None, previous: Schema | None) -> tuple[SchemaRow, ...]:
    """The latest columns, each marked when it differs from the previous materialization, then removed ones.

    >>> [(r.column, r.change) for r in schema_changes([("id", "Int64"), ("v", "Float64")],
    ...                                               [("id", "Int32"), ("w", "String")])]
    [('id', 'changed'), ('v', 'added'), ('w', 'removed')]
    """
    if current is None:
        return ()
    if previous is None:
        return tuple(SchemaRow(column, kind) for column, kind in current)
    before = dict(previous)
    rows = []
    for column, kind in current:
        if column not in before:
            rows.append(SchemaRow(column, kind, "added"))
        elif before[column] != kind:
            rows.append(SchemaRow(column, kind, "changed", before[column]))
        else:
            rows.append(SchemaRow(column, kind))
    now = {column for column, _ in current}
    rows += [SchemaRow(column, kind, "removed") for column, kind in previous if column not in now]
    return tuple(rows)


def moment(value: datetime | None, zone: tzinfo | None) -> str:
    """A time in the browser's time zone, to the second.

    >>> from datetime import timezone
    >>> moment(datetime(2026, 1, 1, 12, 30, tzinfo=timezone.utc), timezone.utc), moment(None, None)
    ('2026-01-01 12:30:00', '-')
    """
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def count(value: int | None) -> str:
    """>>> count(1234567), count(None)
    ('1,234,567', '-')
    """
    return "-" if value is None else f"{value:,}"


HISTORY_HEADERS = ("run", "at", "took", "rows", "size", "data", "code")


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str | Text]]) -> Text:
    """Rows under bold headers in aligned columns, as one Text: drawn at once, however many rows.

    >>> print(text_table(["a", "bb"], [["xyz", "1"], ["w", Text("2", style="red")]]).plain)
    a    bb
    xyz  1
    w    2
    """
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    text = Text(no_wrap=True, overflow="crop")  # a narrow pane crops the last columns rather than fold rows
    for index, row in enumerate([headers, *rows]):
        for column, cell in enumerate(row):
            last = column == len(row) - 1
            piece = cell if isinstance(cell, Text) else Text(str(cell))
            if index == 0:
                piece.stylize("bold")
            text.append_text(piece)
            if not last:
                text.append(" " * (widths[column] - piece.cell_len + 2))
        if index < len(rows):
            text.append("\n")
    return text


def literal(cells: Sequence[str | Text]) -> tuple[Text, ...]:
    """Cells of a DataTable as text: a plain string would be read as markup (a partition key such as
    'sales[eu]' lost its key, a stray '[/]' in an error raised).

    >>> [cell.plain for cell in literal(["sales[eu]", Text("[/]")])]
    ['sales[eu]', '[/]']
    """
    return tuple(cell if isinstance(cell, Text) else Text(cell) for cell in cells)


def history_rows(records: Sequence[MaterializationRecord], zone: tzinfo | None) -> list[tuple[str, ...]]:
    """One row per materialization, newest first, in the order of :data:`HISTORY_HEADERS`."""
    return [(r.run_id, moment(r.created_at, zone), formatting.duration(r.duration), count(r.rows),
             formatting.size(r.bytes), r.data_version[:8], r.code_version[:8]) for r in records]


@dataclass(frozen=True)
class Overview:
    """What the Overview tab lists: labelled fields, the reasons of the status, and the row counts."""

    fields: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]
    spark: Spark | None


def where(location: Location | None, root: Path) -> str:
    """Where a definition lives, relative to the project folder when inside it.

    >>> where(Location("/srv/shop/defs.py", 12), Path("/srv/shop")), where(None, Path("/srv"))
    ('defs.py:12', '')
    """
    if location is None:
        return ""
    relative = os.path.relpath(location.file, root)
    shown = location.file if relative.startswith("..") else relative
    return f"{shown}:{location.line}" if location.line else shown


def overview(item: Asset, status: Status | None, code_version: str, history: Sequence[MaterializationRecord],
             failure: FailureRecord | None, zone: tzinfo | None, root: Path) -> Overview:
    """The overview of an asset from its definition, status and history (newest first)."""
    latest = history[0] if history else None
    fields = [("kind", item.kind), ("group", item.group), ("description", item.description),
              ("owners", ", ".join(item.owners)), ("tags", ", ".join(item.tags)),
              ("defined at", where(item.location, root)), ("source path", item.path or ""),
              ("code version", code_version[:12] + _recorded(code_version, latest))]
    if latest is not None:
        fields += [("data version", latest.data_version[:12]),
                   ("last run", f"{latest.run_id} at {moment(latest.created_at, zone)}, "
                                f"took {formatting.duration(latest.duration)}"),
                   ("rows", count(latest.rows)), ("size", formatting.size(latest.bytes))]
        fields += [(str(key), str(value)) for key, value in latest.metadata.items()]
    if failure is not None:
        fields.append(("last failure", f"{failure.run_id} at {moment(failure.created_at, zone)}: {failure.error}"))
    reasons = tuple(r.detail for r in status.reasons) if status is not None else ()
    spark = sparkline([r.rows for r in reversed(history)])
    return Overview(tuple((label, value) for label, value in fields if value), reasons, spark)


def _recorded(code_version: str, latest: MaterializationRecord | None) -> str:
    if latest is None or latest.code_version == code_version:
        return ""
    return f" (last materialized with {latest.code_version[:12]})"


@dataclass(frozen=True)
class Code:
    """An asset's code to show: the text, its language for highlighting, and where it starts."""

    text: str
    language: str
    start_line: int = 1
    where: str = ""


def code_of(item: Asset, root: Path) -> Code:
    """The function's source, the SQL, or what a source asset reads."""
    place = where(item.location, root)
    if item.kind == "sql":
        return Code(item.sql or "", "sql", 1, place)
    if item.fn is not None:
        try:
            lines, start = inspect.getsourcelines(item.fn)
            return Code("".join(lines), "python", start, place)
        except (OSError, TypeError) as error:
            return Code(f"# the source of {item.name} cannot be shown: {error}", "python", 1, place)
    options = "".join(f"\n  {key} = {value!r}" for key, value in item.read_options.items())
    return Code(f"# source asset: observes the files at\n{item.path}" + (f"\n# read with{options}" if options else ""),
                "python", 1, place)


PLAN_HEADERS = ("#", "asset", "why")
FORCED = "asked for by hand"  # a forced step's reason, as the browser forces what the user asks to run


def plan_rows(plan: Plan) -> list[tuple[str, str, str]]:
    """One row per step of a plan: its position, its asset, and why it runs.

    >>> from assets_core.planning.plan import Reason, Step
    >>> steps = (Step("a", (Reason(ReasonKind.FORCED, "--force"), Reason(ReasonKind.MISSING, "never"))),)
    >>> plan_rows(Plan(steps, frozenset()))
    [('1', 'a', 'asked for by hand; never')]
    """
    return [(str(i), step.asset, "; ".join(FORCED if r.kind == ReasonKind.FORCED else r.detail for r in step.reasons))
            for i, step in enumerate(plan.steps, 1)]
