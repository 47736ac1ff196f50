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
