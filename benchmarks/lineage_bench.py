"""Column lineage benchmark: TPC-H, a wide query through chained SELECT * CTEs, and a cached 1,000-asset project.

Run: ``python benchmarks/lineage_bench.py``. It prints the figures and writes them into its own section of
``benchmarks/RESULTS.md`` (between markers, leaving the other sections alone).

Goals (from the project): the 22 TPC-H queries under 80 ms in total; a 200-column query through five chained
``SELECT *`` CTEs under 100 ms; re-running lineage on an unchanged project of 1,000 SQL assets under 0.5 s from
the cache. Each figure is the median of several runs, in this process, after one warm-up run that is not
counted (the first use of sqlglot's parser builds its tables).
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assets_core.declaring.definitions import asset, source_asset  # noqa: E402
from assets_core.planning.versioning import CodeVersioner  # noqa: E402
from assets_core.planning.graph import AssetGraph  # noqa: E402
from assets_core.lineage.sql import TableLineage, project_lineage, sql_lineage  # noqa: E402
from assets_core.declaring.sql import _parse, sql_asset  # noqa: E402
from catalog import open_catalog, sqlite_url  # noqa: E402
import report  # noqa: E402  (this folder, as the script runs from it)

TPCH = ROOT.parent / "shared" / "acceptance" / "tpch"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- lineage:begin -->", "<!-- lineage:end -->"
REPEAT = 7


def median_ms(work, repeat: int = REPEAT, prepare=None) -> float:
    work()  # warm-up
    times = []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def tpch() -> tuple[float, float]:
    """Cold (parse included) and parsed (trees cached from loading) lineage of the 22 queries."""
    schema = json.loads((TPCH / "schema.json").read_text())
    sources = [source_asset(name, f"{name}.parquet") for name in schema]
    queries = [sql_asset(path.stem, path.read_text()) for path in sorted((TPCH / "queries").glob("*.sql"))]
    graph = AssetGraph.build(sources + queries)
    schemas = {name: tuple(columns) for name, columns in schema.items()}
    cold = median_ms(lambda: project_lineage(graph, schemas), prepare=_parse.cache_clear)
    parsed = median_ms(lambda: project_lineage(graph, schemas))
    return cold, parsed


def wide() -> float:
    """200 columns through five chained SELECT * CTEs, every column traced."""
    columns = [f"c{i}" for i in range(200)]
    sql = ("with a as (select * from wide), b as (select * from a), c as (select * from b), "
           "d as (select * from c), e as (select * from d) select * from e")
    item = sql_asset("model", sql)

    def run() -> None:
        _parse.cache_clear()
        result = sql_lineage(item, {"wide": columns})
        assert len(result.direct) == 200 and result.direct["c199"] == ("wide.c199",)

    return median_ms(run)


def cached_project(count: int = 1000) -> tuple[float, float]:
    """A chain-shaped project of ``count`` SQL assets: first analysis, then a rerun answered from the catalog."""
    raw = source_asset("raw", "raw.csv")
    items = [raw] + [sql_asset(f"m{i}", f"select id, amount + {i} as amount, note from {'raw' if i == 0 else f'm{i - 1}'}")
                     for i in range(count)]
    graph = AssetGraph.build(items)
    schemas = {"raw": ("id", "amount", "note")}
    with tempfile.TemporaryDirectory() as folder:
        catalog = open_catalog(sqlite_url(Path(folder) / "catalog.db"))
        start = time.perf_counter()
        lineages = project_lineage(graph, schemas)
        catalog.save_column_lineage(lineages)
        first = (time.perf_counter() - start) * 1000

        def rerun() -> dict[str, TableLineage]:
            cached = catalog.load_column_lineage()
            again = project_lineage(graph, schemas, cached)
            catalog.save_column_lineage(again)
            return again

        again = rerun()
        assert all(again[name].key == lineages[name].key for name in lineages)
        return first, median_ms(rerun, repeat=5)


def _python_asset(name: str, upstream: str, index: int):
    import polars as pl

    def step(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.with_columns(amount=pl.col("amount") + index).select("id", "amount", "note", "day", "flag")

    return asset(step, name=name, inputs={"frame": upstream})


def python_project(count: int = 1000) -> tuple[float, float]:
    """A chain of ``count`` Python assets, each a with_columns and a select over the one before: every one
    traced on empty frames (materialized: their stored schemas known), then a rerun answered from the catalog."""
    raw = source_asset("raw", "raw.csv")
    items = [raw] + [_python_asset(f"p{i}", "raw" if i == 0 else f"p{i - 1}", i) for i in range(count)]
    graph = AssetGraph.build(items)
    typed_schema = (("id", "Int64"), ("amount", "Int64"), ("note", "String"), ("day", "Date"), ("flag", "Boolean"))
    typed = {item.name: typed_schema for item in items}
    schemas = {name: tuple(column for column, _ in schema) for name, schema in typed.items()}
    versions = CodeVersioner(ROOT).versions(graph)
    with tempfile.TemporaryDirectory() as folder:
        catalog = open_catalog(sqlite_url(Path(folder) / "catalog.db"))
        start = time.perf_counter()
        lineages = project_lineage(graph, schemas, None, typed, versions)
        catalog.save_column_lineage(lineages)
        first = (time.perf_counter() - start) * 1000
        assert lineages[f"p{count - 1}"].direct["amount"] == (f"p{count - 2}.amount",), lineages[f"p{count - 1}"]

        def rerun() -> dict[str, TableLineage]:
            cached = catalog.load_column_lineage()
            again = project_lineage(graph, schemas, cached, typed, versions)
            catalog.save_column_lineage(again)
            return again

        again = rerun()
        assert all(again[name].key == lineages[name].key for name in lineages)
        return first, median_ms(rerun, repeat=5)


def main() -> None:
    cold, parsed = tpch()
    chained = wide()
    first, cached = cached_project()
    traced, traced_cached = python_project()
    rows = [
        ("TPC-H, 22 queries, full column lineage, parse included", "< 80 ms", cold),
        ("TPC-H, 22 queries, trees already parsed when the project loaded", "< 80 ms", parsed),
        ("200 columns through five chained SELECT * CTEs", "< 100 ms", chained),
        ("1,000 SQL assets, unchanged, lineage from the catalog cache", "< 500 ms", cached),
        ("1,000 Python assets traced on empty frames (nothing cached)", "< 2000 ms", traced),
        ("1,000 Python assets, unchanged, lineage from the catalog cache", "< 500 ms", traced_cached),
    ]
    goals = {"< 80 ms": 80, "< 100 ms": 100, "< 500 ms": 500, "< 2000 ms": 2000}
    lines = [BEGIN, "## Column lineage", "",
             f"`python benchmarks/lineage_bench.py`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
             f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
             f"median of {REPEAT} runs after a warm-up, in process.", "",
             "| workload | goal | measured | verdict |", "|---|---|---|---|"]
    for label, goal, value in rows:
        verdict = "met" if value < goals[goal] else "**missed**"
        lines.append(f"| {label} | {goal} | {value:.1f} ms | {verdict} |")
    lines += ["", f"The 1,000-asset project's first analysis (nothing cached) took {first:.0f} ms.", END]
    section = "\n".join(lines)
    print(section)
    report.write_section(RESULTS, BEGIN, END, section)


if __name__ == "__main__":
    main()
