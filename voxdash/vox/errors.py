"""Every way a Vox call can fail, as one hierarchy.

Callers branch on the class (or on `retryable`), never on message text. Each error carries the HTTP
`status` and Vox error `code` when there was a response, a `message` that is safe to log, and a
`user_message` + `hint` pair meant for a banner. Errors cross process boundaries (Celery results),
so they must pickle: every subclass accepts the message as its only positional argument and keeps
everything else in `__dict__`, which `BaseException.__reduce__` carries along.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "VoxError",
    "VoxAuthError",
    "InvalidApiKey",
    "ExpiredApiKey",
    "VoxForbidden",
    "MissingScope",
    "IpNotAllowed",
    "OriginNotAllowed",
    "EdgeRejected",
    "VoxBadRequest",
    "VoxNotFound",
    "FieldError",
    "VoxValidationError",
    "VoxConflict",
    "IdempotencyKeyReused",
    "RequestInProgress",
    "VoxTransientError",
    "VoxRateLimited",
    "VoxBudgetExhausted",
    "VoxUnavailable",
    "VoxTimeout",
    "VoxDeadlineSpent",
    "VoxConnectionError",
    "VoxBadResponse",
    "mask_key",
    "redact",
    "retry_delay",
]

# Cloove keys look like clv_<env>_<type>_<random>. Anything shaped like one is masked wherever a
# message is built, so a server (or proxy page) echoing the key cannot leak it into logs.
_KEY_RE = re.compile(r"clv_[A-Za-z]+_[A-Za-z]+_[A-Za-z0-9]+")


def mask_key(key: str) -> str:
    """`clv_test_sk_…abcd`: enough to tell keys apart, useless to an attacker."""
    if not key:
        return "(none)"
    parts = key.split("_")
    prefix = "_".join(parts[:3]) + "_" if len(parts) >= 4 and parts[0] == "clv" else ""
    tail = key[-4:] if len(key) >= 16 else ""
    return f"{prefix}…{tail}"


def redact(text: str, key: str | None = None) -> str:
    if key:
        text = text.replace(key, mask_key(key))
    return _KEY_RE.sub(lambda m: mask_key(m.group(0)), text)


class VoxError(Exception):
    default_status: int | None = None
    default_message = "The Vox API returned an error."
    user_message = "Vox returned an unexpected error."
    hint = "Try again; if it keeps happening, check the server logs."
    retryable = False

    def __init__(self, message: str | None = None, *, status: int | None = None, code: str | None = None):
        self.message = redact(message or self.default_message)
        self.status = status if status is not None else self.default_status
        self.code = code
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


# --- 401
class VoxAuthError(VoxError):
    default_status = 401
    default_message = "The Vox API key was not accepted."
    user_message = "Vox did not accept the API key."
    hint = "Check VOX_API_KEY: it must be a current secret key (clv_test_sk_… or clv_live_sk_…)."


class InvalidApiKey(VoxAuthError):
    default_message = "Invalid API key."
    user_message = "The Vox API key is invalid."
    hint = "Set VOX_API_KEY to a secret key (clv_…_sk_…); publishable keys (…_pk_…) are rejected."


class ExpiredApiKey(VoxAuthError):
    default_message = "The API key has expired."
    user_message = "The Vox API key has expired."
    hint = "Create a new secret key in the Cloove dashboard and update VOX_API_KEY."


# --- 403
class VoxForbidden(VoxError):
    default_status = 403
    default_message = "The API key is not allowed to do this."
    user_message = "Vox refused this request for the current API key."
    hint = "Check the key's scopes and allowed IPs/origins in the Cloove dashboard."


_SCOPE_RE = re.compile(r"\b(vox:[a-z_:]+[a-z_])")


class MissingScope(VoxForbidden):
    default_message = "The API key lacks a required scope."
    user_message = "The Vox API key lacks the permission this needs."

    def __init__(self, message: str | None = None, *, status: int | None = None, code: str | None = None):
        super().__init__(message, status=status, code=code)
        # The contract puts the scope's name only in the prose: "Missing required scope: vox:calls:create".
        match = _SCOPE_RE.search(self.message)
        self.scope: str | None = match.group(1) if match else None

    @property
    def hint(self) -> str:  # type: ignore[override]
        scope = self.scope or "the required scope"
        return f"Grant {scope} to the key in the Cloove dashboard, or use a key that has it."


class IpNotAllowed(VoxForbidden):
    user_message = "Vox does not accept requests from this server's IP address."
    hint = "Add this server's outgoing IP to the key's allowed IPs in the Cloove dashboard."


class OriginNotAllowed(VoxForbidden):
    user_message = "Vox does not accept requests from this origin."
    hint = "Add this origin to the key's allowed origins in the Cloove dashboard."


class EdgeRejected(VoxForbidden):
    """A 403 without the API's JSON body: the vendor's edge (or a proxy) refused the request."""

    default_message = "The request was refused before it reached the Vox API (403 without a JSON body)."
    user_message = "The request was blocked before it reached Vox."
    hint = (
        "The vendor's edge rejects default library User-Agents and some proxies; check the client's "
        "User-Agent and any outbound proxy."
    )


# --- other 4xx
class VoxBadRequest(VoxError):
    default_status = 400
    default_message = "Vox rejected the request as malformed."
    user_message = "Vox could not understand the request."
    hint = "This is likely a bug in voxdash; check the server logs."


class VoxNotFound(VoxError):
    default_status = 404
    default_message = "Not found."
    user_message = "Vox could not find what was asked for."
    hint = "Check VOX_API_BASE_URL points at the API root (e.g. https://api.clooveai.com)."


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class VoxValidationError(VoxError):
    default_status = 422
    default_message = "Vox rejected some of the values sent."
    user_message = "Vox rejected some of the values."
    hint = "Correct the highlighted fields and submit again."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        details: list[FieldError] | tuple[FieldError, ...] = (),
    ):
        super().__init__(message, status=status, code=code)
        self.details: list[FieldError] = [FieldError(d.field, redact(d.message)) for d in details]

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Messages by body field (snake_case, as sent), ready for `form.add_error`."""
        result: dict[str, list[str]] = {}
        for detail in self.details:
            result.setdefault(detail.field, []).append(detail.message)
        return result


