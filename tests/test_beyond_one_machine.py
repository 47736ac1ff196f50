"""Beyond one machine, with real servers started by the tests: the example on a Dask cluster and in an S3
bucket (moto's server) gives the data versions of the default run, and two processes with different homes
sharing one PostgreSQL catalog and one bucket split the work without materializing anything twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.commands import assets_variables, in_process
from tests.test_example import EXAMPLE, example_data

__all__ = ["example_data"]  # the fixture that makes the example's generated data


def _assets(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ASSETS_")}
    clean["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the example folder
    return subprocess.Popen([sys.executable, "-m", "tui.cli.main", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**clean, **(env or {})})


def _in_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`assets ARGS` run in this process, with the environment ``_assets`` gives its process: its exit code,
    stdout and stderr."""
    done = in_process(*args, cwd=cwd, env=env, unset=assets_variables(), no_bytecode=True)
    return done.returncode, done.stdout, done.stderr


def _json(*args: str, cwd: Path) -> Any:
    code, out, err = _in_process(*args, "--json", cwd=cwd)
    assert code == 0, out + err
    return json.loads(out)


def _versions(result: dict[str, Any]) -> dict[tuple[str, str | None], str]:
    return {(o["asset"], o["partition"]): o["data_version"] for o in result["outcomes"]}


def test_the_example_runs_unchanged_on_dask_and_in_a_bucket_with_the_same_data_versions(
        tmp_path: Path, s3_bucket: str) -> None:
    project = ["--project", str(EXAMPLE)]
    default = _json("materialize", *project, "--home", str(tmp_path / "default"), cwd=tmp_path)
    on_dask = _json("materialize", *project, "--home", str(tmp_path / "dask"), "--executor", "dask", cwd=tmp_path)
    in_bucket = _json("materialize", *project, "--home", str(tmp_path / "bucket"), "--storage", s3_bucket,
                      cwd=tmp_path)
    assert default["status"] == on_dask["status"] == in_bucket["status"] == "success"
    assert len(default["materialized"]) == 9
    assert _versions(default) == _versions(on_dask) == _versions(in_bucket)
    statuses = _json("status", *project, "--home", str(tmp_path / "bucket"), "--storage", s3_bucket, cwd=tmp_path)
    assert {entry["status"] for entry in statuses} == {"fresh"}  # every recorded value is found in the bucket


SHARED = """
import os
import time
from pathlib import Path

from assets_core import asset

def _computed(name):
    with open(Path(__file__).parent / "computed.log", "a") as log:
        log.write(f"{name} {os.getpid()}\\n")
    time.sleep(0.2)

@asset
def start():
    _computed("start")
    return {"n": 1}

""" + "".join(f"""
@asset
def part_{index}(start):
    _computed("part_{index}")
    return {{"part": {index}, "n": start["n"]}}
""" for index in range(6)) + """
@asset
def total(""" + ", ".join(f"part_{index}" for index in range(6)) + """):
    _computed("total")
    return {"sum": """ + " + ".join(f"part_{index}['part']" for index in range(6)) + """}
"""


def test_two_homes_sharing_a_postgres_catalog_and_a_bucket_never_materialize_an_asset_twice(
        tmp_path: Path, postgres_url: str, s3_bucket: str) -> None:
    (tmp_path / "defs.py").write_text(SHARED)
    (tmp_path / "pyproject.toml").write_text('[tool.assets]\nfile = "defs.py"\n')
    env = {"ASSETS_CATALOG": postgres_url, "ASSETS_STORAGE": s3_bucket,
           **{name: os.environ[name] for name in os.environ if name.startswith("AWS_")}}
    runs = [_assets("materialize", "--json", "-j", "3", "--home", str(tmp_path / name), cwd=tmp_path, env=env)
            for name in ("home-a", "home-b")]
    results = []
    for process in runs:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, out + err
        results.append(json.loads(out))
    computed = Counter(line.split()[0] for line in (tmp_path / "computed.log").read_text().splitlines())
    assert computed == Counter({name: 1 for name in ["start", "total", *(f"part_{i}" for i in range(6))]})
    made = [set(result["materialized"]) for result in results]
    assert made[0].isdisjoint(made[1]) and len(made[0] | made[1]) == 8
    run_ids = {result["run_id"] for result in results}
    for home in ("home-a", "home-b"):  # once both processes are done, what each home sees
        code, out, err = _in_process("runs", "--json", "--home", str(tmp_path / home), cwd=tmp_path, env=env)
        assert code == 0, err
        assert run_ids <= {run["run_id"] for run in json.loads(out)}  # each home sees both runs
        _, out, err = _in_process("status", "--json", "--home", str(tmp_path / home), cwd=tmp_path, env=env)
        assert {entry["status"] for entry in json.loads(out)} == {"fresh"}, err
    assert not (tmp_path / "home-a" / "storage").exists() and not (tmp_path / "home-b" / "storage").exists()


def test_prune_works_in_a_bucket(tmp_path: Path, s3_bucket: str) -> None:
    from assets_core import load
    from assets_core.application import usecases
    from assets_core.application.workspace import Options, open_workspace
    from assets_core.running.object_storage import ObjectStorage

    (tmp_path / "pyproject.toml").write_text(f'[tool.assets]\nfile = "defs.py"\nstorage = "{s3_bucket}"\n')
    for value in (1, 2, 3):
        (tmp_path / "defs.py").write_text(f"from assets_core import asset\n\n@asset\ndef numbers():\n"
                                          f"    return {{'value': {value}}}\n\n@asset\ndef twice(numbers):\n"
                                          f"    return {{'value': numbers['value'] * 2}}\n")
        workspace = open_workspace(Options(project=str(tmp_path)))
        assert usecases.materialize(workspace).status == "success"
        workspace.catalog.close()
    stored = ObjectStorage(s3_bucket).versions()
    assert {name: len(found) for name, found in stored.items()} == {"numbers": 3, "twice": 3}
    workspace = open_workspace(Options(project=str(tmp_path)))
    removed = usecases.prune(workspace, keep=1)
    assert {name: len(gone) for name, gone in removed.items()} == {"numbers": 2, "twice": 2}
    left = ObjectStorage(s3_bucket).versions()
    assert {name: len(found) for name, found in left.items()} == {"numbers": 1, "twice": 1}
    assert {status.status for status in usecases.statuses(workspace)} == {"fresh"}
    workspace.catalog.close()
    assert load("twice", project=tmp_path) == {"value": 6}  # the storage named in pyproject.toml
