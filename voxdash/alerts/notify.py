"""Notices: one AlertDelivery per channel for each thing to say about an alert, then sent.

`alert_notify` is what the evaluation calls (inside its transaction): it writes the deliveries;
sending happens after commit and by beat (`alert_deliveries_send`), with retries and backoff,
each channel on its own. The senders (apprise, the signed webhook, the file) are below.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from .models import Alert, AlertChannel, AlertDelivery


def channels_for(rule) -> list[AlertChannel]:
    """The enabled channels a rule notifies: those for every rule, and those it names."""
    return list(AlertChannel.objects.filter(Q(every_rule=True) | Q(rules=rule), enabled=True).distinct())


def alert_notify(*, alert: Alert, notice: str) -> list[AlertDelivery]:
    """Queue one notice (fired, reminder, resolved) about `alert` to each of its rule's channels."""
    now = timezone.now()
    title, body = message_for(alert=alert, notice=notice)
    deliveries = AlertDelivery.objects.bulk_create(
        [
            AlertDelivery(
                alert=alert,
                channel=channel,
                channel_name=channel.name,
                notice=notice,
                title=title,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
            for channel in channels_for(alert.rule)
        ]
    )
    alert.last_notified_at = now
    alert.notices += 1
    alert.save(update_fields=["last_notified_at", "notices"])
    return deliveries


def message_for(*, alert: Alert, notice: str) -> tuple[str, str]:
    """The notice's title and text (the delivery part refines the wording)."""
    prefix = {"fired": "Alert", "reminder": "Still firing", "resolved": "Resolved"}.get(notice, notice)
    subject = f" — {alert.subject_label}" if alert.subject_label else ""
    return f"[voxdash] {prefix}: {alert.rule.name}{subject}", alert.summary


def alert_deliveries_send(*, now=None, limit: int = 100) -> int:
    """Send the deliveries that are due (new, or due for a retry); return how many were tried.
    Filled in by the delivery part."""
    raise NotImplementedError


def channel_test(*, channel: AlertChannel, user=None) -> AlertDelivery:
    """Queue (and send at once) a test notice to one channel. Filled in by the delivery part."""
    raise NotImplementedError


def masked_url(channel: AlertChannel) -> str:
    """The channel's URL with passwords and tokens replaced by "•••", for pages and lists.
    Filled in by the delivery part."""
    raise NotImplementedError
