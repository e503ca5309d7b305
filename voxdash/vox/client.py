"""The Vox HTTP client: one pooled httpx.Client, retries with backoff, typed results, typed errors.

Django-free, so Celery tasks, management commands and tests can build one directly. Views get
the per-process instance from `voxdash.vox.get_client()`.

Inside a web request every attempt also fits the request's one deadline (`voxdash.vox.deadline`):
its timeouts are cut to the time left, a retry is made only if the time left allows it, and once
the time is spent the request is not sent at all. Background work opens no deadline and keeps the
full timeouts and retries.

Why pages still retry within their deadline rather than never: a reset connection or a quick 503
is often gone a moment later, and an idempotent POST whose response was lost is recovered by its
replay within the same page. A slow Vox leaves no time for a retry, so it costs one attempt.
"""

from __future__ import annotations

import copy
import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

import voxdash

from . import deadline, errors
from .budget import ASKED, INTERACTIVE, RequestBudget, priority_for
from .types import (
    MAX_PAGE_SIZE,
    Agent,
    Call,
    CallPage,
    CallRequest,
    Health,
    PageMeta,
    PlacedCall,
    VoiceNumber,
)

logger = logging.getLogger("voxdash.vox")

__all__ = ["VoxClient", "DEFAULT_USER_AGENT"]

# The vendor's edge rejects default library User-Agents (python-httpx/…) with a bare 403.
DEFAULT_USER_AGENT = f"voxdash/{voxdash.__version__} (+httpx)"

