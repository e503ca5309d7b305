"""/subscriptions/: staff add a subscription, see its secret and its delivery log, re-send."""

import pytest
from django.contrib.auth.models import User

from tests.fixtures.receivers import http_receiver
from voxdash.audit.models import AuditEntry
from voxdash.subscriptions.delivery import event_deliveries_send
from voxdash.subscriptions.emit import event_emit
from voxdash.subscriptions.models import EventDelivery, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("ada", password="pw-ada-123"))
    return client


def test_only_staff_may_open_it(client, viewer):
    client.force_login(viewer)
    assert client.get("/subscriptions/").status_code == 403


def test_a_subscription_is_added_and_a_bad_url_keeps_what_was_typed(staff_client):
    refused = staff_client.post(
        "/subscriptions/", {"name": "CRM", "url": "ftp://crm.example/hook", "event_types": ["alert.opened"]}
    )
    assert refused.status_code == 422
    assert b"http:// or https://" in refused.content and b'value="CRM"' in refused.content
    assert Subscription.objects.count() == 0
    made = staff_client.post(
        "/subscriptions/",
        {
            "name": "CRM",
            "url": "https://crm.example/hook",
            "event_types": ["call.status_changed"],
            "active": "on",
        },
    )
    subscription = Subscription.objects.get()
    assert made["Location"] == f"/subscriptions/{subscription.pk}/"
    page = staff_client.get(made["Location"])
    assert subscription.secret.encode() in page.content and subscription.secret.startswith("whsec_")
    assert AuditEntry.objects.filter(action="subscription_created", username="ada").count() == 1


def test_the_delivery_log_shows_each_attempt_and_re_sends(staff_client):
    with http_receiver() as hook:
        subscription = Subscription.objects.create(name="CRM", url=hook.url, event_types=["alert.opened"])
        hook.answers = [500]
        event = event_emit(type="alert.opened", data={"summary": "x"})
        event_deliveries_send()
        page = staff_client.get(f"/subscriptions/{subscription.pk}/").content.decode()
        assert "Failed, will retry" in page and "HTTP 500" in page and str(event.uuid) in page
        delivery = EventDelivery.objects.get()
        assert staff_client.post(f"/subscriptions/deliveries/{delivery.pk}/resend/").status_code == 302
        event_deliveries_send()  # due at once, not at its backoff
        delivery.refresh_from_db()
        assert delivery.state == "delivered" and delivery.attempts == 2
        assert [r.headers["Voxdash-Event-Id"] for r in hook.requests] == [str(event.uuid)] * 2
        assert AuditEntry.objects.filter(action="event_delivery_resent").count() == 1
        assert "Delivered" in staff_client.get(f"/subscriptions/{subscription.pk}/").content.decode()


def test_rotating_the_secret_and_deleting(staff_client):
    subscription = Subscription.objects.create(name="CRM", url="https://crm.example/", event_types=[])
    old = subscription.secret
    staff_client.post(f"/subscriptions/{subscription.pk}/rotate/")
    subscription.refresh_from_db()
    assert subscription.secret != old
    staff_client.post(f"/subscriptions/{subscription.pk}/delete/")
    assert Subscription.objects.count() == 0
    assert AuditEntry.objects.filter(action="subscription_deleted").count() == 1


def test_the_delivery_log_is_paged_newest_first_and_offers_re_send_unless_sending(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    from voxdash.subscriptions.models import Event

    subscription = Subscription.objects.create(
        name="CRM", url="http://127.0.0.1:9/", event_types=["alert.opened"]
    )
    start = timezone.now() - timedelta(hours=2)
    for n in range(30):
        EventDelivery.objects.create(
            event=Event.objects.create(type="alert.opened", data={"n": n}),
            subscription=subscription,
            created_at=start + timedelta(minutes=n),
            state=EventDelivery.State.SENDING if n == 29 else EventDelivery.State.RETRYING,
            last_status=503,
            attempts=2,
        )
    first = staff_client.get(f"/subscriptions/{subscription.pk}/").content.decode()
    assert "30 deliveries · page 1 of 2." in first
    assert first.count('class="delivery-row') == 20
    assert first.count(">Re-send</button>") == 19  # the newest is being sent: nothing to re-send yet
    assert "HTTP 503" in first and 'href="?page=2"' in first
    newest = Event.objects.order_by("-id").first()
    assert first.index(str(newest.uuid)) < first.index(str(Event.objects.order_by("-id")[1].uuid))
    second = staff_client.get(f"/subscriptions/{subscription.pk}/?page=2").content.decode()
    assert second.count('class="delivery-row') == 10
    assert str(Event.objects.order_by("id").first().uuid) in second
    assert staff_client.get(f"/subscriptions/{subscription.pk}/?page=zz").status_code == 200


def test_the_admin_shows_subscriptions_but_changes_go_through_the_audited_page(staff_client):
    subscription = Subscription.objects.create(
        name="CRM", url="http://127.0.0.1:9/", event_types=["alert.opened"]
    )
    change = f"/admin/subscriptions/subscription/{subscription.pk}/change/"
    page = staff_client.get(change)
    assert page.status_code == 200 and subscription.secret.encode() not in page.content
    assert staff_client.post(change, {"name": "x", "url": "ftp://x", "event_types": "[]"}).status_code == 403
    assert staff_client.get("/admin/subscriptions/subscription/add/").status_code == 403
    subscription.refresh_from_db()
    assert subscription.name == "CRM"
