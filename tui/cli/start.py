"""The ``assets`` command's first moment, before the rest of the framework is imported.

A look at a project (``status``, ``plan``) whose partitioned sources have very many files must stat each one.
Here, before anything else, it begins stat'ing the files its last look stat'ed, in a helper process, so that
the stat'ing overlaps the imports and the loading of the project instead of following them; the project takes
that helper over only if the files it needs now are exactly those (see
:func:`~assets_core.declaring.file_stats.stat_early`). The home is found as the command finds it from its
options and the environment; one set in ``pyproject.toml`` is not looked for (those projects just start later).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from assets_core.declaring.file_stats import recall, stat_early
from assets_core.imports import late_import

LOOKS = frozenset({"status", "plan"})  # the commands that stat a project's files and only look


def entry() -> None:
    """The ``assets`` command."""
    begin(sys.argv[1:])
    with late_import():  # the rest of the framework: imported while the helper works
        from tui.cli.main import entry as command

    command()


def begin(argv: Sequence[str]) -> bool:
    """Begin stat'ing the files the last look at the project these arguments name stat'ed; return whether a
    helper began."""
    if not argv or argv[0] not in LOOKS:
        return False
    project = _option(argv, "--project") or "."
    home = _option(argv, "--home") or os.environ.get("ASSETS_HOME") or ".assets"
    joined = recall(os.path.join(project, home))  # (an absolute home is itself)
    return joined is not None and stat_early(joined)


def _option(argv: Sequence[str], name: str) -> str | None:
    """The value of the last ``--name VALUE`` or ``--name=VALUE`` among the arguments (None: not given).

    >>> _option(["status", "--home", "a", "--home=b", "x"], "--home"), _option(["status"], "--home")
    ('b', None)
    """
    found = None
    for at, word in enumerate(argv):
        if word == name and at + 1 < len(argv):
            found = argv[at + 1]
        elif word.startswith(name + "="):
            found = word[len(name) + 1:]
    return found
