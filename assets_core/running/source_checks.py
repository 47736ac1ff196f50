"""Checks on sources: a source is never materialized, so its checks run at the start of each run that reads it,
on its data as observed then (dbt runs its source tests before the models that select from them).

A blocking check that fails there stops what reads the source (its downstream is skipped, the run fails, an
alert fires), as a failed blocking check on an asset's new value does; a non-blocking one is a warning. The
results are recorded as any check's, so ``assets status`` and ``assets show`` list them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from assets_core.declaring.checks import Check, CheckResult
from assets_core.planning.nodes import NodeGraph

Checked = tuple[str, Check, CheckResult]  # (source node, check, its result)


def check_sources(graph: NodeGraph, planned: Iterable[str], read: Callable[[str], Any]) -> list[Checked]:
    """Run the checks of every source node (a source, or one partition of it) that a planned node reads, once
    each, on the value ``read`` gives; a source that cannot be read is left to the attempts that read it (their
    own error says why)."""
    if not any(graph[name].is_source for name in graph.checks):  # the usual case: nothing to look for
        return []
    sources = dict.fromkeys(up for node in planned for up in graph.upstream(node)
                            if graph[up].is_source and graph.checks.get(graph[up].name))
    checked: list[Checked] = []
    for node in sources:
        try:
            value = read(node)
        except Exception:  # noqa: BLE001, S112 - reported by the attempts that read it
            continue
        checked += [(node, check, check.run(value)) for check in graph.checks[graph[node].name]]
    return checked


def blocking_failures(checked: Iterable[Checked]) -> dict[str, str]:
    """The source nodes a blocking check failed on, each with the first such check's message."""
    failed: dict[str, str] = {}
    for node, check, result in checked:
        if check.blocking and not result.passed and node not in failed:
            failed[node] = f"check '{check.name}' failed: {result.message}"
    return failed
