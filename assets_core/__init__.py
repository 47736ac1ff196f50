"""Declare data assets as Python functions or SQL, and materialize only what is stale.

Everything a definitions file or a script needs comes from here::

    from assets_core import asset, source_asset, sql_asset, materialize

Names are imported on first use (``sql_asset`` loads sqlglot, ``materialize`` the runner), so that importing
the package stays cheap.

>>> import assets_core
>>> sorted(set(assets_core.__all__) - set(dir(assets_core)))
[]
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from assets_core.imports import late_import

if TYPE_CHECKING:
    from assets_core.application.api import load, materialize, plan, status
    from assets_core.automation.conditions import on_cron, on_missing, on_upstream_change
    from assets_core.automation.declarations import (
        FileSensor,
        RunRequest,
        Schedule,
        Sensor,
        SensorContext,
        file_sensor,
        schedule,
        sensor,
    )
    from assets_core.declaring.checks import (
        Check,
        CheckResult,
        Freshness,
        accepted_values,
        check,
        expected_schema,
        freshness,
        not_null,
        row_count,
        unique,
    )
    from assets_core.declaring.definitions import (
        Asset,
        AssetOptions,
        Output,
        Upstream,
        asset,
        source_asset,
    )
    from assets_core.declaring.partitions import (
        DynamicPartitions,
        MultiPartitions,
        Partitions,
        StaticPartitions,
        Window,
    )
    from assets_core.declaring.retry import RetryPolicy
    from assets_core.declaring.sql import sql_asset, sql_folder
    from assets_core.declaring.time_partitions import (
        DailyPartitions,
        HourlyPartitions,
        MonthlyPartitions,
        WeeklyPartitions,
    )
    from assets_core.errors import (
        AssetsError,
        CatalogError,
        DefinitionError,
        MaterializationError,
        ProjectError,
        SelectionError,
        StorageError,
    )
    from assets_core.planning.plan import AssetStatus, Plan, Reason, ReasonKind, Status
    from assets_core.running.alerts import Alert, alert, webhook
    from assets_core.running.context import AssetContext
    from assets_core.running.runs import Outcome, RunResult

_WHERE = {
    "assets_core.automation.declarations": ("FileSensor", "RunRequest", "Schedule", "Sensor", "SensorContext",
                                            "file_sensor", "schedule", "sensor"),
    "assets_core.automation.conditions": ("on_cron", "on_missing", "on_upstream_change"),
    "assets_core.declaring.definitions": ("Asset", "AssetOptions", "Output", "Upstream", "asset", "source_asset"),
    "assets_core.declaring.retry": ("RetryPolicy",),
    "assets_core.declaring.partitions": ("DynamicPartitions", "MultiPartitions", "Partitions", "StaticPartitions",
                                         "Window"),
    "assets_core.declaring.time_partitions": ("DailyPartitions", "HourlyPartitions", "MonthlyPartitions",
                                              "WeeklyPartitions"),
    "assets_core.declaring.sql": ("sql_asset", "sql_folder"),
    "assets_core.declaring.checks": ("Check", "CheckResult", "Freshness", "accepted_values", "check",
                                     "expected_schema", "freshness", "not_null", "row_count", "unique"),
    "assets_core.running.alerts": ("Alert", "alert", "webhook"),
    "assets_core.running.context": ("AssetContext",),
    "assets_core.running.runs": ("Outcome", "RunResult"),
    "assets_core.planning.plan": ("AssetStatus", "Plan", "Reason", "ReasonKind", "Status"),
    "assets_core.application.api": ("load", "materialize", "plan", "status"),
    "assets_core.errors": ("AssetsError", "CatalogError", "DefinitionError", "MaterializationError",
                           "ProjectError", "SelectionError", "StorageError"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'assets_core' has no attribute '{name}'")
    with late_import():
        value = getattr(import_module(module), name)
    globals()[name] = value  # the next lookup finds it without calling this again
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
