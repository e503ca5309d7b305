"""The Vox webhook receiver: verify, store once, answer at once; a Celery task does the work."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services, signature

logger = logging.getLogger("voxdash.webhooks")


@csrf_exempt  # Vox cannot send our CSRF token; the signature is what authenticates it
@require_POST
@login_not_required
def vox(request: HttpRequest) -> JsonResponse:
    # Verify the raw bytes: parsing and re-serialising JSON would change what was signed.
    try:
        signature.verify(settings.VOX_WEBHOOK_SECRET, request.headers.get("Cloove-Signature"), request.body)
    except signature.SignatureError as exc:
        # Nothing from an unverified request becomes an event (its id could be anyone's choice);
        # the refusal is logged, and kept apart, untrusted, for the webhook log.
        logger.warning("webhook rejected from %s: %s (id %.100r)", request.META.get("REMOTE_ADDR"), exc,
                       request.headers.get("Cloove-Webhook-Id"))
        _refused(request, f"signature: {exc}")
        return JsonResponse({"error": str(exc)}, status=400)
    try:
        event, duplicate = services.webhook_event_receive(
            body=request.body, header_id=request.headers.get("Cloove-Webhook-Id")
        )
    except services.InvalidEvent as exc:
        logger.error("webhook with a valid signature but unusable body: %s", exc)
        _refused(request, f"unusable body: {exc}")
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"received": event.event_id, "duplicate": duplicate})


def _refused(request: HttpRequest, reason: str) -> None:
    services.refused_delivery_record(
        reason=reason, headers=request.headers, body=request.body, remote_addr=request.META.get("REMOTE_ADDR", "")
    )
