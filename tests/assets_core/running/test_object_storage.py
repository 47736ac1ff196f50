"""Stored values in an object store, against a real S3 server (moto's, in a subprocess): the same values and data
versions as the local folder, a key of its own per write, fresh listings, corrupted and missing objects refused
with a message, the store's failures told plainly, and no half-written object ever visible."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fsspec
import polars as pl
import pytest

from assets_core.errors import StorageError
from assets_core.running.content import version_of
from assets_core.running.object_storage import ObjectStorage, storage_at
from assets_core.running.storage import SMALL_TABLE_ROWS, Storage, encoded

ROOT = Path(__file__).resolve().parents[3]
SMALL = pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]})
BIG = pl.DataFrame({"n": range(SMALL_TABLE_ROWS + 10)})


@pytest.fixture
def storage(s3_bucket: str) -> ObjectStorage:
    return ObjectStorage(s3_bucket)


def _store() -> fsspec.AbstractFileSystem:
    """A file system of our own on the test's server, to change objects behind the storage's back."""
    return fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)


@pytest.mark.parametrize("value", [SMALL, SMALL.lazy(), SMALL.to_arrow()], ids=["DataFrame", "LazyFrame", "arrow"])
def test_a_table_comes_back_as_written(storage: ObjectStorage, value: object) -> None:
    stored = storage.write("orders", value)
    assert stored.location.startswith("orders@") and stored.location.endswith(".parquet")
    assert stored.rows == 3 and stored.schema == (("id", "Int64"), ("name", "String"))
    assert storage.read(stored.location).equals(SMALL)
    assert storage.read(stored.location, lazy=True).collect().equals(SMALL)


def test_json_comes_back_as_written(storage: ObjectStorage) -> None:
    value = {"total": 12.5, "names": ["a", "b"], "nested": {"ok": True}}
    stored = storage.write("summary", value)
    assert stored.location.endswith(".json") and stored.value == value
    assert storage.read(stored.location) == value
    assert storage.write("rows", [1, 2, 3]).rows == 3


@pytest.mark.parametrize("value", [SMALL, SMALL.lazy(), {"a": [1, 2]}, BIG], ids=["table", "lazy", "json", "large"])
def test_a_value_has_the_data_version_it_has_in_a_folder(storage: ObjectStorage, tmp_path: Path,
                                                          value: object) -> None:
    here = Storage(tmp_path).write("orders", value)
    there = storage.write("orders", value)
    assert there.data_version == here.data_version == version_of(there.location)
    assert there.bytes == here.bytes


def test_each_write_has_a_key_of_its_own(storage: ObjectStorage) -> None:
    first, second = storage.write("orders", SMALL), storage.write("orders", SMALL)
    assert first.location != second.location
    assert first.data_version == second.data_version
    assert storage.locations("orders") == sorted([first.location, second.location])


def test_the_listings_say_what_is_stored(storage: ObjectStorage) -> None:
    assert storage.versions() == {} and storage.locations("orders") == []
    orders, summary = storage.write("orders", SMALL), storage.write("summary", {"n": 1})
    dotted = storage.write("sales.daily", [1])
    assert storage.versions() == {"orders": [orders.location], "summary": [summary.location],
                                  "sales.daily": [dotted.location]}
    assert storage.locations("sales.daily") == [dotted.location]
    gone = "orders@0123456789abcdef0123456789abcdef.0123456789ab.parquet"
    assert storage.existing([orders.location, gone, "../escape@x.json"]) == {orders.location}
    assert storage.exists(orders.location) and not storage.exists(gone)


def test_a_listing_is_never_stale(storage: ObjectStorage, s3_bucket: str) -> None:
    first = storage.write("orders", SMALL)
    assert storage.locations("orders") == [first.location]
    second = ObjectStorage(s3_bucket).write("orders", {"other": "writer"})  # another writer, then a deletion
    _store().rm_file(storage.path(first.location))
    assert storage.locations("orders") == [second.location]
    assert storage.existing([first.location, second.location]) == {second.location}


def test_prune_keeps_what_it_is_told_and_removes_the_rest(storage: ObjectStorage) -> None:
    old, kept, newest = (storage.write("orders", {"n": n}) for n in range(3))
    other = storage.write("customers", {"n": 0})
    listed = storage.versions()["orders"]
    later = storage.write("orders", {"n": 3})  # after the listing: never among what is pruned
    removed = storage.prune("orders", [kept.location, newest.location], listed, since=storage.clock())
    assert removed == [old.location]
    assert storage.locations("orders") == sorted([kept.location, newest.location, later.location])
    assert storage.locations("customers") == [other.location]
    assert storage.prune("orders", [later.location]) == sorted([kept.location, newest.location])
    assert storage.versions() == {"orders": [later.location], "customers": [other.location]}


@pytest.mark.parametrize("value", [SMALL, {"a": 1}], ids=["table", "json"])
def test_a_corrupted_object_is_refused_with_its_name(storage: ObjectStorage, value: object) -> None:
    stored = storage.write("orders", value)
    fs = _store()
    data = bytearray(fs.cat_file(storage.path(stored.location)))
    data[len(data) // 2] ^= 0xFF  # same size, other bytes: only the hash tells
    fs.pipe_file(storage.path(stored.location), bytes(data))
    with pytest.raises(StorageError) as error:
        storage.read(stored.location)
    assert storage.path(stored.location) in str(error.value) and "corrupted" in str(error.value)
    assert "assets materialize --force orders" in str(error.value)


def test_a_deleted_object_is_gone(storage: ObjectStorage) -> None:
    stored = storage.write("orders", SMALL)
    _store().rm_file(storage.path(stored.location))
    with pytest.raises(StorageError, match="is gone .*materialize the asset again") as error:
        storage.read(stored.location)
    assert storage.path(stored.location) in str(error.value)


def test_a_location_outside_the_prefix_is_refused(storage: ObjectStorage) -> None:
    with pytest.raises(StorageError, match="lies outside the storage"):
        storage.read("../other/orders@ab12.json")


def test_a_missing_bucket_is_named_with_the_fix(s3_bucket: str) -> None:
    missing = ObjectStorage("s3://no-such-bucket-here/values")
    for attempt in (lambda: missing.write("orders", SMALL), missing.versions,
                    lambda: missing.read("orders@ab12.0123456789ab.json")):
        with pytest.raises(StorageError) as error:
            attempt()
        assert "s3://no-such-bucket-here/values" in str(error.value)
        assert "bucket does not exist" in str(error.value) and "create the bucket" in str(error.value)


def test_an_unreachable_endpoint_is_named_with_the_fix(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries would take seconds
    unreachable = ObjectStorage(s3_bucket)
    for attempt in (lambda: unreachable.write("orders", {"a": 1}), unreachable.versions):
        with pytest.raises(StorageError) as error:
            attempt()
        assert s3_bucket in str(error.value) and f"127.0.0.1:{port}" in str(error.value)
        assert "cannot be reached" in str(error.value) and "AWS_ENDPOINT_URL" in str(error.value)
        assert type(error.value.__cause__).__name__ == "EndpointConnectionError"


def _upload_leftovers() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(".assets-upload-")}


def test_a_large_table_is_uploaded_from_a_temporary_file(storage: ObjectStorage, tmp_path: Path) -> None:
    @contextlib.contextmanager
    def temporary() -> Iterator[str]:
        yield str(tmp_path / "encoded.parquet")

    with encoded("big", BIG, "auto", temporary) as encoding:  # the path a table this large takes
        assert encoding.file is not None and encoding.data is None
    before = _upload_leftovers()
    stored = storage.write("big", BIG)
    assert stored.rows == len(BIG) and stored.bytes == _store().size(storage.path(stored.location))
    assert storage.read(stored.location).equals(BIG)
    assert _upload_leftovers() <= before  # the local temporary file is gone


WRITER = """
import sys
import polars as pl
from assets_core.running.object_storage import ObjectStorage

