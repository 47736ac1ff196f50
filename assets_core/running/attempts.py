"""One attempt at an asset: a function from its inputs to what became of it, retries and checks included.

:func:`attempt` runs in a worker thread and never raises for the asset's own failures: they come back in the
:class:`~assets_core.running.runs.Outcome`, which the scheduling loop records.
"""

from __future__ import annotations

import inspect
import json
import os
import random
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import polars as pl

from assets_core.declaring.checks import Check, CheckResult
from assets_core.declaring.definitions import Asset, Output
from assets_core.declaring.partitions import Window
from assets_core.declaring.retry import RetryPolicy
from assets_core.errors import AssetsError
from assets_core.imports import late_import
from assets_core.planning.state import CheckRecord, Event, now
from assets_core.running.capture import capture
from assets_core.running.runs import FAILED, MATERIALIZED, Outcome
from assets_core.running.single_run import split
from assets_core.running.storage import Stored, ValueStorage

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
PART_WRITERS = min(4, os.cpu_count() or 1)  # threads writing a single-run batch's partitions


class Inputs(Protocol):
    """Where an attempt finds its upstream values (see :class:`assets_core.running.values.ValueCache`)."""

    def read(self, node: str, upstream: str, lazy: bool) -> Any:
        """What a node reads of an upstream asset (a lazy scan when ``lazy`` and the value allows it)."""
        ...

    def arguments(self, node: str, attempt: int) -> dict[str, Any]:
        """The keyword arguments of the node's function for attempt number ``attempt``."""
        ...

    def window(self, node: str) -> Window | None:
        """The time a node covers (a time partition's window, a batch's span), or None."""
        ...


def attempt(node: str, item: Asset, inputs: Inputs, storage: ValueStorage, checks: Sequence[Check],
            policy: RetryPolicy, members: Sequence[str] = (), first: int = 1,
            starting: Callable[[int], None] | None = None) -> list[Outcome]:
    """Compute an asset, store its value and run its checks on it, retrying as ``policy`` says.

    ``node`` is one node, or a single-run batch of ``members`` (see :mod:`~assets_core.running.single_run`):
    then the value is split into one per member, and there is one outcome per member (the attempt's log lines
    go with the first). Never raises for the asset's own failures (nor its storage's): an outcome is failed,
    with the error as its detail, or with the first failed blocking check's message when the value was stored
    but must not be published. ``first`` is the number of its first attempt (a later one when earlier attempts
    were made elsewhere: a worker process that died); ``starting`` is told each attempt's number as it begins
    (a worker process tells its coordinator, which then knows which attempt a death ended).
    """
    started_at, clock = now(), time.perf_counter()
    logs: list[tuple[str, str, str]] = []
    retries: list[str] = []
    for number in range(first, max(first, policy.max_attempts) + 1):
        if starting is not None:
            starting(number)
        made: list[tuple[str, Stored, Mapping[str, Any], list[tuple[Check, CheckResult]]]] | None = None
        with capture() as captured:
            try:
                value = compute(node, item, inputs, number)
                metadata: Mapping[str, Any] = {}
                if isinstance(value, Output):
                    value, metadata = value.value, json_metadata(item.name, value.metadata)
                parts = split(item, value, members) if members else [(node, value)]
                writes = write_parts(storage, item, parts)
                made = [(part_node, stored, metadata, run_checks(checks, stored, storage))
                        for part_node, stored in writes]  # set only once every part is stored and checked
            except BaseException as error:  # noqa: BLE001 - the asset's own failure: recorded, never raised
                # Even sys.exit, KeyboardInterrupt or GeneratorExit: raised in a worker thread, they can only
                # come from the asset's own code (a real Ctrl-C reaches the main thread alone), and must fail
                # this asset, not end the command with the run half done.
                failure, message, trace = error, describe(error), user_traceback(error)
        logs += [("log", level, text) for level, text in captured.lines]  # its last line without a newline too
        if made is not None:
            duration = (time.perf_counter() - clock) / len(made)
            outcomes = []
            for index, (part_node, stored, metadata, results) in enumerate(made):
                blocking = blocking_failure(results)
                status, detail = (FAILED, blocking) if blocking else (MATERIALIZED, stored_detail(stored))
                said = (tuple(logs), tuple(retries)) if index == 0 else ((), ())
                outcomes.append(Outcome(part_node, status, detail, duration, stored, started_at=started_at,
                                        metadata=metadata, logs=said[0], retries=said[1], checks=tuple(results)))
            return outcomes
        if number >= policy.max_attempts or not isinstance(failure, policy.retry_on):
            break
        pause = retry_delay(policy, number)
        retries.append(f"attempt {number} of {policy.max_attempts} failed: {message}; retrying in {pause:.2f}s")
        logs.append(("retry", "WARNING", retries[-1]))  # between this attempt's lines and the next one's
        time.sleep(pause)
    duration = time.perf_counter() - clock
    return [Outcome(part_node, FAILED, message, duration, started_at=started_at, logs=tuple(logs) if i == 0 else (),
                    retries=tuple(retries), traceback=trace) for i, part_node in enumerate(members or [node])]


