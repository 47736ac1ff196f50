"""OpenLineage events of assets: what happened to one asset in one run, as the official client's event model.

Pure: a plain :class:`AssetRun` and the project's names in, an ``openlineage.client.event_v2.RunEvent`` out.
The run's subscriber (:mod:`assets_core.running.openlineage`) sends them as a run goes; ``assets lineage
--format openlineage`` writes the whole graph (:mod:`assets_core.application.openlineage`). This module imports
the client, so only those two import it, and only when OpenLineage is asked for.

Each node's run is a job run of its asset (job: the asset; dataset: the node, ``asset`` or
``asset[partition]``), a child of the framework's run (the parent job is the project). OpenLineage run ids are
UUIDs derived from the framework's run id and the node, so a run's events and an export of it agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    dataset_version_dataset,
    error_message_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.serde import Serde

from assets_core.lineage.sql import TableLineage
from assets_core.planning.state import MaterializationRecord, split_node

RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "assets:openlineage:run")  # the space the run UUIDs are made in
STATES = {state.value: state for state in RunState}

Schema = Sequence[tuple[str, "str | None"]]  # (column, type) in column order; the type None when unknown


@dataclass(frozen=True)
class Names:
    """Where a project's jobs and datasets live for a lineage server."""

    namespace: str  # of jobs and datasets, e.g. assets://shop
    project: str  # the parent job: the framework's runs are its runs


@dataclass(frozen=True)
class AssetRun:
    """What happened to one node in one run, as plain data."""

    state: str  # START | COMPLETE | FAIL | ABORT
    run_id: str  # the framework's run ("": none, as for an asset never materialized)
    node: str  # the asset, or asset[partition]
    at: datetime
    inputs: tuple[tuple[str, Schema | None], ...] = ()  # each upstream node, with its columns when known
    output: Schema | None = None  # the node's columns, when known
    record: MaterializationRecord | None = None  # what a materialization recorded (data version, rows)
    message: str = ""  # why it failed


def run_uuid(run_id: str, node: str = "") -> str:
    """The OpenLineage run id of a node in a framework run (of the run itself without a node).

    >>> run_uuid("a1b2c3", "orders") == run_uuid("a1b2c3", "orders") != run_uuid("a1b2c3")
    True
    >>> len(run_uuid("a1b2c3"))
    36
    """
    return str(uuid.uuid5(RUN_NAMESPACE, f"{run_id}/{node}" if node else run_id))


def run_event(item: AssetRun, names: Names, lineage: TableLineage | None = None) -> RunEvent:
    """The OpenLineage event of ``item``; ``lineage`` (a SQL asset's column lineage) adds the column lineage
    facet to its output.

    >>> from datetime import timezone
    >>> at = datetime(2026, 1, 15, 6, 0, tzinfo=timezone.utc)
    >>> event = run_event(AssetRun("START", "a1b2c3", "orders", at), Names("assets://shop", "shop"))
    >>> event.eventType.value, event.job.name, event.outputs[0].name, event.run.runId == run_uuid("a1b2c3", "orders")
    ('START', 'orders', 'orders', True)
    """
    asset, _ = split_node(item.node)
    run_id = item.run_id or names.namespace
    facets: dict[str, RunFacet] = {}
    if item.run_id:
        facets["parent"] = parent_facet(names, item.run_id)
    if item.state == "FAIL":
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(message=item.message,
                                                                          programmingLanguage="python")
    inputs = [InputDataset(names.namespace, node, facets=_schema_facets(schema)) for node, schema in item.inputs]
    return RunEvent(eventType=STATES[item.state], eventTime=item.at.isoformat(),
                    run=Run(runId=run_uuid(run_id, item.node), facets=facets),
                    job=Job(namespace=names.namespace, name=asset),
                    inputs=inputs, outputs=[_output(item, names, lineage)])


def parent_facet(names: Names, run_id: str) -> parent_run.ParentRunFacet:
    """The facet tying a node's run to the framework's run, which is also the root of the run tree."""
    run = run_uuid(run_id)
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run), job=parent_run.Job(namespace=names.namespace, name=names.project),
        root=parent_run.Root(run=parent_run.RootRun(runId=run),
                             job=parent_run.RootJob(namespace=names.namespace, name=names.project)))


# How a Python asset's column comes from an upstream one, as OpenLineage's DIRECT transformation subtypes.
SUBTYPES = {"copied": "IDENTITY", "transformed": "TRANSFORMATION", "aggregated": "AGGREGATION"}


def column_lineage_facet(lineage: TableLineage, inputs: Iterable[str],
                         namespace: str) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """The column lineage facet of an asset's output (SQL, or Python traced or declared): each column with the input columns its value comes
    from (columns of no column, as ``count(*)``, and columns whose lineage is unknown are left out). An origin
    ``asset.column`` names every input node of that asset (each partition read).

    >>> lineage = TableLineage("totals", ("id", "n"), {"id": ("orders.id",), "n": ()})
    >>> facet = column_lineage_facet(lineage, ["orders"], "assets://shop")
    >>> [(name, [(f.name, f.field) for f in fields.inputFields]) for name, fields in facet.fields.items()]
    [('id', [('orders', 'id')])]
    """
    nodes: dict[str, list[str]] = {}
    for node in inputs:
        nodes.setdefault(split_node(node)[0], []).append(node)
    fields = {}
    for column, origins in lineage.direct.items():
        how = lineage.how.get(column, {})
        found = [column_lineage_dataset.InputField(
                    namespace=namespace, name=node, field=field,
                    transformations=[column_lineage_dataset.Transformation(
                        type="DIRECT", subtype=SUBTYPES.get(how.get(origin, "")))])
                 for origin in origins for asset, _, field in [origin.rpartition(".")]
                 for node in nodes.get(asset, [asset])]
        if found:
            fields[column] = column_lineage_dataset.Fields(inputFields=found)
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields) if fields else None


def to_json_lines(events: Iterable[RunEvent]) -> str:
    """One JSON object per line, as the client serializes events (a lineage server's bulk load reads this)."""
    return "".join(Serde.to_json(event) + "\n" for event in events)


def names_only(columns: Sequence[str] | None) -> Schema | None:
    """Columns whose types are unknown, as a schema.

    >>> names_only(["id", "amount"]), names_only(None)
    ([('id', None), ('amount', None)], None)
    """
    return None if columns is None else [(column, None) for column in columns]


def schema_of(record: MaterializationRecord | None, columns: Mapping[str, Sequence[str] | None],
              node: str) -> Schema | None:
    """A node's columns: with their types from its materialization, else the names the project knows."""
    if record is not None and record.schema is not None:
        return record.schema
    return names_only(columns.get(split_node(node)[0]))


def _output(item: AssetRun, names: Names, lineage: TableLineage | None) -> OutputDataset:
    facets = _schema_facets(item.output)
    statistics: dict[str, OutputDatasetFacet] = {}
    record = item.record
    if record is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=record.data_version)
        statistics["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=record.rows, size=record.bytes)
    if lineage is not None:
        found = column_lineage_facet(lineage, [node for node, _ in item.inputs], names.namespace)
        if found is not None:
            facets["columnLineage"] = found
    return OutputDataset(names.namespace, item.node, facets=facets, outputFacets=statistics)


def _schema_facets(schema: Schema | None) -> dict[str, DatasetFacet]:
    if schema is None:
        return {}
    fields = [schema_dataset.SchemaDatasetFacetFields(name=column, type=kind) for column, kind in schema]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}
