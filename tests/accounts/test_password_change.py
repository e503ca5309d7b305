"""/accounts/password/: change your own password; accounts of an identity provider are told where."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from voxdash.audit.log import Action
from voxdash.audit.models import AuditEntry

PAGE = "/accounts/password/"
OLD, NEW = "pw-vera-123", "a-new-long-passphrase-42"


@pytest.fixture
def vera(viewer, vox_settings) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"username": "vera", "password": OLD}).status_code == 302
    return client


def can_sign_in(password: str) -> bool:
    return Client().post("/accounts/login/", {"username": "vera", "password": password}).status_code == 302


def test_the_menu_links_to_it(vera):
    page = vera.get("/calls/placed/").text
    assert (
        f'<a href="{PAGE}">Password</a>' in page and '<a href="/accounts/two-factor/">Two-factor</a>' in page
    )


def test_a_wrong_current_password_changes_nothing(vera):
    response = vera.post(PAGE, {"oldpassword": "not-it", "password1": NEW, "password2": NEW})
    assert response.status_code == 200 and "Please type your current password" in response.text
    assert can_sign_in(OLD) and not can_sign_in(NEW)
    assert not AuditEntry.objects.filter(action=Action.PASSWORD_CHANGED).exists()


def test_new_passwords_that_differ_or_are_weak_are_refused(vera):
    response = vera.post(PAGE, {"oldpassword": OLD, "password1": NEW, "password2": NEW + "x"})
    assert response.status_code == 200 and "You must type the same password each time" in response.text
    response = vera.post(PAGE, {"oldpassword": OLD, "password1": "password", "password2": "password"})
    assert response.status_code == 200 and "This password is too common" in response.text
    assert can_sign_in(OLD)


def test_the_new_password_works_the_old_one_not_and_it_is_audited(vera):
    response = vera.post(PAGE, {"oldpassword": OLD, "password1": NEW, "password2": NEW})
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert "Password successfully changed" in vera.get(PAGE).text
    assert vera.get("/calls/placed/").status_code == 200  # this session stays signed in
    assert can_sign_in(NEW) and not can_sign_in(OLD)
    [entry] = AuditEntry.objects.filter(action=Action.PASSWORD_CHANGED)
    assert entry.username == "vera"


def test_an_identity_providers_account_is_told_where_its_password_is(client, db, vox_settings):
    ada = User.objects.create_user("ada@corp", password=None)  # made by OpenID Connect or the header
    client.force_login(ada)
    page = client.get(PAGE)
    assert page.status_code == 200 and "managed there, not in voxdash" in page.text
    assert 'name="oldpassword"' not in page.text
    assert ">Password</a>" not in client.get("/calls/placed/").text  # not in the menu either
