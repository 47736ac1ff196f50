"""The code versions computed by earlier commands, kept in the home so that unchanged code is not parsed again.

A function's tree is known by the digest of its file's bytes, its first line and its qualified name: any edit
of the file, whatever its size or modification time, gives new keys. A version is known by that key together
with the asset kind and the fingerprint of every name the function reads (helpers followed, constants by
value), which are computed afresh at every command: a changed helper in another file or a constant set from
the environment still changes the version. The file is JSON (never pickle), replaced atomically; a file that
cannot be read or parsed is treated as empty, and one that cannot be written is left as it was: the cache only
saves time, and every entry it holds is one a fresh computation gives.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from assets_core.imports import late_import

CACHE_FILE = "code_versions.json"
FORMAT = 3  # 2: names include attribute chains (pkg.util.helper); 3: names a function declares `global` (a
# format-2 file lacks them)


class VersionCache:
    """Function trees' names and code versions by key (see the module's doc), in memory."""

    def __init__(self, names: dict[str, tuple[str, ...]] | None = None, versions: dict[str, str] | None = None):
        self._names = names or {}
        self._versions = versions or {}
        self._used_names: set[str] = set()  # what this computation asked for: all that is kept when writing
        self._used_versions: set[str] = set()
        self.changed = False

    def names(self, key: str) -> tuple[str, ...] | None:
        """The names the function whose tree is ``key`` reads, if known."""
        self._used_names.add(key)
        return self._names.get(key)

    def version(self, key: str) -> str | None:
        self._used_versions.add(key)
        return self._versions.get(key)

    def remember(self, key: str, names: Sequence[str], version_key: str, version: str) -> None:
        self._names[key], self._versions[version_key] = tuple(names), version
        self._used_names.add(key)
        self._used_versions.add(version_key)
        self.changed = True

    @classmethod
    def read(cls, path: Path) -> VersionCache:
        """The cache kept at ``path`` (empty when there is none, or it cannot be read)."""
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
            if found.get("format") != FORMAT:
                return cls()
            names = {str(k): tuple(str(n) for n in v) for k, v in found["names"].items()}
            versions = {str(k): str(v) for k, v in found["versions"].items()}
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            return cls()
        return cls(names, versions)

    def write(self, path: Path) -> bool:
        """Keep the cache at ``path`` if it learned something, replacing the file at once; return whether it
        wrote. Nothing is written where the folder does not exist (a project never materialized anywhere)."""
        if not self.changed or not path.parent.is_dir():
            return False
        kept = {"format": FORMAT,  # only what this computation used: the entries of edited code go
                "names": {key: self._names[key] for key in self._used_names if key in self._names},
                "versions": {key: self._versions[key] for key in self._used_versions if key in self._versions}}
        text = json.dumps(kept, sort_keys=True)
        with late_import():  # written only when something changed: not a cost of every command
            import tempfile

        try:
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    file.write(text)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            return False
        self.changed = False
        return True
