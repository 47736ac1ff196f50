"""The recorded states a quick read of the catalog hands over: each materialization kept as its row, decoded into
a record only when first asked for (see :mod:`assets_core.planning.evidence`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from assets_core.errors import CatalogError
from assets_core.planning.evidence import Evidence, LazyStates, Listing
from assets_core.planning.state import AssetState
from catalog.decode import MATERIALIZATION_FIELDS, failure_from, from_json, materialization_from, observation_from
from catalog.messages import HOW_TO_MOVE

Row = Sequence[Any]  # a node's name, then the values of one record's fields as the catalog keeps them

# Where a materialization's row holds what the evidence reads.
_CODE, _DATA, _UPSTREAM, _LOCATION = (1 + MATERIALIZATION_FIELDS.index(field) for field in (
    "code_version", "data_version", "upstream_versions", "location"))
_new = tuple.__new__


class RowStates(LazyStates):
    """The state of each named node that has any record, in the order of the names, from the rows of its last
    materialization, failure and observation (other nodes' rows are left out): the few failures and observations
    decoded at once, each materialization when first asked for; with the listing of a folder taken with them, if
    one was (see :mod:`catalog.ahead`)."""

    def __init__(self, names: Iterable[str], made: Iterable[Row], failed: Iterable[Row],
                 observed: Iterable[Row], listing: Listing | None = None) -> None:
        self._listing = listing
        self._names = list(dict.fromkeys(names))
        wanted = set(self._names)
        self._made = {row[0]: row for row in made if row[0] in wanted}
        self._failed = {row[0]: failure_from(row[1:]) for row in failed if row[0] in wanted}
        self._observed = {row[0]: observation_from(row[1:]) for row in observed if row[0] in wanted}
        self._decoded: dict[str, AssetState] = {}
        self._order: list[str] | None = None

    def __getitem__(self, node: str) -> AssetState:
        found = self._decoded.get(node)
        if found is None:
            row, failure, observation = self._made.get(node), self._failed.get(node), self._observed.get(node)
            if row is None and failure is None and observation is None:
                raise KeyError(node)
            try:
                record = None if row is None else materialization_from(row[1:])
            except (ValueError, TypeError) as error:
                raise CatalogError(f"the catalog's last materialization of '{node}' cannot be read ({error}), so "
                                   f"the catalog is damaged; {HOW_TO_MOVE} and run again to start a new one") from error
            found = self._decoded[node] = _new(AssetState, (record, failure, observation))
        return found

    def get(self, node: str, default: Any = None) -> Any:  # without raising KeyError for a node never recorded
        return self[node] if node in self else default  # noqa: SIM401  # self.get(...) would call itself

    def __contains__(self, node: object) -> bool:
        return node in self._made or node in self._failed or node in self._observed

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes())

    def __len__(self) -> int:
        return len(self._nodes())

    def __repr__(self) -> str:
        return f"RowStates({len(self)} nodes, {len(self._decoded)} decoded)"

    def evidence(self, node: str) -> Evidence | None:
        row = self._made.get(node)
        if row is None or node in self._failed:
            return None
        return row[_CODE], row[_DATA], from_json(row[_UPSTREAM])

    def locations(self) -> dict[str, str]:
        return {node: row[_LOCATION] for node, row in self._made.items()}

    def listing(self) -> Listing | None:
        return self._listing

    def _nodes(self) -> list[str]:
        if self._order is None:
            self._order = [node for node in self._names if node in self]
        return self._order
