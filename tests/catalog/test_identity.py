"""A catalog's id: made once, when first asked for, the same however often and by whichever reader it is
reopened, and one id when several processes ask at once (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from catalog import SqlCatalog, open_catalog, sqlite_url
from catalog.quick import QuickCatalog


def _asked_at_once(url: str, count: int = 4) -> set[str]:
    catalogs = [SqlCatalog(url) for _ in range(count)]
    barrier, answers = threading.Barrier(count), []

    def ask(catalog: SqlCatalog) -> None:
        barrier.wait()
        answers.append(catalog.catalog_id())

    threads = [threading.Thread(target=ask, args=(catalog,)) for catalog in catalogs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for catalog in catalogs:
        catalog.close()
    assert len(answers) == count
    return set(answers)


def test_the_id_is_made_once_and_stays_across_reopenings(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "catalog.db")
    with SqlCatalog(url) as catalog:
        made = catalog.catalog_id()
        assert len(made) == 32 and catalog.catalog_id() == made
    quick = open_catalog(url)
    assert isinstance(quick, QuickCatalog) and quick.catalog_id() == made
    quick.close()
    with SqlCatalog(url) as again:
        assert again.catalog_id() == made
    with SqlCatalog(sqlite_url(tmp_path / "other.db")) as other:
        assert other.catalog_id() != made


def test_a_quick_catalog_asked_first_makes_the_id(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "catalog.db")
    SqlCatalog(url).close()  # the schema, no id yet
    quick = open_catalog(url)
    assert isinstance(quick, QuickCatalog)
    made = quick.catalog_id()
    quick.close()
    with SqlCatalog(url) as catalog:
        assert catalog.catalog_id() == made


def test_processes_asking_at_once_get_one_id_on_sqlite(tmp_path: Path) -> None:
    for attempt in range(3):
        url = sqlite_url(tmp_path / f"catalog{attempt}.db")
        SqlCatalog(url).close()
        assert len(_asked_at_once(url)) == 1


@pytest.mark.usefixtures("postgres_server")
def test_processes_asking_at_once_get_one_id_on_postgres(postgres_url: str) -> None:
    SqlCatalog(postgres_url).close()
    [made] = _asked_at_once(postgres_url)
    with SqlCatalog(postgres_url) as catalog:
        assert catalog.catalog_id() == made
