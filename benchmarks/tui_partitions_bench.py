"""The browser on a partitioned project: opening an asset of 100,000 partitions (its strip drawn) and its
Partitions tab, in this process with ``App.run_test()`` (goal: within 100 ms).

Run ``python benchmarks/partitions_bench.py`` first: this opens the hourly project it made
(``benchmarks/.work/partitions/hourly``). Prints the figures and writes them into the partitions section's
neighbour in ``benchmarks/RESULTS.md`` (its own markers).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from tui_bench import SIZE, Frames, Timings  # noqa: E402

from assets_core.application.workspace import Options, open_workspace  # noqa: E402
from tui.browser.app import BrowserApp  # noqa: E402
from tui.browser.session import Browser  # noqa: E402
import report  # noqa: E402  (this folder, as the script runs from it)

PROJECT = HERE / ".work" / "partitions" / "hourly"
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- tui-partitions:begin -->", "<!-- tui-partitions:end -->"


async def measure(timings: Timings) -> int:
    workspace = open_workspace(Options(project=str(PROJECT)))
    app = BrowserApp(Browser(workspace), theme="textual-dark")
    app.animation_level = "none"
    frames = Frames(app)
    async with app.run_test(size=SIZE) as pilot:
        while not app.board.loaded:
            await pilot.pause(0.01)
        await app.workers.wait_for_complete()
        await pilot.pause()
        total = len(workspace.project.snapshot().nodes.keys("hits"))
        for _ in range(5):
            for name in ("hits", "daily"):
                start = time.perf_counter()
                app.main.select_asset(name)
                await pilot.pause()
                drawn = [moment for moment in frames.times if moment >= start]
                timings.add(f"open an asset of many partitions ({name}), its strip drawn",
                            (drawn[-1] if drawn else time.perf_counter()) - start)
                await frames.step("open its Partitions tab", timings, pilot, "7")
                await pilot.press("1")
        return total


def main() -> None:
    timings = Timings()
    total = asyncio.run(measure(timings))
    moment = datetime.now(timezone.utc)
    lines = [BEGIN, "## The browser on partitions", "",
             f"`python benchmarks/tui_partitions_bench.py`, {moment:%Y-%m-%d %H:%M} UTC: the hourly project of "
             f"`partitions_bench.py` ({total:,} hourly partitions, a daily asset reading them), in process, "
             "median of 5 (goal: within 100 ms).", "", "| step | median | max |", "|---|---|---|"]
    for what, series in timings.series.items():
        lines.append(f"| {what} | {statistics.median(series) * 1000:.0f} ms | {max(series) * 1000:.0f} ms |")
    lines.append(END)
    section = "\n".join(lines)
    report.write_section(RESULTS, BEGIN, END, section, before="<!-- soaks:begin -->")
    print(section)


if __name__ == "__main__":
    main()
