"""Staff's changes to subscriptions, each audited in its transaction."""

from __future__ import annotations

from django.db import transaction

from voxdash.audit.log import Action, audit_record

from .delivery import event_delivery_resend
from .models import EventDelivery, Subscription, new_secret


def subscription_save(*, form, user, request=None) -> Subscription:
    creating = form.instance.pk is None
    with transaction.atomic():
        subscription = form.save(commit=False)
        if creating:
            subscription.created_by = user
        subscription.save()
        audit_record(
            action=Action.SUBSCRIPTION_CREATED if creating else Action.SUBSCRIPTION_CHANGED,
            request=request,
            user=user,
            target=subscription,
            detail={
                "url": subscription.url,
                "event_types": subscription.event_types,
                "active": subscription.active,
            },
        )
    return subscription


def subscription_secret_rotate(*, subscription: Subscription, user, request=None) -> None:
    with transaction.atomic():
        subscription.secret = new_secret()
        subscription.save(update_fields=["secret"])
        audit_record(
            action=Action.SUBSCRIPTION_CHANGED, request=request, user=user, target=subscription,
            detail={"secret": "rotated"},
        )  # fmt: skip


def subscription_delete(*, subscription: Subscription, user, request=None) -> None:
    with transaction.atomic():
        audit_record(action=Action.SUBSCRIPTION_DELETED, request=request, user=user, target=subscription)
        subscription.delete()


def delivery_resend(*, delivery: EventDelivery, user, request=None) -> None:
    with transaction.atomic():
        event_delivery_resend(delivery=delivery)
        audit_record(
            action=Action.EVENT_DELIVERY_RESENT,
            request=request,
            user=user,
            target=delivery.subscription,
            detail={"event_id": str(delivery.event.uuid), "type": delivery.event.type},
        )
