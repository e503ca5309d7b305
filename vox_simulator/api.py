"""The Vox API itself: routing, auth, rate limits, faults and the five endpoints.

Kept free of sockets: `VoxApi.handle` takes a `Request` and returns a `Response`, and the HTTP
plumbing in `server.py` does the reading and writing.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import TYPE_CHECKING, Callable

from . import audio, control
from . import faults as faults_module
from . import keys as keys_module
from .http import HttpError, Request, Response, error
from .keys import ApiKey
from .models import iso
from .state import normalise_search

if TYPE_CHECKING:
    from .server import Simulator

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
DEFAULT_USER_AGENT_PREFIXES = ("python-httpx", "python-requests", "curl")
RECORDING_PATH = re.compile(r"^/recordings/([^/]+)\.wav$")

# The default message for each status a fault may force, in the contract's error shape.
FAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("invalid_api_key", "Invalid API key"),
    403: ("missing_scope", "Missing required scope"),
    404: ("not_found", "Not found"),
    409: ("request_in_progress", "A request with this Idempotency-Key is still being processed"),
    422: ("validation_error", "Validation failed"),
    429: ("rate_limited", "Too many requests, slow down"),
    500: ("internal_error", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service temporarily unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}

# The vendor's edge answers default library User-Agents with its own HTML page, not the API's JSON.
BLOCKED_PAGE = (
    '<!DOCTYPE html>\n<html lang="en-US"><head><title>Attention Required! | Cloudflare</title></head>\n'
    "<body><h1>Sorry, you have been blocked</h1>\n"
    "<p>You are unable to access api.clooveai.com</p>\n"
    "<p>This website is using a security service to protect itself from online attacks.</p>\n"
    "</body></html>\n"
).encode()


Handler = Callable[[Request, ApiKey], Response]


class VoxApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.routes: dict[str, dict[str, tuple[str, Handler]]] = {
            "/v1/vox/health": {"GET": (keys_module.READ, self.health)},
            "/v1/vox/calls": {
                "GET": (keys_module.CALLS_READ, self.list_calls),
                "POST": (keys_module.CALLS_CREATE, self.place_call),
            },
            "/v1/vox/numbers": {"GET": (keys_module.NUMBERS_READ, self.list_numbers)},
            "/v1/vox/agents": {"GET": (keys_module.AGENTS_READ, self.list_agents)},
        }

    # --- the pipeline every request goes through
    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/_simulator" or path.startswith("/_simulator/"):
            return control.handle(self.sim, request, path)
        if path == "/" and request.method == "GET":
            return control.index(self.sim)
        self.sim.store.count_request(request.method, path)
        arrived = time.time()
        response = self._handle_api(request, path)
        # Every API request with its arrival time and answer, so tests and benchmarks can count
        # what Vox would have seen in any true rolling minute (GET /_simulator/requests).
        self.sim.request_log.append((arrived, request.method, path, response.status))
        return response

    def _handle_api(self, request: Request, path: str) -> Response:
        if path.startswith("/recordings/"):
            return self.recording(request, path)

        if self.sim.faults.latency_ms:
            self.sim.stopping.wait(self.sim.faults.latency_ms / 1000)
        if self.sim.reject_default_user_agents and _is_default_user_agent(request.headers.get("User-Agent")):
            return Response(403, BLOCKED_PAGE, [("Content-Type", "text/html; charset=UTF-8")])
        injected = self.sim.faults.take(request.method, path)
        if injected is not None:
            return self._injected(injected, path, request.method)

        methods = self.routes.get(path)
        if methods is None:
            return error(404, "not_found", f"Cannot {request.method} {path}")
        if request.method not in methods:
            allowed = ", ".join(sorted(methods))
            return error(
                405,
                "method_not_allowed",
                f"Method {request.method} not allowed on {path}",
                headers=[("Allow", allowed)],
            )
        scope, handler = methods[request.method]
        try:
            key = self._authenticate(request)
            limit_headers = self._spend_rate_limit(key)
            if not key.grants(scope):
                raise HttpError(error(403, "missing_scope", f"Missing required scope: {scope}"))
            response = handler(request, key)
        except HttpError as exc:
            return exc.response
        if not response.close_without_response:
            response.headers.extend(limit_headers)
        return response

    def _authenticate(self, request: Request) -> ApiKey:
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(
                error(401, "invalid_api_key", "Missing API key. Send it as 'Authorization: Bearer <key>'.")
            )
        key = self.sim.keys.get(token.strip())
        if key is None:
            raise HttpError(error(401, "invalid_api_key", "Invalid API key"))
        if key.refusal == keys_module.PUBLISHABLE:
            raise HttpError(
                error(
                    401,
                    "invalid_api_key",
                    "Publishable keys cannot call this API; use a secret key (clv_…_sk_…)",
                )
            )
        if key.refusal == keys_module.EXPIRED:
            raise HttpError(error(401, "expired_api_key", "API key has expired"))
        if key.refusal == keys_module.IP_BLOCKED:
            raise HttpError(
                error(
                    403,
                    "ip_not_allowed",
                    f"Requests from IP {request.client_ip} are not allowed for this API key",
                )
            )
        if key.refusal == keys_module.ORIGIN_BLOCKED:
            origin = request.headers.get("Origin") or "(none)"
            raise HttpError(
                error(
                    403,
                    "origin_not_allowed",
                    f"Requests from origin {origin} are not allowed for this API key",
                )
            )
        return key

    def _spend_rate_limit(self, key: ApiKey) -> list[tuple[str, str]]:
        limiter = self.sim.rate_limiter
        if limiter.limit is None:
            return []
        allowed, remaining, retry_after = limiter.hit(key.key)
        headers = [("x-ratelimit-limit", str(limiter.limit)), ("x-ratelimit-remaining", str(remaining))]
        if not allowed:
            self.sim.store.count_rate_limited()
            raise HttpError(
                error(
                    429,
                    "rate_limited",
                    f"Rate limit of {limiter.limit} requests per minute exceeded",
                    headers=[("Retry-After", str(retry_after)), *headers],
                )
            )
        return headers

    def _injected(self, injected: faults_module.Injected, path: str, method: str) -> Response:
        if injected.kind == faults_module.RESET:
            return Response.close()
        headers = [] if injected.retry_after is None else [("Retry-After", str(injected.retry_after))]
        if injected.status == 429:
            self.sim.store.count_rate_limited()
            if self.sim.rate_limiter.limit is not None:
                headers.append(("x-ratelimit-limit", str(self.sim.rate_limiter.limit)))
        body = injected.body
        if isinstance(body, dict | list):
            return Response.json(injected.status, body, headers)
        if isinstance(body, str | bytes):
            raw = body.encode("utf-8") if isinstance(body, str) else body
            kind = "text/html; charset=UTF-8" if raw.lstrip()[:1] == b"<" else "text/plain; charset=UTF-8"
            return Response(injected.status, raw, [("Content-Type", kind), *headers])
        code, message = FAULT_ERRORS.get(injected.status, ("error", f"HTTP {injected.status}"))
        if injected.status == 403:
            scope = self.routes.get(path, {}).get(method, (keys_module.READ, None))[0]
            message = f"Missing required scope: {scope}"
        return error(
            injected.status, code, message, details=[] if injected.status == 422 else None, headers=headers
        )

    # --- endpoints
    def health(self, request: Request, key: ApiKey) -> Response:
        data = {"businessId": self.sim.store.business_id, "environment": key.environment, "keyId": key.key_id}
        return Response.json(200, {"message": "Vox API ready", "data": data})

    def list_calls(self, request: Request, key: ApiKey) -> Response:
        page = _positive_int(request.param("page"), "page", 1)
        limit = min(_positive_int(request.param("limit"), "limit", DEFAULT_LIMIT), MAX_LIMIT)
        search = (request.param("search") or "").strip()
        rows, total = self.sim.store.list_calls(
            direction=request.param("direction") or None,
            status=request.param("status") or None,
            search=normalise_search(search) if search else None,
            page=page,
            limit=limit,
        )
        total_pages = -(-total // limit)
        meta = {
            "total": total,
            "page": page,
            "perPage": limit,
            "totalPages": total_pages,
            "hasMore": page < total_pages,
        }
        return Response.json(200, {"message": "Vox calls retrieved", "data": rows, "meta": meta})

    def list_numbers(self, request: Request, key: ApiKey) -> Response:
        numbers = self.sim.store.list_numbers()
        return Response.json(200, {"message": "Vox numbers retrieved", "data": numbers})

    def list_agents(self, request: Request, key: ApiKey) -> Response:
        agents = self.sim.store.list_agents()
        return Response.json(200, {"message": "Vox AI agents retrieved", "data": agents})

    def place_call(self, request: Request, key: ApiKey) -> Response:
        body = _json_object(request.body)
        idempotency_key = (request.headers.get("Idempotency-Key") or "").strip() or None
        body_key = body.get("idempotency_key")
        if idempotency_key is None and isinstance(body_key, str) and body_key.strip():
            idempotency_key = body_key.strip()
        if idempotency_key is None:
            return self._dial(body, key)

        scope = (key.key, idempotency_key)
        fingerprint = _fingerprint(body)
        outcome, record = self.sim.store.begin_idempotent(scope, fingerprint)
        if outcome == "reused":
            return error(
                409,
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request body",
            )
        if outcome == "in_progress":
            return error(
                409,
                "request_in_progress",
                "A request with this Idempotency-Key is still being processed; retry shortly",
            )
        if outcome == "replay":
            assert record is not None
            return Response(
                record.status,
                record.body,
                [("Content-Type", "application/json; charset=utf-8"), ("Idempotency-Replayed", "true")],
            )

        dialed: list[Response] = []
        try:

            def remember(response: Response) -> None:
                self.sim.store.finish_idempotent(scope, response.status, response.body)
                dialed.append(response)

            return self._dial(body, key, after_dial=remember, idempotency_key=idempotency_key)
        finally:
            if not dialed:
                # A refused request dialed nothing: let the corrected request use the same key.
                self.sim.store.release_idempotent(scope)

    def _dial(
        self,
        body: dict,
        key: ApiKey,
        after_dial: Callable[[Response], None] | None = None,
        idempotency_key: str | None = None,
    ) -> Response:
        if self.sim.faults.processing_ms:
            self.sim.stopping.wait(self.sim.faults.processing_ms / 1000)
        details = self._validate(body)
        if details:
            return error(422, "validation_error", "Validation failed", details=details)
        given_name = body.get("customer_name")
        name = given_name if isinstance(given_name, str) and given_name.strip() else None
        post_id, created = self.sim.store.place_call(
            body["customer_phone"], name, key.environment, self.sim.post_id_matches_list, idempotency_key
        )
        data = {
            "id": post_id,
            "businessId": self.sim.store.business_id,
            "customerPhone": body["customer_phone"],
            "customerName": name,
            "purpose": body["purpose"],
            "status": "queued",
            "createdAt": iso(created),
        }
        response = Response.json(201, {"message": "Vox outbound call queued", "data": data})
        if after_dial:
            after_dial(response)
        if self.sim.faults.take_lost_response():
            return Response.close()
        return response

    def _validate(self, body: dict) -> list[dict[str, str]]:
        details: list[dict[str, str]] = []

        def problem(name: str, message: str) -> None:
            details.append({"field": name, "message": message})

        phone = body.get("customer_phone")
        if phone is None or phone == "":
            problem("customer_phone", "customer_phone is required")
        elif not isinstance(phone, str) or not E164.match(phone):
            problem(
                "customer_phone", "customer_phone must be a phone number in E.164 format, e.g. +2348012345678"
            )

        name = body.get("customer_name")
        if name is not None and not isinstance(name, str):
            problem("customer_name", "customer_name must be a string")
        elif isinstance(name, str) and len(name) > 120:
            problem("customer_name", "customer_name must be at most 120 characters")

        for name, limit in (("purpose", 64), ("context", 2000)):
            value = body.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                problem(name, f"{name} is required")
            elif not isinstance(value, str):
                problem(name, f"{name} must be a string")
            elif len(value) > limit:
                problem(name, f"{name} must be at most {limit} characters")

        number_id = body.get("business_voice_number_id")
        if not number_id:
            problem("business_voice_number_id", "business_voice_number_id is required")
        elif not isinstance(number_id, str) or not UUID_PATTERN.match(number_id):
            problem("business_voice_number_id", "business_voice_number_id must be a UUID")
        else:
            number = self.sim.store.find_number(number_id)
            if number is None:
                problem("business_voice_number_id", "Voice number not found for this business")
            elif number["status"] != "active":
                problem("business_voice_number_id", "Voice number is not active")
            elif not number["voiceCapable"]:
                problem("business_voice_number_id", "Voice number is not voice-capable")

        agent_id = body.get("ai_agent_id")
        if not agent_id:
            problem("ai_agent_id", "ai_agent_id is required")
        elif not isinstance(agent_id, str) or not UUID_PATTERN.match(agent_id):
            problem("ai_agent_id", "ai_agent_id must be a UUID")
        else:
            agent = self.sim.store.find_agent(agent_id)
            if agent is None:
                problem("ai_agent_id", "AI agent not found for this business")
            elif agent["status"] != "active":
                problem("ai_agent_id", "AI agent is not active")

        key = body.get("idempotency_key")
        if key is not None and (not isinstance(key, str) or len(key) > 255):
            problem("idempotency_key", "idempotency_key must be a string of at most 255 characters")
        return details

    def recording(self, request: Request, path: str) -> Response:
        match = RECORDING_PATH.match(path)
        if request.method not in ("GET", "HEAD"):
            return error(
                405,
                "method_not_allowed",
                f"Method {request.method} not allowed on {path}",
                headers=[("Allow", "GET, HEAD")],
            )
        if not match or self.sim.store.get_call(match.group(1)) is None:
            return error(404, "not_found", "Recording not found")
        return Response(
            200,
            audio.recording_wav(),
            [
                ("Content-Type", "audio/wav"),
                ("Cache-Control", "public, max-age=86400"),
                ("Accept-Ranges", "none"),
            ],
        )


def _is_default_user_agent(value: str | None) -> bool:
    agent = (value or "").strip().lower()
    return not agent or agent.startswith(DEFAULT_USER_AGENT_PREFIXES)


def _positive_int(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    value = int(raw) if raw.isascii() and raw.isdigit() else 0
    if value < 1:
        raise HttpError(error(400, "bad_request", f"{name} must be a positive integer"))
    return value


def _json_object(raw: bytes) -> dict:
    if not raw.strip():
        return {}  # like a JSON body parser given no body: every required field is then missing
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(error(400, "bad_request", "Request body is not valid JSON")) from None
    if not isinstance(body, dict):
        raise HttpError(error(400, "bad_request", "Request body must be a JSON object"))
    return body


def _fingerprint(body: dict) -> str:
    """The identity of a request body for idempotency; `idempotency_key` itself is not part of it."""
    significant = {k: v for k, v in body.items() if k != "idempotency_key"}
    canonical = json.dumps(significant, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
