"""The HTTP plumbing and the `Simulator` that ties the parts together."""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import keys as keys_module
from .api import VoxApi
from .faults import Faults
from .http import Request, error, request_id
from .keys import ApiKey
from .state import Event, RateLimiter, Store
from .webhooks import DEFAULT_BACKOFF, Dispatcher, make_event

log = logging.getLogger("vox_simulator")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out as separate writes; do not delay the body
    timeout = 60  # an idle kept-alive connection is closed after this

    server: _HTTPServer

    def version_string(self) -> str:
        return "cloudflare"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        request = Request(
            self.command,
            url.path,
            parse_qs(url.query, keep_blank_values=True),
            self.headers,
            body,
            self.client_address[0],
        )
        try:
            response = self.server.simulator.api.handle(request)
        except Exception:
            log.exception("simulator failed on %s %s", self.command, self.path)
            response = error(500, "internal_error", "Internal server error")
        if response.close_without_response:
            self.close_connection = True  # handle() returns; the socket closes with nothing written
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("x-request-id", request_id())
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for kept-alive client connections
    request_queue_size = 128  # the default 5 drops bursts of connects, which then retry a second later

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response is normal here (tests provoke it); keep stderr quiet.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def drop_connections(self) -> None:
        """Hang up on every client, so a pooled connection cannot reach a stopped simulator."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Simulator:
    """A fake Vox API on a real socket. See docs/architecture.md, "The simulator"."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 1,
        calls: int = 300,
        rate_limit: int | None = 120,
        lifecycle_step_seconds: float | None = 2.0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        post_id_matches_list: bool = True,
        *,
        reject_default_user_agents: bool = True,
        rate_limit_window_seconds: float = 60.0,
        webhook_backoff: Iterable[float] = DEFAULT_BACKOFF,
        webhook_timeout: float = 5.0,
        webhook_duplicate_rate: float = 0.0,
        idempotency_ttl_seconds: float = 86_400.0,
    ) -> None:
        self.host = host
        self.port = port
        self.lifecycle_step_seconds = lifecycle_step_seconds
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret or keys_module.DEMO_WEBHOOK_SECRET
        self.post_id_matches_list = post_id_matches_list
        self.reject_default_user_agents = reject_default_user_agents

        self.keys: dict[str, ApiKey] = keys_module.default_keys()
        self.store = Store(seed, calls, idempotency_ttl_seconds)
        self.faults = Faults(seed)
        self.rate_limiter = RateLimiter(rate_limit, rate_limit_window_seconds)
        # (unix time, method, path, status) of each API request, newest last; bounded for long runs.
        self.request_log: deque[tuple[float, str, str, int]] = deque(maxlen=500_000)
        # What other systems POST to /_simulator/inbox (the demo points voxdash's event
        # subscription here, a stand-in for a CRM): newest last, bounded.
        self.inbox: deque[dict[str, Any]] = deque(maxlen=1_000)
        self.dispatcher = Dispatcher(
            backoff=tuple(webhook_backoff),
            timeout=webhook_timeout,
            duplicate_rate=webhook_duplicate_rate,
            seed=seed,
        )
        self.api = VoxApi(self)
        self.stopping = threading.Event()
        self._events: list[dict[str, Any]] = []
        self._events_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._wake: tuple[socket.socket, socket.socket] | None = None

    # --- running
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the simulator is not started")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> Simulator:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._wake = socket.socketpair()
        self._threads = [threading.Thread(target=self._serve, name="vox-sim-http", daemon=True)]
        if self.lifecycle_step_seconds is not None:
            self._threads.append(
                threading.Thread(target=self._run_lifecycle, name="vox-sim-lifecycle", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        self.dispatcher.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()
        assert self._wake is not None
        self._wake[1].send(b"x")
        for thread in self._threads:
            thread.join(1.0)
        self._httpd.drop_connections()
        self._httpd.server_close()
        for sock in self._wake:
            sock.close()
        self.dispatcher.stop()
        self._httpd = None
        self._wake = None
        self._threads = []

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until stop() is called from another thread (or KeyboardInterrupt)."""
        self.start()
        self.stopping.wait()

    def _serve(self) -> None:
        # Our own loop instead of serve_forever(): its poll interval would make stop() slow.
        assert self._httpd is not None and self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd.socket, selectors.EVENT_READ)
            selector.register(self._wake[0], selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake[0] or self.stopping.is_set():
                        return
                    self._httpd.handle_request()

    def _run_lifecycle(self) -> None:
        step = float(self.lifecycle_step_seconds or 0)
        tick = min(max(step / 4, 0.01), 0.25)
        while not self.stopping.wait(tick):
            for call_id in self.store.due_for_step(step):
                try:
                    self.advance(call_id)
                except KeyError:
                    pass  # reset() replaced the calls meanwhile

    # --- configuration
    def add_key(
        self,
        key: str,
        scopes: Iterable[str] | None = None,
        environment: str | None = None,
        *,
        refusal: str | None = None,
    ) -> ApiKey:
        """Accept `key` (any string) with these scopes (default: all); environment from its prefix."""
        api_key = ApiKey(
            key,
            environment or keys_module.environment_of(key),
            frozenset(scopes) if scopes is not None else keys_module.ALL_SCOPES,
            refusal,
        )
        self.keys[key] = api_key
        return api_key

    def plan_outcomes(self, plans: dict[str, list[str]]) -> None:
        """{phone: [outcome, ...]}: the next dials of each phone end so, in order (the last one
        repeats), instead of by the phone's last digit. Outcomes: completed, busy, failed, no_answer."""
        for phone, outcomes in plans.items():
            self.store.plan_outcomes(phone, list(outcomes))

    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        self.webhook_url = url
        if secret:
            self.webhook_secret = secret

    @property
    def rate_limit(self) -> int | None:
        return self.rate_limiter.limit

    @rate_limit.setter
    def rate_limit(self, value: int | None) -> None:
        self.rate_limiter.limit = value

    def reset(self) -> None:
        """Back to the freshly seeded state: data, keys' budgets, faults, events and deliveries."""
        self.store.reset()
        self.faults.clear()
        self.rate_limiter.clear()
        self.request_log.clear()
        self.inbox.clear()
        self.dispatcher.clear()
        with self._events_lock:
            self._events.clear()

    # --- lifecycle and events
    def advance(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """One lifecycle step for `call_id` (listed or POST id) or every live call; returns the events."""
        _, events = self.store.advance(call_id, self.recording_url)
        return self._emit(events)

    def recording_url(self, call_id: str) -> str:
        base = self.base_url if self._httpd is not None else f"http://{self.host}:{self.port}"
        return f"{base}/recordings/{call_id}.wav"

    def update_agent(self, agent_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        agent = self.store.update_agent(agent_id, changes)
        if agent is not None:
            self._emit([("vox.agent.updated", agent, "test")])
        return agent

    def emit(self, event_type: str, data: dict[str, Any], environment: str = "test") -> dict[str, Any]:
        """Send an arbitrary event through the webhook pipeline (for tests of odd deliveries)."""
        return self._emit([(event_type, data, environment)])[0]

    def _emit(self, events: list[Event]) -> list[dict[str, Any]]:
        made = [make_event(event_type, data, environment) for event_type, data, environment in events]
        with self._events_lock:
            self._events.extend(made)
        url = self.webhook_url
        if url:
            for event in made:
                self.dispatcher.send(event, url, self.webhook_secret)
        return made

    # --- inspection
    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    def deliveries(self) -> list[dict[str, Any]]:
        return self.dispatcher.deliveries()

    def events(self) -> list[dict[str, Any]]:
        with self._events_lock:
            return list(self._events)

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """Block until every webhook is delivered or given up (retries included)."""
        return self.dispatcher.wait_idle(timeout)

    def state(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url if self._httpd else None,
            "business_id": self.store.business_id,
            "rate_limit": self.rate_limiter.limit,
            "webhook_url": self.webhook_url,
            "post_id_matches_list": self.post_id_matches_list,
            "lifecycle_step_seconds": self.lifecycle_step_seconds,
            "stats": self.stats(),
            "faults": self.faults.snapshot(),
            "deliveries": [{k: v for k, v in d.items() if k != "event"} for d in self.deliveries()],
            "events": len(self._events),
        }
