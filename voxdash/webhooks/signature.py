"""Verifying `Cloove-Signature` headers, exactly as the Vox contract describes them.

    Cloove-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>...]

The HMAC is over the bytes `"{t}." + raw body`, keyed with the whole `whsec_…` secret as UTF-8.
Several `v1=` values may appear while Vox rotates a secret; one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.views.decorators.debug import sensitive_variables

# The contract's replay window, in both directions: a `t` from the future is as suspect as an old one.
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The request is not provably from Vox; the message is safe to return to the sender."""


# sensitive_variables: DEBUG's error page lists every frame's variables; `secret` must not be one.
@sensitive_variables("secret")
def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The hex digest Vox sends as `v1` (used by verify() and by tests and the benchmark)."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def parse_header(header: str) -> tuple[int, list[str]]:
    """`t` and every `v1` value of a header; SignatureError when either is missing or malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            # ASCII digits only: int() would also take " 12", "+12" or "١٢".
            if not (value.isascii() and value.isdigit()):
                raise SignatureError("malformed signature timestamp")
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
        # Other schemes (a future v2, say) are ignored rather than refused, as Stripe-style schemes do.
    if timestamp is None:
        raise SignatureError("signature has no timestamp")
    if not signatures:
        raise SignatureError("signature has no v1 value")
    return timestamp, signatures


@sensitive_variables("secret")
def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """Check `header` against the raw `body`; return the signed timestamp or raise SignatureError."""
    if not secret:
        raise SignatureError("webhook secret is not configured")
    if not header:
        raise SignatureError("missing Cloove-Signature header")
    timestamp, signatures = parse_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("signature timestamp outside the tolerance")
    expected = sign(secret, body, timestamp).encode()
    # Compare against every candidate (no early exit), each in constant time. Bytes, because
    # compare_digest refuses non-ASCII str and a header may carry anything.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate.lower().encode("utf-8", "replace"))
    if not matched:
        raise SignatureError("signature does not match")
    return timestamp
