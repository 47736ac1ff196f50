"""Alerts: telling people when an asset fails, a blocking check fails, or a run looks anomalous.

A hook is a Python callable (``@alert``) or a webhook URL (``webhook(url)``) that receives a JSON POST with a
Slack-compatible ``text``. Hooks are declared in code, like assets, or in ``[tool.assets.alerts]``. Delivery
never breaks a run: a failing hook is logged and the run goes on.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from assets_core.errors import Location, ProjectError
from assets_core.imports import late_import

KINDS = ("failure", "check", "anomaly")
WEBHOOK_TIMEOUT = 5.0  # seconds


@dataclass(frozen=True)
class Alert:
    """Something people should know about."""

    kind: str  # failure | check | anomaly
    asset: str
    run_id: str
    message: str
    project: str = ""

    @property
    def text(self) -> str:
        """One line for a chat channel.

        >>> Alert("failure", "orders", "abc", "ValueError: bad row", "shop").text
        '[shop] asset orders failed (run abc): ValueError: bad row'
        """
        what = {"failure": "failed", "check": "failed a blocking check", "anomaly": "looks anomalous"}[self.kind]
        prefix = f"[{self.project}] " if self.project else ""
        return f"{prefix}asset {self.asset} {what} (run {self.run_id}): {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"text": self.text, "kind": self.kind, "asset": self.asset, "run_id": self.run_id,
                "message": self.message, "project": self.project}


@dataclass(frozen=True, eq=False)
class AlertHook:
    """Where alerts of some kinds go: a callable or a webhook URL."""

    name: str
    on: frozenset[str] = frozenset(KINDS)
    fn: Callable[[Alert], Any] | None = None
    url: str | None = None
    location: Location | None = field(default=None, compare=False)

    def deliver(self, alert: Alert) -> None:
        """Send one alert; raise on failure (the caller logs it and goes on)."""
        if self.fn is not None:
            self.fn(alert)
            return
        body = json.dumps(alert.to_json()).encode()
        with late_import():  # here: every command imports this module, few send a webhook
            import urllib.request

        request = urllib.request.Request(self.url or "", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 - a URL the user configured
            response.read()


def alert(fn: Callable[[Alert], Any] | None = None, *, on: Iterable[str] = KINDS) -> Any:
    """Make the decorated function an alert hook, called with an :class:`Alert`.

    >>> @alert(on=["failure"])
    ... def page_me(alert): print(alert.text)
    >>> sorted(page_me.on)
    ['failure']
    """
    kinds = _kinds(on)

    def wrap(func: Callable[[Alert], Any]) -> AlertHook:
        code = getattr(func, "__code__", None)
        location = Location(os.path.abspath(code.co_filename), code.co_firstlineno) if code else None
        return AlertHook(getattr(func, "__name__", "alert"), kinds, fn=func, location=location)

    return wrap(fn) if fn is not None else wrap


def webhook(url: str, *, on: Iterable[str] = KINDS) -> AlertHook:
    """An alert hook that POSTs each alert as JSON (with a Slack-compatible ``text``) to ``url``."""
    if not url.startswith(("http://", "https://")):
        raise ProjectError(f"webhook URL '{url}' must start with http:// or https://")
    frame = sys._getframe(1)
    return AlertHook(f"webhook {url}", _kinds(on), url=url,
                     location=Location(os.path.abspath(frame.f_code.co_filename), frame.f_lineno))


def hooks_from_config(table: Any) -> list[AlertHook]:
    """Hooks named in ``[tool.assets.alerts]``: ``webhook = "https://..."`` (or a list), optional ``on``."""
    if table is None:
        return []
    if not isinstance(table, dict):
        raise ProjectError("[tool.assets.alerts] must be a table, e.g. webhook = \"https://hooks.example/x\"")
    urls = table.get("webhook", [])
    urls = [urls] if isinstance(urls, str) else urls
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ProjectError("[tool.assets.alerts] webhook must be a URL or a list of URLs")
    on = table.get("on", KINDS)
    return [AlertHook(f"webhook {url}", _kinds(on), url=_checked_url(url)) for url in urls]


def _checked_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ProjectError(f"[tool.assets.alerts] webhook '{url}' must start with http:// or https://")
    return url


def _kinds(on: Iterable[str]) -> frozenset[str]:
    kinds = frozenset([on] if isinstance(on, str) else on)
    unknown = kinds - set(KINDS)
    if unknown:
        raise ProjectError(f"alert kinds {sorted(unknown)} are unknown; choose from {', '.join(KINDS)}")
    return kinds


def deliver_all(hooks: Iterable[AlertHook], alerts: Iterable[Alert]) -> list[str]:
    """Deliver every alert to every hook that wants its kind; return one line per failed delivery."""
    problems = []
    for item in alerts:
        for hook in hooks:
            if item.kind not in hook.on:
                continue
            try:
                hook.deliver(item)
            except Exception as error:  # a hook must never break the run
                if hook.url is not None:
                    problems.append(f"alert hook '{hook.name}' could not deliver: {error}")
                else:
                    problems.append(f"alert hook '{hook.name}' raised {type(error).__name__}: {error}")
    return problems
