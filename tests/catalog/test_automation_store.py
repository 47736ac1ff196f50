"""The catalog's automation records on real SQLite files: round trips, run keys used once, a tick and its state
in one transaction, requests claimed once by racing threads and processes, the daemon's lease, and the
migration from schema 4."""

from __future__ import annotations

import inspect
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from assets_core.automation.records import (
    FAILED,
    PENDING,
    REQUESTED,
    SCHEDULE,
    SENSOR,
    SKIPPED,
    STARTED,
    AutomationState,
    AutomationStore,
    DaemonLease,
    Moved,
    RequestRecord,
    TickRecord,
)
from assets_core.errors import CatalogError
from catalog import SCHEMA_VERSION, SqlCatalog, open_catalog, sqlite_url
from catalog.quick import QuickCatalog
from tests.catalog.conftest import T0, at, materialization, record_materialization

ROOT = Path(__file__).resolve().parents[2]
PARIS = timezone(timedelta(hours=2))  # a zone other than UTC: every time comes back in UTC
AUTOMATION_TABLES = ("automation_state", "tick", "run_request", "daemon_lease")
STALE = timedelta(seconds=60)


def request(origin: str = "nightly", run_key: str | None = None, **fields: Any) -> RequestRecord:
    fields.setdefault("created_at", T0)
    return RequestRecord(origin, fields.pop("trigger", f"schedule:{origin}"), fields.pop("selection", ("a",)),
                         run_key=run_key, **fields)


def tick(name: str = "nightly", *requests: RequestRecord, seconds: float = 0, **fields: Any) -> TickRecord:
    status = fields.pop("status", REQUESTED if requests else SKIPPED)
    return TickRecord(name, fields.pop("kind", SCHEDULE), status, fields.pop("reason", "due"), at(seconds),
                      requests=requests, **fields)


def _sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def test_the_sql_catalog_is_an_automation_store_to_the_type_checker(catalog: SqlCatalog) -> None:
    store: AutomationStore = catalog  # mypy checks this assignment structurally
    assert store.automation_states() == {} and store.list_ticks() == [] and store.daemon_lease() is None


def test_a_tick_and_its_requests_come_back_as_recorded_with_times_in_utc(catalog: SqlCatalog) -> None:
    made = request(run_key="2024-05-01", selection=("a", "b+"), partition="2024-04-30",
                   created_at=datetime(2024, 5, 1, 14, 0, 1, 250, tzinfo=PARIS))
    given = TickRecord("nightly", SCHEDULE, REQUESTED, "cron tick 02:00", datetime(2024, 5, 1, 14, 0, tzinfo=PARIS),
                       scheduled_for=datetime(2024, 5, 1, 2, 0, tzinfo=PARIS), requests=(made,))
    recorded = catalog.record_tick(given, Moved(last_tick=datetime(2024, 5, 1, 2, 0, tzinfo=PARIS)))
    assert recorded == [RequestRecord(**{**vars(made), "tick_id": given.tick_id})]

    [found] = catalog.list_ticks()
    assert found == TickRecord(**{**vars(given), "requests": tuple(recorded)})
    assert found.evaluated_at.tzinfo == timezone.utc and found.evaluated_at.hour == 12
    assert found.scheduled_for == datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)
    assert found.requests[0].created_at.tzinfo == timezone.utc
    assert (found.requests[0].selection, found.requests[0].status) == (("a", "b+"), PENDING)


def test_a_failed_tick_keeps_its_error(catalog: SqlCatalog) -> None:
    failed = tick("watch", kind=SENSOR, status=FAILED, reason="the sensor raised", error="boom (sensors.py:3)")
    assert catalog.record_tick(failed) == []
    assert catalog.list_ticks("watch") == [failed]


