"""Shared fixtures: small projects written to real folders, loaded the way the `assets` command loads them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assets_core.declaring.loading import load_assets
from assets_core.application.project import Project
from assets_core.running.storage import Storage
from catalog import open_catalog, sqlite_url
from tests.postgres import PostgresServer, start_server
from tests.s3 import s3_bucket, s3_server  # noqa: F401  (fixtures, registered by being imported here)


class ProjectFolder:
    """A project folder on disk whose definitions file can be rewritten and reloaded."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def load(self, file: str = "defs.py") -> Project:
        """Load the definitions afresh, with storage and a SQLite catalog in the folder's .assets home."""
        home = self.root / ".assets"
        catalog = open_catalog(sqlite_url(home / "catalog.db"))
        return Project(load_assets(self.root, file=file), self.root, Storage(home / "storage"), catalog)


@pytest.fixture
def folder(tmp_path: Path) -> ProjectFolder:
    return ProjectFolder(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1, started once per test process."""
    yield from start_server()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on that server (dropped after the test)."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


def statuses_of(project: Project) -> dict[str, str]:
    return {s.asset: s.status for s in project.statuses()}


def reasons_of(project: Project, name: str) -> list[str]:
    return [r.kind for r in project.snapshot().statuses[name].reasons]


Loader = Callable[[], Project]
