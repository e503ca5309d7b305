"""Webhook events: how they are signed and how they are delivered (at least once, with retries)."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .models import iso, now_ms

log = logging.getLogger("vox_simulator.webhooks")

USER_AGENT = "Cloove-Webhooks/1.0 (+https://docs.clooveai.com/webhooks)"
# Waits before attempts 2..6: six attempts in all, as documented.
DEFAULT_BACKOFF: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """`t=<unix>,v1=<hex>`: HMAC-SHA256 over `"{t}." + body`, keyed with the whole `whsec_…` string."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def make_event(event_type: str, data: dict[str, Any], environment: str) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "type": event_type,
        "created": iso(now_ms()),
        "environment": environment,
        "data": data,
    }


@dataclass(slots=True)
class Delivery:
    event: dict[str, Any]
    body: bytes
    url: str
    secret: str
    duplicate: bool = False
    attempts: list[dict[str, Any]] = field(default_factory=list)
    state: str = "pending"  # pending | delivered | failed

    def describe(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else {}
        return {
            "event_id": self.event["id"],
            "type": self.event["type"],
            "url": self.url,
            "attempts": len(self.attempts),
            "last_status": last.get("status"),
            "last_error": last.get("error"),
            "state": self.state,
            "delivered": self.state == "delivered",
            "duplicate": self.duplicate,
            "attempt_log": list(self.attempts),
            "event": self.event,
        }


class Dispatcher:
    """One background thread that posts events, re-scheduling failures per the backoff schedule."""

    def __init__(
        self,
        *,
        backoff: tuple[float, ...] = DEFAULT_BACKOFF,
        timeout: float = 5.0,
        duplicate_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.backoff = tuple(backoff)
        self.timeout = timeout
        self.duplicate_rate = duplicate_rate
        self._rng = random.Random(seed)
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Delivery]] = []  # heap of (when, order, delivery)
        self._order = itertools.count()
        self._in_flight = 0
        self._deliveries: list[Delivery] = []
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="vox-sim-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 0.5) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def send(self, event: dict[str, Any], url: str, secret: str) -> None:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        copies = [Delivery(event, body, url, secret)]
        if self.duplicate_rate and self._rng.random() < self.duplicate_rate:
            copies.append(Delivery(event, body, url, secret, duplicate=True))
        with self._cond:
            for delivery in copies:
                self._deliveries.append(delivery)
                heapq.heappush(self._due, (time.monotonic(), next(self._order), delivery))
            self._cond.notify_all()

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.describe() for d in self._deliveries]

    def clear(self) -> None:
        with self._cond:
            self._deliveries.clear()
            self._due.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is queued or in flight (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._due)
                self._in_flight += 1
            try:
                outcome = self._attempt(delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._record(delivery, outcome)
                    self._cond.notify_all()

    def _record(self, delivery: Delivery, outcome: dict[str, Any]) -> None:
        delivery.attempts.append(outcome)
        status = outcome.get("status")
        if status is not None and 200 <= status < 300:
            delivery.state = "delivered"
            return
        tries = len(delivery.attempts)
        if tries > len(self.backoff):
            delivery.state = "failed"
            return
        when = time.monotonic() + self.backoff[tries - 1]
        heapq.heappush(self._due, (when, next(self._order), delivery))

    def _attempt(self, delivery: Delivery) -> dict[str, Any]:
        outcome: dict[str, Any] = {"at": iso(now_ms()), "status": None, "error": None}
        parts = urlsplit(delivery.url)
        https = parts.scheme == "https"
        connection_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
        connection = connection_class(parts.hostname or "localhost", parts.port, timeout=self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Cloove-Signature": signature_header(delivery.secret, delivery.body),  # fresh t per attempt
            "Cloove-Webhook-Id": delivery.event["id"],
            "Cloove-Webhook-Event": delivery.event["type"],
        }
        try:
            connection.request("POST", path, body=delivery.body, headers=headers)
            response = connection.getresponse()
            response.read()
            outcome["status"] = response.status
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            log.debug("webhook %s to %s failed: %s", delivery.event["id"], delivery.url, exc)
        finally:
            connection.close()
        return outcome
