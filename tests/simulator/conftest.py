"""Fixtures for testing the simulator over real HTTP with plain httpx (not the voxdash api)."""

from __future__ import annotations

import functools
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from vox_simulator import Simulator, keys

# The vendor's edge refuses httpx's default User-Agent, so every test api sends a real one.
USER_AGENT = "voxdash-simulator-tests/1.0"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading CA certificates costs ~0.1 s per httpx.Client; tests make hundreds of clients.
    return ssl.create_default_context()


def api_client(sim: Simulator, key: str | None = keys.DEMO_KEY, **headers: str) -> httpx.Client:
    all_headers = {"User-Agent": USER_AGENT, **headers}
    if key is not None:
        all_headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(base_url=sim.base_url, headers=all_headers, timeout=5.0, verify=_tls_context())


@pytest.fixture
def api(simulator: Simulator) -> Iterator[httpx.Client]:
    with api_client(simulator) as c:
        yield c


@contextmanager
def running(**options) -> Iterator[Simulator]:
    """A simulator with non-default options; lifecycle by hand unless asked otherwise."""
    options.setdefault("lifecycle_step_seconds", None)
    with Simulator(port=0, **options) as sim:
        yield sim


def call_body(sim: Simulator, **overrides) -> dict:
    """A valid POST /v1/vox/calls body using the seeded active number and default agent."""
    numbers = sim.store.list_numbers()
    agents = sim.store.list_agents()
    number = next(n for n in numbers if n["status"] == "active" and n["voiceCapable"])
    agent = next(a for a in agents if a["isDefault"])
    body = {
        "customer_phone": "+2348031112220",
        "customer_name": "Adaeze Okonkwo",
        "purpose": "payment_reminder",
        "context": "Remind the customer about invoice INV-2026-001 for NGN 15,000 due tomorrow.",
        "business_voice_number_id": number["id"],
        "ai_agent_id": agent["id"],
    }
    body.update(overrides)
    return body


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny webhook endpoint: records every POST and answers from `statuses` (then 200)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        with self.lock:
            return [r.event["type"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(Received(dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/vox"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
