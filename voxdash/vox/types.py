"""What the Vox API returns, as frozen dataclasses, and the parsing that builds them.

Parsing is strict about what the dashboard cannot work without (an id, a status, a creation time):
a missing or wrong-typed required field raises `VoxBadResponse`. It is lenient about the rest,
because the contract leaves much of it as assumptions: unknown fields are ignored (each object
keeps the API's own dict in `raw`), unknown statuses are kept as plain strings, and an optional
field holding garbage becomes None rather than failing a whole page.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import VoxBadResponse
from .statuses import KNOWN_STATUSES, TERMINAL_STATUSES  # re-exported: the vocabulary lives in statuses

logger = logging.getLogger("voxdash.vox")

__all__ = [
    "MAX_PAGE_SIZE",
    "KNOWN_STATUSES",
    "TERMINAL_STATUSES",
    "Health",
    "Call",
    "PageMeta",
    "CallPage",
    "VoiceNumber",
    "Agent",
    "CallRequest",
    "PlacedCall",
    "parse_timestamp",
]

MAX_PAGE_SIZE = 100  # the server's cap on `limit` [assumed in the contract]

_Json = Mapping[str, Any]


# --- field readers: `what` names the object for the error message ("call c1…")
def _missing(what: str, key: str, value: Any) -> VoxBadResponse:
    return VoxBadResponse(f"Vox sent {what} with an invalid {key!r}: {type(value).__name__}.")


def _req_str(data: _Json, key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _missing(what, key, value)
    return value


def _opt_str(data: _Json, key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _opt_int(data: _Json, key: str) -> int | None:
    value = data.get(key)
    # bool is an int subclass; True seconds is garbage, not 1.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(round(value))


def _bool(data: _Json, key: str) -> bool:
    return data.get(key) is True


def parse_timestamp(value: Any) -> datetime | None:
    """A Vox timestamp as an aware UTC datetime; None for anything that is not one."""
    if not isinstance(value, str):
        return None
    try:
        # 3.11+ fromisoformat takes "Z", offsets, and any number of fractional digits.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # the contract says UTC; a naive value means it
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # "9999-12-31T23:59:59-14:00" is a valid ISO string whose UTC time is past datetime.max:
        # not a time we can hold, so not one at all.
        return None


def _req_datetime(data: _Json, key: str, what: str) -> datetime:
    parsed = parse_timestamp(data.get(key))
    if parsed is None:
        raise _missing(what, key, data.get(key))
    return parsed


def _opt_datetime(data: _Json, key: str, what: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        logger.warning("vox: ignoring unparsable %s on %s", key, what)
    return parsed


def _object(value: Any, what: str) -> _Json:
    if not isinstance(value, Mapping):
        raise VoxBadResponse(f"Vox sent {what} that is not an object: {type(value).__name__}.")
    return value


def _label(data: _Json, kind: str) -> str:
    ident = data.get("id")
    return f"{kind} {ident}" if isinstance(ident, str) else kind


# --- health
@dataclass(frozen=True, slots=True)
class Health:
    business_id: str
    environment: str  # "test" | "live"; the key decides
    key_id: str
    latency_ms: float

    @property
    def is_test(self) -> bool:
        return self.environment != "live"

    @classmethod
    def from_api(cls, data: Any, latency_ms: float) -> Health:
        data = _object(data, "health")
        return cls(
            business_id=_req_str(data, "businessId", "health"),
            environment=_req_str(data, "environment", "health"),
            key_id=_req_str(data, "keyId", "health"),
            latency_ms=latency_ms,
        )


# --- calls
@dataclass(frozen=True, slots=True)
class Call:
    id: str
    business_id: str | None
    direction: str
    status: str
    customer_phone: str
    customer_name: str | None
    duration_seconds: int | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_known_status(self) -> bool:
        return self.status in KNOWN_STATUSES

    @classmethod
    def from_api(cls, data: Any) -> Call:
        data = _object(data, "a call")
        what = _label(data, "call")
        return cls(
            id=_req_str(data, "id", what),
            business_id=_opt_str(data, "businessId"),
            direction=_req_str(data, "direction", what),
            status=_req_str(data, "status", what),
            customer_phone=_req_str(data, "customerPhone", what),
            customer_name=_opt_str(data, "customerName"),
            duration_seconds=_opt_int(data, "durationSeconds"),
            started_at=_opt_datetime(data, "startedAt", what),
            ended_at=_opt_datetime(data, "endedAt", what),
            created_at=_req_datetime(data, "createdAt", what),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class PageMeta:
    total: int | None  # None only when the server sent neither it nor enough to derive it
    page: int
    per_page: int
    total_pages: int | None
    has_more: bool
    # True when `total` is a lower bound, not the count: voxdash's mirror stops counting a large
    # match at a cap (shown "10,000+"); `total_pages` then covers that bound and `has_more` says
    # whether pages follow. The API always sends the exact total.
    total_is_lower_bound: bool = False

    @classmethod
    def from_api(cls, meta: Any, *, page: int, limit: int, rows: int) -> PageMeta:
        """`meta` as sent, completed from the request (`page`, `limit`) and the row count.

        The contract says to page until `hasMore` is false, so that field wins whenever present;
        everything else is a fallback for a server that leaves fields out.
        """
        meta = meta if isinstance(meta, Mapping) else {}
        page = _opt_int(meta, "page") or page
        per_page = _opt_int(meta, "perPage") or limit
        total = _opt_int(meta, "total")
        total_pages = _opt_int(meta, "totalPages")
        if total is None and rows < per_page:
            total = (page - 1) * per_page + rows  # a short page is the last one
        if total_pages is None and total is not None:
            total_pages = math.ceil(total / per_page)
        has_more = meta.get("hasMore")
        if not isinstance(has_more, bool):
            if total_pages is not None:
                has_more = page < total_pages
            else:
                has_more = rows >= per_page  # a full page may have a successor
        return cls(total=total, page=page, per_page=per_page, total_pages=total_pages, has_more=has_more)


@dataclass(frozen=True, slots=True)
class CallPage:
    calls: tuple[Call, ...]
    meta: PageMeta


# --- directory
def number_can_place_calls(*, voice_capable: bool, status: str) -> bool:
    """A number calls may be placed from: voice-capable and active (the mirror's rows use it too)."""
    return voice_capable and status == "active"


@dataclass(frozen=True, slots=True)
class VoiceNumber:
    id: str
    phone_number: str
    country: str | None
    voice_capable: bool
    sms_capable: bool
    status: str | None
    provider: str | None
    created_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def can_place_calls(self) -> bool:
        return number_can_place_calls(voice_capable=self.voice_capable, status=self.status)

    @classmethod
    def from_api(cls, data: Any) -> VoiceNumber:
        data = _object(data, "a number")
        what = _label(data, "number")
        return cls(
            id=_req_str(data, "id", what),
            phone_number=_req_str(data, "phoneNumber", what),
            country=_opt_str(data, "country"),
            voice_capable=_bool(data, "voiceCapable"),
            sms_capable=_bool(data, "smsCapable"),
            status=_opt_str(data, "status"),
            provider=_opt_str(data, "provider"),
            created_at=_opt_datetime(data, "createdAt", what),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    language: str | None
    voice_provider: str | None
    voice_id: str | None
    persona: str | None
    is_default: bool
    status: str | None
    created_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_api(cls, data: Any) -> Agent:
        data = _object(data, "an agent")
        what = _label(data, "agent")
        return cls(
            id=_req_str(data, "id", what),
            name=_req_str(data, "name", what),
            language=_opt_str(data, "language"),
            voice_provider=_opt_str(data, "voiceProvider"),
            voice_id=_opt_str(data, "voiceId"),
            persona=_opt_str(data, "persona"),
            is_default=_bool(data, "isDefault"),
            status=_opt_str(data, "status"),
            created_at=_opt_datetime(data, "createdAt", what),
            raw=data,
        )


# --- placing a call
@dataclass(frozen=True, slots=True)
class CallRequest:
    customer_phone: str  # E.164
    purpose: str
    context: str
    business_voice_number_id: str
    ai_agent_id: str
    customer_name: str | None = None

    def to_body(self) -> dict[str, str]:
        """The POST body: writes are snake_case. The idempotency key travels as a header."""
        body = {
            "customer_phone": self.customer_phone,
            "purpose": self.purpose,
            "context": self.context,
            "business_voice_number_id": self.business_voice_number_id,
            "ai_agent_id": self.ai_agent_id,
        }
        if self.customer_name:
            body["customer_name"] = self.customer_name
        return body


@dataclass(frozen=True, slots=True)
class PlacedCall:
    id: str  # may or may not be the id the call later has in the list (see the contract)
    business_id: str | None
    customer_phone: str
    customer_name: str | None
    purpose: str | None
    status: str  # "queued": accepted, not connected
    created_at: datetime
    replayed: bool  # True when Vox answered a retry with the original response
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any, *, replayed: bool) -> PlacedCall:
        data = _object(data, "a placed call")
        what = _label(data, "placed call")
        return cls(
            id=_req_str(data, "id", what),
            business_id=_opt_str(data, "businessId"),
            customer_phone=_req_str(data, "customerPhone", what),
            customer_name=_opt_str(data, "customerName"),
            purpose=_opt_str(data, "purpose"),
            status=_req_str(data, "status", what),
            created_at=_req_datetime(data, "createdAt", what),
            replayed=replayed,
            raw=data,
        )
