"""Applying stored events to the mirror: idempotent, and the same result in any order."""

import itertools

import pytest

from voxdash.calls.models import Call
from voxdash.directory.models import Agent
from voxdash.webhooks.models import WebhookEvent
from voxdash.webhooks.services import webhook_event_process

from .conftest import at, body_of, call_data, event

pytestmark = pytest.mark.django_db
Outcome = WebhookEvent.Outcome
REC = "https://sim.example/recordings/call_1.wav"


def store(payload: dict) -> WebhookEvent:
    """A stored event as the receiver leaves it (pending)."""
    from voxdash.vox.types import parse_timestamp

    return WebhookEvent.objects.create(
        event_id=payload["id"],
        event_type=payload["type"],
        created=parse_timestamp(payload["created"]),
        raw_body=body_of(payload).decode(),
        payload=payload,
    )


def apply(*payloads: dict) -> list[str]:
    return [webhook_event_process(event_pk=store(p).pk) for p in payloads]


def lifecycle() -> dict[str, dict]:
    return {
        "started": event("vox.call.started", call_data(status="in_progress"), at=at(10)),
        "completed": event(
            "vox.call.completed", call_data(status="completed", durationSeconds=42), at=at(52)
        ),
        "recording": event(
            "vox.recording.ready",
            call_data(status="completed", durationSeconds=42, recordingUrl=REC),
            at=at(53),
        ),
    }


def test_in_order_lifecycle():
    e = lifecycle()
    assert apply(e["started"]) == [Outcome.APPLIED]
    call = Call.objects.get(vox_id="call_1")
    assert (call.status, call.status_at, call.started_at) == ("in_progress", at(10), at(10))
    assert apply(e["completed"], e["recording"]) == [Outcome.APPLIED, Outcome.APPLIED]
    call.refresh_from_db()
    assert call.status == "completed"
    assert call.duration_seconds == 42 and call.recording_url == REC
    assert call.ended_at == at(52)


def test_never_seen_call_is_created_from_the_event():
    data = call_data("call_new", "completed", durationSeconds=7)
    outcome = apply(event("vox.call.completed", data, at=at(5)))
    assert outcome == [Outcome.APPLIED]
    call = Call.objects.get(vox_id="call_new")
    assert call.status == "completed" and call.direction == "outbound" and call.duration_seconds == 7
    assert call.customer_phone == "" and call.created_at == at(5) and call.status_at == at(5)
    detail = WebhookEvent.objects.get().outcome_detail
    assert "created call call_new" in detail


def test_completed_before_started_stays_completed():
    e = lifecycle()
    assert apply(e["completed"], e["started"]) == [Outcome.APPLIED, Outcome.APPLIED]
    call = Call.objects.get()
    assert call.status == "completed" and call.status_at == at(52)
    assert call.started_at == at(10)  # the late started event still tells us when it started


def test_recording_before_completed_keeps_the_url():
    e = lifecycle()
    apply(e["recording"], e["completed"], e["started"])
    call = Call.objects.get()
    assert call.recording_url == REC and call.status == "completed" and call.duration_seconds == 42


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>x</script>", "ftp://x/y.wav"])
def test_a_recording_url_that_is_not_http_is_never_stored(url):
    e = lifecycle()
    apply(e["completed"], dict(e["recording"], data=dict(e["recording"]["data"], recordingUrl=url)))
    assert Call.objects.get().recording_url == ""


def test_every_order_ends_in_the_same_state():
    e = lifecycle()
    seen = set()
    for order in itertools.permutations(["started", "completed", "recording"]):
        Call.objects.all().delete()
        WebhookEvent.objects.all().delete()
        apply(*[dict(e[name], id=f"evt_{name}") for name in order])
        call = Call.objects.get()
        seen.add(
            (
                call.status,
                call.status_at,
                call.recording_url,
                call.duration_seconds,
                call.started_at,
                call.ended_at,
            )
        )
    assert seen == {("completed", at(53), REC, 42, at(10), at(52))}


def test_failed_then_a_later_completed_wins_by_time():
    failed = event("vox.call.failed", call_data(status="failed", reason="carrier_rejected"), at=at(20))
    completed = event("vox.call.completed", call_data(status="completed", durationSeconds=3), at=at(30))
    apply(failed)
    assert Call.objects.get().failure_reason == "carrier_rejected"
    apply(completed)
    call = Call.objects.get()
    assert call.status == "completed" and call.status_at == at(30) and call.failure_reason == ""


def test_an_earlier_terminal_event_arriving_late_loses():
    completed = event("vox.call.completed", call_data(status="completed"), at=at(30))
    failed = event("vox.call.failed", call_data(status="busy", reason="busy"), at=at(20))
    assert apply(completed, failed) == [Outcome.APPLIED, Outcome.IGNORED]
    call = Call.objects.get()
    assert call.status == "completed" and call.failure_reason == ""


def test_failed_event_records_reason_and_status():
    apply(event("vox.call.failed", call_data(status="no_answer", reason="no_answer"), at=at(9)))
    call = Call.objects.get()
    assert (call.status, call.failure_reason, call.ended_at) == ("no_answer", "no_answer", at(9))


