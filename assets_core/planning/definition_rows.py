"""The loaded definitions as the catalog compares and stores them, kept as plain rows.

Every ``assets materialize`` compares the definitions just loaded with the stored ones, and writes them only
when they changed. At 100,000 assets, making a :class:`DefinitionView` of each cost more than the comparison;
:class:`DefinitionRows` holds each as a tuple of the view's fields, in order, and makes a view only when one is
asked for (when the definitions changed and are written).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import Any, overload

from assets_core.planning.state import DefinitionView

FIELDS = tuple(field.name for field in fields(DefinitionView))  # the order of a row's values


class DefinitionRows(Sequence[DefinitionView]):
    """Definitions as rows (a tuple of :data:`FIELDS` each), read as a sequence of views."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> DefinitionView: ...

    @overload
    def __getitem__(self, index: slice) -> list[DefinitionView]: ...

    def __getitem__(self, index: int | slice) -> DefinitionView | list[DefinitionView]:
        if isinstance(index, slice):
            return [DefinitionView(*row) for row in self.rows[index]]
        return DefinitionView(*self.rows[index])

    def __iter__(self) -> Iterator[DefinitionView]:
        return (DefinitionView(*row) for row in self.rows)


def names_of(definitions: Sequence[DefinitionView]) -> list[str]:
    """The names of the definitions (without making views of rows)."""
    if isinstance(definitions, DefinitionRows):
        return [row[0] for row in definitions.rows]
    return [definition.name for definition in definitions]
