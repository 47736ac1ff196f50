"""A real PostgreSQL server for the tests: made in a temporary folder with the Debian package's ``initdb`` and
``pg_ctl``, listening on 127.0.0.1 on a free port, one per test process; each test gets a database of its own.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user. ``.ci/run`` installs the
package when it is missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALL = "install PostgreSQL's server (Debian: apt-get install postgresql), as .ci/run does"


@dataclass(frozen=True)
class PostgresServer:
    """A running server: its folder and port."""

    folder: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(statement)  # type: ignore[arg-type]  # a statement made here, not user input


def _bin(program: str) -> str:
    found = shutil.which(program) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"),
                                                      reverse=True)), None)
    if found is None:
        raise RuntimeError(f"the tests need PostgreSQL's {program}: {INSTALL}")
    return found


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server() -> Iterator[PostgresServer]:
    """Start a server (stopped and deleted when the generator closes)."""
    folder = Path(tempfile.mkdtemp(prefix="assets-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    subprocess.run(_as_server_user([_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                                    "-E", "UTF8"]), check=True, capture_output=True)
    port = _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    started = subprocess.run(_as_server_user([_bin("pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                                              "-o", options, "start"]), capture_output=True, text=True)
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
    try:
        yield PostgresServer(folder, port)
    finally:
        subprocess.run(_as_server_user([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
