"""The latest observation of each partition of a source, kept as one row per source (``observed_partitions``):
on SQLite and PostgreSQL, always the same as the observations ``asset_state`` points at, through merges, a
migration, whole runs, and processes killed with kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from assets_core import HourlyPartitions, asset, source_asset
from assets_core.application.project import Project
from assets_core.planning.recorded import RecordedPartitions
from assets_core.planning.state import ObservationRecord
from assets_core.running.storage import Storage
from catalog import SCHEMA_VERSION, SqlCatalog, open_catalog, sqlite_url
from tests.catalog.conftest import stored


def _pointed(url: str, source: str) -> dict[str, tuple[str, str]]:
    """What ``asset_state`` points at for each partition of a source: ``{key: (fingerprint, data version)}``."""
    rows = stored(url, "SELECT o.partition, o.fingerprint, o.data_version FROM asset_state AS s JOIN observation "
                       f"AS o ON o.id = s.observation_id WHERE o.asset = '{source}' AND o.partition != ''")
    return {key: (fingerprint, version) for key, fingerprint, version in rows}


def _kept(url: str, source: str) -> dict[str, tuple[str, str]]:
    """What the source's row of ``observed_partitions`` holds, read as any other tool would."""
    rows = stored(url, f"SELECT keys, fingerprints, data_versions FROM observed_partitions WHERE asset = '{source}'")
    if not rows:
        return {}
    keys, fingerprints, versions = (json.loads(column) for column in rows[0])
    assert len(keys) == len(set(keys)) == len(fingerprints) == len(versions)
    return {key: (fingerprint, version) for key, fingerprint, version in zip(keys, fingerprints, versions)}


def _as_pairs(recorded: RecordedPartitions) -> dict[str, tuple[str, str]]:
    return {key: (f, v) for key, f, v in zip(recorded.keys, recorded.fingerprints, recorded.versions)}


ODD_KEYS = ["2026-01-01", "é|ü", 'quote"back\\slash', "new\nline", "tab\tand 💡"]


def test_observations_of_partitions_are_kept_one_row_per_source(catalog_url: str) -> None:
    with open_catalog(catalog_url) as catalog:
        catalog.record_observations([ObservationRecord("hits", "r1", f"v{i}", f"f{i}", key)
                                     for i, key in enumerate(ODD_KEYS)]
                                    + [ObservationRecord("whole", "r1", "w", "fw")])  # not partitioned: no row
        catalog.record_observations([ObservationRecord("hits", "r2", "v1b", "f1b", ODD_KEYS[1]),
                                     ObservationRecord("hits", "r2", "new", "fnew", "2026-01-09"),
                                     ObservationRecord("hits", "r2", "v1c", "f1c", ODD_KEYS[1]),  # the later counts
                                     ObservationRecord("other", "r2", "o", "fo", "k")])
        found = catalog.read_observed(["hits", "other", "whole", "nothing"])
    expected = {key: (f"f{i}", f"v{i}") for i, key in enumerate(ODD_KEYS)}
    expected[ODD_KEYS[1]] = ("f1c", "v1c")
    expected["2026-01-09"] = ("fnew", "new")
    assert sorted(found) == ["hits", "other"]
    assert list(found["hits"].keys) == [*ODD_KEYS, "2026-01-09"]  # a new partition after the others
    assert _as_pairs(found["hits"]) == expected == _kept(catalog_url, "hits") == _pointed(catalog_url, "hits")
    assert _as_pairs(found["other"]) == {"k": ("fo", "o")} == _pointed(catalog_url, "other")
    assert stored(catalog_url, "SELECT asset FROM observed_partitions ORDER BY asset") == [("hits",), ("other",)]


def test_a_catalog_of_schema_5_gets_its_rows_from_the_pointers(catalog_url: str) -> None:
    with open_catalog(catalog_url) as catalog:
        catalog.record_observations([ObservationRecord("hits", "r1", f"v{i}", f"f{i}", key)
                                     for i, key in enumerate(ODD_KEYS)])
        catalog.record_observations([ObservationRecord("hits", "r2", "v0b", "f0b", ODD_KEYS[0])])
    before = _pointed(catalog_url, "hits")
    stored(catalog_url, "DROP TABLE observed_partitions")  # as the release before this one wrote it
    stored(catalog_url, "UPDATE catalog_meta SET value = '5' WHERE key = 'schema_version'")
    with open_catalog(catalog_url) as migrated:
        assert isinstance(migrated, SqlCatalog)  # an older schema is never opened quickly
        assert _as_pairs(migrated.read_observed(["hits"])["hits"]) == before == _kept(catalog_url, "hits")
        assert before[ODD_KEYS[0]] == ("f0b", "v0b")
    assert stored(catalog_url, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]


HOURS = HourlyPartitions("2026-01-01", end="2026-01-04")  # 72 hours


