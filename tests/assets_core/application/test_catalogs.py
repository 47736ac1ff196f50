"""The core finds its catalog through the entry point group `assets.catalogs`, never by importing it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assets_core.application import catalogs
from assets_core.application.catalogs import find_factory, open_catalog

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = '''
from assets_core.planning.memory import MemoryCatalog

OPENED = []

class ListCatalog(MemoryCatalog):
    """A catalog kept in memory: enough for a run, to show that any package can serve the core."""

    def save_definitions(self, definitions):
        self.definitions = list(definitions)
        return True

    def list_runs(self, limit=50):
        return list(self.runs.values())[:limit]

    def load_column_lineage(self):
        return {}

    def save_column_lineage(self, lineages):
        return False

    def close(self):
        pass


def open_catalog(url):
    OPENED.append(url)
    return ListCatalog()
'''

SCRIPT = '''
import polars as pl
import list_catalog
from assets_core import asset, materialize

@asset
def one():
    return pl.DataFrame({"x": [1]})

result = materialize([one], project=".", catalog="listed://anything")
print(result.status, result.materialized, list_catalog.OPENED)
'''


def test_a_package_registered_for_a_scheme_serves_its_urls(tmp_path):
    site = tmp_path / "site"
    (site / "list_catalog-1.0.dist-info").mkdir(parents=True)
    (site / "list_catalog-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: list-catalog\n"
                                                                  "Version: 1.0\n")
    (site / "list_catalog-1.0.dist-info" / "entry_points.txt").write_text(
        "[assets.catalogs]\nlisted = list_catalog:open_catalog\n")
    (site / "list_catalog.py").write_text(textwrap.dedent(PLUGIN))
    (tmp_path / "script.py").write_text(textwrap.dedent(SCRIPT))
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "success ['one'] ['listed://anything']", done.stderr
    assert not (tmp_path / ".assets" / "catalog.db").exists()  # the SQL catalog was never asked


@pytest.fixture
def nothing_wired(monkeypatch):
    """No factory handed over in this process (the `assets` command, run in-process by other tests, wires one)."""
    monkeypatch.setattr(catalogs, "_WIRED", {})


def test_every_other_url_goes_to_the_default_catalog(tmp_path, nothing_wired):
    assert find_factory("sqlite:///x.db").__module__ == "catalog.quick"
    assert find_factory("postgresql+psycopg://host/db").__module__ == "catalog.quick"
    catalog = open_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        assert catalog.list_runs() == []
    finally:
        catalog.close()


def test_a_wired_factory_serves_its_schemes_and_no_other(nothing_wired):
    def wired(url):
        raise AssertionError("not called here")

    catalogs.wire(wired, ["SQLite"])
    assert find_factory("sqlite:///x.db") is wired
    assert find_factory("postgresql://host/db").__module__ == "catalog.quick"  # from the entry points


def test_the_assets_command_finds_its_catalog_without_the_entry_points(tmp_path):
    """The command wires this project's catalog for SQLite: no look through the installed packages' metadata
    (importlib.metadata is never imported by a status of a materialized project)."""
    script = ("import sys\nfrom tui.cli.main import main\n"
              "code = main(['status', '--project', sys.argv[1], '-f', 'defs.py'])\n"
              "print(code, 'importlib.metadata' in sys.modules)\n")
    (tmp_path / "defs.py").write_text("from assets_core import asset\n\n@asset\ndef one() -> int:\n    return 1\n")
    made = subprocess.run([sys.executable, "-m", "tui.cli.main", "materialize", "-f", "defs.py"], cwd=tmp_path,
                          capture_output=True, text=True)  # (creating a catalog goes through SQLAlchemy)
    assert made.returncode == 0, made.stderr
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                          cwd=tmp_path)
    code, imported = done.stdout.split()[-2:]
    assert (code, imported) == ("0", "False"), done.stderr


def test_no_installed_catalog_is_a_clear_error(tmp_path):
    """Without site-packages (python -S) and with a copy of the core alone, no distribution registers a
    catalog (the project folder itself holds the egg-info of its editable install)."""
    shutil.copytree(ROOT / "assets_core", tmp_path / "src" / "assets_core")
    script = ("from assets_core.application.catalogs import find_factory\n"
              "from assets_core.errors import CatalogError\n"
              "try:\n    find_factory('sqlite:///x.db')\nexcept CatalogError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"})
    assert done.stdout.startswith("no catalog package is installed for 'sqlite:///x.db'"), done.stderr
