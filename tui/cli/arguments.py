"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable

INT64_MAX = 2**63 - 1  # the largest number the catalog's databases hold; a bigger one is refused, not overflowed


def whole_number(minimum: int, maximum: int = INT64_MAX) -> Callable[[str], int]:
    """An argparse type accepting whole numbers from ``minimum`` to ``maximum``.

    >>> whole_number(1)("3")
    3
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}")
        return value

    return parse
