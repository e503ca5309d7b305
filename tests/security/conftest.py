import uuid

import pytest
from django.utils import timezone

from .urlwalk import Samples

ROLES = ("anonymous", "viewer", "caller", "staff", "superuser")


@pytest.fixture
def samples(db) -> Samples:
    """One of each object a URL can name: a mirrored call, a placed call, a webhook event, …"""
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType

    from voxdash.calls.models import Call, SyncState
    from voxdash.directory.models import Agent, VoiceNumber
    from voxdash.placements.models import PlacedCall, payload_fingerprint
    from voxdash.webhooks.models import WebhookEvent

    now = timezone.now()
    call = Call.objects.create(
        vox_id="call_walk0001",
        direction="outbound",
        status="completed",
        customer_phone="+2348012345678",
        customer_name="Adaeze Okonkwo",
        duration_seconds=42,
        created_at=now,
    )
    payload = {"customer_phone": "+2348012345678", "purpose": "order_confirmation", "context": "Order 1042"}
    placed = PlacedCall.objects.create(
        username="cal",
        payload=payload,
        payload_fingerprint=payload_fingerprint(payload),
        customer_phone="+2348012345678",
        outcome=PlacedCall.Outcome.QUEUED,
        idempotency_key=uuid.uuid4(),
        listed_call_id=call.vox_id,
    )
    event = WebhookEvent.objects.create(
        event_id="evt_walk0001",
        event_type="vox.call.completed",
        environment="test",
        created=now,
        raw_body='{"id": "evt_walk0001"}',
        payload={"id": "evt_walk0001"},
        call_vox_id=call.vox_id,
        outcome=WebhookEvent.Outcome.APPLIED,
    )
    number = VoiceNumber.objects.create(vox_id="num_walk", phone_number="+2348000000001", status="active")
    agent = Agent.objects.create(vox_id="agt_walk", name="Ada", status="active")
    sync_state = SyncState.objects.create(name="calls")
    someone = User.objects.create_user("someone", password="pw-someone-123")
    from django.contrib.auth.models import Group

    group = Group.objects.get_or_create(name="Viewers")[0]
    from voxdash.campaigns.models import Campaign

    campaign = Campaign.objects.create(
        name="Walk",
        created_by_name="cal",
        business_voice_number_id="num_walk",
        ai_agent_id="agt_walk",
        purpose="payment_reminder",
        context_template="Hello {customer_name}",
        window_start="09:00",
        window_end="17:00",
        window_days="mon,tue,wed,thu,fri",
        time_zone="Africa/Lagos",
    )
    from voxdash.api.tokens import token_create
    from voxdash.subscriptions.models import Event, EventDelivery, Subscription

    token = token_create(name="Walk CRM", scopes=["calls:read"], created_by=someone).token
    subscription = Subscription.objects.create(
        name="Walk CRM", url="http://127.0.0.1:9/hook", event_types=["call.status_changed"]
    )
    # Of another subscription: the walk deletes the first before it reaches the re-send.
    other = Subscription.objects.create(
        name="Walk billing", url="http://127.0.0.1:9/billing", event_types=["call.status_changed"]
    )
    delivery = EventDelivery.objects.create(
        event=Event.objects.create(type="call.status_changed", data={"vox_id": call.vox_id}),
        subscription=other,
        state=EventDelivery.State.FAILED,
    )
    return Samples(
        vox_id=call.vox_id,
        placed_key=placed.idempotency_key,
        webhook_event_pk=event.pk,
        objects={
            "calls.call": call.pk,
            "calls.syncstate": sync_state.pk,
            "placements.placedcall": placed.pk,
            "webhooks.webhookevent": event.pk,
            "directory.voicenumber": number.pk,
            "directory.agent": agent.pk,
            "auth.user": someone.pk,
            "auth.group": group.pk,
        },
        content_type_id=ContentType.objects.get_for_model(Call).pk,
        user_pk=someone.pk,
        campaign_pk=campaign.pk,
        token_pk=token.pk,
        subscription_pk=subscription.pk,
        delivery_pk=delivery.pk,
    )


def make_user(role: str):
    """A user of `role` (None for anonymous): Viewers, Callers, staff (a Viewer with is_staff), superuser."""
    from django.contrib.auth.models import Group, User

    if role == "anonymous":
        return None
    if role == "superuser":
        return User.objects.create_superuser("root", password="pw-root-123")
    user = User.objects.create_user(f"{role}-user", password=f"pw-{role}-123", is_staff=role == "staff")
    group = "Callers" if role == "caller" else "Viewers"
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user
