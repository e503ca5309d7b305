""" "Call again": from a placed call or a finished call to the form, filled in, with a new key."""

import re
import uuid
from html import unescape

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from voxdash.calls.models import Call

from .submit import URL, form_defaults, place, posts_to_vox


def call_again_link(body: str) -> str:
    match = re.search(r'<a href="([^"]+)"[^>]*id="call-again"', body)
    assert match, "no Call again link"
    return unescape(match.group(1))


def test_a_placed_call_is_offered_again_filled_in_with_a_new_key(caller_client, simulator):
    data = {**form_defaults(caller_client), "customer_name": "Fúnmiláyọ̀ Adébáyọ̀"}
    detail = place(caller_client, data)["Location"]
    link = call_again_link(caller_client.get(detail).content.decode())
    form = caller_client.get(link).context["form"]
    for name in (
        "customer_phone",
        "customer_name",
        "purpose",
        "context",
        "business_voice_number_id",
        "ai_agent_id",
    ):
        assert form[name].value() == data[name], name
    new_key = form["idempotency_key"].value()
    assert str(new_key) != data["idempotency_key"]
    # Placed as it stands: a second call, which Vox dials (the old key would have been replayed).
    again = place(caller_client, {**data, "idempotency_key": str(new_key)})
    assert again.status_code == 302 and again["Location"] != detail
    assert simulator.stats()["dialed"] == 2 and posts_to_vox(simulator) == 2


def test_each_visit_of_the_link_gets_its_own_key(caller_client, simulator):
    data = form_defaults(caller_client)
    detail = place(caller_client, data)["Location"]
    link = call_again_link(caller_client.get(detail).content.decode())
    keys = {str(caller_client.get(link).context["form"]["idempotency_key"].value()) for _ in range(3)}
    assert len(keys) == 3 and data["idempotency_key"] not in keys


def test_a_finished_call_placed_through_voxdash_is_offered_with_what_was_sent(caller_client, simulator):
    data = form_defaults(caller_client)
    place(caller_client, data)
    from voxdash.placements.models import PlacedCall

    placed = PlacedCall.objects.get()
    Call.objects.create(
        vox_id=placed.vox_placement_id,
        direction="outbound",
        status="completed",
        customer_phone=data["customer_phone"],
        customer_name="",  # not synced yet: the placement knows the name
        created_at=timezone.now(),
    )
    body = caller_client.get(reverse("calls:detail", args=[placed.vox_placement_id])).content.decode()
    form = caller_client.get(call_again_link(body)).context["form"]
    assert form["context"].value() == data["context"] and form["purpose"].value() == data["purpose"]
    assert form["customer_name"].value() == data["customer_name"]
    assert str(form["idempotency_key"].value()) != data["idempotency_key"]


def test_a_finished_call_from_elsewhere_fills_in_the_phone_and_name(caller_client, simulator):
    Call.objects.create(
        vox_id="call_elsewhere1",
        direction="outbound",
        status="no_answer",
        customer_phone="+2348012345678",
        customer_name="Ngozi Ọkafọ̀r",
        created_at=timezone.now(),
    )
    body = caller_client.get(reverse("calls:detail", args=["call_elsewhere1"])).content.decode()
    link = call_again_link(body)
    assert link.startswith(URL + "?")
    form = caller_client.get(link).context["form"]
    assert form["customer_phone"].value() == "+2348012345678"
    assert form["customer_name"].value() == "Ngozi Ọkafọ̀r"
    assert not form["context"].value()


def test_a_call_still_under_way_and_viewers_get_no_link(caller_client, client, viewer, simulator):
    Call.objects.create(
        vox_id="call_live0001",
        direction="outbound",
        status="ringing",
        customer_phone="+2348012345678",
        created_at=timezone.now(),
    )
    Call.objects.create(
        vox_id="call_done0001",
        direction="outbound",
        status="completed",
        customer_phone="+2348012345678",
        created_at=timezone.now(),
    )
    assert (
        'id="call-again"'
        not in caller_client.get(reverse("calls:detail", args=["call_live0001"])).content.decode()
    )
    assert (
        'id="call-again"'
        in caller_client.get(reverse("calls:detail", args=["call_done0001"])).content.decode()
    )
    viewer_client = Client()
    viewer_client.force_login(viewer)
    assert (
        'id="call-again"'
        not in viewer_client.get(reverse("calls:detail", args=["call_done0001"])).content.decode()
    )
    data = form_defaults(caller_client)
    detail = place(caller_client, data)["Location"]
    assert 'id="call-again"' not in viewer_client.get(detail).content.decode()


def test_a_number_or_agent_that_can_no_longer_call_falls_back(caller_client, simulator):
    link = (
        URL
        + "?"
        + "&".join(
            [
                "customer_phone=%2B2348012345678",
                f"ai_agent_id={uuid.uuid4()}",  # gone since
                f"business_voice_number_id={uuid.uuid4()}",
                "idempotency_key=00000000-0000-0000-0000-000000000001",  # never taken from a link
            ]
        )
    )
    form = caller_client.get(link).context["form"]
    default = next(a for a in simulator.store.list_agents() if a["isDefault"])
    assert form["ai_agent_id"].value() == default["id"]
    assert form["business_voice_number_id"].value() is None
    assert str(form["idempotency_key"].value()) != "00000000-0000-0000-0000-000000000001"
    assert form["customer_phone"].value() == "+2348012345678"