def test_record_tick_creates_and_moves_the_state_leaving_what_moved_does_not_give(catalog: SqlCatalog) -> None:
    catalog.record_tick(tick("watch", kind=SENSOR), Moved(cursor="c1"))
    [first] = catalog.automation_states().values()
    assert (first.name, first.kind, first.paused, first.cursor, first.last_tick) == ("watch", SENSOR, False, "c1", None)
    assert first.updated_at is not None and first.updated_at.tzinfo == timezone.utc

    catalog.record_tick(tick("watch", kind=SENSOR, seconds=30), Moved(last_tick=at(30).astimezone(PARIS)))
    catalog.record_tick(tick("watch", kind=SENSOR, seconds=60))  # no move: the state stays
    state = catalog.automation_states()["watch"]
    assert (state.cursor, state.last_tick) == ("c1", at(30)) and state.last_tick.tzinfo == timezone.utc


def test_pausing_creates_the_state_and_keeps_what_the_ticks_moved(catalog: SqlCatalog) -> None:
    catalog.set_paused("nightly", SCHEDULE, True)
    assert catalog.automation_states()["nightly"].paused is True
    catalog.record_tick(tick("nightly"), Moved(cursor="kept", last_tick=at(0)))
    assert catalog.automation_states()["nightly"].paused is True  # a tick leaves the pause
    catalog.set_paused("nightly", SCHEDULE, False)
    state = catalog.automation_states()["nightly"]
    assert (state.paused, state.cursor, state.last_tick) == (False, "kept", at(0))


def test_ticks_are_listed_newest_first_per_automation_and_up_to_the_limit(catalog: SqlCatalog) -> None:
    first, second = tick("nightly", seconds=0), tick("watch", kind=SENSOR, seconds=10)
    # A schedule catching up records several ticks evaluated at one moment: the last recorded is the newest.
    caught_up = [tick("nightly", seconds=20, scheduled_for=at(hour * 3600)) for hour in range(3)]
    for recorded in (first, second, *caught_up):
        catalog.record_tick(recorded)
    assert [t.tick_id for t in catalog.list_ticks()] == [t.tick_id for t in reversed([first, second, *caught_up])]
    assert [t.tick_id for t in catalog.list_ticks("nightly", limit=2)] == [caught_up[2].tick_id, caught_up[1].tick_id]
    assert catalog.list_ticks("watch") == [second] and catalog.list_ticks("nobody") == []


def test_a_run_key_is_recorded_once_per_origin(catalog_path: Path) -> None:
    url = sqlite_url(catalog_path)
    with open_catalog(url) as catalog:
        twice = (request(run_key="k1"), request(run_key="k1"), request(), request())  # no key: never collides
        recorded = catalog.record_tick(tick("nightly", *twice))
        assert [r.request_id for r in recorded] == [twice[0].request_id, twice[2].request_id, twice[3].request_id]
        assert catalog.record_tick(tick("nightly", request(run_key="k1"), seconds=30)) == []
        other = request("weekly", run_key="k1")  # another origin may use the same key
        assert [r.request_id for r in catalog.record_tick(tick("weekly", other))] == [other.request_id]
    with open_catalog(url) as reopened:
        again = request(run_key="k1")
        new = request(run_key="k2")
        assert [r.request_id for r in reopened.record_tick(tick("nightly", again, new, seconds=60))] == [new.request_id]
        assert len(reopened.pending_requests()) == 5
        assert [len(t.requests) for t in reopened.list_ticks("nightly")] == [1, 0, 3]
    assert _sql(catalog_path, "SELECT COUNT(*) FROM run_request WHERE run_key = 'k1'") == [(2,)]


def test_the_database_refuses_a_run_key_used_twice_even_if_the_store_did_not_check(catalog_path: Path) -> None:
    with open_catalog(sqlite_url(catalog_path)) as catalog:
        catalog.record_tick(tick("nightly", request(run_key="k1")))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        _sql(catalog_path, "INSERT INTO run_request (request_id, origin, \"trigger\", selection, run_key, status, "
                           "created_at) VALUES ('x', 'nightly', 't', '[]', 'k1', 'pending', '2024-05-01 12:00:00')")


