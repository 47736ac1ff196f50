"""Retry policies: how often, and how patiently, a failing asset is tried again, and what can be wrong with one."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how patiently, a failing asset is tried again."""

    max_attempts: int = 1
    delay: float = 0.0  # seconds before the second attempt
    backoff: float = 1.0  # each further delay is multiplied by this
    max_delay: float | None = None
    jitter: float = 0.0  # up to this fraction of the delay is added at random
    retry_on: tuple[type[BaseException], ...] = (Exception,)


def retry_problems(policy: RetryPolicy) -> list[str]:
    """What is wrong with a retry policy made in Python (``[tool.assets.retry]`` is checked as it is read).

    >>> retry_problems(RetryPolicy(max_attempts=3, delay=0.5, retry_on=ConnectionError))
    []
    >>> for problem in retry_problems(RetryPolicy(max_attempts=0, backoff=0.5, retry_on=("ValueError",))):
    ...     print(problem)
    max_attempts must be a whole number of at least 1, not 0
    backoff must be a finite number of at least 1, not 0.5
    retry_on holds 'ValueError', which is not an exception class; give the class itself (ValueError)
    """
    problems = []
    if not (isinstance(policy.max_attempts, int) and not isinstance(policy.max_attempts, bool)
            and policy.max_attempts >= 1):
        problems.append(f"max_attempts must be a whole number of at least 1, not {policy.max_attempts!r}")
    for key, least in (("delay", 0), ("backoff", 1), ("max_delay", 0), ("jitter", 0)):
        value = getattr(policy, key)
        if key == "max_delay" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not value >= least:  # as [tool.assets.retry] is checked: an endless delay ends the run
            problems.append(f"{key} must be a finite number of at least {least}, not {value!r}")
    classes = policy.retry_on if isinstance(policy.retry_on, tuple) else (policy.retry_on,)
    for item in classes:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            hint = f"; give the class itself ({item})" if isinstance(item, str) else ""
            problems.append(f"retry_on holds {item!r}, which is not an exception class{hint}")
    return problems

