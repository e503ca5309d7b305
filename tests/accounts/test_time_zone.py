"""A person's own time zone, chosen under Preferences, applies to every page."""

import re

from django.urls import reverse


def created_cell(client):
    history = client.get(reverse("calls:list"))
    call = history.context["history"].calls[0]
    return call, history.content.decode()


def test_times_follow_the_users_own_zone(viewer_client, settings):
    settings.TIME_ZONE = "UTC"
    call, body = created_cell(viewer_client)
    utc = call.created_at.strftime("%H:%M")
    assert f", {utc}</time>" in body

    response = viewer_client.post(reverse("preferences"), {"time_zone": "Asia/Kolkata"})
    assert response.status_code == 302
    _, body = created_cell(viewer_client)
    from zoneinfo import ZoneInfo

    local = call.created_at.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:%M")
    assert f", {local}</time>" in body and local != utc


def test_back_to_the_site_zone(viewer_client, settings):
    settings.TIME_ZONE = "UTC"
    viewer_client.post(reverse("preferences"), {"time_zone": "Asia/Kolkata"})
    viewer_client.post(reverse("preferences"), {"time_zone": ""})
    call, body = created_cell(viewer_client)
    assert f", {call.created_at.strftime('%H:%M')}</time>" in body


def test_an_unknown_zone_is_refused_with_a_message(viewer_client):
    response = viewer_client.post(reverse("preferences"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_the_zone_is_kept_across_sign_ins(client, viewer, vox_settings):
    from voxdash.accounts.models import Profile

    Profile.objects.create(user=viewer, time_zone="America/New_York")
    client.force_login(viewer)
    body = client.get(reverse("overview")).content.decode()
    assert client.session["voxdash_time_zone"] == "America/New_York"
    assert re.search(r"Since midnight \([^)]*E[SD]T\)", body)
