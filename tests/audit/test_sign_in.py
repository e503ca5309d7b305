"""Sign-in, sign-out and failed sign-ins: our login page, the admin's, and trusted-header SSO."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse

from voxdash.audit.log import Action, Via
from voxdash.audit.models import AuditEntry

from .conftest import ADDRESS, entries, rows_of

PROXY = "10.0.0.7"


def signs(action: str) -> list[tuple[str, str, str]]:
    return [(e.username, e.via, e.remote_addr) for e in entries(action)]


def test_password_sign_in_and_sign_out_are_recorded_with_the_address(client, viewer, auditor):
    response = client.post(
        reverse("login"), {"username": "vera", "password": "pw-vera-123"}, REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 302
    assert ("vera", Via.PASSWORD, ADDRESS) in signs(Action.SIGNED_IN)
    [entry] = [e for e in entries(Action.SIGNED_IN) if e.username == "vera"]
    assert entry.user == viewer and entry.request_id  # the request log's id, to find its lines

    assert client.post(reverse("logout"), REMOTE_ADDR=ADDRESS).status_code == 302
    assert signs(Action.SIGNED_OUT) == [("vera", Via.PASSWORD, ADDRESS)]
    # What the auditor reads.
    assert ["vera (Password)", ADDRESS, "Signed out", "—", ""] in rows_of(auditor, Action.SIGNED_OUT)


def test_a_failed_sign_in_keeps_the_name_tried_and_never_the_password(client, viewer, auditor):
    secret = "hunter2-not-her-password"
    response = client.post(reverse("login"), {"username": "vera", "password": secret}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200  # the form again, with its error
    client.post(reverse("login"), {"username": "nobody-here", "password": secret}, REMOTE_ADDR=ADDRESS)
    assert signs(Action.SIGN_IN_FAILED) == [
        ("vera", Via.PASSWORD, ADDRESS),
        ("nobody-here", Via.PASSWORD, ADDRESS),
    ]
    [failed, _] = entries(Action.SIGN_IN_FAILED)
    assert failed.user is None  # nobody signed in
    everything = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert secret not in everything
    assert ["nobody-here (Password)", ADDRESS, "Sign-in failed", "—", ""] in rows_of(
        auditor, Action.SIGN_IN_FAILED
    )


def test_attempts_the_throttle_refuses_are_failed_sign_ins_too(db, settings):
    # Parallel guesses pass the form's check together; the throttle, the first backend asked, refuses
    # the extra ones, and each refusal is a failed sign-in.
    settings.VOXDASH_LOGIN_ATTEMPTS = 2
    User.objects.create_superuser("root", password="pw-root-123")
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=ADDRESS)
    for _ in range(3):
        authenticate(request, username="root", password="wrong")
    assert authenticate(request, username="root", password="pw-root-123") is None  # locked
    assert len(entries(Action.SIGN_IN_FAILED)) == 4 and not entries(Action.SIGNED_IN)


def test_presses_our_login_page_refuses_as_locked_are_failed_sign_ins(client, db, settings):
    # Our login form refuses a locked name before any backend is asked; it says so itself.
    settings.VOXDASH_LOGIN_ATTEMPTS = 2
    User.objects.create_user("ada", password="pw-ada-12345")
    login = reverse("login")
    for _ in range(2):
        client.post(login, {"username": "ada", "password": "wrong"}, REMOTE_ADDR=ADDRESS)
    response = client.post(login, {"username": "ada", "password": "pw-ada-12345"}, REMOTE_ADDR=ADDRESS)
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert signs(Action.SIGN_IN_FAILED) == [("ada", Via.PASSWORD, ADDRESS)] * 3 and not entries(
        Action.SIGNED_IN
    )


def test_the_admins_login_is_our_sign_in_and_its_logout_says_admin(client, db, vox_settings):
    # /admin/login/ signs nobody in itself (it would skip the second factor): it sends people to ours.
    User.objects.create_superuser("root", password="pw-root-123")
    response = client.post(reverse("admin:login"), {"username": "root", "password": "pw-root-123"})
    assert response.status_code == 302 and not entries(Action.SIGNED_IN)
    login = response.headers["Location"]
    client.post(login, {"username": "root", "password": "wrong"}, REMOTE_ADDR=ADDRESS)
    assert signs(Action.SIGN_IN_FAILED) == [("root", Via.PASSWORD, ADDRESS)]
    response = client.post(login, {"username": "root", "password": "pw-root-123"}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login/"
    assert signs(Action.SIGNED_IN) == [("root", Via.PASSWORD, ADDRESS)]
    client.post(reverse("admin:logout"), REMOTE_ADDR=ADDRESS)
    assert signs(Action.SIGNED_OUT) == [("root", Via.ADMIN, ADDRESS)]


def test_behind_a_trusted_proxy_the_address_is_the_one_it_forwarded_for(client, viewer, settings):
    settings.VOXDASH_SSO_TRUSTED_PROXIES = ["10.0.0.0/24"]
    forwarded = f"198.51.100.77, {ADDRESS}"  # the first hop is the client's own claim; the last the proxy's
    data = {"username": "vera", "password": "pw-vera-123"}
    client.post(reverse("login"), data, REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": forwarded})
    # From anyone else, the header is only text: their own address is kept.
    Client().post(reverse("login"), data, REMOTE_ADDR="192.0.2.50", headers={"X-Forwarded-For": "10.9.9.9"})
    assert [e.remote_addr for e in entries(Action.SIGNED_IN)] == [ADDRESS, "192.0.2.50"]


@pytest.fixture
def sso(vox_settings, db):
    settings = vox_settings
    settings.VOXDASH_SSO_HEADER = "X-Remote-User"
    settings.VOXDASH_SSO_TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.VOXDASH_SSO_GROUPS_HEADER = "X-Remote-Groups"
    settings.VOXDASH_SSO_VIEWER_GROUPS = ["voxdash-viewers"]
    settings.VOXDASH_SSO_DEFAULT_ROLE = "none"
    return settings


def through_proxy(client: Client, user: str | None, groups: str = "voxdash-viewers"):
    headers = {"X-Remote-Groups": groups, "X-Forwarded-For": ADDRESS}
    if user is not None:
        headers["X-Remote-User"] = user
    return client.get(reverse("placements:list"), headers=headers, REMOTE_ADDR=PROXY)


def test_sso_sign_in_and_the_proxys_sign_out_say_single_sign_on(client, sso):
    assert through_proxy(client, "ada@corp").status_code == 200
    assert through_proxy(client, "ada@corp").status_code == 200  # one session: signed in once
    assert signs(Action.SIGNED_IN) == [("ada@corp", Via.SSO, ADDRESS)]
    # The proxy's session ended: its next request comes without the header.
    assert through_proxy(client, None).status_code == 302
    assert signs(Action.SIGNED_OUT) == [("ada@corp", Via.SSO, ADDRESS)]


def test_sso_refusing_someone_in_no_mapped_group_is_a_failed_sign_in(client, sso):
    assert through_proxy(client, "eve@corp", groups="finance").status_code == 302
    assert signs(Action.SIGN_IN_FAILED) == [("eve@corp", Via.SSO, ADDRESS)]
    assert not entries(Action.SIGNED_IN)