# 501/505 mean "never going to work", so they are not worth a retry.
_RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Under a deadline, an attempt with less time than this left would only time out: not worth a
# request from the key's budget (nor a retry's wait), so it is not sent.
MIN_ATTEMPT_SECONDS = 0.05
# These never left this machine (no connection was made, or none was free in our own pool), so
# Vox did not count them: their budget token is given back.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class VoxClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_retries: int = 3,
        max_retry_wait: float = 5.0,
        backoff_base: float = 0.25,
        backoff_cap: float = 4.0,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] = time.sleep,
        budget: RequestBudget | None = None,
        priority: str = INTERACTIVE,
    ):
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"VOX_API_BASE_URL must be an http(s) URL, not {base_url!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = str(url).rstrip("/")
        self._api_key = api_key
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        # Every attempt (retries too: Vox counts them) takes a token from the shared budget first.
        self.budget = budget
        self.priority = priority
        self.last_latency_ms: float | None = None
        # connect is short so a dead host fails fast; pool waits no longer than a connect would.
        self.timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": user_agent,
            },
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0),
            # A redirect means a misconfigured base URL; following it could forward the key elsewhere.
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<VoxClient {self.base_url} key={errors.mask_key(self._api_key)}>"

    @property
    def key_hint(self) -> str:
        return errors.mask_key(self._api_key)

    def close(self) -> None:
        self._http.close()

    def using(self, priority: str) -> VoxClient:
        """The same client (same connection pool) whose requests spend the budget at `priority`.

        Sync work uses `get_client().using("background")`; closing the copy closes the shared pool,
        so only the original's owner should close it.
        """
        if priority not in ASKED:
            raise ValueError(f"unknown priority {priority!r}")
        clone = copy.copy(self)
        clone.priority = priority
        return clone

    def __enter__(self) -> VoxClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- endpoints
    def health(self) -> Health:
        data, _, latency_ms = self._request("GET", "/v1/vox/health")
        return Health.from_api(data.get("data"), latency_ms)

    def list_calls(
        self,
        *,
        direction: str | None = None,
        status: str | None = None,
        search: str | None = None,
        page: int = 1,
        limit: int = 20,
    ) -> CallPage:
        if page < 1 or limit < 1:
            raise ValueError("page and limit must be >= 1")
        # Asking beyond the server's cap gains nothing and makes the derived paging wrong.
        limit = min(limit, MAX_PAGE_SIZE)
        params: dict[str, str | int] = {"page": page, "limit": limit}
        for name, value in (("direction", direction), ("status", status), ("search", search)):
            if value:
                params[name] = value
        body, _, _ = self._request("GET", "/v1/vox/calls", params=params)
        rows = _list(body.get("data"), "calls")
        calls = tuple(Call.from_api(row) for row in rows)
        meta = PageMeta.from_api(body.get("meta"), page=page, limit=limit, rows=len(calls))
        return CallPage(calls=calls, meta=meta)

    def iter_calls(
        self,
        *,
        direction: str | None = None,
        status: str | None = None,
        search: str | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Iterator[CallPage]:
        """Every page, newest first, until the server says there are no more.

        New calls arriving mid-walk shift rows onto later pages, so a row may appear twice;
        callers that store rows must upsert by id.
        """
        page = 1
        while True:
            result = self.list_calls(
                direction=direction, status=status, search=search, page=page, limit=limit
            )
            if not result.calls:
                return  # a buggy server could keep saying hasMore on empty pages forever
            yield result
            if not result.meta.has_more:
                return
            page = result.meta.page + 1

    def list_numbers(self) -> list[VoiceNumber]:
        body, _, _ = self._request("GET", "/v1/vox/numbers")
        return [VoiceNumber.from_api(row) for row in _list(body.get("data"), "numbers")]

    def list_agents(self) -> list[Agent]:
        body, _, _ = self._request("GET", "/v1/vox/agents")
        return [Agent.from_api(row) for row in _list(body.get("data"), "agents")]

    def place_call(self, request: CallRequest, *, idempotency_key: str | None) -> PlacedCall:
        """Queue an outbound call. With an idempotency key the POST is retried like a GET,
        because Vox answers a repeat with the original response instead of dialing again;
        without one it is sent exactly once."""
        body, response, _ = self._request(
            "POST", "/v1/vox/calls", json=request.to_body(), idempotency_key=idempotency_key
        )
        replayed = response.headers.get("Idempotency-Replayed", "").strip().lower() == "true"
        return PlacedCall.from_api(body.get("data"), replayed=replayed)

    # --- transport
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> tuple[Mapping[str, Any], httpx.Response, float]:
        """One logical request: (envelope, last response, latency of the successful attempt)."""
        if not self._api_key:
            raise errors.InvalidApiKey("No Vox API key is configured (set VOX_API_KEY).")
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        may_retry = method == "GET" or bool(idempotency_key)
        attempt = 0
        while True:
            attempt += 1
            left = deadline.remaining()
            if left is not None and left < MIN_ATTEMPT_SECONDS:
                # Checked before the budget: a request never sent must not cost a token.
                self._log(logging.INFO, method, path, None, "not sent: deadline spent", 0.0, attempt)
                raise errors.VoxDeadlineSpent(
                    f"{method} {path} was not sent: this page's time for Vox was already spent."
                )
            ticket = self.budget.acquire(priority_for(self.priority)) if self.budget is not None else None
            started = time.monotonic()
            response: httpx.Response | None = None
            try:
                response = self._http.request(
                    method, path, params=params, json=json, headers=headers, timeout=self._timeout_for(left)
                )
            except httpx.DecodingError as exc:  # a body the server claimed to compress but did not
                raise errors.VoxBadResponse(f"Vox sent an undecodable body ({_describe(exc)}).") from exc
            except httpx.RequestError as exc:
                if ticket is not None and isinstance(exc, _NOT_SENT):
                    # Else, while Vox is unreachable, failed connects would spend the budget and
                    # pages would blame the budget instead of saying Vox cannot be reached.
                    self.budget.refund(ticket)
                error: errors.VoxError
                if isinstance(exc, httpx.TimeoutException):
                    error = errors.VoxTimeout(
                        f"Vox did not answer {method} {path} in time ({_describe(exc)})."
                    )
                else:
                    error = errors.VoxConnectionError(
                        f"Could not reach Vox for {method} {path} ({_describe(exc)})."
                    )
            else:
                if response.is_success:
                    latency_ms = (time.monotonic() - started) * 1000
                    self.last_latency_ms = latency_ms
                    self._log(
                        logging.DEBUG, method, path, response, response.status_code, latency_ms, attempt
                    )
                    return _envelope(response), response, latency_ms
                error = self._error_from(response)
                if isinstance(error, errors.VoxRateLimited) and error.retry_after and self.budget is not None:
                    # Vox itself said stop: another system is using the key, or our count drifted.
                    # Every process holds off for as long as Vox asked, not only this one.
                    self.budget.pause(error.retry_after)
            elapsed_ms = (time.monotonic() - started) * 1000

            retry = may_retry and attempt <= self.max_retries and _should_retry(error)
            wait = self._wait(attempt, error) if retry else None
            left = deadline.remaining()
            if wait is not None and left is not None and wait + MIN_ATTEMPT_SECONDS > left:
                # A page retries only while its deadline allows; the banner says what happened.
                wait = None
            self._log(
                logging.INFO,
                method,
                path,
                response,
                response.status_code if response is not None else type(error).__name__,
                elapsed_ms,
                attempt,
                wait,
            )
            if wait is None:
                raise error
            self._sleep(wait)

    def _timeout_for(self, left: float | None) -> httpx.Timeout:
        """The client's timeouts, each cut to the deadline's time left (when there is one).

        Each phase is cut, not their sum: an attempt that both connects slowly and then waits for
        its answer can overrun by the connect time, which on a healthy network is milliseconds.
        """
        if left is None:
            return self.timeout
        t = self.timeout
        return httpx.Timeout(
            connect=_cut(t.connect, left),
            read=_cut(t.read, left),
            write=_cut(t.write, left),
            pool=_cut(t.pool, left),
        )

    def _wait(self, attempt: int, error: errors.VoxError) -> float | None:
        """Seconds to sleep before the next attempt, or None to give up now.

        Retry-After is honoured exactly; beyond max_retry_wait we give up at once, because a web
        request must not hang and the error carries `retry_after` for the banner. Without it:
        capped exponential backoff with full jitter, so many workers sharing a key spread out.
        """
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_wait else None
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)

    def _error_from(self, response: httpx.Response) -> errors.VoxError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:  # includes JSONDecodeError and bad UTF-8
            body = None
        envelope = isinstance(body, dict) and isinstance(body.get("error"), str)
        code: str | None = body["error"] if envelope else None
        message = body.get("message") if envelope else None
        message = errors.redact(message, self._api_key) if isinstance(message, str) and message else None
        kw: dict[str, Any] = {"status": status, "code": code}

        if status == 401:
            cls = {"invalid_api_key": errors.InvalidApiKey, "expired_api_key": errors.ExpiredApiKey}
            return cls.get(code, errors.VoxAuthError)(message, **kw)
        if status == 403:
            if not envelope:
                return errors.EdgeRejected(None, **kw)
            cls = {
                "missing_scope": errors.MissingScope,
                "ip_not_allowed": errors.IpNotAllowed,
                "origin_not_allowed": errors.OriginNotAllowed,
            }
            return cls.get(code, errors.VoxForbidden)(message, **kw)
        if status == 409:
            cls = {
                "idempotency_key_reused": errors.IdempotencyKeyReused,
                "request_in_progress": errors.RequestInProgress,
            }
            return cls.get(code, errors.VoxConflict)(message, **kw)
        if status == 422:
            return errors.VoxValidationError(message, details=_field_errors(body, self._api_key), **kw)
        if status == 429:
            return errors.VoxRateLimited(message, retry_after=_retry_after(response), **kw)
        if status == 404:
            return errors.VoxNotFound(message, **kw)
        if 400 <= status < 500:
            return errors.VoxBadRequest(message, **kw)
        if status >= 500:
            error = errors.VoxUnavailable(message or f"Vox answered {status}.", **kw)
            error.retry_after = _retry_after(response)
            return error
        return errors.VoxBadResponse(f"Vox answered an unexpected {status} (check VOX_API_BASE_URL).", **kw)

    def _log(
        self,
        level: int,
        method: str,
        path: str,
        response: httpx.Response | None,
        outcome: int | str,
        ms: float,
        attempt: int,
        wait: float | None = None,
    ) -> None:
        # The path only: query strings carry customer names and phone numbers. The vendor's
        # request id, when sent, is what their support asks for.
        extra = (
            f" request_id={response.headers['x-request-id']}"
            if response is not None and "x-request-id" in response.headers
            else ""
        )
        if wait is not None:
            extra += f" retry_in={wait:.2f}s"
        logger.log(level, "vox %s %s -> %s %.0fms attempt=%d%s", method, path, outcome, ms, attempt, extra)


