"""Late imports that any thread may reach: the one lock every import inside a function takes.

Heavy modules (pyarrow, sqlglot, SQLAlchemy, Textual, rich's progress bar, urllib) are imported where they are
first needed, so that a command that does not need them starts faster. Python's import system makes a second
thread wait for a module another thread is importing, except when the two imports wait on each other (one
thread imports A which imports B, the other B which imports A): then one of them is handed the *partially
initialized* module, and fails later on a missing attribute. Taking one process-wide lock around every late
import rules that out among the framework's own imports, and :func:`preload` lets a run import, before its
worker threads start, what they are about to need.

>>> with late_import():
...     import json
>>> json.dumps([1])
'[1]'
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable

_LOCK = threading.RLock()  # re-entrant: a module imported late may itself import another late


def late_import() -> threading.RLock:
    """The lock to hold around an import statement inside a function: ``with late_import(): import x``."""
    return _LOCK


def preload(names: Iterable[str]) -> None:
    """Import these modules now, whole, under the lock (before the threads that will use them start).

    >>> preload(["json", "json.decoder"])
    """
    with _LOCK:
        for name in names:
            importlib.import_module(name)


class LazyModule:
    """A module imported (under the lock) when one of its attributes is first used: for a module that a
    command may well not need at all, used in many places of one module.

    >>> decimal = LazyModule("decimal")
    >>> str(decimal.Decimal("1.5") * 2)
    '3.0'
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: object | None = None

    def __getattr__(self, attribute: str) -> object:
        module = self._module
        if module is None:
            with _LOCK:
                module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)
