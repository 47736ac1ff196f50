"""What a command's first write to the catalog pays for: importing SQLAlchemy, SQLModel and the tables, each
kept cheap without changing the tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from catalog.models import TABLES, AssetRow, RunRow

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}  # type: ignore[no-untyped-call]
DDL = Path(__file__).with_name("catalog_ddl.sql")  # every table and index, on SQLite and on PostgreSQL

# In a fresh interpreter, as a command imports it: is the collector on again, and what did the import freeze?
_IMPORT = """
import gc, json
import catalog.store
from catalog.models import RUN
tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "run_tracked": id(RUN) in tracked}))
"""


def test_importing_the_full_catalog_leaves_the_collector_on_and_its_objects_frozen() -> None:
    found = json.loads(subprocess.run([sys.executable, "-c", _IMPORT], check=True, capture_output=True,
                                      text=True).stdout)
    assert found["enabled"]
    assert found["frozen"] > 20_000  # SQLAlchemy's and SQLModel's modules, classes and functions, and the tables
    assert not found["run_tracked"]  # the run table is out of every generation the collector walks


def test_the_models_build_their_validators_only_when_used() -> None:
    assert not RunRow.__pydantic_complete__
    row = AssetRow.model_validate({"name": "a", "kind": "python", "updated_at": "2026-01-01T00:00:00Z"})
    assert (row.name, row.group, row.upstream, row.updated_at.year) == ("a", "default", [], 2026)


def test_the_tables_are_the_ones_the_models_always_made() -> None:
    # catalog_ddl.sql was written from the models as they were before their build was made cheaper: real
    # annotations instead of strings, and deferred validators, must make the very same tables.
    lines = []
    for name, dialect in DIALECTS.items():
        lines.append(f"-- {name}")
        for table in TABLES:
            lines.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
            lines += [str(CreateIndex(index).compile(dialect=dialect)).strip() + ";"
                      for index in sorted(table.indexes, key=lambda index: index.name or "")]
    made = [line.rstrip() for line in "\n".join(lines).splitlines()]
    assert made == DDL.read_text().splitlines()
