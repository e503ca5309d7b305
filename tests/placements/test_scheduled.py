"""Scheduled calls: the form's `place_at`, the list, cancelling, and the worker sending them when due."""

import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.fixtures.celery_worker import _database_url, _point_app_at, running_worker
from vox_simulator import keys
from voxdash.accounts.models import Profile
from voxdash.directory.do_not_call import dnc_add
from voxdash.lib.window import DAY_CODES
from voxdash.placements.models import PlacedCall, payload_fingerprint
from voxdash.placements.scheduled import placements_due_send, send_lease
from voxdash.vox import reset_client

from .submit import URL, form_defaults, place, posts_to_vox

LAGOS = ZoneInfo("Africa/Lagos")
LIST = reverse("placements:list")


def local_input(at: datetime, tz=None) -> str:
    """What a datetime-local input sends for `at`, in the person's zone (default: the site's)."""
    return at.astimezone(tz or timezone.get_default_timezone()).strftime("%Y-%m-%dT%H:%M")


def closed_on(at: datetime) -> str:
    """Business hours (UTC) that exclude the whole day of `at`: one day a week, three days away."""
    return f"{DAY_CODES[(at.weekday() + 3) % 7]} 00:00-23:59"


def in_two_hours() -> datetime:
    return (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)


@pytest.fixture
def lagos_caller(caller):
    Profile.objects.create(user=caller, time_zone="Africa/Lagos")  # read on the first request
    return caller


def schedule(client, at: datetime, **changes):
    data = {**form_defaults(client), "place_at": local_input(at), **changes}
    return place(client, data), data


def scheduled_record(**fields) -> PlacedCall:
    """A scheduled call as the form leaves it, made directly (for the worker's tests)."""
    user = fields.pop("user", None) or User.objects.get_or_create(username="cal")[0]
    payload = {
        "customer_phone": fields.pop("customer_phone", "+2348031234560"),
        "customer_name": "Adaeze Okonkwo",
        "purpose": "payment_reminder",
        "context": "Remind about invoice INV-2026-001.",
        "business_voice_number_id": fields.pop("number_id"),
        "ai_agent_id": fields.pop("agent_id"),
    }
    return PlacedCall.objects.create(
        user=user,
        username=user.get_username(),
        payload=payload,
        payload_fingerprint=payload_fingerprint(payload),
        customer_phone=payload["customer_phone"],
        idempotency_key=uuid.uuid4(),
        origin="scheduled",
        outcome=fields.pop("outcome", "scheduled"),
        place_at=fields.pop("place_at", timezone.now() - timedelta(seconds=5)),
        **fields,
    )


@pytest.fixture
def ids(simulator, db):
    """A usable number and agent of the simulator, as the form would send them."""
    number = next(n for n in simulator.store.list_numbers() if n["status"] == "active" and n["voiceCapable"])
    agent = next(a for a in simulator.store.list_agents() if a["isDefault"])
    return {"number_id": number["id"], "agent_id": agent["id"]}