def test_a_tick_that_fails_to_record_moves_nothing(catalog: SqlCatalog) -> None:
    first = tick("watch", request("watch", run_key="k1"), kind=SENSOR)
    catalog.record_tick(first, Moved(cursor="c1", last_tick=at(0)))
    # The same tick id again: the tick's insert fails, after its requests were checked and before the state moves.
    repeated = tick("watch", request("watch", run_key="k2"), kind=SENSOR, seconds=30, tick_id=first.tick_id)
    with pytest.raises(CatalogError, match="UNIQUE constraint failed: tick.tick_id|tick_tick_id_key"):
        catalog.record_tick(repeated, Moved(cursor="c2", last_tick=at(30)))
    state = catalog.automation_states()["watch"]
    assert (state.cursor, state.last_tick) == ("c1", at(0))
    assert [r.run_key for r in catalog.pending_requests()] == ["k1"]
    # The key the failed tick asked for was not used: a later tick may still use it.
    assert [r.run_key for r in catalog.record_tick(tick("watch", request("watch", run_key="k2"), kind=SENSOR))] == ["k2"]


def test_pending_requests_are_oldest_first_and_a_claim_wins_once(catalog: SqlCatalog) -> None:
    old, new = request(created_at=at(0)), request(created_at=at(5))
    same = [request(created_at=at(10)) for _ in range(3)]  # one moment: in the order recorded
    catalog.record_tick(tick("nightly", new, old))
    catalog.record_tick(tick("nightly", *same, seconds=10))
    assert [r.request_id for r in catalog.pending_requests()] == [r.request_id for r in (old, new, *same)]

    assert catalog.claim_request(old.request_id, "run-1") is True
    assert catalog.claim_request(old.request_id, "run-2") is False
    assert catalog.claim_request("unknown", "run-3") is False
    assert old.request_id not in {r.request_id for r in catalog.pending_requests()}
    assert catalog.request_runs([old.request_id, new.request_id, "unknown"]) == {
        old.request_id: "run-1", new.request_id: None, "unknown": None}
    [claimed] = [r for t in catalog.list_ticks() for r in t.requests if r.request_id == old.request_id]
    assert (claimed.status, claimed.run_id) == (STARTED, "run-1")


def test_many_requests_are_batched_when_read_by_id(catalog: SqlCatalog) -> None:
    many = [request(run_key=f"k{index}") for index in range(1200)]
    catalog.record_tick(tick("nightly", *many))
    assert catalog.claim_request(many[700].request_id, "r")
    runs = catalog.request_runs([r.request_id for r in many])
    assert len(runs) == 1200 and [run for run in runs.values() if run] == ["r"]
    assert len(catalog.list_ticks()[0].requests) == 1200
    assert catalog.record_tick(tick("nightly", *(request(run_key=f"k{index}") for index in range(1200)))) == []


def test_two_threads_claiming_the_same_requests_start_each_once(catalog_path: Path) -> None:
    url = sqlite_url(catalog_path)
    requests = [request() for _ in range(40)]
    with SqlCatalog(url) as catalog:
        catalog.record_tick(tick("nightly", *requests))
    start = threading.Barrier(2)
    won: dict[str, list[str]] = {"a": [], "b": []}

    def claim(name: str) -> None:
        with SqlCatalog(url) as own:  # a catalog is used by one thread at a time: each thread opens its own
            start.wait()
            won[name] = [r.request_id for r in requests if own.claim_request(r.request_id, f"run-{name}")]

    threads = [threading.Thread(target=claim, args=(name,)) for name in won]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won["a"] + won["b"]) == sorted(r.request_id for r in requests)
    with SqlCatalog(url) as catalog:
        runs = catalog.request_runs([r.request_id for r in requests])
        assert all(runs[rid] == "run-a" for rid in won["a"]) and all(runs[rid] == "run-b" for rid in won["b"])


