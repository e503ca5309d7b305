"""Two-factor authentication in a real browser: set up from the user menu with a code computed from
the key on the page, then the next sign-in asks for a code, under the page's strict CSP."""

from tests.accounts.two_factor import freeze_allauth_clock, totp

from .conftest import sign_in


def test_set_up_an_authenticator_app_then_sign_in_with_its_code(page, live_vox, viewer, monkeypatch):
    freeze_allauth_clock(monkeypatch)  # the live server runs in this process: one clock for both
    base = live_vox.url
    sign_in(page, base, "vera", "pw-vera-123")
    page.click("#user-tools >> text=Two-factor")
    page.click("text=Set up an authenticator app")
    page.fill("#id_password", "pw-vera-123")  # a change to the second factor asks for it again
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/accounts/two-factor/totp/activate/")
    qr = page.locator("img.totp-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the data: image is allowed to load
    secret = page.inner_text("#totp-secret")
    page.fill("#id_code", totp(secret))
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/accounts/two-factor/recovery-codes/")
    assert page.locator("#recovery-codes li").count() == 10

    page.click("#logout-form button")
    page.wait_for_url(f"{base}/accounts/login/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", "pw-vera-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/accounts/two-factor/authenticate/")
    page.fill("#id_code", totp(secret))
    page.click("#login-form input[type=submit]")
    page.wait_for_url(f"{base}/")
    assert "Signed in as vera" in " ".join(page.text_content("#user-tools").split())
    assert not page.js_errors