def test_a_call_for_later_is_scheduled_in_the_persons_time_zone(
    client, lagos_caller, vox_settings, simulator
):
    client.force_login(lagos_caller)
    at = in_two_hours()
    data = {**form_defaults(client), "place_at": local_input(at, LAGOS)}
    review = client.post(URL, {**data, "action": "review"})
    body = review.content.decode()
    assert f"Scheduled for {at.astimezone(LAGOS):%-d %b %Y, %H:%M} (Africa/Lagos)" in body
    assert "Schedule call" in body
    response = place(client, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("placements:detail", kwargs={"key": data["idempotency_key"]})
    record = PlacedCall.objects.get()
    assert (record.outcome, record.origin, record.place_at) == ("scheduled", "scheduled", at)
    assert str(record.idempotency_key) == data["idempotency_key"]
    assert posts_to_vox(simulator) == 0  # nothing is sent until it is due
    page = client.get(response["Location"]).content.decode()
    assert "Call scheduled for" in page and 'data-status="scheduled"' in page and "Cancel this call" in page
    # Pressed again (the browser resubmitting): still one scheduled call.
    again = place(client, data)
    assert again.status_code == 302 and PlacedCall.objects.count() == 1
    assert "already scheduled" in client.get(again["Location"]).content.decode()


@pytest.mark.parametrize(
    "when, message",
    [
        (lambda now: now - timedelta(minutes=5), "That time has passed"),
        (lambda now: now + timedelta(days=31), "Choose a time within the next 30 days"),
    ],
)
def test_past_and_far_times_are_refused(caller_client, simulator, when, message):
    data = {**form_defaults(caller_client), "place_at": local_input(when(timezone.now()))}
    response = place(caller_client, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"]["context"].value() == data["context"]
    assert not PlacedCall.objects.exists()


def test_scheduling_a_listed_number_is_refused_at_once(caller_client, simulator, caller):
    dnc_add(phone="+2348031234560", reason="complaint", user=caller)
    response, _ = schedule(caller_client, in_two_hours())
    assert response.status_code == 200
    assert "is on the do-not-call list (complaint)" in response.content.decode()
    assert not PlacedCall.objects.exists()


def test_a_planned_time_outside_the_hours_needs_the_confirmation(caller_client, simulator, settings):
    at = in_two_hours()
    # Business hours that never include the planned time: a day three days away.
    settings.VOXDASH_BUSINESS_HOURS = closed_on(at)
    settings.VOXDASH_BUSINESS_TIME_ZONE = "UTC"
    response, data = schedule(caller_client, at)
    assert (
        response.status_code == 200
        and "The planned time is outside the business hours" in response.content.decode()
    )
    assert not PlacedCall.objects.exists()
    confirmed = place(caller_client, {**data, "confirm_outside_hours": "on"})
    assert confirmed.status_code == 302
    assert PlacedCall.objects.get().window_confirmed


def test_the_list_shows_scheduled_calls_with_their_time_and_a_cancel_button(caller_client, simulator, viewer):
    at = in_two_hours()
    schedule(caller_client, at)
    place(caller_client, form_defaults(caller_client))  # and one placed now
    page = caller_client.get(LIST)
    body = page.content.decode()
    rows = page.context["rows"]
    assert [r.origin.text for r in rows] == ["Place a call", "Scheduled call"]
    assert f"{timezone.localtime(at):%-d %b %Y, %H:%M}" in body and ">Cancel</button>" in body
    assert body.count(">Cancel</button>") == 1  # only the scheduled one
    other = Client()
    other.force_login(viewer)
    assert ">Cancel</button>" not in other.get(LIST).content.decode()


def test_cancelling_is_recorded_and_the_call_is_never_sent(caller_client, caller, simulator):
    _, data = schedule(caller_client, in_two_hours())
    key = data["idempotency_key"]
    response = caller_client.post(reverse("placements:cancel", kwargs={"key": key}), follow=True)
    assert "Cancelled: this call will not be placed." in response.content.decode()
    record = PlacedCall.objects.get()
    assert (
        record.outcome == "cancelled" and record.cancelled_by == caller and record.cancelled_by_name == "cal"
    )
    assert record.cancelled_at is not None
    assert 'data-status="cancelled"' in response.content.decode() and "by cal" in response.content.decode()
    assert placements_due_send(now=record.place_at + timedelta(minutes=1)) == 0
    assert posts_to_vox(simulator) == 0
    # Pressed again: nothing changes.
    again = caller_client.post(reverse("placements:cancel", kwargs={"key": key}), follow=True)
    assert "could not be cancelled: it is cancelled already" in again.content.decode()


def test_only_the_scheduler_or_staff_may_cancel(caller_client, simulator, db):
    _, data = schedule(caller_client, in_two_hours())
    url = reverse("placements:cancel", kwargs={"key": data["idempotency_key"]})
    callers = Group.objects.get(name="Callers")
    other = User.objects.create_user("olu")
    other.groups.add(callers)
    client = Client()
    client.force_login(other)
    assert client.post(url).status_code == 403
    assert ">Cancel</button>" not in client.get(LIST).content.decode()
    assert PlacedCall.objects.get().outcome == "scheduled"
    boss = User.objects.create_user("boss", is_staff=True)
    boss.groups.add(callers)
    client.force_login(boss)
    assert client.post(url).status_code == 302
    assert PlacedCall.objects.get().outcome == "cancelled"


def test_a_call_placed_at_once_cannot_be_cancelled(caller_client, simulator):
    data = form_defaults(caller_client)
    place(caller_client, data)
    response = caller_client.post(
        reverse("placements:cancel", kwargs={"key": data["idempotency_key"]}), follow=True
    )
    assert "Only a scheduled call can be cancelled" in response.content.decode()
    assert PlacedCall.objects.get().outcome == "queued"


def test_when_due_the_worker_sends_it_once_with_its_key(vox_settings, simulator, ids):
    record = scheduled_record(place_at=timezone.now() + timedelta(minutes=10), **ids)
    assert placements_due_send() == 0  # not due yet
    assert placements_due_send(now=record.place_at + timedelta(seconds=1)) == 1
    record.refresh_from_db()
    assert record.outcome == "queued" and record.vox_placement_id and record.send_started_at
    assert posts_to_vox(simulator) == 1 and simulator.stats()["dialed"] == 1
    assert placements_due_send(now=record.place_at + timedelta(minutes=5)) == 0
    assert posts_to_vox(simulator) == 1


def test_a_number_listed_before_it_is_due_is_blocked(vox_settings, simulator, ids, caller):
    record = scheduled_record(**ids)
    dnc_add(phone="0803 123 4560", reason="opted out by SMS", user=caller)
    assert placements_due_send() == 0
    record.refresh_from_db()
    assert record.outcome == "blocked" and record.error_kind == "do_not_call"
    assert "opted out by SMS" in record.error_message
    assert posts_to_vox(simulator) == 0


def test_outside_the_hours_when_due_it_goes_only_if_that_was_confirmed(
    vox_settings, simulator, ids, settings
):
    settings.VOXDASH_BUSINESS_HOURS = closed_on(timezone.now())
    settings.VOXDASH_BUSINESS_TIME_ZONE = "UTC"
    late = scheduled_record(**ids)  # planned inside the hours, but the workers were down until now
    confirmed = scheduled_record(window_confirmed=True, customer_phone="+2348031234561", **ids)
    assert placements_due_send() == 1
    late.refresh_from_db()
    confirmed.refresh_from_db()
    assert late.outcome == "blocked" and "Outside the calling hours" in late.error_message
    assert confirmed.outcome == "queued"
    assert posts_to_vox(simulator) == 1


def test_a_claim_whose_worker_died_is_sent_again_with_the_same_key(vox_settings, simulator, ids, settings):
    settings.VOX_MAX_RETRIES = 0  # the send's response is lost and the client does not retry
    reset_client()
    record = scheduled_record(**ids)
    simulator.faults.lose_response_next()
    placements_due_send()
    record.refresh_from_db()
    # Vox dialled, voxdash could not tell: the record waits to be sent again, not "not placed".
    assert record.outcome == "pending" and simulator.stats()["dialed"] == 1
    claimed_at = record.send_started_at
    assert placements_due_send(now=claimed_at + timedelta(seconds=30)) == 0  # its claim is still fresh
    assert placements_due_send(now=claimed_at + send_lease() + timedelta(seconds=1)) == 1
    record.refresh_from_db()
    assert record.outcome == "queued" and record.vox_placement_id
    assert posts_to_vox(simulator) == 2 and simulator.stats()["dialed"] == 1  # one dial


def test_a_claim_left_by_a_killed_worker_before_sending_is_sent(vox_settings, simulator, ids):
    stale = timezone.now() - send_lease() - timedelta(seconds=5)
    record = scheduled_record(outcome="pending", send_started_at=stale, place_at=stale, **ids)
    assert placements_due_send() == 1
    record.refresh_from_db()
    assert record.outcome == "queued" and posts_to_vox(simulator) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_due_at_once_send_each_call_once(vox_settings, simulator, ids):
    records = [scheduled_record(customer_phone=f"+23480312345{n:02d}", **ids) for n in range(12)]
    start = threading.Barrier(4)
    sent = []

    def worker():
        try:
            start.wait(timeout=30)
            sent.append(placements_due_send())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(sent) == 12
    assert posts_to_vox(simulator) == 12 and simulator.stats()["dialed"] == 12
    assert {r.outcome for r in PlacedCall.objects.filter(pk__in=[r.pk for r in records])} == {"queued"}


@pytest.fixture
def simulator_worker(simulator, transactional_db, tmp_path):
    """A real Celery worker process (threads pool) whose Vox is this test's simulator."""
    env = {"VOX_API_BASE_URL": simulator.base_url, "VOX_API_KEY": keys.DEMO_KEY}
    with running_worker(_database_url(), tmp_path, extra_env=env, concurrency=2) as worker:
        old = _point_app_at(worker.broker_url, worker.queue)
        try:
            yield worker
        finally:
            _point_app_at(*old)


def test_a_real_worker_sends_a_due_call(simulator_worker, vox_settings, simulator, ids):
    from voxdash.placements.tasks import placements_due_send as task

    record = scheduled_record(**ids)
    task.delay()
    simulator_worker.wait_for(
        lambda: PlacedCall.objects.filter(pk=record.pk, outcome="queued").exists(),
        what="the due call to be sent",
    )
    assert posts_to_vox(simulator) == 1 and simulator.stats()["dialed"] == 1


def test_the_list_names_campaign_attempts_and_a_filter_hides_them(caller_client, simulator, ids, caller):
    place(caller_client, form_defaults(caller_client))
    scheduled_record(user=caller, place_at=timezone.now() + timedelta(hours=1), **ids)
    campaign = scheduled_record(user=caller, customer_phone="+2348031234569", **ids)
    PlacedCall.objects.filter(pk=campaign.pk).update(origin="campaign", outcome="queued", origin_ref="3:12:2")
    everything = caller_client.get(LIST)
    shown = [r.origin.text for r in everything.context["rows"]]
    assert sorted(shown) == ["Campaign 3, row 12 (attempt 2)", "Place a call", "Scheduled call"]
    assert "Campaign 3, row 12 (attempt 2)" in everything.content.decode()
    by_hand = caller_client.get(LIST, {"origin": "by_hand"})
    assert sorted(r.origin for r in by_hand.context["page"].object_list) == ["form", "scheduled"]
    assert "Clear all filters" in by_hand.content.decode()
    only = caller_client.get(LIST, {"origin": "campaign"}).context["page"].object_list
    assert [r.origin_ref for r in only] == ["3:12:2"]
    # A bad value is dropped, as on the call history: everything is shown.
    assert len(caller_client.get(LIST, {"origin": "nonsense"}).context["page"].object_list) == 3


def test_one_form_is_one_call_whether_sent_now_or_later(caller_client, simulator):
    # Scheduled, then the same form (back button) without its time: still the scheduled call.
    response, data = schedule(caller_client, in_two_hours())
    now = place(caller_client, {**data, "place_at": ""})
    assert now["Location"] == response["Location"]
    assert "already scheduled" in caller_client.get(now["Location"]).content.decode()
    assert posts_to_vox(simulator) == 0 and PlacedCall.objects.count() == 1
    # Placed at once, then the same form with a time: not scheduled again (Vox keeps a key a day).
    placed = form_defaults(caller_client)
    first = place(caller_client, placed)
    later = place(caller_client, {**placed, "place_at": local_input(in_two_hours())})
    assert later["Location"] == first["Location"]
    assert "was not scheduled again" in caller_client.get(later["Location"]).content.decode()
    assert PlacedCall.objects.filter(idempotency_key=placed["idempotency_key"]).count() == 1
    assert posts_to_vox(simulator) == 1
