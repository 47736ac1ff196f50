"""The owner mark at a storage's root: claimed once, by the first catalog that asks (also when two ask at once),
never listed as a stored version, never pruned or swept."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from assets_core.errors import StorageOwnedError
from assets_core.running.object_storage import ObjectStorage, storage_at
from assets_core.running.ownership import OWNER_MARK, check_owner
from assets_core.running.storage import Storage


@pytest.fixture(params=["folder", "bucket"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage | ObjectStorage:
    return storage_at(str(tmp_path / "values") if request.param == "folder" else request.getfixturevalue("s3_bucket"))


def test_the_first_catalog_claims_the_storage_and_another_is_refused(storage: Storage | ObjectStorage) -> None:
    assert storage.owner() is None
    check_owner(storage, "catalog-a")
    check_owner(storage, "catalog-a")  # its own: goes on
    with pytest.raises(StorageOwnedError, match=f"the storage {storage.root} is used by another catalog"):
        check_owner(storage, "catalog-b")
    check_owner(storage, None)  # a catalog in memory checks nothing
    assert storage.owner() == "catalog-a"


def test_the_mark_survives_and_is_no_stored_version(storage: Storage | ObjectStorage) -> None:
    storage.claim("catalog-a")
    first = storage.write("numbers", {"value": 1}).location
    storage.write("numbers", {"value": 2})
    assert [len(found) for found in storage.versions().values()] == [2]
    assert all(OWNER_MARK not in location for location in storage.locations("numbers"))
    storage.prune("numbers", keep=[], since=storage.clock() + 60)  # every version goes, the mark stays
    assert storage.versions() == {} and storage.existing([first]) == set()
    assert storage.sweep(lambda pid: False) == []
    assert storage.owner() == "catalog-a" and storage_at(str(storage.root)).owner() == "catalog-a"


def test_of_two_claims_at_once_one_wins_and_both_see_it(tmp_path: Path) -> None:
    for attempt in range(5):
        storage = Storage(tmp_path / str(attempt))
        barrier, answers = threading.Barrier(2), {}

        def claim(catalog_id: str, storage: Storage = storage, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            answers[catalog_id] = storage.claim(catalog_id)

        threads = [threading.Thread(target=claim, args=(name,)) for name in ("catalog-a", "catalog-b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers["catalog-a"] == answers["catalog-b"] == storage.owner()
        assert [name for name in os.listdir(storage.root) if name != OWNER_MARK] == []  # no temporary file left


def test_a_bucket_is_claimed_once_by_a_conditional_write(s3_bucket: str) -> None:
    first, second = ObjectStorage(s3_bucket), ObjectStorage(s3_bucket)
    assert first.claim("catalog-a") == "catalog-a"
    fs, prefix = second._filesystem()
    with pytest.raises(FileExistsError):  # what a claim that came second meets
        fs.pipe_file(f"{prefix}/{OWNER_MARK}", b"catalog-b\n", mode="create")
    assert second.claim("catalog-b") == "catalog-a"