def test_null_recording_and_duration_never_erase():
    e = lifecycle()
    apply(e["recording"])
    late = event(
        "vox.call.completed",
        call_data(status="completed", durationSeconds=None, recordingUrl=None),
        at=at(60),
    )
    apply(late)
    call = Call.objects.get()
    assert call.recording_url == REC and call.duration_seconds == 42


def test_existing_listed_call_keeps_what_events_do_not_know():
    Call.objects.create(
        vox_id="call_1",
        direction="outbound",
        status="ringing",
        customer_phone="+2348031234560",
        customer_name="Adaeze Okonkwo",
        created_at=at(0),
    )
    apply(lifecycle()["completed"])
    call = Call.objects.get()
    assert call.status == "completed" and call.customer_phone == "+2348031234560"
    assert call.customer_name == "Adaeze Okonkwo" and call.created_at == at(0)


def test_processing_twice_is_a_no_op():
    stored = store(lifecycle()["completed"])
    assert webhook_event_process(event_pk=stored.pk) == Outcome.APPLIED
    Call.objects.update(status="mangled")  # would be overwritten if the event ran again
    assert webhook_event_process(event_pk=stored.pk) == Outcome.APPLIED
    assert Call.objects.get().status == "mangled"


def test_same_content_in_a_second_event_is_ignored():
    first = lifecycle()["completed"]
    again = dict(first, id="evt_other")
    assert apply(first, again) == [Outcome.APPLIED, Outcome.IGNORED]


def test_unknown_type_is_stored_and_never_fails():
    assert apply(event("vox.sms.received", {"whatever": [1, 2]})) == [Outcome.UNKNOWN_TYPE]
    stored = WebhookEvent.objects.get()
    assert stored.processed_at is not None and "no handler" in stored.outcome_detail
    assert Call.objects.count() == 0


@pytest.mark.parametrize("data", [None, {}, {"callId": ""}, {"callId": 12}, "text"])
def test_call_event_without_usable_data_fails_without_writing(data):
    payload = event("vox.call.completed", {})
    payload["data"] = data
    assert apply(payload) == [Outcome.FAILED]
    assert Call.objects.count() == 0
    assert WebhookEvent.objects.get().processed_at is not None


def test_unexpected_error_is_recorded_and_raised_for_the_task_to_retry(monkeypatch):
    from voxdash.webhooks import services

    def boom(event):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "webhook_event_apply", boom)
    stored = store(lifecycle()["started"])
    with pytest.raises(RuntimeError):
        webhook_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert stored.outcome == Outcome.FAILED and "database went away" in stored.outcome_detail
    monkeypatch.undo()
    assert webhook_event_process(event_pk=stored.pk) == Outcome.APPLIED  # the retry succeeds


def test_missing_event_is_not_an_error():
    assert webhook_event_process(event_pk=987654) == ""


AGENT = {
    "id": "agt_1",
    "name": "Ada",
    "language": "en-NG",
    "voiceProvider": "cloove",
    "voiceId": "v1",
    "persona": "Warm and brief",
    "isDefault": True,
    "status": "active",
    "createdAt": "2026-01-01T00:00:00.000Z",
}


def test_agent_updated_upserts_the_agent():
    Agent.objects.create(vox_id="agt_0", name="Old default", is_default=True, status="active")
    assert apply(event("vox.agent.updated", AGENT, at=at(1))) == [Outcome.APPLIED]
    agent = Agent.objects.get(vox_id="agt_1")
    assert (agent.name, agent.language, agent.persona, agent.is_default, agent.status) == (
        "Ada",
        "en-NG",
        "Warm and brief",
        True,
        "active",
    )
    assert not Agent.objects.get(vox_id="agt_0").is_default
    apply(event("vox.agent.updated", dict(AGENT, name="Ada 2", isDefault=False), at=at(2)))
    assert Agent.objects.get(vox_id="agt_1").name == "Ada 2"


def test_older_agent_update_arriving_late_is_ignored():
    newer = event("vox.agent.updated", dict(AGENT, name="New"), at=at(20))
    older = event("vox.agent.updated", dict(AGENT, name="Old"), at=at(10))
    assert apply(newer, older) == [Outcome.APPLIED, Outcome.IGNORED]
    assert Agent.objects.get().name == "New"


def test_agent_event_without_a_name_fails():
    assert apply(event("vox.agent.updated", {"id": "agt_1"})) == [Outcome.FAILED]
    assert Agent.objects.count() == 0


def test_terminal_status_is_never_replaced_by_a_non_terminal_one_even_a_later_one():
    # E.g. a listing-derived status or a skewed clock: "in_progress" stamped after the call ended.
    completed = event("vox.call.completed", call_data(status="completed"), at=at(30))
    late_started = event("vox.call.started", call_data(status="in_progress"), at=at(40))
    assert apply(completed, late_started) == [Outcome.APPLIED, Outcome.APPLIED]  # started_at filled
    call = Call.objects.get()
    assert (call.status, call.status_at, call.started_at) == ("completed", at(30), at(40))
