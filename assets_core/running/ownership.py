"""A storage belongs to one catalog: an owner mark at its root names the catalog's id.

Stored values are named by their content, so two catalogs writing into one storage (two homes with their own
SQLite catalogs and one bucket) may each record the same file, and a prune by one would delete values the
other still records. Before a run writes anything and before a prune deletes anything, the storage is claimed
for the catalog (:func:`check_owner`): the first one to ask writes the mark, and any other is refused. Homes
that share one catalog (a team's PostgreSQL catalog) have one id, so they share the storage as before.

The mark is one small file or object, ``.owner``, holding the id: written whole, and never written over (in a
folder, linked into place, which fails if another claim came first; in S3, a PUT that succeeds only where no
object is). Its name has no ``@``, so no listing of stored versions and no sweep of leftovers sees it.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from assets_core.errors import StorageOwnedError
from assets_core.running.leftovers import temporary_name

if TYPE_CHECKING:
    from assets_core.running.storage import ValueStorage

OWNER_MARK = ".owner"  # at the storage's root: the id of the catalog the storage belongs to


def check_owner(storage: ValueStorage, catalog_id: str | None) -> None:
    """Claim ``storage`` for the catalog ``catalog_id`` if no catalog has it yet; go on if it is this catalog's.
    ``None`` (a catalog in memory) checks nothing.

    Raises:
        StorageOwnedError: the storage belongs to another catalog (nothing has been written or deleted).
    """
    if catalog_id is None:
        return
    owner = storage.claim(catalog_id)
    if owner != catalog_id:
        raise StorageOwnedError(
            f"the storage {storage.root} is used by another catalog (its mark {OWNER_MARK} names catalog {owner}; "
            f"this home's catalog is {catalog_id}); two catalogs must not share one storage, since each would "
            "prune the values the other records. Nothing was run or deleted. Point this home at that catalog "
            "(--catalog or ASSETS_CATALOG, as a team shares one PostgreSQL catalog), or give it a storage of its "
            f"own (--storage or ASSETS_STORAGE). If this catalog replaces the one that used the storage (that one "
            f"was deleted), delete the mark {_mark_path(storage.root)} to give the storage to this catalog")


def _mark_path(root: object) -> str:
    """Where a storage's mark is, as a person would name it (a folder's path, or a URL)."""
    text = str(root)
    return f"{text.rstrip('/')}/{OWNER_MARK}" if "://" in text else os.path.join(text, OWNER_MARK)


def read_mark(root: str) -> str | None:
    """The id a folder's mark names; None when it has none."""
    try:
        with open(os.path.join(root, OWNER_MARK), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None


def claim_folder(root: str, catalog_id: str, durable: bool = False) -> str:
    """Mark a folder as the catalog's unless it is marked already; return the id its mark names now. The mark is
    written under a temporary name (swept like any leftover if killed) and linked into place: of two claims at
    once, one link fails, and that claim reads the other's id back."""
    found = read_mark(root)
    if found is not None:
        return found
    temp = os.path.join(root, temporary_name(os.getpid()))
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(catalog_id + "\n")
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # claimed by another meanwhile: its mark stands
            os.link(temp, os.path.join(root, OWNER_MARK))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return read_mark(root) or catalog_id


def read_object_mark(fs: Any, prefix: str) -> str | None:
    """The id the mark under ``prefix`` of an object store (the fsspec file system ``fs``) names; None when it has
    none."""
    try:
        data = fs.cat_file(f"{prefix}/{OWNER_MARK}")
    except FileNotFoundError:
        return None
    return bytes(data).decode("utf-8").strip() or None


def claim_object(fs: Any, prefix: str, catalog_id: str, exclusive: bool) -> str:
    """Mark an object store's prefix as the catalog's unless it is marked already; return the id its mark names
    now. ``exclusive`` (S3): the PUT succeeds only where no object is, so of two claims at once one fails and
    reads the other's id back; elsewhere the later PUT wins and each claim reads back which."""
    found = read_object_mark(fs, prefix)
    if found is not None:
        return found
    key, data = f"{prefix}/{OWNER_MARK}", (catalog_id + "\n").encode()
    try:
        fs.pipe_file(key, data, **({"mode": "create"} if exclusive else {}))
    except FileExistsError:  # claimed by another meanwhile: its mark stands
        pass
    except (OSError, NotImplementedError):  # a store without conditional writes, or a conflict with another claim
        if not exclusive:
            raise
        if read_object_mark(fs, prefix) is None:  # no other claim came first: the later write wins
            fs.pipe_file(key, data)
    return read_object_mark(fs, prefix) or catalog_id
