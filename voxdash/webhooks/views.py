"""The Vox webhook receiver: verify, store once, answer at once; a Celery task does the work."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import queue, services, signature

logger = logging.getLogger("voxdash.webhooks")


# Seconds Vox is asked to wait before retrying while the database is unreachable: it retries
# with its own backoff anyway; this only tells it the failure is ours and passing.
RETRY_AFTER_SECONDS = 10


@csrf_exempt  # Vox cannot send our CSRF token; the signature is what authenticates it
@require_POST
@login_not_required
def vox(request: HttpRequest) -> JsonResponse:
    # Verify the raw bytes: parsing and re-serialising JSON would change what was signed.
    try:
        signature.verify(settings.VOX_WEBHOOK_SECRET, request.headers.get("Cloove-Signature"), request.body)
    except signature.SignatureError as exc:
        # Nothing from an unverified request becomes an event (its id could be anyone's choice);
        # the refusal is logged, and kept apart, untrusted, for the webhook log (both sampled).
        return _refused(request, exc, f"signature: {exc}", logging.WARNING)
    try:
        event, duplicate = services.webhook_event_receive(
            body=request.body,
            header_id=request.headers.get("Cloove-Webhook-Id"),
            enqueue=queue.webhook_event_enqueue,
        )
    except services.InvalidEvent as exc:
        # Correctly signed yet unusable: Vox (or whoever holds the secret) sent junk, an error.
        return _refused(request, exc, f"valid signature but unusable body: {exc}", logging.ERROR)
    except (OperationalError, InterfaceError) as exc:
        # The database is down or restarting: nothing was stored, so say so with a 503 and Vox
        # retries the delivery later (a 500 reads as our bug; Vox retries those too, but we log
        # them as crashes). The connect timeout in settings keeps this from hanging.
        logger.warning("webhook not stored, database unavailable (%s)", type(exc).__name__)
        response = JsonResponse({"error": "database unavailable; retry later"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"received": event.event_id, "duplicate": duplicate})


def _refused(request: HttpRequest, exc: Exception, reason: str, level: int) -> JsonResponse:
    """The 400 for a refused delivery, recorded (and logged, sampled) by the service."""
    logged = services.refused_delivery_record(
        reason=reason,
        headers=request.headers,
        body=request.body,
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        level=level,
    )
    response = JsonResponse({"error": str(exc)}, status=400)
    # Django's own "Bad Request" line would log every refusal again, unsampled; the service's
    # sampled line is the one record (Django skips responses marked as logged), and past the
    # sample the request log's line goes quiet too (voxdash.health.logs).
    response._has_been_logged = True
    response.log_quietly = not logged
    return response