storage = ObjectStorage(sys.argv[1])
fs, _ = storage._filesystem()
upload = fs.put_file


def put_file(*args, **kwargs):  # the same upload, announced: the test kills the writer in the middle of one
    print("uploading", flush=True)
    upload(*args, **kwargs)
    print("uploaded", flush=True)


fs.put_file = put_file
for n in range(1000):
    frame = pl.DataFrame({"n": range(n, n + 2_000_000)}).with_columns(h=pl.col("n").hash(seed=7))  # incompressible
    print("stored", storage.write(sys.argv[2], frame).location, flush=True)
"""


def _kill_mid_upload(url: str, asset: str, fraction: float) -> tuple[list[str], int]:
    """Run a writer of large tables, kill it ``fraction`` of the way through its third upload (as long as the
    second took); return what it said it stored, and how many uploads it said were done."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url, asset], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    assert writer.stdout is not None
    lines: list[str] = []
    try:
        began, took = 0.0, []
        for line in writer.stdout:
            lines.append(line)
            if line.startswith("uploading") and len(took) == 2:
                time.sleep(took[1] * fraction)  # the first upload also connects: the second is timed
                break
            if line.startswith("uploading"):
                began = time.monotonic()
            elif line.startswith("uploaded"):
                took.append(time.monotonic() - began)
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        lines.extend(writer.stdout)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    return [line.split()[1] for line in lines if line.startswith("stored")], lines.count("uploaded\n")


