"""/calls/placed/: every attempt, newest first, with its origin, outcome and (while it waits) a Cancel button."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from voxdash.placements.models import PlacedCall

LIST = reverse("placements:list")
# Two timezone.now()-independent moments, so the page's text is known: 10:05 and 14:30 in Lagos (+01:00).
ATTEMPTED = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)
PLACE_AT = datetime(2026, 11, 30, 13, 30, tzinfo=UTC)


def placed(n: int, *, user, **fields) -> PlacedCall:
    payload = {"customer_phone": "+2348031234567", "purpose": f"purpose_{n}", "customer_name": f"Name {n}"}
    record = PlacedCall.objects.create(
        user=user,
        username=user.username,
        idempotency_key=uuid.UUID(int=n + 1),
        payload=payload,
        payload_fingerprint=f"{n}",
        customer_phone="+2348031234567",
        outcome=fields.pop("outcome", "queued"),
        **fields,
    )
    # attempted_at is auto_now_add: set afterwards, a minute apart, newest the highest n.
    PlacedCall.objects.filter(pk=record.pk).update(attempted_at=ATTEMPTED + timedelta(minutes=n))
    return record


@pytest.fixture
def lagos(settings):
    settings.TIME_ZONE = "Africa/Lagos"
    timezone.activate("Africa/Lagos")
    yield
    timezone.deactivate()


@pytest.fixture
def staff_caller(client, db, vox_settings):
    user = User.objects.create_user("sam", password="pw-sam-123", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Callers")[0])
    client.force_login(user)
    return user


def test_rows_say_when_who_what_and_link_their_pages(client, staff_caller, lagos):
    placed(0, user=staff_caller, origin="scheduled", outcome="scheduled", place_at=PLACE_AT)
    placed(
        1,
        user=staff_caller,
        origin="campaign",
        origin_ref="3:12:2",
        error_kind="validation",
        outcome="rejected",
    )
    placed(2, user=staff_caller, answered_locally=True)
    body = client.get(LIST).content.decode()
    key0, key1 = uuid.UUID(int=1), uuid.UUID(int=2)
    detail = reverse("placements:detail", kwargs={"key": key0})
    assert f'<a href="{detail}">21 Nov 2026, 10:05</a>' in body  # the attempt's time, in Lagos
    assert 'Name 0 · <span class="nowrap">+234 803 123 4567</span>' in body
    assert '<td class="nowrap">30 Nov 2026, 14:30</td>' in body  # scheduled for
    cancel = reverse("placements:cancel", kwargs={"key": key0})
    assert f'<form method="post" action="{cancel}">' in body
    assert (
        'aria-label="Cancel the call to +234 803 123 4567 scheduled for 30 Nov 2026, 14:30">Cancel</button>'
        in body
    )
    assert body.count(">Cancel</button>") == 1  # only the one that waits
    campaign = reverse("campaigns:detail", kwargs={"pk": 3})
    assert f'<a href="{campaign}">Campaign 3, row 12 (attempt 2)</a>' in body
    assert reverse("placements:detail", kwargs={"key": key1}) in body
    assert (
        '<span class="outcome outcome-rejected">Rejected by Vox</span> <span class="help">validation</span>'
        in body
    )
    assert ' <span class="help">(answered by voxdash)</span>' in body
    assert 'name="csrfmiddlewaretoken"' in body  # in the cancel form
    assert body.index("Name 2") < body.index("Name 1") < body.index("Name 0")  # newest first


def test_a_viewer_sees_no_cancel_button(client, viewer, lagos):
    placed(0, user=viewer, origin="scheduled", outcome="scheduled", place_at=PLACE_AT)
    client.force_login(viewer)
    body = client.get(LIST).content.decode()
    assert "30 Nov 2026, 14:30" in body and ">Cancel</button>" not in body


def test_a_page_of_fifty_costs_what_a_page_of_five_does(client, staff_caller, django_assert_max_num_queries):
    # The rows' links, times and origins are worked out from the rows read: no query a row.
    for n in range(5):
        placed(n, user=staff_caller, origin=["form", "scheduled", "campaign"][n % 3], origin_ref="1:2")
    client.get(LIST)  # the first page after signing in also saves the session and the zone
    # The user, their permissions, the count, the page's rows, the menu's open alerts.
    with django_assert_max_num_queries(5) as few:
        assert client.get(LIST).status_code == 200
    for n in range(5, 120):
        placed(n, user=staff_caller, origin=["form", "scheduled", "campaign"][n % 3], origin_ref="1:2")
    with django_assert_max_num_queries(len(few)) as many:
        response = client.get(LIST)
    assert len(response.context["rows"]) == 50 and len(many) == len(few)


def test_the_rows_are_read_without_the_columns_only_a_call_s_own_page_shows(client, staff_caller):
    placed(0, user=staff_caller, error_message="a long message from Vox", error_fields={"to": ["bad"]})
    client.get(LIST)
    with CaptureQueriesContext(connection) as queries:
        assert "Name 0" in client.get(LIST).content.decode()
    [select] = [q["sql"] for q in queries if "placements_placedcall" in q["sql"] and "COUNT(" not in q["sql"]]
    assert '"payload"' in select and '"customer_phone"' in select
    for column in ("error_message", "error_fields", "payload_fingerprint", "cancelled_by_name"):
        assert column not in select


def test_more_attempts_than_the_cap_read_as_a_lower_bound(client, staff_caller, monkeypatch):
    from voxdash.placements import views

    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    monkeypatch.setattr(views, "COUNT_CAP", 20)
    for n in range(30):  # Name 29 is the newest
        placed(n, user=staff_caller)
    first = client.get(LIST).content.decode()
    assert '<p class="result-count">20+ attempts · page 1.</p>' in first
    assert 'href="?page=2" rel="next"' in first and 'href="?page=6"' not in first  # no last page
    deep = client.get(LIST, {"page": 5}).content.decode()
    assert "20+ attempts · page 5." in deep and "Name 9" in deep and "Name 10" not in deep
    # The last page knows the count exactly.
    last = client.get(LIST, {"page": 6}).content.decode()
    assert "30 attempts · page 6 of 6." in last and 'rel="next"' not in last
    with CaptureQueriesContext(connection) as queries:
        client.get(LIST, {"page": 2})
    [count] = [
        q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "placements_placedcall" in q["sql"]
    ]
    assert "LIMIT 21" in count.upper()
