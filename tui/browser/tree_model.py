"""What the asset tree shows, as plain values: assets in groups, each with a status glyph, a colour and an age.

The tree widget asks these functions what to draw; nothing here knows Textual, so all of it is tested alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text

from assets_core.planning.graph import AssetGraph
from assets_core.planning.plan import Status
from assets_core.planning.selection import parse_selection
from assets_core.planning.state import Event
from tui import formatting
from tui.formatting import STATUS_STYLE

PENDING = "pending"  # the word shown while statuses are being computed
PAGE = 500  # a group with more assets than this shows them in pages, each a node of its own
Now = Callable[[], datetime]  # the clock the browser reads (a fixed one in tests)
ORDER = ("failed", "running", "stale", "missing", "fresh", "source", PENDING)  # summary order, worst first


@dataclass(frozen=True)
class Badge:
    """A status as people see it: a word, a glyph and a colour (the colour is never the only cue)."""

    word: str
    glyph: str
    colour: str

    def text(self) -> Text:
        """The glyph and the word in the colour.

        >>> badge("python", "stale").text().plain
        '~ stale'
        """
        return Text(f"{self.glyph} {self.word}", style=self.colour)


def badge(kind: str, status: str | None) -> Badge:
    """The badge of a status; a fresh source shows as a source, an unknown status as pending.

    >>> badge("source", "fresh"), badge("python", None).word
    (Badge(word='source', glyph='◆', colour='magenta'), 'pending')
    """
    if status is None:
        return Badge(PENDING, "·", "dim")
    word = "source" if kind == "source" and status == "fresh" else status
    glyph, colour = STATUS_STYLE.get(word, ("?", ""))
    return Badge(word, glyph, colour)


@dataclass(frozen=True)
class AssetNode:
    """A tree node that is one asset."""

    name: str


@dataclass(frozen=True)
class GroupNode:
    """A tree node that holds assets: a group, or one page of a big group (then ``pages`` is empty)."""

    label: str
    assets: tuple[str, ...]
    pages: tuple[GroupNode, ...] = ()


def group_assets(graph: AssetGraph, names: Iterable[str] | None = None) -> tuple[GroupNode, ...]:
    """The assets (all, or only ``names``) by group, groups and assets sorted by name; big groups in pages.

    >>> from assets_core.declaring.definitions import asset
    >>> a, b = asset(name="fin.b")(lambda: 1), asset(name="fin.a")(lambda: 1)
    >>> group_assets(AssetGraph.build([a, b]))
    (GroupNode(label='fin', assets=('fin.a', 'fin.b'), pages=()),)
    """
    by_group: dict[str, list[str]] = {}
    for name in graph.names if names is None else names:
        by_group.setdefault(graph[name].group, []).append(name)
    return tuple(_group(group, sorted(members)) for group, members in sorted(by_group.items()))


def _group(label: str, members: list[str]) -> GroupNode:
    if len(members) <= PAGE:
        return GroupNode(label, tuple(members))
    pages = tuple(GroupNode(f"{chunk[0]} … {chunk[-1]}", tuple(chunk))
                  for chunk in (members[i:i + PAGE] for i in range(0, len(members), PAGE)))
    return GroupNode(label, tuple(members), pages)


class StatusBoard:
    """The status of every asset as shown now: the last snapshot's, overridden by a run under way."""

    def __init__(self, graph: AssetGraph):
        self.graph = graph
        self.statuses: Mapping[str, Status] = {}
        self.materialized_at: dict[str, datetime] = {}
        self.live: dict[str, str] = {}  # asset -> running / fresh / failed, from the events of a run
        self.loaded = False

    def load(self, statuses: Mapping[str, Status], materialized_at: Mapping[str, datetime]) -> None:
        """Take a new snapshot's statuses; what a run said before is forgotten."""
        self.statuses = statuses
        self.materialized_at = dict(materialized_at)
        self.live.clear()
        self.loaded = True

    def status(self, name: str) -> str | None:
        """The status word of an asset (``None`` while statuses are being computed)."""
        live = self.live.get(name)
        if live is not None:
            return live
        found = self.statuses.get(name)
        return found.status if found is not None else None

    def badge(self, name: str) -> Badge:
        return badge(self.graph[name].kind, self.status(name))

    def apply(self, event: Event) -> str | None:
        """Show what a run's event says; returns the asset whose status changed, if any."""
        name = event.asset
        if name is None or name not in self.graph:
            return None
        if event.kind == "started":
            self.live[name] = "running"
        elif event.kind == "materialized":
            self.live[name] = "fresh"
            self.materialized_at[name] = event.created_at
        elif event.kind == "failed":
            self.live[name] = "failed"
        elif event.kind == "skipped":
            self.live.pop(name, None)
        else:
            return None
        return name

    def counts(self, names: Iterable[str]) -> Counter[str]:
        """How many of ``names`` show each status word."""
        return Counter(self.badge(name).word for name in names)


