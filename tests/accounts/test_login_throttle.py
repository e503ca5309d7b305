"""Failed logins are limited per username and address, with a clear message, admin login included."""

import pytest
from django.urls import reverse

from voxdash.accounts import throttle

WRONG = {"username": "vera", "password": "not-her-password"}
RIGHT = {"username": "vera", "password": "pw-vera-123"}


@pytest.fixture
def limits(vox_settings, viewer):
    settings = vox_settings
    settings.VOXDASH_LOGIN_ATTEMPTS = 3
    settings.VOXDASH_LOGIN_WINDOW = 600
    return settings


def fail(client, times: int, addr: str = "198.51.100.1", data=WRONG):
    for _ in range(times):
        assert client.post(reverse("login"), data, REMOTE_ADDR=addr).status_code == 200


def test_locked_after_the_limit_even_with_the_right_password(client, limits):
    fail(client, 3)
    response = client.post(reverse("login"), RIGHT, REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text
    assert "Try again in 10 minutes" in response.text
    assert "_auth_user_id" not in client.session


def test_below_the_limit_the_right_password_works_and_clears_the_count(client, limits):
    fail(client, 2)
    assert client.post(reverse("login"), RIGHT, REMOTE_ADDR="198.51.100.1").status_code == 302
    client.logout()
    fail(client, 2)  # counting starts again
    assert client.post(reverse("login"), RIGHT, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_the_lock_is_per_address_and_per_username(client, limits, caller):
    fail(client, 3)
    assert client.post(reverse("login"), RIGHT, REMOTE_ADDR="198.51.100.2").status_code == 302
    client.logout()
    other = {"username": "cal", "password": "pw-cal-123"}
    assert client.post(reverse("login"), other, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_behind_the_trusted_proxy_the_lock_is_per_person_not_per_proxy(client, limits):
    limits.VOXDASH_SSO_TRUSTED_PROXIES = ["10.0.0.0/24"]
    proxy = {"REMOTE_ADDR": "10.0.0.7"}
    for _ in range(3):
        client.post(reverse("login"), WRONG, headers={"X-Forwarded-For": "198.51.100.1"}, **proxy)
    locked = client.post(reverse("login"), RIGHT, headers={"X-Forwarded-For": "198.51.100.1"}, **proxy)
    assert locked.status_code == 429
    # Vera at another desk, through the same proxy, is not locked out by the guesses from the first.
    elsewhere = client.post(reverse("login"), RIGHT, headers={"X-Forwarded-For": "198.51.100.2"}, **proxy)
    assert elsewhere.status_code == 302


def test_user_names_differing_in_case_share_a_count(client, limits):
    fail(client, 3, data={"username": "VERA", "password": "x"})
    assert client.post(reverse("login"), RIGHT, REMOTE_ADDR="198.51.100.1").status_code == 429


def test_the_lock_lifts_when_the_window_has_passed(client, limits, monkeypatch):
    fail(client, 3)
    now = throttle.time.time()
    monkeypatch.setattr(throttle.time, "time", lambda: now + 601)
    assert client.post(reverse("login"), RIGHT, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_the_admin_login_is_no_way_around_the_limit(client, limits, viewer):
    # The admin's login page signs nobody in itself: it sends people to ours, which is locked.
    viewer.is_staff = True
    viewer.save()
    fail(client, 3)
    response = client.post(reverse("admin:login"), RIGHT, REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 302 and response.headers["Location"].startswith("/accounts/login/?next=")
    assert "_auth_user_id" not in client.session
    response = client.post(response.headers["Location"], RIGHT, REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_zero_attempts_turns_the_limit_off(client, limits):
    limits.VOXDASH_LOGIN_ATTEMPTS = 0
    fail(client, 6)
    assert client.post(reverse("login"), RIGHT, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_parallel_guesses_cannot_share_a_free_attempt(limits, viewer, monkeypatch):
    """Attempts are counted before the password is checked: of many simultaneous guesses, only
    the allowed number ever reach the password check."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.contrib.auth import authenticate
    from django.contrib.auth.backends import ModelBackend
    from django.test import RequestFactory

    checked, lock = [], threading.Lock()
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        with lock:
            checked.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    # Each failed guess is also an audit entry: a write, which on SQLite waits for the write lock
    # this test's own transaction holds (20 s each). The audit log has its own tests; here only the
    # throttle's counting matters.
    monkeypatch.setattr("voxdash.audit.signals.audit_record", lambda **kwargs: None)

    def guess(_):
        authenticate(RequestFactory().post("/", REMOTE_ADDR="198.51.100.9"), username="vera", password="x")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(guess, range(24)))
    assert len(checked) == limits.VOXDASH_LOGIN_ATTEMPTS
