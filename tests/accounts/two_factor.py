"""Helpers for the two-factor tests: RFC 6238 codes computed here, from the secret the page shows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import struct

# One instant for allauth's clock and ours (allauth.mfa.totp.internal.auth reads time.time()): a code
# must not cross a 30-second boundary between computing and posting it.
NOW = 1_800_000_015.0


def totp(secret: str, at: float = NOW, *, step: int = 30, digits: int = 6) -> str:
    """The code an authenticator app shows at `at` (RFC 6238: HOTP of the 30-second counter)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 10**digits:0{digits}d}"


def secret_on(page: str) -> str:
    """The key the set-up page shows beside its QR code."""
    return html.unescape(re.search(r'<code id="totp-secret">([A-Z2-7=]+)</code>', page)[1])


def recovery_codes_on(page: str) -> list[str]:
    listed = re.search(r'<ul class="recovery-codes" id="recovery-codes">(.*?)</ul>', page, flags=re.S)[1]
    return re.findall(r"<code>(\w+)</code>", listed)


def freeze_allauth_clock(monkeypatch, at: float = NOW) -> None:
    from types import SimpleNamespace

    from allauth.mfa.totp.internal import auth

    monkeypatch.setattr(auth, "time", SimpleNamespace(time=lambda: at))
