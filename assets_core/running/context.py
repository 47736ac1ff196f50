"""What an asset may learn about the run it is part of, by declaring a parameter named ``context``."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assets_core.errors import AssetsError

if TYPE_CHECKING:
    from assets_core.declaring.partitions import Window


@dataclass(frozen=True)
class AssetContext:
    """The run an asset (one partition of it, for a partitioned asset) is materialized in.

    >>> AssetContext("orders", "abc123", Path("/p/.assets")).log.name
    'assets.orders'
    """

    asset: str
    run_id: str
    home: Path  # the project's home folder, where storage and catalog live: a place for side outputs
    partition: str = ""  # the partition's key ("" for an unpartitioned asset)
    attempt: int = 1
    partition_window: Window | None = None  # a time partition's start and end (timezone-aware; end excluded)
    checkpoint_path: Path | None = None  # where this asset's code version keeps its checkpoint

    @property
    def log(self) -> logging.Logger:
        """A logger whose records are captured into this asset's log in the catalog."""
        return logging.getLogger(f"assets.{self.asset}")

    @property
    def checkpoint(self) -> Any:
        """The progress a failed attempt of this code version saved (:meth:`save_checkpoint`), or None."""
        if self.checkpoint_path is None:
            return None
        try:
            return json.loads(self.checkpoint_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise AssetsError(f"asset '{self.asset}' cannot read its checkpoint {self.checkpoint_path}: {error}; "
                              "delete the file to start over") from error

    def save_checkpoint(self, value: Any) -> None:
        """Save JSON-able progress, atomically: a retry or a resume of the same code version reads it back as
        :attr:`checkpoint`; a success clears it."""
        if self.checkpoint_path is None:
            raise AssetsError(f"asset '{self.asset}' has no checkpoint outside a run")
        try:
            text = json.dumps(value)
        except (TypeError, ValueError) as error:
            raise AssetsError(f"asset '{self.asset}' saved a checkpoint that is not JSON-able: {error}") from error
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.checkpoint_path.with_name(f".{self.checkpoint_path.name}.{os.getpid()}.tmp")
        temporary.write_text(text)
        os.replace(temporary, self.checkpoint_path)

    def clear_checkpoint(self) -> None:
        """Forget the checkpoint (the asset succeeded)."""
        if self.checkpoint_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.checkpoint_path.unlink()
