"""What an asset may learn about the run it is part of, by declaring a parameter named ``context``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AssetContext:
    """The run an asset is materialized in.

    >>> AssetContext("orders", "abc123", Path("/p/.assets")).log.name
    'assets.orders'
    """

    asset: str
    run_id: str
    home: Path  # the project's home folder, where storage and catalog live: a place for side outputs
    partition: str = ""
    attempt: int = 1

    @property
    def log(self) -> logging.Logger:
        """A logger whose records are captured into this asset's log in the catalog."""
        return logging.getLogger(f"assets.{self.asset}")
