"""TOTP two-factor authentication (allauth.mfa) for local accounts: set up through the pages with a
code computed here from the secret, then asked at every sign-in, /admin/login/ included; recovery
codes; VOXDASH_REQUIRE_MFA_FOR_ADMINS."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from voxdash.audit.log import Action
from voxdash.audit.models import AuditEntry

from .two_factor import NOW, freeze_allauth_clock, recovery_codes_on, secret_on, totp

LOGIN = "/accounts/login/"
AUTHENTICATE = "/accounts/two-factor/authenticate/"
ACTIVATE = "/accounts/two-factor/totp/activate/"
REAUTHENTICATE = "/accounts/reauthenticate/?next="
ADDRESS = "203.0.113.9"
PASSWORD = "pw-ada-12345"


@pytest.fixture(autouse=True)
def _clock_and_vox(monkeypatch, vox_settings):
    # Every page asks Vox how it is (the header's badge): the simulator answers.
    freeze_allauth_clock(monkeypatch)


@pytest.fixture
def ada(db):
    return User.objects.create_user("ada", password="pw-ada-12345")


def sign_in(client: Client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=ADDRESS)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def confirm_password(client: Client, url: str, password: str):
    """GET `url`; when allauth first asks for the password again (before a change to the second
    factor), give it. The page at `url`."""
    response = client.get(url)
    if response.status_code == 302 and response.headers["Location"].startswith(REAUTHENTICATE):
        assert "This change needs your password again" in client.get(response.headers["Location"]).text
        back = client.post(response.headers["Location"], {"password": password})
        assert back.headers["Location"] == url
        response = client.get(url)
    assert response.status_code == 200, response.headers.get("Location")
    return response


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """allauth announces changes to the second factor once they are committed: run those callbacks
    (the test's transaction never commits)."""

    def post(client: Client, url: str, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return post


def set_up_totp(client: Client, password: str, commits) -> tuple[str, list[str]]:
    """Through the pages, as a person does: the key from the page, a code from it, the recovery codes."""
    page = confirm_password(client, ACTIVATE, password)
    secret = secret_on(page.text)
    assert 'src="data:image/svg+xml;base64,' in page.text  # the QR code
    response = commits(client, ACTIVATE, {"code": totp(secret)})
    assert (
        response.status_code == 302 and response.headers["Location"] == "/accounts/two-factor/recovery-codes/"
    )
    codes = recovery_codes_on(client.get(response.headers["Location"]).text)
    assert len(codes) == 10
    return secret, codes


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("at", "id").values_list("action", flat=True))


def test_set_up_then_every_sign_in_asks_for_the_code(client, ada, commits):
    assert sign_in(client, "ada", "pw-ada-12345").status_code == 302
    page = confirm_password(client, ACTIVATE, PASSWORD)
    wrong = client.post(ACTIVATE, {"code": "000000" if totp(secret_on(page.text)) != "000000" else "111111"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.text
    assert not Authenticator.objects.filter(user=ada).exists()  # nothing turned on by a wrong code

    secret, _ = set_up_totp(client, PASSWORD, commits)
    assert "On: signing in asks for a code" in client.get("/accounts/two-factor/").text
    client.post(reverse("logout"))

    response = sign_in(client, "ada", "pw-ada-12345", next="/calls/placed/")
    assert response.status_code == 302 and response.headers["Location"].startswith(AUTHENTICATE)
    assert not signed_in(client)  # the right password alone signs nobody in
    assert client.get("/calls/placed/").status_code == 302  # ... so pages still ask to sign in
    page = client.get(AUTHENTICATE)
    assert page.status_code == 200 and "Enter the code your authenticator app shows" in page.text

    wrong = client.post(AUTHENTICATE, {"code": totp(secret, NOW - 3600)})  # an hour-old code
    assert wrong.status_code == 200 and "Incorrect code" in wrong.text and not signed_in(client)

    response = client.post(AUTHENTICATE, {"code": totp(secret)})
    assert response.status_code == 302 and response.headers["Location"] == "/calls/placed/"  # `next` kept
    assert signed_in(client) and client.get("/calls/placed/").status_code == 200

    assert actions() == [
        Action.SIGNED_IN,
        Action.MFA_ENABLED,
        Action.SIGNED_OUT,
        Action.SIGN_IN_FAILED,
        Action.SIGNED_IN,
    ]
    failed = AuditEntry.objects.get(action=Action.SIGN_IN_FAILED)
    assert failed.username == "ada" and failed.detail == {"reason": "wrong two-factor code"}


def test_a_code_is_good_for_one_sign_in(client, ada, commits):
    sign_in(client, "ada", "pw-ada-12345")
    secret, _ = set_up_totp(client, PASSWORD, commits)
    client.post(reverse("logout"))
    sign_in(client, "ada", "pw-ada-12345")
    assert client.post(AUTHENTICATE, {"code": totp(secret)}).status_code == 302
    client.post(reverse("logout"))
    sign_in(client, "ada", "pw-ada-12345")
    replayed = client.post(AUTHENTICATE, {"code": totp(secret)})  # seen over a shoulder, say
    assert replayed.status_code == 200 and not signed_in(client)


def test_a_recovery_code_works_once(client, ada, commits):
    sign_in(client, "ada", "pw-ada-12345")
    _, codes = set_up_totp(client, PASSWORD, commits)
    client.post(reverse("logout"))

    sign_in(client, "ada", "pw-ada-12345")
    assert client.post(AUTHENTICATE, {"code": codes[3]}).status_code == 302 and signed_in(client)
    assert "9 of 10 unused" in client.get("/accounts/two-factor/").text
    client.post(reverse("logout"))

    sign_in(client, "ada", "pw-ada-12345")
    again = client.post(AUTHENTICATE, {"code": codes[3]})
    assert again.status_code == 200 and "Incorrect code" in again.text and not signed_in(client)
    assert client.post(AUTHENTICATE, {"code": codes[4]}).status_code == 302 and signed_in(client)


def test_the_admin_login_is_no_way_around_the_code(client, db, commits):
    root = User.objects.create_superuser("root", password="pw-root-123")
    sign_in(client, "root", "pw-root-123")
    secret, _ = set_up_totp(client, "pw-root-123", commits)
    client.post(reverse("logout"))

    # The admin's own form, posted directly: it signs nobody in and sends to our sign-in.
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "pw-root-123"})
    assert response.status_code == 302 and response.headers["Location"] == f"{LOGIN}?next=%2Fadmin%2F"
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302  # still not in
    response = sign_in(client, "root", "pw-root-123", next="/admin/")
    assert response.headers["Location"].startswith(AUTHENTICATE) and not signed_in(client)
    response = client.post(AUTHENTICATE, {"code": totp(secret)})
    assert response.headers["Location"] == "/admin/" and client.get("/admin/").status_code == 200
    assert Authenticator.objects.filter(user=root, type=Authenticator.Type.TOTP).exists()


def test_turning_it_off_asks_for_the_password_again(client, ada, commits):
    sign_in(client, "ada", PASSWORD)
    set_up_totp(client, PASSWORD, commits)
    other = Client()
    other.force_login(ada)  # someone at a desk left signed in, say
    asked = other.get("/accounts/two-factor/totp/deactivate/").headers["Location"]
    wrong = other.post(asked, {"password": "guess"})
    assert wrong.status_code == 200 and Authenticator.objects.filter(user=ada, type="totp").exists()

    page = confirm_password(client, "/accounts/two-factor/totp/deactivate/", PASSWORD)
    assert "Signing in will ask for your password only" in page.text
    assert commits(client, "/accounts/two-factor/totp/deactivate/").status_code == 302
    assert not Authenticator.objects.filter(user=ada).exists()  # the recovery codes went with it
    assert actions()[-1] == Action.MFA_DISABLED

    client.post(reverse("logout"))
    assert sign_in(client, "ada", PASSWORD).headers["Location"] == "/" and signed_in(client)


def test_new_recovery_codes_replace_the_old_ones(client, ada, commits):
    sign_in(client, "ada", "pw-ada-12345")
    _, old = set_up_totp(client, PASSWORD, commits)
    page = confirm_password(client, "/accounts/two-factor/recovery-codes/generate/", PASSWORD)
    assert "Your 10 unused codes will stop working" in page.text
    response = commits(client, "/accounts/two-factor/recovery-codes/generate/")
    new = recovery_codes_on(client.get(response.headers["Location"]).text)
    assert len(new) == 10 and not set(new) & set(old)
    assert actions()[-1] == Action.RECOVERY_CODES_GENERATED
    download = client.get("/accounts/two-factor/recovery-codes/download/")
    assert download.status_code == 200 and all(code in download.text for code in new)


# --- VOXDASH_REQUIRE_MFA_FOR_ADMINS


@pytest.fixture
def required(settings):
    settings.VOXDASH_REQUIRE_MFA_FOR_ADMINS = True
    return settings


def test_a_superuser_without_an_authenticator_is_sent_to_set_one_up(
    client, db, required, vox_settings, commits
):
    User.objects.create_superuser("root", password="pw-root-123")
    assert sign_in(client, "root", "pw-root-123").status_code == 302
    for page in ("/", "/calls/placed/", "/admin/", "/accounts/password/", "/audit/"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"] == ACTIVATE, page
    htmx = client.get("/calls/placed/", headers={"HX-Request": "true"})  # the page's own polling, say
    assert htmx.status_code == 200 and htmx.headers["HX-Redirect"] == ACTIVATE
    # Static files are let through (WhiteNoise serves them before any middleware in production).
    assert client.get("/static/voxdash/voxdash.css").headers.get("Location") != ACTIVATE
    set_up_totp(client, "pw-root-123", commits)
    assert client.get("/calls/placed/").status_code == 200
    assert client.post(reverse("logout")).status_code == 302


def test_staff_are_administrators_too(client, db, required, vox_settings):
    # "Admins" as in VOXDASH_LOCAL_LOGIN=admins: staff run the alerts and read the audit log.
    User.objects.create_user("ops", password="pw-ops-1234", is_staff=True)
    assert sign_in(client, "ops", "pw-ops-1234").status_code == 302
    response = client.get("/alerts/")
    assert response.status_code == 302 and response.headers["Location"] == ACTIVATE


def test_signing_out_stays_possible_before_setting_it_up(client, db, required):
    User.objects.create_superuser("root", password="pw-root-123")
    sign_in(client, "root", "pw-root-123")
    assert client.post(reverse("logout")).headers["Location"] == LOGIN
    assert not signed_in(client)


def test_others_are_not_asked(client, viewer, required, vox_settings, db):
    sign_in(client, "vera", "pw-vera-123")
    assert client.get("/calls/placed/").status_code == 200
    # A superuser of the identity provider (no password here) does their second factor there.
    sso_root = User.objects.create_superuser("root@corp", password=None)
    other = Client()
    other.force_login(sso_root)
    assert other.get("/calls/placed/").status_code == 200
    assert "managed there, not in voxdash" in other.get("/accounts/two-factor/").text


def test_off_by_default_superusers_are_not_asked(client, db, settings):
    assert settings.VOXDASH_REQUIRE_MFA_FOR_ADMINS is False
    User.objects.create_superuser("root", password="pw-root-123")
    sign_in(client, "root", "pw-root-123")
    assert client.get("/calls/placed/").status_code == 200


def test_an_administrator_removes_a_lost_phones_authenticator(client, ada, commits):
    sign_in(client, "ada", PASSWORD)
    set_up_totp(client, PASSWORD, commits)
    client.post(reverse("logout"))
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    totp_row = Authenticator.objects.get(user=ada, type=Authenticator.Type.TOTP)
    # The secrets are the person's own: the admin shows them to nobody and takes no new ones.
    assert admin.get("/admin/mfa/authenticator/add/").status_code == 403
    change = admin.get(f"/admin/mfa/authenticator/{totp_row.pk}/change/").text
    assert "secret" not in change.lower()
    response = admin.post(f"/admin/mfa/authenticator/{totp_row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=ada).exists()  # the recovery codes with it
    entry = AuditEntry.objects.filter(action=Action.MFA_DISABLED).get()
    assert (entry.username, entry.object_label) == ("root", "TOTP Authenticator of ada")
    # Ada signs in with her password alone, and may set up her new phone.
    assert sign_in(client, "ada", PASSWORD).headers["Location"] == "/" and signed_in(client)


def test_only_the_allauth_admin_pages_voxdash_uses(client, db):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    for path in (
        "/admin/account/emailaddress/",
        "/admin/socialaccount/socialapp/",
        "/admin/socialaccount/socialtoken/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/admin/socialaccount/socialaccount/").status_code == 200
