"""The simulator's records and how they look on the wire."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

TERMINAL_STATUSES = frozenset({"completed", "failed", "no_answer", "busy", "canceled"})
ALL_STATUSES = ("queued", "ringing", "in_progress", "completed", "failed", "no_answer", "busy", "canceled")


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int | None) -> str | None:
    """ISO 8601 UTC with milliseconds and `Z`, as the vendor writes timestamps."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def national_form(phone: str) -> str:
    """How people type the number at home: `+2348031234567` -> `08031234567`, `+1415…` -> `415…`."""
    if phone.startswith("+1"):
        return phone[2:]
    for code in ("+234", "+233", "+254", "+44"):
        if phone.startswith(code):
            return "0" + phone[len(code) :]
    return phone.lstrip("+")


def fold(text: str) -> str:
    """Case-insensitive comparison that also equates composed and decomposed accents (é vs e+◌́)."""
    return unicodedata.normalize("NFC", text).casefold()


def search_haystack(name: str | None, phone: str) -> str:
    # NUL separators keep a query from matching across the name/phone boundary.
    return f"{fold(name or '')}\0{phone}\0{national_form(phone)}"


@dataclass(slots=True)
class Call:
    id: str
    direction: str
    status: str
    customer_phone: str
    customer_name: str | None
    created_ms: int
    started_ms: int | None = None
    ended_ms: int | None = None
    duration_seconds: int | None = None
    environment: str = "test"
    haystack: str = ""
    # How it ends, when a test or the demo chose (Simulator.plan_outcomes); else the phone's last digit.
    planned_outcome: str | None = None

    def __post_init__(self) -> None:
        if not self.haystack:
            self.haystack = search_haystack(self.customer_name, self.customer_phone)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def to_api(self, business_id: str) -> dict:
        return {
            "id": self.id,
            "businessId": business_id,
            "direction": self.direction,
            "status": self.status,
            "customerPhone": self.customer_phone,
            "customerName": self.customer_name,
            "durationSeconds": self.duration_seconds,
            "startedAt": iso(self.started_ms),
            "endedAt": iso(self.ended_ms),
            "createdAt": iso(self.created_ms),
        }
