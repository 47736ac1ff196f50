"""The command's console, made when first used: a --json command never prints through it, and importing rich
would cost it a twentieth of a second."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO, cast

from assets_core.imports import LazyModule

if TYPE_CHECKING:
    from rich.console import Console

    from tui.cli import console as consoles
else:
    consoles = LazyModule("tui.cli.console")


class LaterConsole:
    """Stands for a :class:`~tui.cli.console.CommandConsole` on ``file``, made at its first use."""

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._made: Console | None = None

    def made(self) -> Console:
        if self._made is None:
            self._made = consoles.to(self._file)
        return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


def later(file: TextIO) -> Console:
    """A console on ``file`` made at its first use (typed as the console it stands for)."""
    return cast("Console", LaterConsole(file))


def made(console: Console) -> Console:
    """The console itself, for rich's own use (a progress bar enters it as a context)."""
    return console.made() if isinstance(console, LaterConsole) else console


def stderr() -> Console:
    """A console on stderr."""
    return consoles.to(stderr=True)
