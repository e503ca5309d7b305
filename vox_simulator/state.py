"""Everything the simulator remembers: calls, numbers, agents, idempotency keys, counters.

One lock guards it all; every method takes it, so HTTP handler threads, the lifecycle thread and
test code can call in freely. Calls are kept oldest first and served by walking backwards, so a
new call is an append and an unfiltered page is a slice, whatever the size of the history.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Callable

from . import seed as seeding
from .models import Call, fold, now_ms

# What a finished call turns into, by the last digit of the customer's phone (documented). Phones
# from a real list end in every digit alike, so a campaign sees about 70 % completed and 10 % each
# of busy, failed and no answer; `plan_outcomes` chooses the outcomes of a phone's next dials.
OUTCOME_BY_LAST_DIGIT = {"7": "busy", "8": "failed", "9": "no_answer"}
PLANNABLE_OUTCOMES = frozenset({"completed", "busy", "failed", "no_answer"})
FAILURE_REASONS = {"busy": "busy", "failed": "carrier_rejected", "no_answer": "no_answer"}

Event = tuple[str, dict[str, Any], str]  # (type, data, environment)


@dataclass(slots=True)
class IdempotencyRecord:
    fingerprint: str
    started: float  # monotonic
    done: bool = False
    status: int = 0
    body: bytes = b""


class Store:
    def __init__(self, seed: int, calls: int, idempotency_ttl_seconds: float = 86_400.0) -> None:
        self._lock = threading.RLock()
        self.seed = seed
        self.call_count = calls
        self.idempotency_ttl_seconds = idempotency_ttl_seconds
        self.business_id = seeding.BUSINESS_ID
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: list[Call] = seeding.seed_calls(self.seed, self.call_count, now_ms())
            self._by_id: dict[str, Call] = {c.id: c for c in self._calls}
            self._post_ids: dict[str, str] = {}  # POST's data.id -> listed id (when they differ)
            now = time.monotonic()
            self._live: dict[str, float] = {c.id: now for c in self._calls if not c.terminal}
            self.numbers: list[dict] = seeding.seed_numbers()
            self.agents: list[dict] = seeding.seed_agents()
            self._idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
            self.requests: Counter[str] = Counter()
            self.requests_by_route: Counter[str] = Counter()
            self.dialed = 0
            # Dials by customer phone and by idempotency key (keyed POSTs only): "dialled once"
            # is dialed_by_key[key] == 1, whatever the client repeated.
            self.dialed_by_phone: Counter[str] = Counter()
            self.dialed_by_key: Counter[str] = Counter()
            self._planned: dict[str, deque[str]] = {}
            self.replayed = 0
            self.rate_limited = 0

    # --- calls
    def list_calls(
        self, direction: str | None, status: str | None, search: str | None, page: int, limit: int
    ) -> tuple[list[dict], int]:
        with self._lock:
            calls = self._calls
            start = (page - 1) * limit
            if not (direction or status or search):
                total = len(calls)
                newest = total - 1 - start
                rows = [calls[i] for i in range(newest, max(newest - limit, -1), -1)]
            else:
                # One inline comprehension: a function call per call would triple the cost at 100k calls.
                matches = [
                    c
                    for c in reversed(calls)
                    if (not direction or c.direction == direction)
                    and (not status or c.status == status)
                    and (not search or search in c.haystack)
                ]
                total = len(matches)
                rows = matches[start : start + limit]
            return [c.to_api(self.business_id) for c in rows], total

    def all_calls(self) -> list[Call]:
        with self._lock:
            return list(reversed(self._calls))

    def get_call(self, call_id: str) -> Call | None:
        with self._lock:
            return self._by_id.get(self._post_ids.get(call_id, call_id))

    def place_call(
        self,
        phone: str,
        name: str | None,
        environment: str,
        post_id_matches_list: bool,
        idempotency_key: str | None = None,
    ) -> tuple[str, int]:
        """Queue an outbound call; returns (the id the POST reports, its createdAt in ms)."""
        with self._lock:
            created = max(now_ms(), self._calls[-1].created_ms if self._calls else 0)
            planned = self._planned.get(phone)
            call = Call(
                id=str(uuid.uuid4()),
                direction="outbound",
                status="queued",
                customer_phone=phone,
                customer_name=name,
                created_ms=created,
                environment=environment,
                # The plan's last outcome holds for every later dial.
                planned_outcome=(planned.popleft() if len(planned) > 1 else planned[0]) if planned else None,
            )
            post_id = call.id
            if not post_id_matches_list:
                # The listed record is written a moment after the request's, like a separate table.
                post_id = str(uuid.uuid4())
                call.created_ms += 3
                self._post_ids[post_id] = call.id
            self._insert(call)
            self.dialed += 1
            self.dialed_by_phone[phone] += 1
            if idempotency_key is not None:
                self.dialed_by_key[idempotency_key] += 1
            return post_id, created

    def plan_outcomes(self, phone: str, outcomes: list[str]) -> None:
        """The next dials of `phone` end in these outcomes, in order; the last one repeats."""
        unknown = [o for o in outcomes if o not in PLANNABLE_OUTCOMES]
        if not outcomes or unknown:
            raise ValueError(f"outcomes must be some of {sorted(PLANNABLE_OUTCOMES)}, not {outcomes!r}")
        with self._lock:
            self._planned[phone] = deque(outcomes)

    def _insert(self, call: Call) -> None:
        if not self._calls or self._calls[-1].created_ms <= call.created_ms:
            self._calls.append(call)
        else:
            keys = [c.created_ms for c in self._calls]
            self._calls.insert(bisect.bisect_right(keys, call.created_ms), call)
        self._by_id[call.id] = call
        self._live[call.id] = time.monotonic()

    def listed_id(self, call_id: str) -> str:
        with self._lock:
            return self._post_ids.get(call_id, call_id)

    # --- lifecycle
    def advance(
        self, call_id: str | None, recording_url: Callable[[str], str]
    ) -> tuple[list[str], list[Event]]:
        """One lifecycle step for one call, or for every live call; returns (moved ids, events)."""
        with self._lock:
            if call_id is None:
                ids = list(self._live)
            else:
                listed = self._post_ids.get(call_id, call_id)
                if listed not in self._by_id:
                    raise KeyError(call_id)
                ids = [listed] if listed in self._live else []
            events: list[Event] = []
            for listed in ids:
                events.extend(self._step(self._by_id[listed], recording_url))
            return ids, events

    def due_for_step(self, step_seconds: float) -> list[str]:
        with self._lock:
            cutoff = time.monotonic() - step_seconds
            return [call_id for call_id, moved in self._live.items() if moved <= cutoff]

    def _step(self, call: Call, recording_url: Callable[[str], str]) -> list[Event]:
        now = now_ms()

        def event(event_type: str, **extra: Any) -> Event:
            data = {
                "callId": call.id,
                "status": call.status,
                "direction": call.direction,
                "durationSeconds": call.duration_seconds,
                "recordingUrl": None,
                **extra,
            }
            return (event_type, data, call.environment)

        events: list[Event] = []
        if call.status == "queued":
            call.status = "ringing"
        elif call.status == "ringing":
            outcome = call.planned_outcome or OUTCOME_BY_LAST_DIGIT.get(call.customer_phone[-1:])
            if outcome and outcome != "completed":
                call.status = outcome
                call.ended_ms = now
                events.append(event("vox.call.failed", reason=FAILURE_REASONS[outcome]))
            else:
                call.status = "in_progress"
                call.started_ms = now
                events.append(event("vox.call.started"))
        elif call.status == "in_progress":
            call.status = "completed"
            call.ended_ms = now
            call.duration_seconds = max(1, round((now - (call.started_ms or now)) / 1000))
            events.append(event("vox.call.completed"))
            events.append(event("vox.recording.ready", recordingUrl=recording_url(call.id)))
        if call.terminal:
            self._live.pop(call.id, None)
        else:
            self._live[call.id] = time.monotonic()
        return events

    # --- numbers and agents
    def list_numbers(self) -> list[dict]:
        with self._lock:
            return [dict(n) for n in self.numbers]

    def list_agents(self) -> list[dict]:
        with self._lock:
            return [dict(a) for a in self.agents]

    def find_number(self, number_id: str) -> dict | None:
        with self._lock:
            return next((n for n in self.numbers if n["id"] == number_id), None)

    def find_agent(self, agent_id: str) -> dict | None:
        with self._lock:
            return next((a for a in self.agents if a["id"] == agent_id), None)

    def update_agent(self, agent_id: str, changes: dict[str, Any]) -> dict | None:
        with self._lock:
            agent = next((a for a in self.agents if a["id"] == agent_id), None)
            if agent is None:
                return None
            allowed = {k: v for k, v in changes.items() if k in agent and k not in ("id", "createdAt")}
            if allowed.get("isDefault"):
                for other in self.agents:
                    other["isDefault"] = False  # there is only ever one default agent
            agent.update(allowed)
            return dict(agent)

    # --- idempotency
    def begin_idempotent(
        self, scope: tuple[str, str], fingerprint: str
    ) -> tuple[str, IdempotencyRecord | None]:
        """Claim a key: "new" (go ahead), "replay", "reused" (other body) or "in_progress"."""
        with self._lock:
            self._expire_idempotency()
            record = self._idempotency.get(scope)
            if record is None:
                self._idempotency[scope] = IdempotencyRecord(fingerprint, time.monotonic())
                return "new", None
            if record.fingerprint != fingerprint:
                return "reused", record
            if not record.done:
                return "in_progress", record
            self.replayed += 1
            return "replay", record

    def finish_idempotent(self, scope: tuple[str, str], status: int, body: bytes) -> None:
        with self._lock:
            record = self._idempotency.get(scope)
            if record is not None:
                record.done, record.status, record.body = True, status, body

    def release_idempotent(self, scope: tuple[str, str]) -> None:
        """Forget a claim whose request failed validation, so the corrected request may reuse the key."""
        with self._lock:
            self._idempotency.pop(scope, None)

    def _expire_idempotency(self) -> None:
        cutoff = time.monotonic() - self.idempotency_ttl_seconds
        for scope in [s for s, r in self._idempotency.items() if r.started < cutoff]:
            del self._idempotency[scope]

    # --- counters
    def count_request(self, method: str, path: str) -> None:
        with self._lock:
            self.requests[path] += 1
            self.requests_by_route[f"{method} {path}"] += 1

    def count_rate_limited(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "requests_by_route": dict(self.requests_by_route),
                "dialed": self.dialed,
                "dialed_by_phone": dict(self.dialed_by_phone),
                "dialed_by_key": dict(self.dialed_by_key),
                "replayed": self.replayed,
                "rate_limited": self.rate_limited,
                "calls": len(self._calls),
                "live_calls": len(self._live),
            }


def normalise_search(query: str) -> str:
    """What to look for in a call's haystack: phone-like queries lose their spaces and dashes."""
    query = query.strip()
    compact = "".join(ch for ch in query if ch not in " -().")
    if compact and compact.lstrip("+").isdigit():
        return compact
    return fold(query)


class RateLimiter:
    """Sliding-window request budget per API key."""

    def __init__(self, limit: int | None, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, retry_after_seconds)."""
        if self.limit is None:
            return True, 0, 0
        with self._lock:
            now = time.monotonic()
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                retry_after = max(1, math.ceil(hits[0] + self.window_seconds - now))
                return False, 0, retry_after
            hits.append(now)
            return True, self.limit - len(hits), 0

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()
