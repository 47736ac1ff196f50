"""What staleness reads of every node's recorded state, without decoding the whole record.

Of each asset found fresh, a status compares three things of its last materialization (the code version it ran,
the data version it made, the data version it read of each upstream) and checks that its stored value is still
there. Decoding every record whole (times, metadata, schema) from the catalog's rows took 0.6 s of a status of
100,000 fresh assets. A catalog may therefore hand its state over as :class:`LazyStates`, a mapping that decodes
a record only when one is asked for, and gives these few values of any node straight from its rows; any other
mapping of states gives them from its records. Both give the same values (tests check it).

A catalog that reads ahead may also hand over a :data:`Listing` of the storage folder, taken right after the state
was read: the lost-value check then looks the stored values up in it instead of listing 100,000 files again.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Collection, Mapping

from assets_core.planning.state import AssetState

# Of a node's last materialization, when its last attempt did not fail: the code version it ran, the data version
# it made, and the data version it read of each upstream.
Evidence = tuple[str, str, Mapping[str, str]]

# A folder, known by its device and inode numbers (whatever path led to it), and the names of the files in it
# (regular files, or links to one), listed after the state it comes with was read and before anything was
# recorded since: what the folder held for that state.
Listing = tuple[tuple[int, int], Collection[str]]


class LazyStates(Mapping[str, AssetState]):
    """Recorded states by node whose records are decoded only when asked for."""

    @abstractmethod
    def evidence(self, node: str) -> Evidence | None:
        """The :data:`Evidence` of the node (None: it has no materialization, or its last attempt failed)."""

    @abstractmethod
    def locations(self) -> dict[str, str]:
        """The location of every node's stored value (of those with a materialization), by node."""

    def listing(self) -> Listing | None:
        """The :data:`Listing` of a folder taken with these states (None: none was)."""
        return None


def evidence_of(state: Mapping[str, AssetState]) -> Callable[[str], Evidence | None]:
    """What gives the :data:`Evidence` of a node of ``state``."""
    if isinstance(state, LazyStates):
        return state.evidence
    get = state.get

    def evidence(node: str) -> Evidence | None:
        own = get(node)
        if own is None or own.failure is not None or (record := own.materialization) is None:
            return None
        return record.code_version, record.data_version, record.upstream_versions

    return evidence


def locations_of(state: Mapping[str, AssetState]) -> dict[str, str]:
    """The location of every node's stored value (of those with a materialization), by node."""
    if isinstance(state, LazyStates):
        return state.locations()
    return {node: record.location for node, own in state.items() if (record := own.materialization) is not None}


def listing_of(state: Mapping[str, AssetState]) -> Listing | None:
    """The :data:`Listing` of a folder taken with ``state``, if one was."""
    return state.listing() if isinstance(state, LazyStates) else None
