"""What ``assets materialize`` shows while it runs: a progress bar on a terminal, one line per asset otherwise."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assets_core.planning.state import Event
from tui.cli.later import made
from tui.formatting import STATUS_STYLE, escape

FINAL = ("materialized", "skipped", "failed")


class LineReporter:
    """One line per finished asset, for logs and pipes."""

    def __init__(self, console: Console):
        self.console = console

    def __call__(self, event: Event) -> None:
        if event.kind in FINAL and event.asset:
            glyph, colour = STATUS_STYLE[event.kind]
            self.console.print(f"[{colour}]{glyph} {event.kind}[/] {escape(event.asset)}: {escape(event.message)}")

    def __enter__(self) -> LineReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class BarReporter(LineReporter):
    """A live bar with the assets running now; failures are printed above it as they happen."""

    def __init__(self, console: Console, total: int):
        super().__init__(console)
        self.running: list[str] = []
        self.progress = Progress(TextColumn("[bold]materializing"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.description}"), console=made(console),
                                 transient=True, redirect_stdout=False, redirect_stderr=False)
        self.task = self.progress.add_task("", total=total)

    def __call__(self, event: Event) -> None:
        if not event.asset:
            return
        if event.kind == "started":
            self.running.append(event.asset)
        elif event.kind in FINAL:
            if event.asset in self.running:
                self.running.remove(event.asset)
            self.progress.advance(self.task)
            if event.kind == "failed":
                super().__call__(event)
        self.progress.update(self.task, description=escape(", ".join(self.running[:3])))

    def __enter__(self) -> BarReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()
