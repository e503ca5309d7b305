"""Injected failures: what a flaky network and a busy vendor do to a client.

Faults apply to the vendor's API paths (`/v1/...`) only; the control API and recordings stay
reachable so a test can always clear what it set.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

STATUS = "status"
RESET = "reset"

_HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
_HTML_504 = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(slots=True)
class Rule:
    kind: str  # STATUS or RESET
    remaining: int
    status: int = 0
    retry_after: int | None = None
    body: str | bytes | dict | None = None
    path: str | None = None
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or self.path.rstrip("/") == path.rstrip("/")


@dataclass(slots=True)
class Injected:
    """What the server should do instead of answering normally."""

    kind: str  # STATUS or RESET
    status: int = 0
    retry_after: int | None = None
    body: str | bytes | dict | None = None


class Faults:
    """Thread-safe fault switches; see docs/architecture.md "Faults" for the meaning of each."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._lose_responses = 0
        self._storm_until = 0.0
        self._storm_retry_after = True
        self._rng = random.Random(seed)
        self.latency_ms: int = 0
        self.error_rate: float = 0.0
        self.processing_ms: int = 0

    # --- switches
    def queue(
        self,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        body: str | bytes | dict | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        with self._lock:
            self._rules.append(Rule(STATUS, count, status, retry_after, body, path, method))

    def reset_next(self, count: int = 1, path: str | None = None, method: str | None = None) -> None:
        with self._lock:
            self._rules.append(Rule(RESET, count, path=path, method=method))

    def lose_response_next(self, count: int = 1) -> None:
        with self._lock:
            self._lose_responses += count

    def rate_limit_storm(self, seconds: float, retry_after: bool = True) -> None:
        with self._lock:
            self._storm_until = time.monotonic() + seconds
            self._storm_retry_after = retry_after

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._lose_responses = 0
            self._storm_until = 0.0
            self.latency_ms = 0
            self.error_rate = 0.0
            self.processing_ms = 0

    def apply(self, settings: dict[str, Any]) -> None:
        """The HTTP control API's form: the same names, as JSON (see `_simulator/faults`)."""
        if settings.get("clear"):
            self.clear()
        for name in ("latency_ms", "processing_ms"):
            if name in settings:
                setattr(self, name, int(settings[name]))
        if "error_rate" in settings:
            self.error_rate = float(settings["error_rate"])
        for rule in _as_list(settings.get("queue")):
            self.queue(**rule)
        for rule in _as_list(settings.get("reset_next")):
            self.reset_next(**(rule if isinstance(rule, dict) else {"count": int(rule)}))
        if "lose_response_next" in settings:
            value = settings["lose_response_next"]
            self.lose_response_next(int(value.get("count", 1)) if isinstance(value, dict) else int(value))
        storm = settings.get("rate_limit_storm")
        if storm is not None:
            if isinstance(storm, dict):
                self.rate_limit_storm(float(storm["seconds"]), bool(storm.get("retry_after", True)))
            else:
                self.rate_limit_storm(float(storm))

    # --- what the server asks
    def take(self, method: str, path: str) -> Injected | None:
        """The fault this request meets, if any (consuming one use of a queued rule)."""
        with self._lock:
            now = time.monotonic()
            if now < self._storm_until:
                retry = max(1, int(self._storm_until - now + 0.999)) if self._storm_retry_after else None
                return Injected(STATUS, 429, retry)
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return Injected(rule.kind, rule.status, rule.retry_after, rule.body)
            if self.error_rate and self._rng.random() < self.error_rate:
                status = self._rng.choice((500, 502, 503, 504))
                # Gateways answer with their own HTML page, never the API's JSON.
                body = {502: _HTML_502, 504: _HTML_504}.get(status)
                return Injected(STATUS, status, None, body)
        return None

    def take_lost_response(self) -> bool:
        with self._lock:
            if self._lose_responses > 0:
                self._lose_responses -= 1
                return True
        return False

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queued": [
                    {
                        "kind": r.kind,
                        "status": r.status or None,
                        "remaining": r.remaining,
                        "path": r.path,
                        "method": r.method,
                    }
                    for r in self._rules
                ],
                "lose_response_next": self._lose_responses,
                "rate_limit_storm_seconds": max(0.0, round(self._storm_until - time.monotonic(), 3)),
                "latency_ms": self.latency_ms,
                "error_rate": self.error_rate,
                "processing_ms": self.processing_ms,
            }


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
