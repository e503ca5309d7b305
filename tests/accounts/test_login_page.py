"""The sign-in page: the identity provider's button above the password form, VOXDASH_LOCAL_LOGIN=admins
(only the button, and a link for administrators), `next`, switched-off accounts."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from voxdash.audit.log import Action, Via
from voxdash.audit.models import AuditEntry

LOGIN = "/accounts/login/"
PROVIDER_LOGIN = "/accounts/oidc/oidc/login/"


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """Pages after signing in ask Vox how it is (the header's badge): the simulator answers."""


@pytest.fixture
def oidc(settings):
    settings.VOXDASH_OIDC_ISSUER = "https://login.example.com/realms/corp"
    settings.VOXDASH_OIDC_NAME = "Corp Login"
    return settings


@pytest.fixture
def admins_only(oidc):
    oidc.VOXDASH_LOCAL_LOGIN = "admins"
    return oidc


def forms_on(page: str) -> list[str]:
    """The page's forms, in order, by where they post."""
    return re.findall(r'<form method="post"[^>]* action="([^"]*)"', page)


def test_without_openid_connect_only_the_password_form(client, db):
    page = client.get(LOGIN).text
    assert forms_on(page) == [LOGIN]
    assert "Sign in with" not in page and 'name="username"' in page and 'name="password"' in page


def test_the_providers_button_comes_above_the_password_form(client, db, oidc):
    page = client.get(LOGIN, {"next": "/calls/placed/"}).text
    assert forms_on(page) == [PROVIDER_LOGIN, LOGIN]
    button = page[page.index(f'action="{PROVIDER_LOGIN}"') : page.index("</form>")]
    assert 'type="submit" class="default" id="sign-in-provider" value="Sign in with Corp Login"' in button
    assert 'name="csrfmiddlewaretoken"' in button  # a POST form: no link elsewhere can start a sign-in
    assert 'name="next" value="/calls/placed/"' in button  # back where they were going, afterwards
    assert "Administrator?" not in page


def test_a_password_still_signs_in_beside_the_button(client, viewer, oidc):
    response = client.post(LOGIN, {"username": "vera", "password": "pw-vera-123", "next": "/calls/placed/"})
    assert response.status_code == 302 and response.headers["Location"] == "/calls/placed/"
    assert client.get("/calls/placed/").status_code == 200


def test_admins_mode_shows_the_button_and_a_small_link_instead_of_the_form(client, db, admins_only):
    page = client.get(LOGIN, {"next": "/audit/"}).text
    assert forms_on(page) == [PROVIDER_LOGIN]
    assert 'name="password"' not in page
    link = re.search(r'<a href="([^"]*)">Administrator\? Sign in with a password</a>', page)
    assert link and link[1] == "?next=/audit/&amp;local=1"
    page = client.get(LOGIN, {"next": "/audit/", "local": "1"}).text
    assert forms_on(page) == [PROVIDER_LOGIN, f"{LOGIN}?local=1"] and 'name="password"' in page


def test_admins_mode_shows_the_form_to_whoever_comes_from_the_admin(client, db, admins_only):
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response.headers["Location"], follow=True)  # /admin/login/, then ours
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=%2Fadmin%2F"
    assert 'name="password"' in response.text


def test_admins_mode_refuses_anyone_elses_right_password_with_a_clear_message(client, viewer, admins_only):
    response = client.post(f"{LOGIN}?local=1", {"username": "vera", "password": "pw-vera-123"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "This account signs in with Corp Login, not with a password" in response.text
    assert 'name="password"' in response.text  # the form stays, for an administrator's next try
    [failed] = AuditEntry.objects.filter(action=Action.SIGN_IN_FAILED)
    assert (failed.username, failed.via) == ("vera", Via.PASSWORD)
    assert not AuditEntry.objects.filter(action=Action.SIGNED_IN).exists()


def test_admins_mode_lets_staff_and_superusers_sign_in_with_a_password(client, db, admins_only):
    User.objects.create_user("sam", password="pw-sam-12345", is_staff=True)
    User.objects.create_superuser("root", password="pw-root-123")
    for username, password in (("sam", "pw-sam-12345"), ("root", "pw-root-123")):
        response = client.post(f"{LOGIN}?local=1", {"username": username, "password": password})
        assert response.status_code == 302 and client.session["_auth_user_id"]
        client.post("/accounts/logout/")


def test_admins_mode_without_a_provider_keeps_the_form(client, viewer, settings):
    # The trusted header may sign people in instead; a page with nothing on it would help nobody.
    settings.VOXDASH_LOCAL_LOGIN = "admins"
    assert forms_on(client.get(LOGIN).text) == [LOGIN]


def test_a_wrong_password_says_so_and_signs_nobody_in(client, viewer):
    response = client.post(LOGIN, {"username": "vera", "password": "not-hers"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "Please enter the correct username and password" in response.text


def test_a_switched_off_account_is_told_so(client, viewer):
    viewer.is_active = False
    viewer.save()
    response = client.post(LOGIN, {"username": "vera", "password": "pw-vera-123"})
    assert response.status_code == 302 and response.headers["Location"] == "/accounts/inactive/"
    assert "This account is switched off" in client.get("/accounts/inactive/").text
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action=Action.SIGN_IN_FAILED, username="vera").exists()


def test_no_sign_up_no_password_reset_no_e_mail_pages(client, viewer):
    # allauth has them all; voxdash routes only what it uses (accounts come from the admin).
    client.force_login(viewer)
    for path in (
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/email/",
        "/accounts/login/code/",
    ):
        assert client.get(path).status_code == 404, path
    client.logout()
    assert "Sign up" not in client.get(LOGIN).text and "Forgot" not in client.get(LOGIN).text
