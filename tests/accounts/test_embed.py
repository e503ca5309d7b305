"""Embedding in a portal: framing refused unless origins are listed; ?embed=1 hides the chrome."""

import pytest
from django.urls import reverse

PAGE = "placements:list"  # signed-in page with the full header, no Vox needed


@pytest.fixture
def signed_in(client, viewer, vox_settings):  # the header asks the simulator
    client.force_login(viewer)
    return client


def test_framing_is_denied_by_default(signed_in):
    response = signed_in.get(reverse(PAGE))
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_listed_portals_may_frame_voxdash(signed_in, settings):
    portals = ["https://portal.example", "https://intranet.example"]
    settings.VOXDASH_FRAME_ANCESTORS = portals
    settings.SECURE_CSP = {**settings.SECURE_CSP, "frame-ancestors": portals}  # as settings.py does
    response = signed_in.get(reverse(PAGE))
    assert "X-Frame-Options" not in response
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors https://portal.example https://intranet.example" in csp


def test_embed_mode_hides_the_header_and_breadcrumbs_for_the_session(signed_in):
    full = signed_in.get(reverse(PAGE)).text
    assert 'id="header"' in full and 'class="breadcrumbs"' in full

    embedded = signed_in.get(reverse(PAGE) + "?embed=1").text
    assert 'id="header"' not in embedded
    assert 'class="voxdash-nav"' not in embedded and 'class="breadcrumbs"' not in embedded
    assert 'id="content"' in embedded or "<main" in embedded  # the page itself is still there

    assert 'id="header"' not in signed_in.get(reverse(PAGE)).text  # sticky
    assert 'id="header"' in signed_in.get(reverse(PAGE) + "?embed=0").text
    assert 'id="header"' in signed_in.get(reverse(PAGE)).text


def test_cookies_for_a_portal_on_another_site(monkeypatch):
    from tests.deploy.test_settings import production_settings

    framed = production_settings(monkeypatch, VOXDASH_FRAME_ANCESTORS="https://portal.example")
    assert framed["SECURE_CSP"]["frame-ancestors"] == ["https://portal.example"]
    assert framed["SESSION_COOKIE_SAMESITE"] == framed["CSRF_COOKIE_SAMESITE"] == "None"
    assert framed["SESSION_COOKIE_SECURE"] and framed["CSRF_COOKIE_SECURE"]
    plain = production_settings(monkeypatch)
    assert plain["SECURE_CSP"]["frame-ancestors"] == ["'none'"]
    assert "SESSION_COOKIE_SAMESITE" not in plain  # Django's default, Lax
