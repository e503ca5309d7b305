"""The simulator's own request and response values, and the contract's error shape.

Their own module so that the API (api.py), its control endpoints (control.py) and the HTTP plumbing
(server.py) share them without importing each other.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message from http.server)
    body: bytes = b""
    client_ip: str = "127.0.0.1"

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close_without_response: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])])

    @classmethod
    def close(cls) -> Response:
        return cls(0, close_without_response=True)


def error(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    payload: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        payload["details"] = details
    return Response.json(status, payload, headers)


class HttpError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def request_id() -> str:
    return f"req_{uuid.uuid4().hex[:20]}"
