"""Re-run the processing of a stored event, on an admin's request from the webhook log.

`services.webhook_event_process` applies an event once and then leaves it alone, which is right
for deliveries. An admin re-running one (after fixing a bug, or to see what it does now) wants it
applied again whatever its outcome: applying is idempotent and order-safe, so a re-run can at
worst find nothing new ("ignored"), never undo a newer status.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from voxdash.audit.log import Action, Target, audit_record

from .models import WebhookEvent
from .services import EventDataError, webhook_event_apply

logger = logging.getLogger("voxdash.webhooks")


def webhook_event_rerun(*, event_pk: int, username: str, request=None) -> WebhookEvent:
    """Apply the stored event again, record the new outcome (and who asked, in the event and in
    the audit log, with `request` for the address), return the event."""
    with transaction.atomic():
        # The same lock as the worker takes: a re-run and a delivery's processing never interleave.
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        try:
            with transaction.atomic():  # a failure rolls back only this event's writes
                outcome, detail = webhook_event_apply(event)
        except EventDataError as exc:
            outcome, detail = WebhookEvent.Outcome.FAILED, str(exc)
        except Exception as exc:  # shown to the admin on the page, not a 500
            logger.exception("re-run of webhook %s failed", event.event_id)
            outcome, detail = WebhookEvent.Outcome.FAILED, f"{type(exc).__name__}: {exc}"
        event.outcome = outcome
        event.outcome_detail = f"Re-run by {username}: {detail}"[:2000]
        event.processed_at = timezone.now()
        event.save(update_fields=["outcome", "outcome_detail", "processed_at"])
        audit_record(
            action=Action.WEBHOOK_RERUN,
            request=request,
            target=Target(
                type="webhook event",
                id=str(event.pk),
                label=f"{event.event_type} {event.event_id}",
                url=reverse("webhooks:log_detail", kwargs={"pk": event.pk}),
            ),
            detail={"outcome": event.get_outcome_display()},
        )
    logger.info("webhook %s re-run by %s: %s", event.event_id, username, outcome)
    return event
