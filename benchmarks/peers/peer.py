"""One workload run by one peer, inside that peer's own environment; prints the seconds it took as JSON.

    python peer.py TOOL WORKLOAD SIZE FOLDER

TOOL is dagster, hamilton or prefect; WORKLOAD is layered (SIZE trivial assets in layers of about √SIZE, each
below the first reading two of the layer above; each a 10-row polars DataFrame) or throughput (SIZE rows x 5
columns made by one asset, grouped by a second). FOLDER keeps what the tool persists, so running the same
command again is the tool's no-op rerun. Each tool persists as its documentation recommends:

- Dagster: a DagsterInstance on disk (DAGSTER_HOME in FOLDER: SQLite run and event storage), assets run by
  ``materialize`` with its default filesystem IO manager (each value pickled to DAGSTER_HOME/storage).
- Hamilton: the driver's cache (``Builder().with_cache(FOLDER/cache)``: metadata in SQLite, results on disk).
- Prefect: tasks with ``persist_result=True`` and the default cache policy (task source and inputs), results
  on local disk in FOLDER, the API an ephemeral local server on a SQLite database in FOLDER.

The work inside each asset is the same polars code as the framework's own benchmark (benchmarks/workloads.py).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import workloads  # noqa: E402  (benchmarks/: the framework's own benchmark, whose work every tool does here)

exec(workloads.THROUGHPUT_WORK, globals())  # make_frame(rows) and aggregate(frame), in polars


def layout(n: int) -> list[tuple[str, tuple[str, str] | None, int]]:
    """Each asset's name, the two it reads (None in the first layer) and its column, as in workloads.py."""
    width = max(2, round(math.sqrt(n)))
    found = []
    for index in range(n):
        layer, column = divmod(index, width)
        ups = None if layer == 0 else (f"a_{layer - 1}_{column}", f"a_{layer - 1}_{(column + 1) % width}")
        found.append((f"a_{layer}_{column}", ups, column))
    return found


# Dagster


def _dagster_root(seed: int):  # type: ignore[no-untyped-def]
    import polars as pl

    def root():  # type: ignore[no-untyped-def]
        return pl.DataFrame({"k": list(range(10)), "v": [seed] * 10})
    return root


def dagster(workload: str, size: int, folder: Path) -> float:
    os.environ["DAGSTER_HOME"] = str(folder / "dagster_home")
    (folder / "dagster_home").mkdir(parents=True, exist_ok=True)
    import polars as pl
    from dagster import AssetIn, DagsterInstance, asset, materialize

    assets = []
    if workload == "layered":
        for name, ups, column in layout(size):
            if ups is None:
                assets.append(asset(name=name)(_dagster_root(column)))
            else:
                def node(left, right):  # type: ignore[no-untyped-def]
                    return left.with_columns(v=pl.col("v") + right["v"])
                assets.append(asset(name=name, ins={"left": AssetIn(ups[0]), "right": AssetIn(ups[1])})(node))
    else:
        @asset(name="events")
        def events():  # type: ignore[no-untyped-def]
            return make_frame(size)

        @asset(name="summary")
        def summary(events):  # type: ignore[no-untyped-def]
            return aggregate(events)
        assets = [events, summary]
    instance = DagsterInstance.get()
    started = time.perf_counter()
    result = materialize(assets, instance=instance)
    assert result.success
    return time.perf_counter() - started


# Hamilton


def hamilton(workload: str, size: int, folder: Path) -> float:
    module = folder / f"hamilton_{workload}.py"
    if workload == "layered":
        lines = ["import polars as pl", ""]
        for name, ups, column in layout(size):
            if ups is None:
                lines += [f"def {name}() -> pl.DataFrame:",
                          f"    return pl.DataFrame({{'k': list(range(10)), 'v': [{column}] * 10}})", ""]
            else:
                lines += [f"def {name}({ups[0]}: pl.DataFrame, {ups[1]}: pl.DataFrame) -> pl.DataFrame:",
                          f"    return {ups[0]}.with_columns(v=pl.col('v') + {ups[1]}['v'])", ""]
        outputs = [name for name, _, _ in layout(size)]
    else:
        lines = ["import polars as pl", f"from peer import make_frame, aggregate", "",
                 "def events() -> pl.DataFrame:", f"    return make_frame({size})", "",
                 "def summary(events: pl.DataFrame) -> pl.DataFrame:", "    return aggregate(events)", ""]
        outputs = ["summary"]
    module.write_text("\n".join(lines))
    sys.path[:0] = [str(folder), str(Path(__file__).parent)]
    import importlib

    from hamilton import base, driver

    graph = importlib.import_module(module.stem)
    built = (driver.Builder().with_modules(graph).with_adapters(base.DictResult())
             .with_cache(path=str(folder / "cache")).build())
    started = time.perf_counter()
    built.execute(outputs)
    return time.perf_counter() - started


# Prefect


def prefect(workload: str, size: int, folder: Path) -> float:
    os.environ.setdefault("PREFECT_HOME", str(folder / "prefect_home"))
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(folder / "results")
    os.environ["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] = "true"
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{folder / 'prefect.db'}"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # a loaded machine is slow
    import polars as pl
    from prefect import flow, task

    @task(persist_result=True)
    def root(column: int):  # type: ignore[no-untyped-def]
        return pl.DataFrame({"k": list(range(10)), "v": [column] * 10})

    @task(persist_result=True)
    def node(left, right):  # type: ignore[no-untyped-def]
        return left.with_columns(v=pl.col("v") + right["v"])

    @task(persist_result=True)
    def events(rows: int):  # type: ignore[no-untyped-def]
        return make_frame(rows)

    @task(persist_result=True)
    def summary(frame):  # type: ignore[no-untyped-def]
        return aggregate(frame)

    @flow
    def layered() -> None:
        made = {}
        for name, ups, column in layout(size):
            made[name] = root(column) if ups is None else node(made[ups[0]], made[ups[1]])

    @flow
    def throughput() -> None:
        summary(events(size))

    started = time.perf_counter()
    (layered if workload == "layered" else throughput)()
    return time.perf_counter() - started


def main() -> None:
    tool, workload, size, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    seconds = {"dagster": dagster, "hamilton": hamilton, "prefect": prefect}[tool](workload, size, folder)
    print(json.dumps({"tool": tool, "workload": workload, "size": size, "seconds": seconds}))


if __name__ == "__main__":
    main()