def test_a_writer_killed_mid_write_leaves_no_visible_object(storage: ObjectStorage, s3_bucket: str) -> None:
    # The kill may come late on a loaded machine (the third upload was done, or even announced): then again,
    # sooner. Whenever it came, what is visible is what was stored, whole, and at most the upload under way.
    for attempt in range(6):
        stored, uploaded = _kill_mid_upload(s3_bucket, f"big{attempt}", fraction=1 / 3 / 2 ** attempt)
        visible = storage.locations(f"big{attempt}")
        assert len(stored) >= 2 and set(stored) <= set(visible) and len(visible) <= len(stored) + 1
        for location in visible:  # each one whole (and read checks its bytes against its name)
            column = storage.read(location)["n"]
            assert column.equals(pl.Series("n", range(column[0], column[0] + 2_000_000)))
        if uploaded == 2 and len(visible) == 2:
            break  # killed while its third upload was under way, which left nothing
    assert uploaded == 2 and sorted(visible) == sorted(stored), "every kill came after the upload: nothing was tested"


def _write_in_worker(storage: ObjectStorage) -> str:
    return storage.write("remote", {"from": os.getpid()}).location


def test_a_pickled_storage_works_here_and_in_another_process(storage: ObjectStorage) -> None:
    stored = storage.write("orders", SMALL)  # its file system is open: the copy must open its own
    copy = pickle.loads(pickle.dumps(storage))
    assert copy.url == storage.url and copy.read(stored.location).equals(SMALL)
    assert copy.write("orders", {"a": 1}).location in storage.locations("orders")
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        location = pool.submit(_write_in_worker, storage).result(timeout=120)
    assert storage.read(location)["from"] != os.getpid()


def test_storage_at_chooses_the_storage_for_the_url(tmp_path: Path) -> None:
    assert type(storage_at(str(tmp_path))) is Storage and storage_at(str(tmp_path)).root == tmp_path
    local = storage_at(tmp_path.as_uri(), durable=True)
    assert type(local) is Storage and local.root == tmp_path and local.durable
    remote = storage_at("s3://bucket/some/prefix/")
    assert type(remote) is ObjectStorage and remote.root == "s3://bucket/some/prefix"
    assert remote.path("orders@ab12.0123456789ab.json") == "s3://bucket/some/prefix/orders@ab12.0123456789ab.json"
    assert remote.sweep(lambda pid: False) == [] and abs(remote.clock() - time.time()) < 5


@pytest.mark.parametrize(("url", "expected"), [
    ("s3://", "the storage URL s3:// names no bucket; write it as s3://BUCKET/PREFIX"),
    ("s3:///values", "the storage URL s3:///values names no bucket; write it as s3://BUCKET/PREFIX"),
    ("s3:/lake/values", "the storage 's3:/lake/values' looks like a misspelt URL; did you mean s3://lake/values?"),
    ("s3:lake/values", "did you mean s3://lake/values?"),
    ("s3//lake/values", "did you mean s3://lake/values?"),
    ("s3:", "the storage 's3:' looks like a misspelt URL; write s3://BUCKET/PREFIX (a folder of that name: ./s3:)"),
    ("S3:/", "the storage 'S3:/' looks like a misspelt URL; write s3://BUCKET/PREFIX"),
    ("gs//", "write gs://BUCKET/PREFIX"),
])
def test_a_storage_url_without_a_bucket_or_misspelt_is_refused(tmp_path: Path, url: str, expected: str) -> None:
    """Else ``s3:/lake`` became a folder named ``s3:`` in the project, and ``s3://`` listed the local ``s3:``."""
    with pytest.raises(StorageError) as error:
        storage_at(url, relative_to=tmp_path)
    assert expected in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_storage_url_scheme_is_read_in_any_case(s3_bucket: str) -> None:
    shouting = storage_at(s3_bucket.replace("s3://", "S3://"))
    assert isinstance(shouting, ObjectStorage) and shouting.versions() == {}
    assert storage_at("values", relative_to=Path("/project")).root == Path("/project/values")


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("AWS_ENDPOINT_URL", "127.0.0.1:9000", "AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) must be a URL with its scheme"),
    ("AWS_ENDPOINT_URL", "htp://127.0.0.1:9000", "AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) must be a URL with"),
    ("AWS_PROFILE", "no-such-profile", "AWS_PROFILE names no profile"),
])
def test_a_misset_variable_is_named_with_the_fix(s3_bucket: str, monkeypatch: pytest.MonkeyPatch, variable: str,
                                                 value: str, expected: str) -> None:
    """Else an endpoint without http:// ended the command with a ValueError traceback."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(StorageError) as error:
        ObjectStorage(s3_bucket).versions()
    assert s3_bucket in str(error.value) and expected in str(error.value), str(error.value)


def test_an_endpoint_that_is_no_s3_server_is_named_with_the_fix(s3_bucket: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()

    def close_each(server: socket.socket) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                connection = server.accept()[0]
                with connection:
                    connection.settimeout(5)
                    connection.recv(65536)  # reads the request, as a server of another protocol does

    with socket.socket() as server:  # reads each request, closes without a word
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        closer = threading.Thread(target=close_each, args=(server,))
        closer.start()
        try:
            with pytest.raises(StorageError) as error:
                ObjectStorage(s3_bucket).versions()
        finally:
            stop.set()
            closer.join()
    assert "is not an S3-compatible server" in str(error.value), str(error.value)