def _cut(timeout: float | None, left: float) -> float:
    return left if timeout is None else min(timeout, left)


def _should_retry(error: errors.VoxError) -> bool:
    if isinstance(error, (errors.VoxTimeout, errors.VoxConnectionError, errors.RequestInProgress)):
        return True
    return error.status in _RETRYABLE_STATUSES


def _envelope(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise errors.VoxBadResponse(
            f"Vox answered {response.status_code} with a body that is not JSON.", status=response.status_code
        ) from None
    if not isinstance(body, dict) or "data" not in body:
        raise errors.VoxBadResponse(
            f"Vox answered {response.status_code} without a data envelope.", status=response.status_code
        )
    return body


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise errors.VoxBadResponse(f"Vox sent {what} that are not a list.")
    return value


def _field_errors(body: Any, api_key: str) -> list[errors.FieldError]:
    details = body.get("details") if isinstance(body, dict) else None
    if not isinstance(details, list):
        return []
    return [
        errors.FieldError(
            str(item.get("field") or ""), errors.redact(str(item.get("message") or ""), api_key)
        )
        for item in details
        if isinstance(item, dict)
    ]


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None when absent or garbage."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _describe(exc: httpx.HTTPError) -> str:
    # httpx messages name the failure ("[Errno 111] Connection refused") and never the headers.
    return str(exc) or type(exc).__name__
