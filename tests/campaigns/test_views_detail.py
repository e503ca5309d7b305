"""/campaigns/<id>/: the draft's preview, the live progress (htmx), the actions per state, the
events, the rows table (filter, pager, links to each attempt's calls)."""

import re
import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from voxdash.calls.models import Call
from voxdash.campaigns.models import Campaign, CampaignEvent, attempt_key
from voxdash.directory.models import DoNotCallEntry

from .pages import HTMX, State, make_campaign, phone, placed_attempt

POLL = 'hx-trigger="every 2s"'


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is on every page: the simulator answers."""


def url(campaign, **query) -> str:
    base = reverse("campaigns:detail", kwargs={"pk": campaign.pk})
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def viewer_in(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def caller_in(client, caller):
    client.force_login(caller)
    return client


def _tally(body: str, key: str) -> int:
    match = re.search(rf'data-state="{key}">\s*<a [^>]*><span class="tally-count">(\d+)</span>', body)
    assert match, f"no tally for {key}"
    return int(match[1])


# --- A draft: the preview and the settings it will run with.


def _draft_from_a_file(caller):
    """A draft made by the real draft maker from a small CSV (the "files" helper's service)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from voxdash.campaigns.drafts import campaign_create

    DoNotCallEntry.objects.create(phone="+2348030000004", reason="asked not to be called")
    text = (
        "customer_phone,customer_name,invoice\r\n"
        "+2348030000001,Ada Obi,INV-1\r\n"
        "0803 000 0002,Bola Ade,INV-2\r\n"
        "12345,Bad Number,INV-3\r\n"
        "+2348030000001,Ada Again,INV-4\r\n"
        "+2348030000004,Dee Nocall,INV-5\r\n"
        "+2348030000006,Eze Noinvoice,\r\n"
        "+2348030000007,Femi Ola,INV-7\r\n"
    )
    fields = {
        "name": "December reminders",
        "business_voice_number_id": "num_x",
        "ai_agent_id": "agt_x",
        "purpose": "payment_reminder",
        "context_template": "Remind {customer_name} about invoice {invoice}",
        "max_attempts": 2,
        "retry_after_minutes": 90,
        "window_start": time(9, 0),
        "window_end": time(17, 0),
        "window_days": "mon,tue,wed,thu,fri",
        "time_zone": "Africa/Lagos",
        "max_in_flight": 5,
    }
    upload = SimpleUploadedFile("december.csv", text.encode(), content_type="text/csv")
    return campaign_create(user=caller, fields=fields, upload=upload, filename="december.csv")


def test_a_draft_shows_its_preview_settings_and_a_start_button(caller_in, caller):
    campaign = _draft_from_a_file(caller)
    response = caller_in.get(url(campaign))
    body = response.content.decode()
    counts = dict(re.findall(r'<dd data-count="(\w+)">(\d+)</dd>', body))
    assert counts == {
        "rows_read": "7",
        "valid": "3",
        "invalid": "2",
        "duplicates": "1",
        "do_not_call": "1",
        "missing_values": "1",
    }
    examples = re.findall(r'<li class="pre-wrap">([^<]*)</li>', body)
    assert examples == [
        "Remind Ada Obi about invoice INV-1",
        "Remind Bola Ade about invoice INV-2",
        "Remind Femi Ola about invoice INV-7",
    ]
    problems = body[body.index('id="preview-problems"') :]
    assert "not a valid phone number" in problems and "same number as row 2" in problems
    assert "do-not-call" in problems and "invoice" in problems
    assert "Mon-Fri 09:00-17:00 (Africa/Lagos)" in body  # campaign.window.describe()
    assert "up to 2" in body and "1 hour 30 minutes" in body and "payment_reminder" in body
    assert '<button type="submit" name="action" value="start"' in body
    assert "Discard draft" in body
    assert POLL not in body  # nothing changes by itself in a draft


def test_a_viewer_sees_the_preview_but_no_buttons(viewer_in, caller):
    body = viewer_in.get(url(_draft_from_a_file(caller))).content.decode()
    assert 'id="preview-counts"' in body and 'name="action"' not in body and "confirm=cancel" not in body


# --- Running, paused, over: what the page shows and offers.


def _running(**fields):
    rows = (
        [(phone(n), f"Row {n}", State.COMPLETED) for n in range(4)]
        + [(phone(n + 10), "", State.NO_ANSWER) for n in range(2)]
        + [(phone(20), "", State.BUSY), (phone(21), "", State.FAILED), (phone(22), "", State.UNKNOWN)]
        + [(phone(30), "", State.IN_FLIGHT), (phone(31), "", State.DIALING)]
        + [(phone(n + 40), "", State.PENDING) for n in range(5)]
        + [("12", "", State.INVALID), (phone(0), "", State.DUPLICATE), (phone(50), "", State.DO_NOT_CALL)]
    )
    return make_campaign(rows=rows, **fields)


def test_a_running_campaign_shows_counts_by_state_progress_and_polls(caller_in):
    campaign = _running()
    body = caller_in.get(url(campaign)).content.decode()
    expected = {
        "pending": 5,
        "in_flight": 2,
        "completed": 4,
        "no_answer": 2,
        "busy": 1,
        "failed": 1,
        "unknown": 1,
        "invalid": 1,
        "duplicate": 1,
        "do_not_call": 1,
        "cancelled": 0,
    }
    assert {key: _tally(body, key) for key in expected} == expected
    assert (
        "12 of 19 rows done, 63%" in body
        and '<progress id="campaign-progress-bar" max="19" value="12"' in body
    )
    assert 'data-state="running"' in body
    # The htmx attributes once, on the live container.
    assert body.count(POLL) == 1 and f'hx-get="{url(campaign)}"' in body
    assert 'value="pause"' in body and 'value="start"' not in body and 'value="resume"' not in body


def test_the_live_section_is_a_partial_of_the_same_page(viewer_in):
    campaign = _running()
    partial = viewer_in.get(url(campaign), headers=HTMX).content.decode()
    assert "<html" not in partial and partial.strip().startswith('<section class="module" id="campaign-live"')
    assert POLL in partial and "campaign-rows-table" not in partial and "Preview" not in partial


def test_polling_stops_once_the_campaign_is_finished(viewer_in):
    campaign = _running()
    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.FINISHED, finished_at=timezone.now())
    partial = viewer_in.get(url(campaign), headers=HTMX).content.decode()
    assert 'data-state="finished"' in partial and "every 2s" not in partial and "Finished." in partial


