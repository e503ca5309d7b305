"""Numbers and agents pages."""

from django.urls import reverse

from vox_simulator import keys


def test_numbers_lists_every_number_with_its_capabilities(viewer_client, simulator):
    response = viewer_client.get(reverse("directory:numbers"))
    assert response.status_code == 200
    listing = response.context["listing"]
    assert listing.items and listing.error is None
    body = response.content.decode()
    first = listing.items[0]
    assert first.provider in body
    # Formatted for people: "+234 …" with spaces, not the raw E.164 string.
    assert "+234 " in body
    assert "Can place calls" in body


def test_agents_marks_the_default(viewer_client):
    response = viewer_client.get(reverse("directory:agents"))
    listing = response.context["listing"]
    default = [a for a in listing.items if a.is_default]
    assert len(default) == 1
    body = response.content.decode()
    assert default[0].name in body and "Default" in body and default[0].persona in body


def test_listing_is_cached_and_refresh_asks_again(viewer_client, simulator):
    url = reverse("directory:numbers")
    viewer_client.get(url)
    viewer_client.get(url)
    requests = simulator.stats()["requests"]
    assert requests.get("/v1/vox/numbers") == 1
    response = viewer_client.post(url)
    assert response.status_code == 302
    assert simulator.stats()["requests"].get("/v1/vox/numbers") == 2


def test_upstream_failure_is_a_banner(viewer_client, simulator, settings):
    from voxdash.vox import reset_client

    settings.VOX_MAX_RETRIES = 0
    reset_client()
    simulator.faults.queue(500, count=5)
    response = viewer_client.get(reverse("directory:agents"))
    assert response.status_code == 200
    assert b'data-error="VoxUnavailable"' in response.content


def test_missing_scope_names_the_scope(viewer_client, settings):
    from voxdash.vox import reset_client

    settings.VOX_API_KEY = keys.NUMBERS_ONLY_KEY
    reset_client()
    response = viewer_client.get(reverse("directory:agents"))
    assert b"vox:agents:read" in response.content
