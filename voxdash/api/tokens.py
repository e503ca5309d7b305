"""Service tokens: made (shown once), checked on every API request, revoked.

A token reads `vxd_<prefix>_<secret>`. The prefix finds the row; the whole token's SHA-256 is
compared in constant time. A fast hash is right here, unlike for passwords: the secret is 256 random
bits, so there is nothing to guess, only a database copy to make useless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from voxdash.accounts.service_accounts import service_account_create
from voxdash.audit.log import Action, audit_record

from .models import ServiceToken
from .scopes import PLACES_CALLS, SCOPES

TOKEN_START = "vxd_"
# last_used_at is written at most this often per token: a busy integration must not turn every
# read into a write.
LAST_USED_EVERY = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class MadeToken:
    token: ServiceToken
    raw: str  # the only time the token exists in clear: show it, never store it


def token_create(
    *,
    name: str,
    scopes: list[str],
    created_by,
    expires_at: datetime | None = None,
    rate_per_minute: int = 60,
    request=None,
) -> MadeToken:
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        user = service_account_create(name=name, places_calls=bool(PLACES_CALLS & set(scopes)))
        token = ServiceToken.objects.create(
            name=name,
            prefix=prefix,
            secret_hash=token_hash(raw),
            scopes=[s for s in SCOPES if s in scopes],  # in the one order, whatever was asked
            rate_per_minute=rate_per_minute,
            expires_at=expires_at,
            user=user,
            created_by=created_by,
        )
        audit_record(
            action=Action.API_TOKEN_CREATED,
            request=request,
            user=created_by,
            target=token,
            detail={"scopes": token.scopes, "expires_at": expires_at.isoformat() if expires_at else None},
        )
    return MadeToken(token, raw)


def token_revoke(*, token: ServiceToken, revoked_by, request=None) -> bool:
    """Revoke at once (the next request with it is refused). False when it already was."""
    with transaction.atomic():
        changed = ServiceToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=revoked_by
        )
        if changed:
            token.refresh_from_db()
            audit_record(action=Action.API_TOKEN_REVOKED, request=request, user=revoked_by, target=token)
    return bool(changed)


class TokenRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def token_authenticate(*, raw: str, now: datetime | None = None) -> ServiceToken:
    """The active token `raw` is, or TokenRefused saying why not (the answer's code and words)."""
    now = now or timezone.now()
    start, _, rest = raw.partition(TOKEN_START)
    prefix, sep, _ = rest.partition("_")
    if start or not sep or not prefix:
        raise TokenRefused("invalid_token", "The bearer token is not a voxdash API token.")
    token = ServiceToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, token_hash(raw)):
        raise TokenRefused("invalid_token", "The bearer token is not a voxdash API token.")
    state = token.state(now)
    if state == "revoked":
        raise TokenRefused("token_revoked", "This API token was revoked. Ask an administrator for a new one.")
    if state == "expired":
        raise TokenRefused("token_expired", "This API token has expired. Ask an administrator for a new one.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ServiceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