def test_a_campaign_the_breaker_paused_says_why_and_offers_resume_and_cancel(caller_in):
    reason = "Vox refused the API key (401 invalid_api_key): check VOX_API_KEY, then resume."
    campaign = _running(state=Campaign.State.PAUSED, pause_reason=reason)
    CampaignEvent.objects.create(campaign=campaign, action=CampaignEvent.Action.BREAKER, note=reason)
    body = caller_in.get(url(campaign)).content.decode()
    assert 'id="pause-reason"' in body and "check VOX_API_KEY, then resume." in body
    assert 'value="resume"' in body and "Cancel campaign" in body and 'value="pause"' not in body
    assert POLL in body  # outcomes of calls in flight still arrive
    events = body[body.index('id="campaign-events"') :]
    assert "voxdash" in events and "Paused itself: Vox refused the API key" in events


def test_a_finished_campaign_offers_no_action(caller_in):
    campaign = _running(state=Campaign.State.FINISHED)
    body = caller_in.get(url(campaign)).content.decode()
    assert 'name="action"' not in body and "confirm=cancel" not in body and POLL not in body


def test_cancel_asks_first_on_a_page_of_its_own(caller_in):
    campaign = _running()
    body = caller_in.get(url(campaign, confirm="cancel")).content.decode()
    assert "Cancel this campaign?" in body and 'name="action" value="cancel"' in body
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.RUNNING  # asking changes nothing


def test_the_dial_rate_and_eta_come_from_the_attempts_of_the_last_ten_minutes(viewer_in):
    campaign = _running()
    now = timezone.now()
    # 20 attempts in the last 10 minutes (two per minute); one older one, which does not count.
    for n in range(20):
        record = placed_attempt(campaign, 2 + n % 4, 1 + n // 4)
        record.__class__.objects.filter(pk=record.pk).update(attempted_at=now - timedelta(seconds=25 * n + 5))
    old = placed_attempt(campaign, 6, 1)
    old.__class__.objects.filter(pk=old.pk).update(attempted_at=now - timedelta(minutes=11))
    body = viewer_in.get(url(campaign)).content.decode()
    assert "2 a minute" in body
    assert "About 2 minutes at this rate" in body  # 5 pending rows at 2 a minute: 2.5 minutes


def test_outside_its_window_it_says_when_the_window_opens(client, viewer):
    from voxdash.accounts.models import Profile

    Profile.objects.create(user=viewer, time_zone="UTC")
    client.force_login(viewer)
    # 03:00-04:00 in Lagos (UTC+1, no daylight saving), two days from today only: closed now.
    lagos_today = timezone.now().astimezone(ZoneInfo("Africa/Lagos")).weekday()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(lagos_today + 2) % 7]
    campaign = _running(window_start=time(3, 0), window_end=time(4, 0), window_days=day)
    opens = campaign.window.next_open(timezone.now()).astimezone(UTC)
    assert opens.hour == 2 and opens - timezone.now() > timedelta(hours=20)
    body = client.get(url(campaign)).content.decode()
    assert f"Waiting for the calling window: opens {opens:%a} {opens.day} {opens:%b}, 02:00." in body


