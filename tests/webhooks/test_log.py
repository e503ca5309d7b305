"""The webhook log at /webhooks/log/: staff see every stored delivery and can re-run its processing."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from voxdash.calls.models import Call
from voxdash.lib import caching
from voxdash.webhooks import views_log
from voxdash.webhooks.models import WebhookEvent

from .conftest import call_data, event

LOG = reverse("webhooks:log")
Outcome = WebhookEvent.Outcome


def store(payload: dict, *, outcome: str = Outcome.APPLIED, raw_body: str | None = None) -> WebhookEvent:
    return WebhookEvent.objects.create(
        event_id=payload["id"],
        event_type=payload["type"],
        raw_body=raw_body or json.dumps(payload),
        payload=payload,
        outcome=outcome,
        call_vox_id=(payload.get("data") or {}).get("callId", ""),
    )


@pytest.fixture
def staff(client, db, vox_settings):
    client.force_login(User.objects.create_user("stan", password="pw-stan-123", is_staff=True))
    return client


@pytest.fixture
def events(db):
    return [
        store(event("vox.call.started", call_data("call_1", "in_progress"), event_id="evt_started")),
        store(
            event(
                "vox.call.completed",
                call_data("call_1", "completed", durationSeconds=42),
                event_id="evt_completed",
            ),
            outcome=Outcome.FAILED,
        ),
        store(
            event("vox.agent.updated", {"id": "agent-1", "name": "Ada"}, event_id="evt_agent"),
            outcome=Outcome.IGNORED,
        ),
    ]


def test_anonymous_is_sent_to_login(client, events):
    assert client.get(LOG).status_code == 302


@pytest.mark.parametrize(
    "name, args, method",
    [
        ("webhooks:log", [], "get"),
        ("webhooks:log_detail", ["pk"], "get"),
        ("webhooks:log_rerun", ["pk"], "post"),
    ],
)
def test_viewers_get_403(client, viewer, events, name, args, method):
    client.force_login(viewer)
    url = reverse(name, args=[events[0].pk for _ in args])
    assert getattr(client, method)(url).status_code == 403
    assert WebhookEvent.objects.get(pk=events[0].pk).outcome == Outcome.APPLIED  # nothing re-run


def test_staff_see_every_delivery_newest_first(staff, events):
    response = staff.get(LOG)
    assert response.status_code == 200
    assert [e.event_id for e in response.context["page"].object_list] == [
        "evt_agent",
        "evt_completed",
        "evt_started",
    ]
    body = response.content.decode()
    assert body.count('<tr class="event-row">') == 3 and "3 deliveries" in body
    assert "Processing failed" in body and "valid" in body


def test_nav_entry_for_staff_only(staff, viewer, events):
    assert "Webhook log</a>" in staff.get(LOG).content.decode()
    other = Client()
    other.force_login(viewer)
    assert "Webhook log</a>" not in other.get(reverse("stats:overview")).content.decode()


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"type": "vox.call.completed"}, ["evt_completed"]),
        ({"outcome": "failed"}, ["evt_completed"]),
        ({"type": "vox.call.started", "outcome": "applied"}, ["evt_started"]),
        ({"type": "vox.call.started", "outcome": "failed"}, []),
    ],
)
def test_filters(staff, events, params, expected):
    response = staff.get(LOG, params)
    assert [e.event_id for e in response.context["page"].object_list] == expected


@pytest.mark.parametrize("params", [{"type": "vox.nope"}, {"outcome": "<b>"}, {"page": "x"}, {"page": "999"}])
def test_bad_parameters_get_a_message_not_a_500(staff, events, params):
    response = staff.get(LOG, params)
    assert response.status_code == 200


def test_pagination(staff, db):
    for n in range(55):
        store(event("vox.call.started", call_data(f"call_{n}"), event_id=f"evt_{n:03}"))
    first, second = staff.get(LOG), staff.get(LOG, {"page": 2})
    assert len(first.context["page"].object_list) == 50 and len(second.context["page"].object_list) == 5
    assert "page 1 of 2" in first.content.decode()


def test_detail_pretty_prints_and_escapes_the_body(staff, db):
    payload = event(
        "vox.call.failed",
        call_data("call_x", "failed", reason="<script>alert(1)</script>"),
        event_id="evt_xss",
    )
    stored = store(payload, raw_body=json.dumps(payload, separators=(",", ":")))
    body = staff.get(reverse("webhooks:log_detail", args=[stored.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "\n  &quot;type&quot;: &quot;vox.call.failed&quot;," in body  # indented, one key a line


def test_detail_of_a_body_that_is_not_json(staff, db):
    stored = WebhookEvent.objects.create(event_id="evt_raw", event_type="vox.x", raw_body="not json <b>")
    body = staff.get(reverse("webhooks:log_detail", args=[stored.pk])).content.decode()
    assert "not json &lt;b&gt;" in body


def test_rerun_applies_the_stored_event_and_shows_the_new_outcome(staff, events):
    failed = events[1]  # a completed event whose processing had failed (say, a bug since fixed)
    response = staff.post(reverse("webhooks:log_rerun", args=[failed.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("webhooks:log_detail", args=[failed.pk])
    failed.refresh_from_db()
    assert failed.outcome == Outcome.APPLIED and failed.outcome_detail.startswith("Re-run by stan: ")
    assert failed.processed_at is not None
    call = Call.objects.get(vox_id="call_1")
    assert call.status == "completed" and call.duration_seconds == 42
    body = response.content.decode()
    assert "Processing re-run: Applied." in body and 'id="event-outcome">Applied<' in body

    # Again: applying is idempotent, so nothing changes and the log says so.
    staff.post(reverse("webhooks:log_rerun", args=[failed.pk]))
    failed.refresh_from_db()
    assert failed.outcome == Outcome.IGNORED and "nothing new" in failed.outcome_detail
    # An older event re-run later never undoes the newer status.
    staff.post(reverse("webhooks:log_rerun", args=[events[0].pk]))
    assert Call.objects.get(vox_id="call_1").status == "completed"


def test_rerun_of_unusable_data_records_failed(staff, db):
    broken = store(event("vox.call.started", {"status": "in_progress"}, event_id="evt_broken"))
    staff.post(reverse("webhooks:log_rerun", args=[broken.pk]))
    broken.refresh_from_db()
    assert broken.outcome == Outcome.FAILED and "callId" in broken.outcome_detail


def test_rerun_needs_post_and_csrf(db, events, vox_settings):
    user = User.objects.create_user("stan", password="pw-stan-123", is_staff=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    url = reverse("webhooks:log_rerun", args=[events[1].pk])
    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403
    assert WebhookEvent.objects.get(pk=events[1].pk).outcome == Outcome.FAILED
    detail = strict.get(reverse("webhooks:log_detail", args=[events[1].pk])).content.decode()
    assert 'name="csrfmiddlewaretoken"' in detail


def test_unknown_event_is_404(staff, db):
    assert staff.get(reverse("webhooks:log_detail", args=[999])).status_code == 404
    assert staff.post(reverse("webhooks:log_rerun", args=[999])).status_code == 404


def test_refused_deliveries_are_listed_apart_and_untrusted(staff, settings):
    """Every delivery received shows in the log with its verdict; a refused one never becomes
    an event, so its claimed id cannot take a real event's place."""
    from voxdash.webhooks.models import RefusedDelivery

    body = b'{"id": "evt_forged", "type": "vox.call.completed", "data": {"callId": "c1"}}'
    response = staff.post(
        reverse("webhooks:vox"),
        body,
        content_type="application/json",
        headers={
            "Cloove-Signature": "t=1,v1=00",
            "Cloove-Webhook-Id": "evt_forged",
            "Cloove-Webhook-Event": "vox.call.completed",
        },
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.filter(event_id="evt_forged").exists()
    refusal = RefusedDelivery.objects.get()
    assert refusal.claimed_event_id == "evt_forged" and refusal.reason.startswith("signature")
    page = staff.get(reverse("webhooks:log")).content.decode()
    assert "Refused deliveries (1)" in page and "evt_forged" in page and "refused" in page


def test_every_stored_event_is_a_verified_one_and_the_log_says_so_once(staff, events):
    # A stored event always passed the signature check (the rest are refusals): no per-row verdict.
    page = staff.get(reverse("webhooks:log")).content.decode()
    assert "not verified" not in page and "has a valid signature" in page
    detail = staff.get(reverse("webhooks:log_detail", args=[events[0].pk])).content.decode()
    assert '<dt>Signature</dt><dd><span class="badge badge-ok">valid</span>' in detail


def test_a_flood_of_refusals_is_bounded(client, db):
    from voxdash.webhooks import services
    from voxdash.webhooks.models import RefusedDelivery

    for _ in range(services.REFUSALS_PER_MINUTE + 15):
        client.post(reverse("webhooks:vox"), b"junk", content_type="application/json")
    assert RefusedDelivery.objects.count() == services.REFUSALS_PER_MINUTE


def test_rows_show_the_time_the_outcome_and_link_the_event_and_its_call(staff, db, settings):
    from datetime import UTC, datetime

    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Kathmandu"  # +05:45
    stored = store(event("vox.call.failed", call_data("call_with_a_long_id_0001"), event_id="evt_x"))
    WebhookEvent.objects.filter(pk=stored.pk).update(
        received_at=datetime(2026, 11, 21, 9, 5, 7, 250, tzinfo=UTC)
    )
    with timezone.override("Asia/Kathmandu"):
        body = staff.get(LOG).content.decode()
    detail = reverse("webhooks:log_detail", args=[stored.pk])
    call = reverse("calls:detail", args=["call_with_a_long_id_0001"])
    assert '<time datetime="2026-11-21T14:50:07+05:45">21 Nov 2026, 14:50:07</time>' in body
    assert f'<a href="{detail}"><code>evt_x</code></a>' in body
    assert f'<a href="{call}"><code>call_with_a_l…</code></a>' in body  # cut to 14 characters
    assert '<span class="webhook-outcome webhook-outcome-applied">Applied</span>' in body


def test_a_page_of_fifty_costs_what_a_page_of_five_does(staff, db, django_assert_max_num_queries):
    from voxdash.webhooks.models import RefusedDelivery

    for n in range(5):
        store(event("vox.call.started", call_data(f"call_{n}"), event_id=f"evt_{n:03}"))
    RefusedDelivery.objects.create(reason="bad signature")
    staff.get(LOG)  # the first page after signing in also saves the session
    # The user, the types received, the count, the page's events, the refused deliveries (fewer
    # than are shown: not counted apart), the menu's open alerts.
    with django_assert_max_num_queries(6) as few:
        body = staff.get(LOG).content.decode()
    assert "Refused deliveries (1)" in body
    for n in range(5, 60):
        store(event("vox.call.started", call_data(f"call_{n}"), event_id=f"evt_{n:03}"))
    RefusedDelivery.objects.bulk_create(RefusedDelivery(reason=f"bad signature {n}") for n in range(24))
    with django_assert_max_num_queries(len(few) + 1) as many:  # 25 refused, 20 shown: counted
        body = staff.get(LOG).content.decode()
    assert "Refused deliveries (25)" in body and body.count('class="refused-row"') == 20
    assert body.count('class="event-row"') == 50 and len(many) == len(few) + 1


def result_count(client, **params) -> str:
    body = client.get(LOG, params).content.decode()
    [line] = re.findall(r'<p class="result-count">(.*?)\.\s', body, flags=re.S)
    return line


def page_links(client, **params) -> list[str]:
    """The page numbers the pager links to."""
    body = client.get(LOG, params).content.decode()
    [pager] = re.findall(r'<nav class="paginator".*?</nav>', body, flags=re.S)
    return re.findall(r'page=(\d+)"', pager)


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 5 and a count capped at 20: the cap's behaviour without 10,000 events."""
    monkeypatch.setattr(views_log, "PAGE_SIZE", 5)
    monkeypatch.setattr(views_log, "COUNT_CAP", 20)


def test_more_events_than_the_cap_read_as_a_lower_bound_and_every_page_still_shows(staff, small_pages):
    for n in range(60):  # evt_59 is the newest
        stored = store(event("vox.call.started", call_data(f"call_{n}"), event_id=f"evt_{n:02}"))
        WebhookEvent.objects.filter(pk=stored.pk).update(received_at=timezone.now() + timedelta(minutes=n))
    store(event("vox.agent.updated", {"id": "agent-1"}, event_id="evt_agent"), outcome=Outcome.IGNORED)
    assert result_count(staff) == "20+ deliveries · page 1"
    assert result_count(staff, type="vox.call.started") == "20+ deliveries match these filters · page 1"
    # The next page is offered, the last one (12) is not: the capped count does not know it.
    first_links = page_links(staff, type="vox.call.started")
    assert "2" in first_links and "12" not in first_links
    first = staff.get(LOG, {"type": "vox.call.started"}).content.decode()
    assert 'href="?type=vox.call.started&amp;page=2" rel="next"' in first

    # A page past the cap: its own rows, in order, and a link to the next one.
    deep = staff.get(LOG, {"type": "vox.call.started", "page": 10})
    assert [e.event_id for e in deep.context["page"].object_list] == [
        "evt_14",
        "evt_13",
        "evt_12",
        "evt_11",
        "evt_10",
    ]
    assert (
        result_count(staff, type="vox.call.started", page=10)
        == "20+ deliveries match these filters · page 10"
    )
    assert "11" in page_links(staff, type="vox.call.started", page=10)

    # The last page knows the count exactly; a number past it shows the last page, as before.
    for number in (12, 13, 500):
        last = staff.get(LOG, {"type": "vox.call.started", "page": number})
        assert [e.event_id for e in last.context["page"].object_list] == [
            f"evt_{n:02}" for n in range(4, -1, -1)
        ]
        assert result_count(staff, type="vox.call.started", page=number) == (
            "60 deliveries match these filters · page 12 of 12"
        )
    assert 'rel="next"' not in staff.get(LOG, {"type": "vox.call.started", "page": 12}).content.decode()

    # Below the cap, the count is exact.
    assert result_count(staff, outcome=Outcome.IGNORED) == "1 delivery matches these filters"


def test_a_capped_count_stops_at_the_cap(staff, small_pages):
    for n in range(30):
        store(event("vox.call.started", call_data(f"call_{n}"), event_id=f"evt_{n:02}"))
    staff.get(LOG)
    with CaptureQueriesContext(connection) as queries:
        assert staff.get(LOG, {"page": 2}).status_code == 200
    [count] = [
        q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "webhooks_webhookevent" in q["sql"]
    ]
    assert "LIMIT 21" in count.upper()  # at most the cap + 1 counted


def test_the_type_filter_offers_each_type_received_once_in_order(staff, events):
    for n in range(3):
        store(event("vox.call.started", call_data(f"call_{n}"), event_id=f"evt_more_{n}"))
    assert views_log.received_event_types() == ["vox.agent.updated", "vox.call.completed", "vox.call.started"]
    WebhookEvent.objects.all().delete()
    assert views_log.received_event_types() == []


@pytest.mark.parametrize(
    "call_id",
    [
        "",
        "call_1",
        "call_exactly14",
        "call_exactly_15",
        "call_with_a_long_id_0001",
        "appel_é_long_numéro",
        "cafe\u0301_e\u0301_long_id_x",
    ],
)
def test_a_call_id_is_cut_as_truncatechars_cut_it(call_id):
    from django.utils.text import Truncator

    assert views_log.call_id_short(call_id) == Truncator(call_id).chars(14)


def type_filter(client, **params) -> list[str]:
    """The side panel's event types, in order (after "All")."""
    body = client.get(LOG, params).content.decode()
    panel = body[body.index("By type") : body.index("</details>", body.index("By type"))]
    return [label for label in re.findall(r">([^<]+)</a>", panel) if label != "All"]


def test_the_types_are_kept_and_the_next_view_does_not_ask_for_them(staff, events):
    kinds = type_filter(staff)
    with CaptureQueriesContext(connection) as queries:
        assert type_filter(staff) == kinds == ["vox.agent.updated", "vox.call.completed", "vox.call.started"]
    assert not [q["sql"] for q in queries if "RECURSIVE" in q["sql"]]


def test_a_type_that_just_arrived_filters_at_once_and_joins_the_panel_within_the_kept_seconds(
    staff, events, monkeypatch
):
    assert "vox.call.ringing" not in type_filter(staff)
    store(event("vox.call.ringing", call_data("call_new"), event_id="evt_new"))
    # A link to it (from the event's own page, say) filters by it, though the kept list lacks it.
    assert result_count(staff, type="vox.call.ringing") == "1 delivery matches these filters"
    assert "vox.call.ringing" in type_filter(staff)
    # Without that, the panel shows a new type once the kept list has expired everywhere.
    store(event("vox.recording.ready", call_data("call_new"), event_id="evt_rec"))
    assert "vox.recording.ready" not in type_filter(staff)
    later = caching.time.time() + views_log.TYPES_KEPT_SECONDS + 1
    monkeypatch.setattr(caching.time, "time", lambda: later)
    assert "vox.recording.ready" in type_filter(staff)
