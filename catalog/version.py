"""The facts about a catalog database that even its quickest reader must know, without SQLAlchemy."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from catalog.views import DefinitionView

SCHEMA_VERSION = 3  # see catalog.schema for how to change it
DEFINITIONS_DIGEST = "definitions_digest"  # catalog_meta key: what the stored definitions were made from


def definitions_digest(definitions: Sequence[DefinitionView]) -> str:
    """What a set of definitions is compared by, to write them only when they changed."""
    return hashlib.sha256(repr(sorted(definitions, key=lambda d: d.name)).encode()).hexdigest()
