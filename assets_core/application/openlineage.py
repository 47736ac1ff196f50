"""The project's lineage as OpenLineage events, for loading into a lineage server (``assets lineage --format
openlineage``).

One COMPLETE event per asset: its upstream assets as inputs, itself as output, each with the columns the project
knows (their types from the latest materialization), and a SQL asset's column lineage. An asset materialized
before is told as its latest materialization's run (same run ids as the events that run sent); one never
materialized, as a run of the project. The client is imported only when this is asked for.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from assets_core.application import usecases
from assets_core.application.workspace import Workspace
from assets_core.imports import late_import
from assets_core.planning.nodes import latest_record
from assets_core.planning.snapshot import Snapshot
from assets_core.planning.state import now

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent


def openlineage_events(workspace: Workspace, snapshot: Snapshot | None = None,
                       assets: Collection[str] | None = None) -> list[RunEvent]:
    """One COMPLETE event per asset (of ``assets``, else of every asset), in dependency order."""
    with late_import():  # the client, only for who asks
        from assets_core.lineage.openlineage import AssetRun, Names, run_event, schema_of

    project = workspace.project
    snapshot = snapshot or project.snapshot()
    schemas = project.schemas(snapshot)
    lineages = usecases.column_lineage(workspace, snapshot, schemas)
    known = {**schemas, **{name: lineage.columns for name, lineage in lineages.items() if lineage.columns}}
    records = {item.name: latest_record(snapshot.nodes, snapshot.state, item.name) for item in project.graph}
    settings = project.openlineage
    names = Names(settings.namespace if settings and settings.namespace else f"assets://{project.root.name}",
                  project.root.name)
    events = []
    for item in project.graph:
        if assets is not None and item.name not in assets:
            continue
        record = records[item.name]
        inputs = tuple((up, schema_of(records[up], known, up)) for up in project.graph.upstream(item.name))
        whole = record if record is not None and not record.partition else None  # one partition's isn't the asset's
        happened = AssetRun("COMPLETE", record.run_id if record else "", item.name,
                            record.created_at if record else now(), inputs, schema_of(record, known, item.name), whole)
        events.append(run_event(happened, names, lineages.get(item.name)))
    return events


def openlineage_lines(workspace: Workspace, snapshot: Snapshot | None = None,
                      assets: Collection[str] | None = None) -> tuple[str, int]:
    """The events of :func:`openlineage_events`, one JSON object per line as the client writes them, and how
    many there are."""
    with late_import():
        from assets_core.lineage.openlineage import to_json_lines

    events = openlineage_events(workspace, snapshot, assets)
    return to_json_lines(events), len(events)
