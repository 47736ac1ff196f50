"""The selection syntax shared by the command line and the terminal browser."""

from __future__ import annotations

import pytest

from assets_core.declaring.definitions import asset, source_asset
from assets_core.errors import SelectionError
from assets_core.planning.graph import AssetGraph
from assets_core.planning.plan import Status
from assets_core.planning.selection import parse_selection


def _graph() -> AssetGraph:
    raw = source_asset("raw", "raw.csv", group="extract")

    @asset(group="extract", tags=["pii"])
    def customers(raw): return raw

    @asset(group="clean", tags={"tier": "gold"})
    def cleaned(customers): return customers

    @asset(group="clean")
    def other(): return 1

    @asset(name="finance.revenue", group="finance", inputs={"c": "cleaned", "o": "other"})
    def revenue(c, o): return c

    @asset(name="finance.report", group="finance", inputs={"r": "finance.revenue"})
    def report(r): return r

    return AssetGraph.build([raw, customers, cleaned, other, revenue, report])


def select(*words: str, statuses=None) -> set[str]:
    return parse_selection(words).resolve(_graph(), statuses)


def test_no_selection_is_everything():
    assert select() == set(_graph().names)


@pytest.mark.parametrize("words,expected", [
    (["cleaned"], {"cleaned"}),
    (["+cleaned"], {"raw", "customers", "cleaned"}),
    (["cleaned+"], {"cleaned", "finance.revenue", "finance.report"}),
    (["+finance.revenue+"], {"raw", "customers", "cleaned", "other", "finance.revenue", "finance.report"}),
    (["group:clean"], {"cleaned", "other"}),
    (["group:extract+"], {"raw", "customers", "cleaned", "finance.revenue", "finance.report"}),
    (["tag:pii"], {"customers"}),
    (["tag:tier"], {"cleaned"}),
    (["tag:tier=gold"], {"cleaned"}),
    (["kind:source"], {"raw"}),
    (["finance.*"], {"finance.revenue", "finance.report"}),
    (["other", "tag:pii"], {"other", "customers"}),
    (["other,tag:pii"], {"other", "customers"}),
])
def test_terms(words, expected):
    assert select(*words) == expected


def test_status_terms_need_and_use_statuses():
    statuses = {name: Status(name, "stale" if name == "other" else "fresh") for name in _graph().names}
    assert select("status:stale", statuses=statuses) == {"other"}
    assert select("status:stale+", statuses=statuses) == {"other", "finance.revenue", "finance.report"}
    with pytest.raises(SelectionError, match="needs the assets' statuses"):
        select("status:stale")


@pytest.mark.parametrize("words,message", [
    (["cleand"], "did you mean 'cleaned'"),
    (["group:clen"], "known groups: clean, extract, finance; did you mean .clean."),
    (["grup:clean"], "did you mean 'group'"),
    (["status:old"], "status is one of fresh, stale, missing, failed"),
    (["tag:nothing"], "matches no asset"),
    (["tag:pi"], "known tags: pii, tier, tier=gold; did you mean 'pii'"),
    (["nothing.*"], "matches no asset name"),
    (["+"], "selects nothing"),
])
def test_bad_terms_say_what_to_write(words, message):
    with pytest.raises(SelectionError, match=message.replace("+", r"\+")):
        select(*words)


def test_selection_prints_back_as_written():
    assert str(parse_selection(["+a", "b+", "group:x"])) == "+a b+ group:x"


def test_a_tag_term_in_a_project_without_tags_says_so():
    @asset
    def plain(): return 1

    with pytest.raises(SelectionError, match="'tag:daily' matches no asset; no asset has a tag"):
        parse_selection(["tag:daily"]).resolve(AssetGraph.build([plain]), None)