# --- Actions: each a POST through campaign_act, flashed, redirected.


def test_start_pause_resume_cancel_each_redirect_and_flash(caller_in, caller):
    campaign = _draft_from_a_file(caller)
    for action, state in (
        ("start", "running"),
        ("pause", "paused"),
        ("resume", "running"),
        ("cancel", "cancelled"),
    ):
        response = caller_in.post(url(campaign), {"action": action}, follow=True)
        assert response.redirect_chain == [(url(campaign), 302)]
        assert Campaign.objects.get(pk=campaign.pk).state == state
        assert len(list(response.context["messages"])) == 1
    actions = list(CampaignEvent.objects.filter(campaign=campaign).values_list("action", "username"))
    assert actions == [
        ("created", "cal"),
        ("started", "cal"),
        ("paused", "cal"),
        ("resumed", "cal"),
        ("cancelled", "cal"),
    ]
    body = caller_in.get(url(campaign)).content.decode()
    assert "cal" in body and "Cancelled it" in body and "Started it" in body


def test_start_pressed_twice_starts_once(caller_in, caller):
    campaign = _draft_from_a_file(caller)
    first = caller_in.post(url(campaign), {"action": "start"}, follow=True)
    second = caller_in.post(url(campaign), {"action": "start"}, follow=True)
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.RUNNING
    assert CampaignEvent.objects.filter(campaign=campaign, action="started").count() == 1
    first_message, second_message = (str(next(iter(r.context["messages"]))) for r in (first, second))
    assert first_message != second_message  # the second says it had started already


@pytest.mark.django_db(transaction=True)
def test_start_from_two_tabs_at_once_starts_once(caller):
    campaign = _draft_from_a_file(caller)
    barrier = threading.Barrier(2)
    statuses = []

    def press():
        tab = Client()
        tab.force_login(caller)
        barrier.wait()
        statuses.append(tab.post(url(campaign), {"action": "start"}).status_code)
        connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302, 302]
    assert CampaignEvent.objects.filter(campaign=campaign, action="started").count() == 1


def test_a_viewer_may_not_act(viewer_in, caller):
    campaign = _draft_from_a_file(caller)
    assert viewer_in.post(url(campaign), {"action": "start"}).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.DRAFT


def test_an_unknown_action_does_nothing_and_says_so(caller_in, caller):
    campaign = _draft_from_a_file(caller)
    response = caller_in.post(url(campaign), {"action": "explode"}, follow=True)
    assert "not something a campaign can do" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.DRAFT


def test_an_unknown_campaign_is_404(viewer_in):
    assert viewer_in.get(reverse("campaigns:detail", kwargs={"pk": 999})).status_code == 404


# --- The rows table.


def _many(n_rows: int):
    states = [State.COMPLETED, State.NO_ANSWER, State.BUSY, State.PENDING]
    return make_campaign(rows=[(phone(n), f"Name {n}", states[n % 4]) for n in range(n_rows)])


def test_rows_are_filtered_by_state_and_paged_by_fifty(viewer_in):
    campaign = _many(240)  # 60 of each state
    body = viewer_in.get(url(campaign, state="no_answer")).content.decode()
    table = body[body.index('id="campaign-rows-table"') :]
    states = re.findall(r'class="campaign-row-line" data-row="\d+" data-state="(\w+)"', table)
    assert states == ["no_answer"] * 50
    assert 'aria-current="true">No answer (60)' in body
    # The pager keeps the filter.
    assert 'href="?state=no_answer&amp;page=2"' in body
    second = viewer_in.get(url(campaign, state="no_answer", page=2)).content.decode()
    assert re.findall(r'data-state="(\w+)">\s*<td class="numeric">', second) == ["no_answer"] * 10


def test_the_rows_table_is_a_partial_for_its_own_container(viewer_in):
    campaign = _many(8)
    partial = viewer_in.get(url(campaign, state="busy"), headers={**HTMX, "HX-Target": "campaign-rows"})
    body = partial.content.decode()
    assert "<html" not in body and "campaign-live" not in body
    assert re.findall(r'class="campaign-row-line" data-row="(\d+)"', body) == ["4", "8"]


def test_an_unknown_state_filter_shows_every_row(viewer_in):
    campaign = _many(8)
    body = viewer_in.get(url(campaign, state="exploded")).content.decode()
    assert len(re.findall(r'class="campaign-row-line"', body)) == 8


