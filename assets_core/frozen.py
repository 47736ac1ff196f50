"""Making many instances of a frozen dataclass quickly.

A frozen dataclass's generated ``__init__`` sets every field through ``object.__setattr__``, one call per
field: an :class:`~assets_core.declaring.definitions.Asset` (27 fields, most of them left at their defaults)
took about 8 us to make, and a project of 100,000 assets makes that many at every command. :class:`Maker`
sets only the fields that differ from their default (a field left unset reads the class attribute that holds
its default), through the same calls, so the instance keeps the compact attribute storage CPython gives
instances (filling a ``__dict__`` at once was faster still, but tripled each instance's memory). It is the
one place that bypasses a dataclass's ``__init__``: tests check, for every class it serves, that what it makes
equals what ``__init__`` makes, field by field, and that it refuses the arguments ``__init__`` refuses. (Values
made by the hundred thousand that need no ``__init__`` are named tuples instead: see
:mod:`assets_core.value_tuples`; :mod:`catalog.decode` makes records from a row's values at once.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, NoReturn, TypeVar

T = TypeVar("T")


class Maker(Generic[T]):
    """Makes instances of one frozen dataclass (without slots) from keyword field values."""

    def __init__(self, cls: type[T]):
        every = dataclasses.fields(cls)  # type: ignore[arg-type]
        fields = [f for f in every if f.init]
        self.cls = cls
        plain = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
        self._factories: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
            (f.name, f.default_factory) for f in fields if f.default_factory is not dataclasses.MISSING)
        self._required = frozenset(f.name for f in fields if f.default is dataclasses.MISSING
                                   and f.default_factory is dataclasses.MISSING)
        # Each field's default (_NO_DEFAULT without a plain one): one look per value tells a value to set from a
        # default to leave, and from a name that is no field.
        self._defaults = {f.name: plain.get(f.name, _NO_DEFAULT) for f in fields}
        self._post_init = getattr(cls, "__post_init__", None)
        late = [f for f in every if not f.init]
        if "__slots__" in cls.__dict__ or (late and self._post_init is None) or any(
                cls.__dict__.get(name, _MISSING) is not default for name, default in plain.items()) or any(
                f.default_factory is not dataclasses.MISSING
                or (f.default is not dataclasses.MISSING and cls.__dict__.get(f.name, _MISSING) is not f.default)
                for f in late):
            raise TypeError(f"{cls.__name__} cannot be made by a Maker: it has slots, fields no __post_init__ sets, "
                            "or defaults that are not class attributes")

    def __call__(self, **values: Any) -> T:
        """``cls(**values)``, made at once."""
        return self.made(values)

    def made(self, values: dict[str, Any]) -> T:
        """``cls(**values)``, made at once from a dict the caller built (and leaves alone): calling with
        ``**values`` would copy it into a new one."""
        item = _new(self.cls)
        defaults, unknown = self._defaults, _MISSING
        for name, value in values.items():
            default = defaults.get(name, unknown)
            if default is not value:  # a field left at its default reads the class's
                if default is unknown:
                    return self.cls(**values)  # no such field: raises the TypeError __init__ raises
                _set(item, name, value)
        if not values.keys() >= self._required:
            return self.cls(**values)  # raises the TypeError __init__ raises
        if self._factories:
            for name, factory in self._factories:
                if name not in values:
                    _set(item, name, factory())
        if self._post_init is not None:
            self._post_init(item)
        return item


_MISSING = object()
_NO_DEFAULT = object()
_set = object.__setattr__  # what a frozen dataclass's __init__ calls, field by field
_new = object.__new__


class _Empty(Mapping[Any, Any]):
    """An empty mapping that cannot change: the default a frozen dataclass's mapping field shares among its
    instances (a dict default would be one more dict per instance, made and set at every one)."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> NoReturn:
        raise KeyError(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return default

    def __contains__(self, key: object) -> bool:
        return False

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "EMPTY"  # unpickled as this module's one instance


EMPTY: Mapping[Any, Any] = _Empty()
