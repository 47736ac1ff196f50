"""Full garbage collections are held back while the browser runs, and made when the user is idle."""

from __future__ import annotations

import gc
import time

from tests.tui.browser.conftest import drive, settle
from tui.browser.collector import BACKSTOP, HELD_BACK, IDLE_SECONDS, IdleCollector


def _young_collections() -> None:
    """Make generation-1 collections happen, so that a full one is pending."""
    gc.collect(1)


def test_a_started_collector_holds_full_collections_back_and_restores_the_thresholds():
    before = gc.get_threshold()
    collector = IdleCollector()
    collector.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], HELD_BACK)
    finally:
        collector.stop()
    assert gc.get_threshold() == before


def test_it_collects_only_when_the_user_is_idle_or_the_backstop_is_reached():
    collector = IdleCollector()
    collector.start()
    try:
        gc.collect()
        _young_collections()
        collector.touched()
        assert not collector.tick()  # a key was just pressed: no pause now
        collector._input = time.monotonic() - IDLE_SECONDS - 0.01  # the user stopped typing a while ago
        assert collector.tick() and collector.collections == 1
        assert gc.get_count()[2] == 0  # that was a full collection
        assert not collector.tick()  # nothing pending since
        collector.touched()
        for _ in range(BACKSTOP):
            _young_collections()
        assert collector.tick()  # typing without a pause for long: the backstop collects anyway
    finally:
        collector.stop()


def test_the_browser_collects_while_idle_and_restores_the_thresholds_on_exit(make_app):
    before = gc.get_threshold()
    app = make_app("customers")

    async def scenario(pilot):
        assert gc.get_threshold()[2] == HELD_BACK
        await pilot.press("down")
        await settle(pilot)
        _young_collections()
        made = app.collector.collections
        await pilot.pause(IDLE_SECONDS + 0.6)  # idle: the app's timer makes the held-back collection
        assert app.collector.collections > made

    drive(app, scenario)
    assert gc.get_threshold() == before