def write_parts(storage: ValueStorage, item: Asset, parts: Sequence[tuple[str, Any]]) -> list[tuple[str, Stored]]:
    """Store each node's value; a single-run batch's many partitions are written a few at a time (encoding
    Parquet releases the GIL), in order of the nodes."""
    if len(parts) == 1:
        node, value = parts[0]
        return [(node, storage.write(item.name, value, item.options.io))]
    # Each writer takes the next part until none is left: one task per writer, not one per part, whose
    # future, wake-up and hand-over of the GIL cost the writers some 30 µs a part.
    stored: list[Stored | None] = [None] * len(parts)
    indexes = iter(range(len(parts)))
    lock = threading.Lock()
    failed = threading.Event()

    def write_some() -> None:
        while not failed.is_set():
            with lock:
                index = next(indexes, -1)
            if index < 0:
                return
            try:
                stored[index] = storage.write(item.name, parts[index][1], item.options.io)
            except BaseException:
                failed.set()  # the other writers stop at their next part: the attempt fails whole anyway
                raise

    with ThreadPoolExecutor(max_workers=PART_WRITERS, thread_name_prefix=f"{item.name}-parts") as pool:
        writers = [pool.submit(write_some) for _ in range(min(PART_WRITERS, len(parts)))]
    for writer in writers:
        writer.result()  # a writer's failure, raised here
    written = [found for found in stored if found is not None]
    assert len(written) == len(parts)  # no writer failed, so every part was written
    return [(node, found) for (node, _), found in zip(parts, written, strict=True)]


def stored_detail(stored: Stored) -> str:
    """What a materialized outcome says of its value: its rows, or that it was stored."""
    return f"{stored.rows} rows" if stored.rows is not None else "stored"


def blocking_failure(results: Sequence[tuple[Check, CheckResult]]) -> str:
    """The message of the first failed blocking check ("" when none failed)."""
    for check, result in results:
        if check.blocking and not result.passed:
            return f"check '{check.name}' failed: {result.message}"
    return ""


def compute(node: str, item: Asset, inputs: Inputs, number: int) -> Any:
    """Call the asset's function (or run its SQL) on what the node reads of its upstreams."""
    if item.kind == "sql":
        with late_import():  # sqlglot is loaded only by projects with SQL assets (and preloaded by a run)
            from assets_core.declaring.sql import run_sql

        frames = {ref: inputs.read(node, upstream, lazy=True) for ref, upstream in item.inputs.items()}
        return run_sql(item, frames, inputs.window(node))  # @start and @end: the bounds of the node's window
    return item.fn(**inputs.arguments(node, number))  # type: ignore[misc]


def run_checks(checks: Sequence[Check], stored: Stored, storage: ValueStorage) -> list[tuple[Check, CheckResult]]:
    """Run the asset's checks on its new value, before the value is recorded (and so published)."""
    if not checks:
        return []
    value = stored.value if stored.value is not None else storage.read(stored.location, lazy=True)
    return [(check, check.run(value)) for check in checks]


def check_record(run_id: str, asset: str, check: Check, result: CheckResult) -> CheckRecord:
    """What the catalog records of a check's result."""
    return CheckRecord(asset, run_id, check.name, result.passed, check.blocking, result.message,
                       json_metadata(asset, result.metadata))


def check_event(run_id: str, asset: str, check: Check, result: CheckResult) -> Event:
    """The event that records a check's result in the run's log."""
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
    try:
        return "".join(traceback.format_exception(type(error), error, tb))
    except BaseException:  # noqa: BLE001 - the asset's exception misbehaves even when formatted
        return f"{type(error).__name__} (its traceback could not be formatted)\n"


def describe(error: BaseException) -> str:
    """The error in one line: its class and the first line of its message (or why it has none).

    >>> describe(ValueError("bad row\\nmore"))
    'ValueError: bad row'
    >>> describe(SystemExit(0))
    'SystemExit: 0 (the asset called sys.exit)'
    """
    name = type(error).__name__
    try:
        text = str(error).strip().splitlines()
    except BaseException as broken:  # noqa: BLE001 - the message is the asset's code too
        return f"{name} (its message could not be read: {type(broken).__name__} in __str__)"
    if isinstance(error, SystemExit):
        return f"{name}: {text[0] if text else 'None'} (the asset called sys.exit)"
    return f"{name}: {text[0]}" if text else name


def json_metadata(name: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as JSON would give it back (what cannot be encoded becomes its ``str``).

    Raises:
        AssetsError: the metadata cannot be encoded at all.
    """
    try:
        decoded: dict[str, Any] = json.loads(json.dumps(dict(metadata), default=str))
        return decoded
    except (TypeError, ValueError) as error:
        raise AssetsError(f"asset '{name}' returned metadata that is not JSON-able: {error}") from error


def lazy_parameters(item: Asset) -> frozenset[str]:
    """Parameters annotated as ``pl.LazyFrame``: they receive a lazy scan instead of a loaded frame."""
    # The raw annotations (strings under ``from __future__ import annotations``): a tenth of the cost of
    # inspect.signature, which this paid for every asset of a run.
    annotations = inspect.get_annotations(inspect.unwrap(item.fn))  # type: ignore[arg-type]
    return frozenset(name for name, annotation in annotations.items() if name != "return" and (
        annotation is pl.LazyFrame or (isinstance(annotation, str) and annotation.endswith("LazyFrame"))))