def age_text(moment: datetime | None, now: datetime) -> str:
    """How long ago an asset was last materialized.

    >>> from datetime import timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> age_text(t, t.replace(hour=3)), age_text(None, t)
    ('3h ago', '')
    """
    return formatting.age(moment, now) if moment is not None else ""


def asset_label(name: str, shown: Badge, age: str) -> Text:
    """An asset's line in the tree: its glyph in its colour, its name, and its age dimmed.

    >>> asset_label("orders", badge("python", "fresh"), "5m ago").plain
    '✓ orders  5m ago'
    """
    text = Text.assemble((shown.glyph, shown.colour), " ", name)
    if age:
        text.append(f"  {age}", style="dim")
    return text


def group_label(label: str, counts: Mapping[str, int]) -> Text:
    """A group's line: its name, how many assets, and a count per status glyph, worst first.

    >>> group_label("marts", {"fresh": 3, "stale": 1}).plain
    'marts 4  ~1 ✓3'
    """
    text = Text.assemble((label, "bold"), f" {sum(counts.values())} ")
    for word in sorted(counts, key=lambda w: ORDER.index(w) if w in ORDER else len(ORDER)):
        shown = badge("python", None) if word == PENDING else Badge(word, *STATUS_STYLE.get(word, ("?", "")))
        text.append(f" {shown.glyph}{counts[word]}", style=shown.colour)
    return text


def select(graph: AssetGraph, text: str, statuses: Mapping[str, Status] | None) -> frozenset[str] | None:
    """The assets a filter keeps, in the selection syntax of the command line (``None``: no filter).

    Raises:
        SelectionError: a term is malformed or matches nothing.

    >>> from assets_core.declaring.definitions import asset
    >>> a = asset(name="a")(lambda: 1)
    >>> b = asset(name="b", inputs={"x": "a"})(lambda x: x)
    >>> sorted(select(AssetGraph.build([a, b]), "a+", None)), select(AssetGraph.build([a]), "  ", None)
    (['a', 'b'], None)
    """
    words = text.split()
    if not words:
        return None
    return frozenset(parse_selection(words).resolve(graph, statuses))


def filter_summary(text: str, shown: int, total: int) -> str:
    """The line above a filtered tree.

    >>> filter_summary("status:stale", 3, 12)
    'status:stale  3 of 12 assets'
    """
    return f"{text}  {shown} of {total} assets"



@dataclass
class RunProgress:
    """How far a run started from the browser has got, from its events (what the status line says)."""

    total: int
    run_id: str = ""
    done: int = 0
    failed: int = 0
    running: list[str] = field(default_factory=list)

    def apply(self, event: Event) -> None:
        self.run_id = event.run_id
        if event.asset is None:
            return
        if event.kind == "started":
            self.running.append(event.asset)
        elif event.kind in ("materialized", "skipped", "failed"):
            self.done += 1
            self.failed += event.kind == "failed"
            if event.asset in self.running:
                self.running.remove(event.asset)

    def text(self) -> str:
        """>>> progress = RunProgress(3)
        >>> progress.apply(Event("r1", "started", "", asset="a")); progress.text()
        'run r1: 0 of 3 done  ▶ a'
        """
        text = f"run {self.run_id or '…'}: {self.done} of {self.total} done"
        if self.failed:
            text += f", {self.failed} failed"
        if self.running:
            more = f" +{len(self.running) - 3}" if len(self.running) > 3 else ""
            text += "  ▶ " + ", ".join(self.running[:3]) + more
        return text


def fuzzy_candidates(names: Iterable[str], query: str, limit: int) -> list[str]:
    """At most ``limit`` names holding the query's characters in order (what a fuzzy matcher can score above
    zero), found with one regular expression rather than scoring every name of a big project.

    >>> fuzzy_candidates(["orders", "customers", "order_items"], "oit", 10)
    ['order_items']
    """
    pattern = re.compile(".*?".join(re.escape(ch) for ch in query.replace(" ", "")), re.IGNORECASE)
    found = []
    for name in names:
        if pattern.search(name):
            found.append(name)
            if len(found) >= limit:
                break
    return found


def summary_label(counts: Mapping[str, int]) -> Text:
    """The status line's count of every asset by status, worst first.

    >>> summary_label({"fresh": 2, "failed": 1}).plain
    'assets 3  ✗1 ✓2'
    """
    return group_label("assets", counts)
