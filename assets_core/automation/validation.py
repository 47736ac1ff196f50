"""Checking a project's automation against its assets: unique names, selections that name assets, conditions
that are conditions. Every problem is returned, so that loading reports them all at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from assets_core.automation.declarations import Automation, FileSensor, Schedule, Sensor
from assets_core.declaring.definitions import Asset
from assets_core.errors import DefinitionError, SelectionError
from assets_core.imports import late_import

if TYPE_CHECKING:
    from assets_core.planning.graph import AssetGraph

KIND = {Schedule: "schedule", FileSensor: "file sensor", Sensor: "sensor"}


def split_automation(declarations: Iterable[Automation]) -> tuple[dict[str, Schedule], dict[str, FileSensor | Sensor],
                                                                  list[DefinitionError]]:
    """Schedules and sensors by name (one namespace: ``assets automation pause NAME`` names either), and an
    error for each name declared twice."""
    schedules: dict[str, Schedule] = {}
    sensors: dict[str, FileSensor | Sensor] = {}
    errors: list[DefinitionError] = []
    for item in declarations:
        first = schedules.get(item.name) or sensors.get(item.name)
        if first is not None:
            errors.append(DefinitionError(
                f"{KIND[type(item)]} '{item.name}' is declared twice: here and at {first.location} (a "
                f"{KIND[type(first)]}); schedules and sensors share one namespace, so rename one of them",
                location=item.location))
        elif isinstance(item, Schedule):
            schedules[item.name] = item
        else:
            sensors[item.name] = item
    return schedules, sensors, errors


def selection_problems(declarations: Iterable[Automation], graph: AssetGraph) -> list[DefinitionError]:
    """An error for each schedule or sensor whose selection matches no asset (with did-you-mean)."""
    with late_import():  # the selection module imports the graph module, which imports this one
        from assets_core.planning.selection import parse_selection
    errors = []
    for item in declarations:
        try:
            parse_selection([item.selection]).resolve(graph, statuses={})
        except SelectionError as error:
            errors.append(DefinitionError(
                f"{KIND[type(item)]} '{item.name}' selects '{item.selection}', but {error}",
                location=item.location))
    return errors


def condition_problems(assets: Iterable[Asset]) -> list[DefinitionError]:
    """An error for each asset whose ``options.automation`` is not a condition."""
    automated = [item for item in assets if item.options.automation is not None]
    if not automated:  # the usual case: nothing to check, nothing to import
        return []
    with late_import():  # conditions judge statuses: the planning modules they import import the graph
        from assets_core.automation.conditions import Condition
    wrong = [item for item in automated if not isinstance(item.options.automation, Condition)]
    return [DefinitionError(
        f"has options.automation={item.options.automation!r}; give a condition such as on_missing(), "
        "on_upstream_change() or on_cron('0 2 * * *'), combined with | and &", asset=item.name, location=item.location)
        for item in wrong]