# --- 409
class VoxConflict(VoxError):
    default_status = 409
    default_message = "The request conflicts with an earlier one."
    user_message = "Vox reported a conflict with an earlier request."
    hint = "Reload the page and try again."


class IdempotencyKeyReused(VoxConflict):
    default_message = "This idempotency key was already used with a different request."
    user_message = "This form was already submitted with different values."
    hint = "Reload the form to start a new call request."


# --- transient: worth trying again later
class VoxTransientError(VoxError):
    retryable = True
    default_message = "Vox is temporarily unavailable."
    user_message = "Vox is temporarily unavailable."
    hint = "Try again in a moment."

    # Set from Retry-After when the server sent one; None otherwise.
    retry_after: float | None = None


class RequestInProgress(VoxConflict, VoxTransientError):
    default_status = 409
    default_message = "A request with this idempotency key is still being processed."
    user_message = "Vox is still processing the same request."
    hint = "Wait a moment and submit again; the call will not be placed twice."


class VoxRateLimited(VoxTransientError):
    default_status = 429
    default_message = "Too many requests."
    user_message = "Vox's rate limit for this API key has been reached."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.retry_after is not None:
            return (
                f"Try again in {max(1, round(self.retry_after))} s; the key's limit is shared by every user."
            )
        return "The key's limit is shared by every user and worker; wait a moment and try again."


class VoxBudgetExhausted(VoxRateLimited):
    """voxdash's own shared request budget (voxdash.vox.budget) is spent: no request was sent.

    A subclass of VoxRateLimited so every caller that copes with Vox's 429 copes with this too.
    """

    default_status = None
    default_message = "The shared Vox request budget for this minute is spent."
    user_message = "voxdash has used this minute's Vox request budget."

    @property
    def hint(self) -> str:  # type: ignore[override]
        wait = f" in {max(1, round(self.retry_after))} s" if self.retry_after is not None else ""
        return f"Every user and worker shares the key's requests per minute; try again{wait}."


class VoxUnavailable(VoxTransientError):
    default_status = 503
    default_message = "The Vox API is unavailable."
    user_message = "Vox is having trouble right now."
    hint = "Try again in a minute; if it persists, check Cloove's status page."


class VoxTimeout(VoxTransientError):
    default_message = "The Vox API did not answer in time."
    user_message = "Vox took too long to answer."
    hint = "Try again; if a call was being placed, check the call list before placing it again."


class VoxDeadlineSpent(VoxTimeout):
    """Not sent at all: the web request's one deadline (voxdash.vox.deadline) was already used up
    by earlier requests. It says nothing about Vox's health, so status checks must not cache it."""

    default_message = "The request to Vox was not sent: this page's time for Vox was spent."


class VoxConnectionError(VoxTransientError):
    default_message = "Could not reach the Vox API."
    user_message = "voxdash could not reach Vox."
    hint = "Check the network and VOX_API_BASE_URL, then try again."


# --- a response we cannot use
class VoxBadResponse(VoxError):
    default_message = "The Vox API answered with a response voxdash does not understand."
    user_message = "Vox sent a response voxdash could not read."
    hint = "Try again; if it keeps happening, check VOX_API_BASE_URL and the server logs."


def retry_delay(error: VoxError, retries: int) -> float:
    """Seconds a background job should wait before trying again after `error`: what Vox said
    (Retry-After, or the budget's own wait), else a doubling backoff capped at five minutes."""
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return max(1.0, retry_after)
    return min(300.0, 15.0 * 2**retries)
