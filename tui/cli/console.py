"""The command's consoles: rich's, which show what a project wrote safely (imported by the first command that
prints through one: a --json command never does)."""

from __future__ import annotations

from typing import Any, TextIO

from rich.console import Console

from tui.formatting import visible


class CommandConsole(Console):
    """A console through which what a project wrote (an asset's error, a log line, a value) passes with its
    control characters shown as escapes, once, rather than obeyed by the terminal."""

    def print(self, *objects: Any, **options: Any) -> None:
        super().print(*(visible(item) if isinstance(item, str) else item for item in objects), **options)

    def on_broken_pipe(self) -> None:
        """Rich would exit 1 on its own: let main end the way it does for every other write."""
        self.quiet = True
        raise BrokenPipeError


def to(file: TextIO | None = None, stderr: bool = False) -> CommandConsole:
    """A console writing to ``file`` (default: stdout as it is when printing), or to stderr. No emoji codes: a name
    or a message with ':ok:' or ':b:' in it (a column 'key:ok:value') prints as it is."""
    return CommandConsole(file=file, stderr=stderr, highlight=False, soft_wrap=True, emoji=False)
