"""Signing in with OpenID Connect in a real browser: the button, the provider's form, back signed in."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.oidc_provider import OIDCProvider, callback_path, use_provider

PASSWORD = "pw-at-the-provider"


@pytest.fixture(scope="module")
def provider(tmp_path_factory, live_server):
    started = OIDCProvider(
        tmp_path_factory.mktemp("oidc"), redirect_uris=[f"{live_server.url}{callback_path()}"]
    )
    started.start()
    yield started
    started.stop()


def test_sign_in_with_the_provider_and_out_again(page, live_vox, provider, settings):
    base = live_vox.url
    use_provider(settings, provider)
    settings.VOXDASH_SSO_CALLER_GROUPS = ["voxdash-callers"]
    provider.set_account("bea", password=PASSWORD, groups=["voxdash-callers"], name="Bea Bello")

    page.goto(f"{base}/accounts/login/")
    page.get_by_role("button", name="Sign in with Test provider").click()
    page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/interaction/"))
    page.fill("#login", "bea")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(f"{base}/")
    assert "Bea" in page.text_content("#user-tools")
    # A Caller: the groups claim gave the role.
    page.click("nav.voxdash-nav >> text=Place a call")
    page.wait_for_url(f"{base}/calls/new/")

    page.click("#logout-form button")
    page.wait_for_url(re.compile(re.escape(f"{base}/accounts/login/")))
    page.goto(f"{base}/calls/")
    assert page.url.startswith(f"{base}/accounts/login/")  # the next page asks to sign in
    assert page.js_errors == []
