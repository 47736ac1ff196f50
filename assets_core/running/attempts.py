"""One attempt at an asset, as a worker thread reports it, and the helpers that describe it."""

from __future__ import annotations

import inspect
import json
import os
import random
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from assets_core.declaring.checks import Check, CheckResult
from assets_core.declaring.definitions import Asset, RetryPolicy
from assets_core.errors import AssetsError
from assets_core.planning.state import Event
from assets_core.running.storage import Stored

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Attempt:
    """What a worker thread reports back about one asset."""

    asset: str
    started_at: Any
    duration: float
    logs: list[tuple[str, str]]
    retries: list[str] = field(default_factory=list)
    stored: Stored | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""
    traceback: str = ""
    checks: list[tuple[Check, CheckResult]] = field(default_factory=list)

    @property
    def blocking_failure(self) -> str:
        """The message of the first failed blocking check ("" when none failed)."""
        for check, result in self.checks:
            if check.blocking and not result.passed:
                return f"check '{check.name}' failed: {result.message}"
        return ""


def check_event(run_id: str, asset: str, check: Check, result: CheckResult) -> Event:
    if result.passed:
        return Event(run_id, "check", f"check '{check.name}' passed", asset=asset)
    level = "ERROR" if check.blocking else "WARNING"
    kind = "blocking" if check.blocking else "non-blocking"
    return Event(run_id, "check", f"{kind} check '{check.name}' failed: {result.message}", asset=asset, level=level)


def retry_delay(policy: RetryPolicy, attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    >>> retry_delay(RetryPolicy(max_attempts=5, delay=1, backoff=2, max_delay=3), 3)
    3
    """
    pause = policy.delay * policy.backoff ** (attempt - 1)
    if policy.max_delay is not None:
        pause = min(pause, policy.max_delay)
    if policy.jitter:
        pause += pause * policy.jitter * random.random()
    return pause


def user_traceback(error: BaseException) -> str:
    """The traceback from the asset's own code down, without the framework's frames above it."""
    tb = error.__traceback__
    while tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == _PACKAGE:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def json_metadata(name: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(metadata), default=str))
    except (TypeError, ValueError) as error:
        raise AssetsError(f"asset '{name}' returned metadata that is not JSON-able: {error}") from error


def lazy_parameters(item: Asset) -> frozenset[str]:
    """Parameters annotated as ``pl.LazyFrame``: they receive a lazy scan instead of a loaded frame."""
    # The raw annotations (strings under ``from __future__ import annotations``): a tenth of the cost of
    # inspect.signature, which this paid for every asset of a run.
    annotations = inspect.get_annotations(inspect.unwrap(item.fn))  # type: ignore[arg-type]
    return frozenset(name for name, annotation in annotations.items() if name != "return" and (
        annotation is pl.LazyFrame or (isinstance(annotation, str) and annotation.endswith("LazyFrame"))))