RACER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timedelta, timezone
    from catalog import SqlCatalog
    url, start, name, action = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    catalog = SqlCatalog(url)
    ids = [line.strip() for line in sys.stdin]
    time.sleep(max(0.0, start - time.time()))  # both processes go at once
    if action == "claim":
        print(" ".join(rid for rid in ids if catalog.claim_request(rid, name)))
    else:
        moment = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
        print(catalog.acquire_daemon_lease(name, 1, "host", moment, timedelta(seconds=60)))
    catalog.close()
""")


def _race(url: str, action: str, ids: list[str]) -> dict[str, str]:
    """Run RACER in two processes that start ``action`` at the same moment; their outputs, by holder name."""
    start = str(time.time() + 2)  # time enough for both to import and open the catalog
    processes = {name: subprocess.Popen([sys.executable, "-c", RACER, url, start, name, action], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for name in ("p1", "p2")}
    found = {name: process.communicate("\n".join(ids), timeout=60) for name, process in processes.items()}
    assert all(process.returncode == 0 for process in processes.values()), found
    return {name: out.strip() for name, (out, _) in found.items()}


def test_two_processes_claiming_the_same_requests_start_each_once(catalog_path: Path) -> None:
    url = sqlite_url(catalog_path)
    requests = [request() for _ in range(60)]
    with SqlCatalog(url) as catalog:
        catalog.record_tick(tick("nightly", *requests))
    out = _race(url, "claim", [r.request_id for r in requests])
    won = {name: text.split() for name, text in out.items()}
    assert sorted(won["p1"] + won["p2"]) == sorted(r.request_id for r in requests)
    with SqlCatalog(url) as catalog:
        runs = catalog.request_runs([r.request_id for r in requests])
        assert all(runs[rid] == name for name, ids in won.items() for rid in ids)


def test_two_processes_racing_for_a_free_lease_get_it_once(catalog_path: Path) -> None:
    url = sqlite_url(catalog_path)
    open_catalog(url).close()
    out = _race(url, "lease", [])
    assert sorted(out.values()) == ["False", "True"]
    with SqlCatalog(url) as catalog:
        lease = catalog.daemon_lease()
        assert lease is not None and out[lease.holder] == "True"


def test_the_daemon_lease_is_acquired_renewed_refused_taken_over_and_released(catalog: SqlCatalog) -> None:
    assert catalog.daemon_lease() is None
    assert catalog.acquire_daemon_lease("d1", 11, "box", at(0).astimezone(PARIS), STALE) is True
    assert catalog.daemon_lease() == DaemonLease("d1", 11, "box", at(0), at(0))
    assert catalog.acquire_daemon_lease("d1", 11, "box", at(30), STALE) is True  # renewed: the start is kept
    assert catalog.daemon_lease() == DaemonLease("d1", 11, "box", at(0), at(30))
    lease = catalog.daemon_lease()
    assert lease is not None and lease.heartbeat_at.tzinfo == timezone.utc

    assert catalog.acquire_daemon_lease("d2", 22, "other", at(60), STALE) is False  # d1 beat 30 s ago
    assert catalog.acquire_daemon_lease("d2", 22, "other", at(90), STALE) is False  # exactly stale_after: fresh
    assert catalog.daemon_lease() == DaemonLease("d1", 11, "box", at(0), at(30))
    assert catalog.acquire_daemon_lease("d2", 22, "other", at(91), STALE) is True  # d1 is stale: taken over
    assert catalog.daemon_lease() == DaemonLease("d2", 22, "other", at(91), at(91))
    assert catalog.acquire_daemon_lease("d1", 11, "box", at(92), STALE) is False  # the old holder lost it

    catalog.release_daemon_lease("d1")  # not the holder: nothing happens
    assert catalog.daemon_lease() is not None
    catalog.release_daemon_lease("d2")
    assert catalog.daemon_lease() is None
    assert catalog.acquire_daemon_lease("d1", 11, "box", at(93), STALE) is True
    assert catalog.daemon_lease() == DaemonLease("d1", 11, "box", at(93), at(93))


def test_a_quick_catalog_delegates_every_automation_method(catalog_path: Path) -> None:
    open_catalog(sqlite_url(catalog_path)).close()
    methods = [name for name, member in vars(AutomationStore).items()
               if inspect.isfunction(member) and not name.startswith("_")]
    assert len(methods) == 11
    for name in methods:
        assert inspect.signature(getattr(QuickCatalog, name)) == inspect.signature(getattr(AutomationStore, name))
        assert inspect.signature(getattr(SqlCatalog, name)) == inspect.signature(getattr(AutomationStore, name))
    with open_catalog(sqlite_url(catalog_path)) as quick:
        assert isinstance(quick, QuickCatalog)
        given = request(run_key="k")
        assert quick.record_tick(tick("nightly", given), Moved(cursor="c")) != []
        quick.set_paused("nightly", SCHEDULE, True)
        assert quick.automation_states()["nightly"].paused and quick.list_ticks()[0].requests[0].run_key == "k"
        assert [r.request_id for r in quick.pending_requests()] == [given.request_id]
        assert quick.claim_request(given.request_id, "r") and quick.request_runs([given.request_id]) == {
            given.request_id: "r"}
        assert quick.acquire_daemon_lease("d", 1, "h", at(0), STALE) and quick.daemon_lease() is not None
        quick.release_daemon_lease("d")
        assert quick.daemon_lease() is None and quick.prune_ticks(at(0)) == 0


def _make_schema_4(path: Path) -> None:
    """A catalog as the release before automation wrote it: no automation tables, schema version 4."""
    SqlCatalog(sqlite_url(path)).close()  # made at the current version, then taken back to version 4
    with closing(sqlite3.connect(path)) as connection, connection:
        for table in (*AUTOMATION_TABLES, "observed_partitions"):  # and the table of version 6
            connection.execute(f"DROP TABLE {table}")
        connection.execute("UPDATE catalog_meta SET value = '4' WHERE key = 'schema_version'")


def test_a_version_4_catalog_is_migrated_and_keeps_automation(catalog_path: Path) -> None:
    with SqlCatalog(sqlite_url(catalog_path)) as catalog:
        record_materialization(catalog, materialization("a"))
    _make_schema_4(catalog_path)
    tables = {name for (name,) in _sql(catalog_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & set(AUTOMATION_TABLES)

    with open_catalog(sqlite_url(catalog_path)) as migrated:
        assert isinstance(migrated, SqlCatalog)  # an older schema is never opened quickly
        assert migrated.read_state(["a"])["a"].materialization == materialization("a")
        assert migrated.record_tick(tick("nightly", request(run_key="k")), Moved(cursor="c")) != []
        assert migrated.acquire_daemon_lease("d", 1, "h", at(0), STALE)
    assert _sql(catalog_path, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    with open_catalog(sqlite_url(catalog_path)) as reopened:
        assert isinstance(reopened, QuickCatalog)
        assert reopened.automation_states()["nightly"] == AutomationState(
            "nightly", SCHEDULE, cursor="c", updated_at=reopened.automation_states()["nightly"].updated_at)
        assert reopened.record_tick(tick("nightly", request(run_key="k"), seconds=5)) == []


def test_pruning_ticks_deletes_only_old_skipped_ones(tmp_path: Path) -> None:
    with SqlCatalog(sqlite_url(tmp_path / "catalog.db")) as catalog:
        old = datetime(2026, 3, 1, tzinfo=timezone.utc)
        catalog.record_tick(TickRecord("s", SENSOR, SKIPPED, "nothing new", old))
        catalog.record_tick(TickRecord("s", SENSOR, REQUESTED, "1 run", old,
                                       requests=(RequestRecord("s", "sensor:s", ("a",), run_key="k"),)))
        catalog.record_tick(TickRecord("s", SENSOR, SKIPPED, "nothing new", old + timedelta(days=8)))
        assert catalog.prune_ticks(old + timedelta(days=7)) == 1
        assert [t.status for t in catalog.list_ticks("s")] == [SKIPPED, REQUESTED]
        assert len(catalog.pending_requests()) == 1
