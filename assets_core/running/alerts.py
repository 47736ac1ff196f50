"""Alerts: telling people when an asset fails, a blocking check fails, or a run looks anomalous.

A hook is a Python callable (``@alert``) or a webhook URL (``webhook(url)``) that receives a JSON POST with a
Slack-compatible ``text``. Hooks are declared in code, like assets, or in ``[tool.assets.alerts]``. Delivery
never breaks a run: a failing hook is logged and the run goes on; one that takes longer than
:data:`ALERT_DEADLINE` is given up (see :class:`Delivery`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from assets_core.errors import Location, ProjectError
from assets_core.imports import late_import

KINDS = ("failure", "check", "anomaly", "freshness", "sensor")
WEBHOOK_TIMEOUT = 5.0  # seconds a webhook's server may stay silent
ALERT_DEADLINE = 10.0  # seconds one alert may take to deliver, all told (a server may trickle bytes forever)


@dataclass(frozen=True)
class Alert:
    """Something people should know about."""

    kind: str  # failure | check | anomaly | freshness | sensor (asset: the sensor's name)
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
        prefix = f"[{self.project}] " if self.project else ""
        if self.kind == "sensor":
            return f"{prefix}sensor {self.asset} failed: {self.message}"
        what = {"failure": "failed", "check": "failed a blocking check", "anomaly": "looks anomalous",
                "freshness": "is overdue"}[self.kind]
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
    """Deliver every alert to every hook that wants its kind, all at once, each within its deadline (so the
    whole takes :data:`ALERT_DEADLINE` at most); return one line per failed or given-up delivery."""
    deliveries = [Delivery(hook, item) for item in alerts for hook in hooks if item.kind in hook.on]
    return [problem for delivery in deliveries if (problem := delivery.outcome()) is not None]


def deliver_one(hook: AlertHook, item: Alert) -> str | None:
    """Deliver one alert to one hook; return what went wrong, or None."""
    try:
        hook.deliver(item)
    except Exception as error:  # a hook must never break the run
        if hook.url is not None:
            return f"alert hook '{hook.name}' could not deliver: {error}"
        return f"alert hook '{hook.name}' raised {type(error).__name__}: {error}"
    return None


class Delivery:
    """One alert on its way to one hook, in a thread of its own with a deadline.

    A socket timeout cannot bound a delivery (a server sending a byte every few seconds never trips it), so
    whoever waits for it gives up at the deadline. The thread is a daemon: one still stuck in a webhook is
    abandoned, and never keeps the process from exiting.
    """

    def __init__(self, hook: AlertHook, item: Alert, deadline: float | None = None) -> None:
        self.hook, self.item = hook, item
        self.started = time.monotonic()
        self.until = self.started + (ALERT_DEADLINE if deadline is None else deadline)
        self.problem: str | None = None
        self._thread = threading.Thread(target=self._send, name=f"alert-{item.asset}", daemon=True)
        self._thread.start()

    def _send(self) -> None:
        self.problem = deliver_one(self.hook, self.item)

    def outcome(self) -> str | None:
        """Wait for the delivery until its deadline at most; return what went wrong, or None."""
        self._thread.join(max(0.0, self.until - time.monotonic()))
        if self._thread.is_alive():
            about = "sensor" if self.item.kind == "sensor" else "asset"
            return (f"alert hook '{self.hook.name}' did not deliver the {self.item.kind} alert about {about} "
                    f"'{self.item.asset}' within {self.until - self.started:.2g} s: given up")
        return self.problem
