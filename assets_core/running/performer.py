"""The worker side of the Dask executor (:mod:`~assets_core.running.dask_backend`): a run's performer on a Dask
worker, which answers the run's calls there, each a pickled task run in the worker's own threads."""

from __future__ import annotations

import asyncio
import pickle
import weakref
from typing import Any

from assets_core.imports import late_import
from assets_core.running.ahead import BEGUN, TAKE_BACK, TAKEN_BACK, Turns
from assets_core.running.kept import KeptValues
from assets_core.running.remote import keep_capturing, perform


class Performer:
    """One run on one Dask worker (a Dask actor, made on the worker): while it lives (the run holds it), the
    worker answers calls to ``op`` (the run's own), each task run in the worker's own threads as its tasks
    would be, with the tables kept for the run; prints and log records of its attempts go to their asset
    without the capture being set up for each."""

    def __init__(self, op: str) -> None:
        with late_import():
            from distributed import get_worker

        worker = get_worker()
        threads = worker.executors["default"]
        turns = Turns(max(1, worker.state.nthreads))  # tasks sent ahead wait there for a thread
        kept = KeptValues()

        async def perform_pickled(comm: Any, task: bytes, ident: int) -> Any:
            if not await turns.begin(ident):
                return TAKEN_BACK
            try:
                if getattr(threads, "_shutdown", False):  # closing (see below): not said begun, can be cancelled
                    return None
                await comm.write(BEGUN)  # the run gone meanwhile (its connection closed): not begun
                try:
                    answer = asyncio.get_running_loop().run_in_executor(threads, _answer, task, kept)
                except RuntimeError:  # the worker is closing: its threads take no new task, so it never began
                    return None  # as from a worker without the run's handler: the task goes to another
                return await answer
            finally:
                turns.end()

        async def take_back(ident: int) -> bool:
            return turns.take_back(ident)

        release_capture = keep_capturing()
        handlers: dict[str, Any] = {op: perform_pickled, op + TAKE_BACK: take_back}
        worker.handlers.update(handlers)
        weakref.finalize(self, _unplace, worker.handlers, handlers, release_capture)


def _unplace(handlers: dict[str, Any], own: dict[str, Any], release_capture: Any) -> None:
    """A run's performer is gone: its worker no longer answers the run's calls, nor keeps its tables."""
    for op, handler in own.items():
        if handlers.get(op) is handler:
            del handlers[op]
    release_capture()


def _answer(task: bytes, kept: KeptValues | None = None) -> bytes:
    """Run a pickled task (see :func:`~assets_core.running.remote.perform`): ("ok", what it sent back), or
    ("error", why) when that could not be done or pickled. Never raises: an error raised in the handler
    would reach the caller as if the worker had died (a connection error) or as a foreign exception."""
    try:
        return pickle.dumps(("ok", perform(pickle.loads(task), kept)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # noqa: BLE001 - told to the run as this attempt's failure
        return pickle.dumps(("error", f"{type(error).__name__}: {error}"), protocol=pickle.HIGHEST_PROTOCOL)


def loads_here() -> bool:
    """True, on a worker that can read it (pickled by reference, it loads this module there, as the performer does)."""
    return True
