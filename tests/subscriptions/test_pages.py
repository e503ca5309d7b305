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