def _write_hours(root: Path, values: dict[str, str]) -> None:
    (root / "data").mkdir(exist_ok=True)
    for key, value in values.items():
        (root / "data" / f"{key}.txt").write_text(value)


def test_a_changed_file_makes_only_its_partitions_readers_stale_on_every_catalog(tmp_path: Path,
                                                                                 catalog_url: str) -> None:
    keys = [f"{datetime(2026, 1, 1) + timedelta(hours=h):%Y-%m-%dT%H:00}" for h in range(72)]
    _write_hours(tmp_path, {key: "1" for key in keys[:-1]})  # the last hour's file is not there yet
    hits = source_asset("hits", "data/{date}.txt", partitions=HOURS)

    @asset(partitions=HOURS, deps=["hits"])
    def hourly(context) -> int:
        return 1

    with open_catalog(catalog_url) as catalog:
        project = Project([hits, hourly], tmp_path, Storage(tmp_path / "storage"), catalog)
        assert project.materialize().status == "success"
        assert _kept(catalog_url, "hits") == _pointed(catalog_url, "hits") and len(_kept(catalog_url, "hits")) == 71
        _write_hours(tmp_path, {keys[5]: "changed", keys[-1]: "1"})
        statuses = project.snapshot().statuses
        unusual = {node: statuses[node].status for node in project.snapshot().nodes.order()
                   if statuses[node].status != "fresh"}
        assert unusual == {f"hits[{keys[5]}]": "stale", f"hits[{keys[-1]}]": "stale",
                           f"hourly[{keys[5]}]": "stale", f"hourly[{keys[-1]}]": "stale"}
        assert sorted(project.materialize().materialized) == [f"hourly[{keys[5]}]", f"hourly[{keys[-1]}]"]
        assert {status.status for status in project.statuses()} == {"fresh"}
    kept = _kept(catalog_url, "hits")
    assert kept == _pointed(catalog_url, "hits") and len(kept) == 72 and list(kept)[-1] == keys[-1]


KILLED = """
from assets_core import HourlyPartitions, asset, source_asset
HOURS = HourlyPartitions("2026-01-01", end="2026-04-01")
hits = source_asset("hits", "data/{date}.txt", partitions=HOURS)

@asset(partitions=HOURS, deps=["hits"])
def hourly(context) -> int:
    return 1
"""


def test_kill_minus_nine_at_random_moments_leaves_the_row_and_the_pointers_agreeing(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(KILLED)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    keys = [f"{datetime(2026, 1, 1) + timedelta(hours=h):%Y-%m-%dT%H:00}" for h in range(90 * 24)]
    url = sqlite_url(tmp_path / ".assets" / "catalog.db")
    rng = random.Random(2026)
    for round_number in range(4):
        _write_hours(tmp_path, {key: str(round_number) for key in keys if rng.random() < 0.5 or not round_number})
        process = subprocess.Popen([sys.executable, "-m", "tui.cli.main", "materialize"], cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**os.environ, "ASSETS_CATALOG": url})
        time.sleep(rng.uniform(0.5, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        if (tmp_path / ".assets" / "catalog.db").exists() and stored(
                url, "SELECT name FROM sqlite_master WHERE name = 'observed_partitions'"):
            assert _kept(url, "hits") == _pointed(url, "hits")
    finished = subprocess.run([sys.executable, "-m", "tui.cli.main", "materialize", "--json"], cwd=tmp_path,
                              capture_output=True, text=True, env={**os.environ, "ASSETS_CATALOG": url}, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert _kept(url, "hits") == _pointed(url, "hits") and len(_kept(url, "hits")) == len(keys)


@pytest.mark.parametrize("keys", [["a", "b", "c"], ["c", "a"], []])
def test_recorded_partitions_line_up_with_any_keys(keys: list[str]) -> None:
    recorded = RecordedPartitions(["a", "b", "c"], ["fa", "fb", "fc"], ["va", "vb", "vc"])
    fingerprints, versions = recorded.aligned(keys)
    assert fingerprints == [f"f{key}" for key in keys] and versions == [f"v{key}" for key in keys]
    assert recorded.aligned(["a", "z"]) == (["fa", None], ["va", None])


def test_writers_recording_partitions_of_one_source_at_once_lose_none(catalog_url: str) -> None:
    """Four catalogs (four connections) record partitions of one source at the same time, batch after batch:
    each reads the source's row and writes it back in one write transaction, and writers take turns."""
    open_catalog(catalog_url).close()  # the schema first
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with SqlCatalog(catalog_url) as catalog:
                for batch in range(8):
                    catalog.record_observations([ObservationRecord("hits", f"r{writer}", f"v{writer}", f"f{batch}",
                                                                   f"{writer}-{batch}-{i}") for i in range(25)])
        except BaseException as error:  # noqa: BLE001  (said by the assertion below)
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    kept = _kept(catalog_url, "hits")
    assert len(kept) == 4 * 8 * 25 and kept == _pointed(catalog_url, "hits")
