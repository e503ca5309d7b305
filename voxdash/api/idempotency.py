"""`Idempotency-Key` for the API's POSTs that dial: the first answer, replayed; a different body, 409.

As Vox does (CONTRACT.md): keys are per token (and per endpoint); the same key with the same body
answers the first answer again, status and body, with `Idempotency-Replayed: true`; the same key
with another body is 409 `idempotency_key_reused`; a key whose first request is still being
answered is 409 `idempotency_key_in_progress` (Retry-After: 1), never a second attempt beside it.

Creating a campaign takes a key too, optionally (a retried create would otherwise leave a second
draft): with one, the same rules hold; without one, each request makes its own draft.

Only a call placed (or scheduled), or a campaign made, is remembered. Every other answer releases
the key, as Vox releases the key of a request it refused with a 422: nothing was placed, so the
same key may be sent again, corrected or, after an unknown outcome (a timeout, a lost response, Vox's 5xx), as it
was. That retry cannot dial twice: the key voxdash sends Vox is derived from the token and the
client's key (`vox_key`), so every process answering it sends Vox the same key, and the placed
call's record answers a key whose outcome is known without asking Vox again.

A claim is a row written before the work, guarded by a unique constraint. A claim older than the
placement's send lease (the process died mid-answer) is taken over by one conditional UPDATE.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from voxdash.placements.models import payload_fingerprint
from voxdash.placements.scheduled import send_lease

from .errors import ApiError
from .models import IdempotentRequest, ServiceToken

HEADER = "Idempotency-Key"
REPLAYED = "Idempotency-Replayed"
KEY_MAX = 255
# A first request younger than this is most likely still being answered: ask again in a second.
# An older one may be a process that died mid-answer, whose claim lasts until the send lease ends:
# the client is told when that is rather than to knock every second until then.
STILL_ANSWERING = timedelta(seconds=10)


def key_reused(*, noun: str = "call") -> ApiError:
    """The same key with another body (found here, or told by Vox after a released key)."""
    return ApiError(
        409,
        "idempotency_key_reused",
        f"This {HEADER} was used for a different request. Use a new key for a new {noun}.",
    )


def key_in_progress(*, retry_after: int = 1) -> ApiError:
    return ApiError(
        409,
        "idempotency_key_in_progress",
        "A request with this key is still being answered. Ask again in a moment with the same key.",
        headers={"Retry-After": str(retry_after)},
    )


def vox_key(*, token: ServiceToken, operation: str, key: str) -> uuid.UUID:
    """The key the placed call is sent to Vox with: the same for the same token, endpoint and key."""
    return uuid.uuid5(token.uuid, f"{operation}:{key}")


@dataclass
class Claimed:
    """This request does the work; `finish` or `release` it."""

    row: IdempotentRequest


def idempotency_claim(
    *,
    token: ServiceToken,
    operation: str,
    key: str | None,
    body: dict,
    required: bool = True,
    noun: str = "call",
) -> Claimed | HttpResponse | None:
    """Claim `key` for this request (Claimed), or the first answer to replay (an HttpResponse), or
    ApiError (no key, a bad key, another body, still in progress). None: no key, and none required."""
    key = (key or "").strip()
    if not key and not required:
        return None
    if not key:
        raise ApiError(
            400,
            "idempotency_key_required",
            f"Send an {HEADER} header (a UUID you make for this call): a retry with the same key "
            "never places the call twice.",
        )
    if len(key) > KEY_MAX or not key.isascii() or not key.isprintable():
        raise ApiError(
            400, "idempotency_key_invalid", f"The {HEADER} must be 1 to {KEY_MAX} printable ASCII characters."
        )
    fingerprint = payload_fingerprint(body)
    try:
        with transaction.atomic():
            row = IdempotentRequest.objects.create(
                token=token, operation=operation, key=key, fingerprint=fingerprint
            )
        return Claimed(row)
    except IntegrityError:
        pass
    row = IdempotentRequest.objects.filter(token=token, operation=operation, key=key).first()
    if row is None:  # released between our insert and this read: claim it afresh
        return idempotency_claim(
            token=token, operation=operation, key=key, body=body, required=required, noun=noun
        )
    if row.fingerprint != fingerprint:
        raise key_reused(noun=noun)
    if row.state == IdempotentRequest.State.DONE:
        response = HttpResponse(row.response_body, status=row.status_code, content_type="application/json")
        response[REPLAYED] = "true"
        return response
    now = timezone.now()
    lease_ends = row.claimed_at + send_lease()
    if lease_ends < now:
        taken = IdempotentRequest.objects.filter(
            pk=row.pk, state=IdempotentRequest.State.IN_PROGRESS, claimed_at=row.claimed_at
        ).update(claimed_at=now)
        if taken:
            row.refresh_from_db()
            return Claimed(row)
    if now - row.claimed_at < STILL_ANSWERING:
        raise key_in_progress()
    raise key_in_progress(retry_after=max(1, math.ceil((lease_ends - now).total_seconds())))


def _still_mine(claimed: Claimed):
    """The claim's row while this request holds it: a takeover (after the lease) moves claimed_at,
    and the request it was taken from must then neither overwrite nor delete the new claimant's."""
    return IdempotentRequest.objects.filter(
        pk=claimed.row.pk, state=IdempotentRequest.State.IN_PROGRESS, claimed_at=claimed.row.claimed_at
    )


def idempotency_finish(*, claimed: Claimed, status: int, body: dict) -> JsonResponse:
    """Remember the answer for the key's repeats, and answer it."""
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    _still_mine(claimed).update(
        state=IdempotentRequest.State.DONE, status_code=status, response_body=response.content.decode()
    )
    return response


def idempotency_release(*, claimed: Claimed) -> None:
    """Nothing was placed (or made): the key may be sent again."""
    _still_mine(claimed).delete()


def idempotent_requests_prune(*, now: datetime | None = None) -> int:
    """Forget the keys first sent more than VOXDASH_API_RETENTION_DAYS ago (0: never); how many.
    (Vox keeps its own keys at least a day, CONTRACT.md: a month here is well past any retry.)"""
    days = settings.VOXDASH_API_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = IdempotentRequest.objects.filter(claimed_at__lt=cutoff).delete()
    return deleted
