"""OpenLineage transports the user names but the client cannot honour as asked: `transport = "console"` must
show the events, and a client configuration that names no transport (a missing OPENLINEAGE_CONFIG file) must say
so in the run's log rather than send the events nowhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets_core.application.project import Project
from assets_core.declaring.definitions import asset
from assets_core.planning.memory import MemoryCatalog
from assets_core.running.openlineage import OpenLineageSettings
from assets_core.running.runs import RunStatus
from assets_core.running.storage import Storage
from tests.lineage_server import closed_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch, tmp_path):
    """Nothing of the machine's own OpenLineage configuration (environment, ./openlineage.yml, ~/.openlineage)."""
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)


@asset
def numbers():
    import polars as pl

    return pl.DataFrame({"n": [1, 2]})


def test_a_console_transport_prints_the_events(tmp_path):
    """The client's console transport logs each event at INFO, which the run kept quiet: nothing was shown."""
    (tmp_path / "defs.py").write_text("import polars as pl\nfrom assets_core import asset\n\n@asset\n"
                                      "def numbers():\n    return pl.DataFrame({'n': [1]})\n")
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nmodule = "defs"\n\n'
                                             '[tool.assets.openlineage]\ntransport = "console"\n')
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OPENLINEAGE")}
    done = subprocess.run([sys.executable, "-m", "tui.cli", "materialize", "--project", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, env=clean, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert '"eventType": "START"' in shown and '"eventType": "COMPLETE"' in shown and "Traceback" not in shown


def test_a_missing_config_file_is_named_in_the_runs_log(tmp_path, monkeypatch):
    """OPENLINEAGE_CONFIG naming no file: the client fell back to its console transport, kept quiet, and the run
    said nothing (every event counted as sent)."""
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(tmp_path / "openlineage.yaml"))
    catalog = MemoryCatalog()
    project = Project((numbers,), tmp_path, Storage(tmp_path / "storage"), catalog)
    project.openlineage = OpenLineageSettings(timeout=1.0)  # as the environment turns it on: the client's own
    result = project.materialize()
    assert result.status == RunStatus.SUCCESS
    (warning,) = [e.message for e in catalog.events if e.level == "WARNING"]
    assert warning.startswith("OpenLineage: 2 of 2 event(s) dropped")
    assert "no transport" in warning and f"OPENLINEAGE_CONFIG names {tmp_path / 'openlineage.yaml'}" in warning


def test_a_config_file_that_is_not_yaml_is_one_line_not_a_traceback(tmp_path, monkeypatch, capfd):
    """The client logs its YAML error with the whole stack, which the run printed on the terminal."""
    (tmp_path / "openlineage.yml").write_text("transport: [\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(tmp_path / "openlineage.yml"))
    catalog = MemoryCatalog()
    project = Project((numbers,), tmp_path, Storage(tmp_path / "storage"), catalog)
    project.openlineage = OpenLineageSettings(timeout=1.0)
    assert project.materialize().status == RunStatus.SUCCESS
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    (warning,) = [e.message for e in catalog.events if e.level == "WARNING"]
    assert "is not YAML with a 'transport:'" in warning


def test_a_server_out_of_reach_prints_no_retry_lines_of_the_http_client(tmp_path):
    """OPENLINEAGE_URL at a closed port: the client's HTTP transport retried each event four times, and each retry
    was a WARNING line of urllib3 on the terminal, while how many events were dropped went to the run's log only.
    The run's summary now says that instead."""
    (tmp_path / "defs.py").write_text("import polars as pl\nfrom assets_core import asset\n\n@asset\n"
                                      "def numbers():\n    return pl.DataFrame({'n': [1]})\n")
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nmodule = "defs"\n')
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OPENLINEAGE")}
    environment["OPENLINEAGE_URL"] = closed_port()
    done = subprocess.run([sys.executable, "-m", "tui.cli", "materialize", "--project", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, env=environment, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert "materialized numbers" in shown
    assert "Retrying" not in shown and "urllib3" not in shown, shown
    assert "! OpenLineage: 2 of 2 event(s) dropped, not delivered to" in shown  # said in the summary
