"""Values made once per asset (or per partition) at every command, as named tuples that compare as the frozen
dataclasses they replaced did.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``: a record of 13 fields took
3.9 us to make, a status 2.6 us, and a command over 100,000 assets makes that many of each. A tuple is made in
a fraction of that and is smaller. What a named tuple would change, :class:`ValueTuple` keeps as it was.
"""

from __future__ import annotations


class ValueTuple:
    """Mixed into a named tuple (``class Status(ValueTuple, _Status)``): equal only to a value of the same class,
    never to a plain tuple or to another kind of value that holds the same fields."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return tuple.__eq__(self, other)  # type: ignore[operator]  # self is a tuple too
        return False if isinstance(other, tuple) else NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = tuple.__hash__
