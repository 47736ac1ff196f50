"""Temporary files in the storage folder: named for the host and process that write them, so that the
leftovers of a killed writer can be told apart and swept, and never those of a live writer on another machine
sharing the folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Callable

from assets_core.running.recovery import HOST

TEMPORARY_PREFIX = ".tmp-"  # then the writer's host and process id: a killed writer's leftovers can be told apart
TEMPORARY_SUFFIX = ".part"
FOREIGN_LEFTOVER_AGE = 24 * 3600  # seconds untouched after which another host's temporary file is swept


def sweep(root: str, alive: Callable[[int], bool], host: str = HOST) -> list[str]:
    """Delete the temporary files in ``root`` of writers that died (killed mid-write); return their names.

    A writer of this host is dead when its process is gone. Whether another host's writer is alive cannot be
    told from here (its process id means nothing on this one), so its file is deleted only once untouched for
    ``FOREIGN_LEFTOVER_AGE``; so is a file named by an older release, which did not name the host.
    """
    try:
        names = [n for n in os.listdir(root) if n.startswith(TEMPORARY_PREFIX)]
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        writer, pid = _writer(name)
        if writer == _host_tag(host):
            dead = pid is not None and pid != os.getpid() and not alive(pid)
        else:
            dead = _untouched_for(os.path.join(root, name), FOREIGN_LEFTOVER_AGE)
        if dead:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(root, name))
            removed.append(name)
    return removed


def _untouched_for(path: str, seconds: float) -> bool:
    try:
        return time.time() - os.stat(path).st_mtime > seconds
    except FileNotFoundError:
        return False


def temporary_name(pid: int, host: str = HOST) -> str:
    """The name of a new temporary file written by process ``pid`` of ``host``: unique, and telling
    :meth:`Storage.sweep` whose it is.

    >>> temporary_name(4242, "build-7").startswith(".tmp-build_7-4242-")
    True
    """
    return f"{TEMPORARY_PREFIX}{_host_tag(host)}-{pid}-{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"


def _host_tag(host: str) -> str:
    """A host name as a temporary file's name holds it: at most 64 characters, nothing but letters, digits,
    dots and underscores (a dash separates the name's parts).

    >>> _host_tag("build-7.example.org")
    'build_7.example.org'
    """
    return re.sub(r"[^A-Za-z0-9._]", "_", host)[:64]


def _writer(name: str) -> tuple[str | None, int | None]:
    """The host tag and process id a temporary file's name holds; the host is None in a name made by an older
    release (``.tmp-<pid>-<uuid>.part``), the id None in a name not made by this module.

    >>> _writer(".tmp-build_7-4242-0f3a.part"), _writer(".tmp-4242-0f3a.part"), _writer(".tmp-x.part")
    (('build_7', 4242), (None, 4242), (None, None))
    """
    parts = name[len(TEMPORARY_PREFIX):].removesuffix(TEMPORARY_SUFFIX).split("-")
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1])
    if len(parts) == 2 and parts[0].isdigit():
        return None, int(parts[0])
    return None, None
