"""The data version of stored content: its hash, and whether a file still holds the content its name says.

The version is the XXH3 128-bit hash of the stored bytes, in hex: not cryptographic, but the same in every run,
process and machine, and fast enough (several GB/s) that hashing a large table costs little next to encoding it,
and that every read can check its file. Files named before, by the first 32 hex digits of a SHA-256, are still
recognised (see the README's storage section for what the change costs once).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator

import xxhash

BLOCK = 1 << 20  # bytes hashed at a time when a file is hashed


def content_version(data: bytes | memoryview) -> str:
    """The data version of stored bytes: their XXH3 128-bit hash in hex, the same in every process.

    >>> content_version(b'{"x":1}')
    '560e13377107fb286e0056ba3ec68476'
    """
    return xxhash.xxh3_128_hexdigest(data)


def file_version(path: str) -> str:
    """:func:`content_version` of a file's bytes, read a block at a time."""
    h = xxhash.xxh3_128()
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(BLOCK):
            h.update(block)
    return h.hexdigest()


def _legacy_version(blocks: Iterable[bytes]) -> str:
    """The data version as it was before XXH3 (SHA-256, first 32 hex digits): files named so stay readable."""
    h = hashlib.sha256()
    for block in blocks:
        h.update(block)
    return h.hexdigest()[:32]


def bytes_versions(data: bytes) -> Iterator[str]:
    """The versions bytes may be named by, the current one first; the earlier one computed only if asked."""
    yield content_version(data)
    yield _legacy_version([data])


def file_versions(path: str) -> Iterator[str]:
    """:func:`bytes_versions` of a file, read again only if the earlier version is asked for."""
    yield file_version(path)
    with open(path, "rb", buffering=0) as handle:
        yield _legacy_version(iter(lambda: handle.read(BLOCK), b""))


def holds(path: str, version: str, size: int) -> bool:
    """Whether the file at ``path`` holds exactly the ``size`` bytes whose version is ``version``: the size is
    compared first, so only a file of the right size is hashed."""
    try:
        if os.stat(path).st_size != size:
            return False
        return file_version(path) == version
    except FileNotFoundError:
        return False


def version_of(location: str) -> str:
    """The data version a stored value's location names: ``<asset>@<version>.<suffix>`` in a folder, or
    ``<asset>@<version>.<write id>.<suffix>`` in an object store (a key of its own per write). A version is hex,
    so it ends at the first dot after the ``@``.

    >>> version_of("orders@ab12.parquet"), version_of("sales.daily@ab12.json")
    ('ab12', 'ab12')
    >>> version_of("orders@ab12.0f1e2d3c4b5a.parquet")
    'ab12'
    """
    return location.rpartition("@")[2].partition(".")[0]
