"""A lineage server for the tests: a real HTTP server on 127.0.0.1 that keeps the OpenLineage events POSTed to
it, and reads them back into the official client's event model (the client serializes, but has no reader)."""

from __future__ import annotations

import enum
import json
import socket
import threading
import types
import typing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attr
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    dataset_version_dataset,
    environment_variables_run,
    error_message_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
    tags_run,
)
from openlineage.client.serde import Serde

FACETS = {  # the facets the events carry, by their key
    "parent": parent_run.ParentRunFacet,
    "errorMessage": error_message_run.ErrorMessageRunFacet,
    "tags": tags_run.TagsRunFacet,
    "environmentVariables": environment_variables_run.EnvironmentVariablesRunFacet,
    "schema": schema_dataset.SchemaDatasetFacet,
    "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
    "version": dataset_version_dataset.DatasetVersionDatasetFacet,
    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
}


class LineageServer:
    """Keeps each POST's path and JSON body; answers 200."""

    def __init__(self) -> None:
        received = self.received = []
        paths = self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server interface names it
                paths.append(self.path)
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> typing.Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[RunEvent]:
        """What was received, each event read into the client's model (and checked to read back the same)."""
        return [parse_event(body) for body in self.received]


class SilentServer:
    """A server on 127.0.0.1 that reads each request, then never answers ("hang") or answers a byte every 0.2 s
    ("trickle": a socket timeout never trips)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stop = threading.Event()

    def __enter__(self) -> typing.Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1_000_000:
                if self.stop.wait(0.2):
                    return
                if self.behaviour == "trickle":
                    try:
                        connection.send(bytes([byte]))
                    except OSError:
                        return


def closed_port() -> str:
    """The URL of a port on 127.0.0.1 nothing listens on."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def parse_event(body: dict[str, Any]) -> RunEvent:
    """An event's JSON read into ``openlineage.client.event_v2.RunEvent`` with its facets' classes; the event
    must serialize back (``Serde.to_dict``) to exactly what was read."""
    event = _structure(RunEvent, body)
    assert Serde.to_dict(event) == body, "the event does not read back into the client's model as sent"
    return event


def _structure(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    values = {item.alias: _value(hints[item.name], data[item.name])
              for item in attr.fields(cls) if item.init and item.name in data}
    return cls(**values)


def _value(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_value(item, value) for value in data]
    if origin is dict:
        _, item = typing.get_args(hint)
        if attr.has(item) and item.__name__.endswith("Facet"):  # facets: their class from their key
            return {key: _structure(FACETS[key], value) for key, value in data.items()}
        return {key: _value(item, value) for key, value in data.items()}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    if isinstance(hint, type) and attr.has(hint):
        return _structure(hint, data)
    return data
