"""The guard on the one-off form: the do-not-call list, the business hours, the per-user brake."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from voxdash.directory.do_not_call import dnc_add
from voxdash.lib.window import DAY_CODES, window_parse
from voxdash.placements.guard import DO_NOT_CALL, OUTSIDE_WINDOW, THROTTLED, placement_guard
from voxdash.placements.models import PlacedCall, payload_fingerprint

from .submit import URL, form_defaults, place, posts_to_vox

LAGOS = ZoneInfo("Africa/Lagos")


def closed_today() -> str:
    """Business hours that exclude the whole of today (UTC): a day three days away."""
    return f"{DAY_CODES[(timezone.now().weekday() + 3) % 7]} 00:00-23:59"


@pytest.fixture
def after_hours(settings):
    settings.VOXDASH_BUSINESS_HOURS = closed_today()
    settings.VOXDASH_BUSINESS_TIME_ZONE = "UTC"


def test_a_number_on_the_list_is_refused_on_review_and_nothing_reaches_vox(caller_client, simulator, caller):
    dnc_add(phone="0803 123 4560", reason="asked us to stop", user=caller)  # the national form
    data = form_defaults(caller_client)  # +2348031234560
    response = caller_client.post(URL, {**data, "action": "review"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["customer_phone"] == [
        "+234 803 123 4560 is on the do-not-call list (asked us to stop): voxdash will not dial it."
    ]
    assert form["context"].value() == data["context"]  # nothing typed is lost
    assert 'value="place"' not in response.content.decode()  # no way on to placing it


def test_pressing_place_for_a_listed_number_sends_nothing(caller_client, simulator, caller):
    dnc_add(phone="+2348031234560", user=caller)
    response = place(caller_client, form_defaults(caller_client))
    assert response.status_code == 200
    assert "is on the do-not-call list: voxdash will not dial it." in response.content.decode()
    assert posts_to_vox(simulator) == 0 and simulator.stats()["dialed"] == 0
    assert not PlacedCall.objects.exists()


def test_a_number_taken_off_the_list_can_be_called_again(caller_client, simulator, caller):
    from voxdash.directory.do_not_call import dnc_remove

    dnc_add(phone="+2348031234560", user=caller)
    dnc_remove(phone="+2348031234560", user=caller)
    assert place(caller_client, form_defaults(caller_client)).status_code == 302
    assert posts_to_vox(simulator) == 1


def test_outside_business_hours_the_review_asks_for_a_confirmation(caller_client, simulator, after_hours):
    data = form_defaults(caller_client)
    review = caller_client.post(URL, {**data, "action": "review"})
    body = review.content.decode()
    assert "It is outside the business hours now." in body and "Business hours: " in body
    assert 'name="confirm_outside_hours"' in body and "required" in body
    # Pressed without ticking the box: the review again, with the message; nothing is sent.
    unconfirmed = place(caller_client, data)
    assert unconfirmed.status_code == 200
    assert "Tick the box below to call outside the business hours" in unconfirmed.content.decode()
    assert unconfirmed.context["payload"]["context"] == data["context"]
    assert posts_to_vox(simulator) == 0 and not PlacedCall.objects.exists()
    # Ticked: the call goes, and the record says the person chose to call outside the hours.
    confirmed = place(caller_client, {**data, "confirm_outside_hours": "on"})
    assert confirmed.status_code == 302
    assert posts_to_vox(simulator) == 1
    record = PlacedCall.objects.get()
    assert record.outcome == "queued" and record.window_confirmed


def test_inside_business_hours_nothing_is_asked(caller_client, simulator, settings):
    settings.VOXDASH_BUSINESS_HOURS = "00:00-00:00"  # every day, all day (it runs past midnight)
    data = form_defaults(caller_client)
    review = caller_client.post(URL, {**data, "action": "review"})
    assert 'name="confirm_outside_hours"' not in review.content.decode()
    assert place(caller_client, data).status_code == 302
    assert not PlacedCall.objects.get().window_confirmed


def test_the_do_not_call_list_wins_over_a_confirmation(caller_client, simulator, caller, after_hours):
    dnc_add(phone="+2348031234560", user=caller)
    response = place(caller_client, {**form_defaults(caller_client), "confirm_outside_hours": "on"})
    assert response.status_code == 200 and "do-not-call list" in response.content.decode()
    assert posts_to_vox(simulator) == 0


def test_the_brake_comes_from_the_guard_and_ignores_campaign_attempts(
    caller_client, simulator, caller, settings
):
    settings.VOX_PLACE_CALLS_PER_MINUTE = 1
    # The caller's running campaign dials in their name: that is paced by the campaign, not braked.
    for row in range(5):
        payload = {"customer_phone": f"+23480312345{row:02d}", "purpose": "p", "context": "c"}
        PlacedCall.objects.create(
            user=caller,
            username="cal",
            payload=payload,
            payload_fingerprint=payload_fingerprint(payload),
            customer_phone=payload["customer_phone"],
            outcome="queued",
            origin="campaign",
            origin_ref=f"1:{row + 2}:1",
            idempotency_key=uuid.uuid4(),
        )
    assert place(caller_client, form_defaults(caller_client)).status_code == 302
    braked = place(caller_client, form_defaults(caller_client))
    assert braked.status_code == 200 and "at most 1 calls a minute" in braked.content.decode()
    assert PlacedCall.objects.filter(origin="form").values_list("outcome", flat=True).count() == 2
    assert PlacedCall.objects.filter(outcome="throttled").count() == 1
    assert posts_to_vox(simulator) == 1


def test_scheduling_counts_against_the_brake(caller_client, simulator, settings):
    settings.VOX_PLACE_CALLS_PER_MINUTE = 1
    later = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    assert place(caller_client, {**form_defaults(caller_client), "place_at": later}).status_code == 302
    braked = place(caller_client, form_defaults(caller_client))
    assert "at most 1 calls a minute" in braked.content.decode()
    assert posts_to_vox(simulator) == 0


# The guard itself, at frozen times (the dispatcher passes `at`), in the window's own zone.
WEEKDAYS = window_parse("mon-fri 08:00-20:00", LAGOS)


@pytest.mark.parametrize(
    "at, allowed",
    [
        (datetime(2026, 11, 30, 7, 59, 59, tzinfo=LAGOS), False),  # Monday, a second before opening
        (datetime(2026, 11, 30, 8, 0, tzinfo=LAGOS), True),
        (datetime(2026, 11, 30, 19, 59, 59, tzinfo=LAGOS), True),
        (datetime(2026, 11, 30, 20, 0, tzinfo=LAGOS), False),  # closing time is outside
        (datetime(2026, 11, 30, 7, 30, tzinfo=ZoneInfo("UTC")), True),  # 08:30 in Lagos
        (datetime(2026, 12, 5, 12, 0, tzinfo=LAGOS), False),  # Saturday
    ],
)
def test_the_window_at_a_given_time(db, at, allowed):
    refusal = placement_guard(customer_phone="+2348031234560", window=WEEKDAYS, at=at)
    assert (refusal is None) == allowed
    if not allowed:
        assert refusal.code == OUTSIDE_WINDOW and "Mon-Fri 08:00-20:00 (Africa/Lagos)" in refusal.message
        confirmed = placement_guard(
            customer_phone="+2348031234560", window=WEEKDAYS, at=at, window_confirmed=True
        )
        assert confirmed is None


def test_the_list_is_checked_before_the_window_and_the_brake(db, caller, settings):
    settings.VOX_PLACE_CALLS_PER_MINUTE = 0
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=LAGOS)
    assert placement_guard(customer_phone="+2348031234560", window=None, braked_user=caller).code == THROTTLED
    assert (
        placement_guard(customer_phone="+2348031234560", window=WEEKDAYS, at=saturday).code == OUTSIDE_WINDOW
    )
    dnc_add(phone="+2348031234560", user=caller)
    refusal = placement_guard(
        customer_phone="+2348031234560", window=WEEKDAYS, at=saturday, braked_user=caller
    )
    assert refusal.code == DO_NOT_CALL and not refusal.can_be_confirmed
