"""A real S3 server for the tests: moto's server in a subprocess on 127.0.0.1 on a free port, one per test
process (each pytest-xdist worker starts its own); each test gets a bucket of its own.

The fixtures are registered in ``tests/conftest.py`` by importing them. Nothing is set in the environment for
the whole session: ``s3_bucket`` sets the endpoint and the (fake) credentials for its test only.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

STARTUP = 30.0  # seconds to wait for the server to answer (a loaded machine imports moto slowly)
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, if not with a page
    except OSError:
        return False


def start_server() -> Iterator[str]:
    """Start moto's S3 server; yield its endpoint URL; stop it when the generator closes."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + STARTUP
        while not _answers(endpoint):
            if process.poll() is not None:
                raise RuntimeError(f"moto's S3 server exited at start: {process.stderr.read().decode()[-2000:]}"
                                   if process.stderr else "moto's S3 server exited at start")
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto's S3 server did not answer on {endpoint} within {STARTUP:.0f} s")
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def client_environment(endpoint: str) -> dict[str, str]:
    """The variables a client (botocore, through s3fs) reads to reach the server with its fake credentials."""
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3 server (moto's) on 127.0.0.1, started once per test process: its endpoint URL."""
    yield from start_server()


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty bucket on that server, with the environment set to reach it: ``s3://<bucket>/<prefix>``."""
    import boto3

    for name, value in client_environment(s3_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)  # would take precedence over AWS_ENDPOINT_URL
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_server, region_name=REGION, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    yield f"s3://{bucket}/values"


__all__ = ["client_environment", "s3_bucket", "s3_server", "start_server"]
