"""Selections of the graph, one syntax for the CLI and the terminal browser.

A selection is a union of terms: ``name``, ``+name`` (with every upstream), ``name+`` (with every downstream),
``+name+``, ``group:x``, ``tag:x`` (``tag:key`` or ``tag:key=value``), ``kind:python|source``,
``status:fresh|stale|missing|failed``, and ``*`` wildcards in names (``finance.*``). The ``+`` marks work on
every term. No term at all selects everything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assets_core.errors import SelectionError, did_you_mean
from assets_core.planning.graph import AssetGraph
from assets_core.planning.plan import STATUSES, Status

FIELDS = ("group", "tag", "kind", "status")


@dataclass(frozen=True)
class Term:
    field: str  # "name" or one of FIELDS
    value: str
    upstream: bool = False
    downstream: bool = False

    def __str__(self) -> str:
        core = self.value if self.field == "name" else f"{self.field}:{self.value}"
        return ("+" if self.upstream else "") + core + ("+" if self.downstream else "")


@dataclass(frozen=True)
class Selection:
    """An immutable union of terms.

    >>> str(parse_selection(["+orders", "group:finance"]))
    '+orders group:finance'
    """

    terms: tuple[Term, ...] = ()

    def __str__(self) -> str:
        return " ".join(str(t) for t in self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def resolve(self, graph: AssetGraph, statuses: Mapping[str, Status] | None = None) -> set[str]:
        """The asset names selected; raise :class:`SelectionError` for a term that matches nothing."""
        if not self.terms:
            return set(graph.names)
        chosen: set[str] = set()
        for term in self.terms:
            matched = _match(term, graph, statuses)
            chosen |= matched
            if term.upstream:
                chosen |= graph.dag.ancestors(matched)
            if term.downstream:
                chosen |= graph.dag.descendants(matched)
        return chosen


def parse_selection(texts: Iterable[str]) -> Selection:
    """Parse selection words (several words, or commas within one, make a union).

    >>> parse_selection(["+a+,tag:pii"]).terms[0]
    Term(field='name', value='a', upstream=True, downstream=True)
    """
    terms = []
    for text in texts:
        for word in text.replace(",", " ").split():
            terms.append(_parse_term(word))
    return Selection(tuple(terms))


def _parse_term(word: str) -> Term:
    upstream, downstream = word.startswith("+"), word.endswith("+")
    core = word.strip("+")
    if not core:
        raise SelectionError(f"'{word}' selects nothing: write a name, e.g. '+orders' or 'orders+'")
    field, sep, value = core.partition(":")
    if not sep:
        return Term("name", core, upstream, downstream)
    if field not in FIELDS or not value:
        raise SelectionError(
            f"'{word}' is not a selection term: use name, +name, name+, "
            + ", ".join(f"{f}:VALUE" for f in FIELDS) + did_you_mean(field, FIELDS))
    if field == "status" and value not in STATUSES:
        raise SelectionError(f"'{word}': status is one of {', '.join(STATUSES)}{did_you_mean(value, STATUSES)}")
    return Term(field, value, upstream, downstream)


def _match(term: Term, graph: AssetGraph, statuses: Mapping[str, Status] | None) -> set[str]:
    if term.field == "name":
        return _match_name(term, graph)
    if term.field == "status":
        if statuses is None:
            raise SelectionError(f"'{term}' needs the assets' statuses, which this command does not compute")
        return {name for name, status in statuses.items() if status.status == term.value}
    values = {item.name: _values(item, term.field) for item in graph}
    matched = {name for name, vals in values.items() if term.value in vals}
    if not matched and term.field in ("group", "kind", "tag"):
        known = sorted({v for vals in values.values() for v in vals})
        if not known:
            raise SelectionError(f"'{term}' matches no asset; no asset has a {term.field}")
        raise SelectionError(
            f"'{term}' matches no asset; known {term.field}s: {', '.join(known)}{did_you_mean(term.value, known)}")
    if not matched:
        raise SelectionError(f"'{term}' matches no asset")
    return matched


def _match_name(term: Term, graph: AssetGraph) -> set[str]:
    if any(ch in term.value for ch in "*?["):
        matched = set(fnmatch.filter(graph.names, term.value))
        if not matched:
            raise SelectionError(f"'{term}' matches no asset name")
        return matched
    if term.value not in graph:
        raise SelectionError(f"'{term.value}' is not an asset{did_you_mean(term.value, graph.names)}")
    return {term.value}


def _values(item: object, field: str) -> set[str]:
    if field == "group":
        return {item.group}  # type: ignore[attr-defined]
    if field == "kind":
        return {item.kind}  # type: ignore[attr-defined]
    tags = item.tags  # type: ignore[attr-defined]
    return set(tags) | {tag.partition("=")[0] for tag in tags}