def test_each_row_links_to_its_recorded_attempts_and_its_call(viewer_in):
    campaign = make_campaign(
        rows=[
            (
                phone(1, 9),
                "Ada",
                State.NO_ANSWER,
                {"attempts": 2, "last_call_id": "call_row2", "last_status": "no_answer"},
            ),
            ("12", "Bad", State.INVALID, {"reason": "not a valid phone number: '12'"}),
        ]
    )
    placed_attempt(campaign, 2, 1)  # attempt 2 has no record (yet): no link for it
    Call.objects.create(
        vox_id="call_row2",
        direction="outbound",
        status="no_answer",
        customer_phone=phone(1, 9),
        created_at=timezone.now(),
    )
    body = viewer_in.get(url(campaign)).content.decode()
    first = re.search(r'data-row="2".*?</tr>', body, re.S)[0]
    key1, key2 = attempt_key(campaign, 2, 1), attempt_key(campaign, 2, 2)
    assert f'href="{reverse("placements:detail", kwargs={"key": key1})}"' in first
    assert str(key2) not in first
    assert f'href="{reverse("calls:detail", args=["call_row2"])}"' in first
    assert "+234 803 000 0019" in first  # the phone in display format
    second = re.search(r'data-row="3".*?</tr>', body, re.S)[0]
    assert "not a valid phone number" in second and "attempt-link" not in second


def test_the_rows_page_costs_the_same_queries_for_many_rows_with_many_attempts(viewer_in):
    small = make_campaign(rows=[(phone(1), "", State.COMPLETED, {"attempts": 1})])
    placed_attempt(small, 2, 1)
    viewer_in.get(url(small))  # the session's first page stores more
    with CaptureQueriesContext(connection) as few:
        viewer_in.get(url(small))
    big = make_campaign(rows=[(phone(n), "", State.FAILED, {"attempts": 3}) for n in range(60)])
    for n in range(2, 40):
        for attempt in (1, 2, 3):
            placed_attempt(big, n, attempt)
    with CaptureQueriesContext(connection) as many:
        viewer_in.get(url(big))
    assert len(many) == len(few)


def test_times_on_the_page_are_in_the_readers_time_zone(client, viewer):
    from voxdash.accounts.models import Profile

    Profile.objects.create(user=viewer, time_zone="America/New_York")
    client.force_login(viewer)
    campaign = _running()
    CampaignEvent.objects.filter(campaign=campaign).update(at=datetime(2026, 12, 1, 15, 0, 5, tzinfo=UTC))
    body = client.get(url(campaign)).content.decode()
    assert "1 Dec 2026, 10:00:05" in body


def test_the_poll_that_sees_the_run_end_brings_the_rows_table_up_to_date(viewer_in):
    campaign = _running()
    here = f"http://testserver{url(campaign, state='busy')}"
    headers = {**HTMX, "HX-Current-URL": here}
    live = viewer_in.get(url(campaign), headers=headers).content.decode()
    assert 'hx-trigger="load"' not in live  # while it runs, the table is refreshed by hand
    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.FINISHED, finished_at=timezone.now())
    last = viewer_in.get(url(campaign), headers=headers).content.decode()
    refresh = re.search(
        r'<div hidden data-hx-get="([^"]+)" data-hx-trigger="load" data-hx-target="#campaign-rows">', last
    )
    assert refresh and refresh[1] == url(campaign, state="busy")
    # What it loads is the rows table alone, with the reader's filter.
    rows = viewer_in.get(refresh[1], headers={**HTMX, "HX-Target": "campaign-rows"}).content.decode()
    assert set(re.findall(r'class="campaign-row-line" data-row="\d+" data-state="(\w+)"', rows)) == {"busy"}


def test_the_settings_name_the_number_and_agent_as_the_pickers_do(viewer_in, simulator):
    number = next(n for n in simulator.store.list_numbers() if n["status"] == "active" and n["voiceCapable"])
    agent = next(a for a in simulator.store.list_agents() if a["isDefault"])
    campaign = _running(business_voice_number_id=number["id"], ai_agent_id=agent["id"])
    settings = viewer_in.get(url(campaign)).content.decode().split('id="campaign-settings"')[1]
    assert number["id"] not in settings and agent["id"] not in settings
    assert f"<dd>{agent['name']}" in settings and "+234" in settings


def test_a_campaign_that_is_over_shows_no_dial_rate(viewer_in):
    campaign = _running(state=Campaign.State.FINISHED)
    placed_attempt(campaign, 2, 1)
    body = viewer_in.get(url(campaign)).content.decode()
    assert re.search(r'<dd id="campaign-rate">— <span', body)
