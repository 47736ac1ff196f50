"""The one error hierarchy every layer raises: each error says what failed, where, and how to fix it."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class AssetsError(Exception):
    """Root of every error this framework raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where a definition lives: a file and a line (and a column when known)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        text = _shown_path(self.file)
        if self.line:
            text += f":{self.line}"
            if self.column:
                text += f":{self.column}"
        return text


def _shown_path(path: str) -> str:
    """A path relative to the current folder when it lies below it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


class DefinitionError(AssetsError):
    """One problem in the way assets are declared."""

    def __init__(self, message: str, *, asset: str | None = None, location: Location | None = None):
        self.asset = asset
        self.location = location
        self.detail = message
        where = ""
        if asset is not None:
            where = f"asset '{asset}'"
            if location is not None:
                where += f" ({location})"
            where += " "
        elif location is not None:
            where = f"{location}: "
        super().__init__(where + message)


class CycleError(DefinitionError):
    """The assets depend on each other in a loop."""


class UnknownUpstreamError(DefinitionError):
    """An asset reads an upstream that is not defined."""


class DuplicateAssetError(DefinitionError):
    """Two different definitions share one asset name."""


class InvalidNameError(DefinitionError):
    """An asset name is not a valid (possibly dotted) identifier."""


class LoadError(DefinitionError):
    """The project's definitions could not be imported at all."""


class DefinitionErrors(AssetsError):
    """Every definition problem found while loading a project, reported at once."""

    def __init__(self, errors: Sequence[DefinitionError]):
        self.errors = list(errors)
        if len(self.errors) == 1:  # one problem is its own message, as the README's error table shows it
            super().__init__(str(self.errors[0]))
            return
        lines = [f"{len(self.errors)} problem(s) in the asset definitions:"]
        lines += [f"  - {error}" for error in self.errors]
        super().__init__("\n".join(lines))


class SelectionError(AssetsError):
    """A selection names nothing, or cannot be satisfied."""


class ProjectError(AssetsError):
    """The project itself cannot be found or configured."""


class StorageError(AssetsError):
    """A value could not be stored or read back."""


class StorageOwnedError(StorageError):
    """The storage belongs to another catalog: using it would let each catalog prune the other's values."""


class MaterializationError(AssetsError):
    """An asset's own code failed. Raised where that code ran, it keeps the user's exception as ``__cause__``;
    raised after a run (``materialize(..., raise_on_error=True)``), whose assets ran in other threads or
    processes, it holds that exception's description and traceback in its message instead."""

    def __init__(self, asset: str, message: str):
        self.asset = asset
        super().__init__(f"asset '{asset}' failed: {message}")


class CatalogError(AssetsError):
    """The catalog cannot be opened, read or written."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A '; did you mean ...?' suffix naming the closest choices, or an empty string.

    >>> did_you_mean("order", ["orders", "customers"])
    "; did you mean 'orders'?"
    >>> did_you_mean("zzz", ["orders"])
    ''
    """
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
