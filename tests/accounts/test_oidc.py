"""OpenID Connect sign-in against a real provider (npm oidc-provider on a free port).

voxdash's side runs in Django's test client; every hop to the provider and back is real HTTP
(tests/fixtures/oidc_provider.py: ProviderFlow), and so are voxdash's own requests to it
(discovery, the code exchange with the PKCE verifier, the keys, userinfo).
"""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import clear_script_prefix, reverse, set_script_prefix

from tests.fixtures.oidc_provider import OIDCProvider, ProviderFlow, callback_path, login_url, use_provider
from voxdash.accounts.oidc import claimed_groups, groups_from_claim, username_unique
from voxdash.audit.log import Action, Via
from voxdash.audit.models import AuditEntry

PLACE_CALL = "placements:new"  # Callers only
PASSWORD = "pw-at-the-provider"


@pytest.fixture(scope="module")
def provider(tmp_path_factory, django_db_setup):
    started = OIDCProvider(
        tmp_path_factory.mktemp("oidc"),
        redirect_uris=[f"http://testserver{callback_path()}"],
        claims=("groups", "roles"),
    )
    started.start()
    yield started
    started.stop()


@pytest.fixture
def oidc(settings, provider, vox_settings, db):  # vox_settings: pages talk to a simulator, not the internet
    use_provider(settings, provider)
    settings.VOXDASH_SSO_CALLER_GROUPS = ["voxdash-callers"]
    settings.VOXDASH_SSO_VIEWER_GROUPS = ["voxdash-viewers"]
    settings.VOXDASH_SSO_DEFAULT_ROLE = "none"
    return settings


@pytest.fixture
def flows(client, provider):
    """flows() -> a ProviderFlow: the first shares the test's client, later ones are new browsers."""
    made: list[ProviderFlow] = []

    def make() -> ProviderFlow:
        made.append(ProviderFlow(client if not made else Client(), provider))
        return made[-1]

    yield make
    for flow in made:
        flow.close()


def groups_of(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def oidc_entries(action: str) -> list[tuple[str, str]]:
    return [(e.username, e.via) for e in AuditEntry.objects.filter(action=action).order_by("id")]


# --- The rules, without a provider


def test_a_groups_claim_is_a_list_or_a_separated_string():
    assert groups_from_claim(["a", " b ", ""]) == {"a", "b"}
    assert groups_from_claim("a,b c") == {"a", "b", "c"}
    assert groups_from_claim(None) == set() and groups_from_claim({"a": 1}) == set()
    # userinfo (fetched fresh) wins; an absent claim is no group at all.
    data = {"userinfo": {"groups": ["new"]}, "id_token": {"groups": ["old"]}}
    assert claimed_groups(data, claim="groups") == {"new"}
    assert claimed_groups({"userinfo": {}, "id_token": {"groups": "old"}}, claim="groups") == {"old"}
    assert claimed_groups({"userinfo": {"sub": "x"}}, claim="groups") == set()


def test_user_names_are_made_valid_and_unique(db):
    User.objects.create_user("alice")
    assert username_unique("Alice") == "Alice-2"  # "Alice" would be alice's in allauth's lookup
    assert username_unique("bob smith/ops") == "bob_smith_ops"
    assert len(username_unique("x" * 400)) == 150


# --- Through the provider


def test_first_sign_in_makes_the_account_with_its_role(oidc, provider, flows, client):
    provider.set_account("alice", password=PASSWORD, groups=["staff", "voxdash-callers"], name="Alice Ade")
    response = flows().sign_in("alice", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("overview")

    alice = User.objects.get(username="alice")
    assert response.wsgi_request.user == alice
    assert groups_of("alice") == {"Callers"}
    assert not alice.has_usable_password() and not alice.is_staff and not alice.is_superuser
    assert (alice.email, alice.first_name, alice.last_name) == ("alice@example.com", "Alice", "Ade")
    assert client.get(reverse(PLACE_CALL)).status_code == 200
    assert b"Signed in as" in client.get(reverse("overview")).content
    assert ("alice", Via.OIDC) in oidc_entries(Action.SIGNED_IN)


def test_a_viewer_may_not_place_calls(oidc, provider, flows, client):
    provider.set_account("vic", password=PASSWORD, groups="voxdash-viewers")
    assert flows().sign_in("vic", PASSWORD).status_code == 302
    assert groups_of("vic") == {"Viewers"}
    assert client.get(reverse(PLACE_CALL)).status_code == 403


def test_a_changed_group_changes_the_role_at_the_next_sign_in(oidc, provider, flows, client):
    provider.set_account("carl", password=PASSWORD, groups=["voxdash-callers"])
    assert flows().sign_in("carl", PASSWORD).status_code == 302
    assert client.get(reverse(PLACE_CALL)).status_code == 200

    provider.set_account("carl", password=PASSWORD, groups=["voxdash-viewers"])  # moved at the provider
    later = flows()
    assert later.sign_in("carl", PASSWORD).status_code == 302
    assert groups_of("carl") == {"Viewers"}
    assert later.client.get(reverse(PLACE_CALL)).status_code == 403
    assert User.objects.filter(username__startswith="carl").count() == 1  # the same account

    # Out of every group now, and no default role: refused, and the role is gone too.
    provider.set_account("carl", password=PASSWORD, groups=[])
    refused = flows().sign_in("carl", PASSWORD)
    assert refused.status_code == 403


def test_groups_in_the_id_token_only_and_a_claim_named_otherwise(oidc, settings, provider, flows):
    settings.VOXDASH_OIDC_GROUPS_CLAIM = "roles"
    provider.set_account("ida", password=PASSWORD, roles="finance,voxdash-callers", claims_in="id_token")
    assert flows().sign_in("ida", PASSWORD).status_code == 302
    assert groups_of("ida") == {"Callers"}


def test_someone_in_no_mapped_group_is_refused_with_a_page_that_says_whom_to_ask(oidc, provider, flows):
    provider.set_account("eve", password=PASSWORD, groups=["finance"])
    response = flows().sign_in("eve", PASSWORD)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your account may not use voxdash" in page
    assert "not in a group that may use voxdash" in page
    assert "voxdash-viewers or voxdash-callers" in page and "Test provider" in page
    assert not User.objects.filter(username="eve").exists()
    assert not response.wsgi_request.user.is_authenticated
    assert oidc_entries(Action.SIGN_IN_FAILED) == [("eve", Via.OIDC)]


def test_the_default_role_lets_in_people_without_groups(oidc, provider, flows):
    oidc.VOXDASH_SSO_DEFAULT_ROLE = "viewer"
    provider.set_account("dora", password=PASSWORD, groups=None)  # a provider without groups (Google)
    assert flows().sign_in("dora", PASSWORD).status_code == 302
    assert groups_of("dora") == {"Viewers"}


def test_never_into_a_local_account_and_never_an_administrator(oidc, provider, flows):
    # The provider says "root", which anyone able to set their preferred_username could say.
    root = User.objects.create_superuser("root", "root@example.com", "pw-root-123")
    provider.set_account("root", password=PASSWORD, groups=["voxdash-callers"], email="root@example.com")
    response = flows().sign_in("root", PASSWORD)
    assert response.status_code == 302
    signed_in = response.wsgi_request.user
    assert signed_in != root and signed_in.username == "root-2"
    assert not signed_in.is_staff and not signed_in.is_superuser
    assert Client().login(username="root", password="pw-root-123")  # the local account is untouched


def test_next_is_kept_and_a_posted_process_cannot_turn_a_sign_in_into_something_else(oidc, provider, flows):
    provider.set_account("nat", password=PASSWORD, groups=["voxdash-viewers"])
    response = flows().sign_in("nat", PASSWORD, next=reverse("calls:list"), process="connect")
    assert response.status_code == 302 and response["Location"] == reverse("calls:list")
    assert response.wsgi_request.user.username == "nat"


def test_a_switched_off_account_is_refused(oidc, provider, flows):
    provider.set_account("olga", password=PASSWORD, groups=["voxdash-viewers"])
    assert flows().sign_in("olga", PASSWORD).status_code == 302
    User.objects.filter(username="olga").update(is_active=False)
    response = flows().sign_in("olga", PASSWORD)
    assert response.status_code == 403 and b"switched off" in response.content


def test_sign_out_ends_the_session(oidc, provider, flows, client):
    provider.set_account("sam", password=PASSWORD, groups=["voxdash-viewers"])
    assert flows().sign_in("sam", PASSWORD).status_code == 302
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    after = client.get(reverse("overview"))
    assert after.status_code == 302 and after["Location"].startswith(reverse("login"))
    assert oidc_entries(Action.SIGNED_OUT) == [("sam", Via.OIDC)]


# --- Failures: each a page in our look, saying what happened and what to do


def assert_problem_page(response, status: int, *words: str) -> str:
    page = response.content.decode()
    assert response.status_code == status, page[:2000]
    assert "What to do:" in page and 'id="site-name"' in page  # our page, with voxdash's header
    for word in words:
        assert word in page
    return page


def test_a_wrong_client_secret_is_an_error_page_without_the_secret(oidc, provider, flows, caplog):
    use_provider(oidc, provider, secret="not-the-secret-voxdash-was-given")
    provider.set_account("wes", password=PASSWORD, groups=["voxdash-callers"])
    response = flows().sign_in("wes", PASSWORD)
    page = assert_problem_page(
        response, 401, "Signing in with Test provider failed", "VOXDASH_OIDC_CLIENT_SECRET"
    )
    assert "not-the-secret-voxdash-was-given" not in page and provider.client_secret not in page
    assert "not-the-secret-voxdash-was-given" not in caplog.text
    assert "invalid_client" in caplog.text  # the provider's answer, for the operator
    assert not response.wsgi_request.user.is_authenticated


def test_the_provider_declining_is_a_cancelled_page(oidc, provider, flows):
    provider.set_account("nia", password=PASSWORD, groups=["voxdash-callers"])
    flow = flows()
    flow.start()
    page = flow.login_form()
    response = flow.back_to_voxdash(flow.submit(page, "abort"))  # "Cancel" at the provider
    assert_problem_page(response, 401, "Sign-in cancelled", "Sign in again")
    assert not User.objects.filter(username="nia").exists()


def test_an_expired_state_is_an_error_page(oidc, provider, flows, client):
    provider.set_account("tom", password=PASSWORD, groups=["voxdash-callers"])
    flow = flows()
    flow.start()
    # Ten minutes and a second at the provider (allauth keeps a state 600 s).
    session = client.session
    states = session["socialaccount_states"]
    for state_id, (state, started, provider_id) in states.items():
        states[state_id] = (state, started - 601, provider_id)
    session["socialaccount_states"] = states
    session.save()
    back = flow.back_to_voxdash(flow.submit(flow.login_form(), "login", login="tom", password=PASSWORD))
    assert_problem_page(back, 400, "This sign-in has expired", "Start again from the sign-in page")
    assert not back.wsgi_request.user.is_authenticated


def test_a_replayed_answer_is_refused(oidc, provider, flows, client):
    provider.set_account("rex", password=PASSWORD, groups=["voxdash-callers"])
    flow = flows()
    flow.start()
    answer = flow.submit(flow.login_form(), "login", login="rex", password=PASSWORD)
    assert flow.back_to_voxdash(answer).status_code == 302
    client.post(reverse("logout"))
    again = flow.back_to_voxdash(answer)  # the same callback URL: its state was used
    assert_problem_page(again, 400, "This sign-in has expired")
    assert not again.wsgi_request.user.is_authenticated


def test_an_unreachable_issuer_is_an_error_page_at_once(oidc, provider, flows):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once closed
    use_provider(oidc, provider, issuer=closed)
    started = time.monotonic()
    response = flows().start()
    assert time.monotonic() - started < 3  # well under the 5 s timeout: refused, not waited for
    assert_problem_page(response, 502, "Test provider cannot be reached", "VOXDASH_OIDC_ISSUER")


def test_a_wrong_issuer_is_an_error_page(oidc, provider, flows):
    # An answering server that is not this issuer: a wrong path, then the same provider by another name.
    use_provider(oidc, provider, issuer=f"{provider.issuer}/not-the-issuer")
    assert_problem_page(flows().start(), 502, "Test provider cannot be reached")
    use_provider(oidc, provider, issuer=provider.issuer.replace("127.0.0.1", "localhost"))
    assert_problem_page(flows().start(), 502, "Test provider cannot be reached")


def test_a_provider_that_never_answers_costs_the_timeout_not_a_hang(oidc, provider, flows):
    oidc.SOCIALACCOUNT_REQUESTS_TIMEOUT = 1
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # the kernel accepts; nobody ever answers (a hung provider)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        use_provider(oidc, provider, issuer=f"http://127.0.0.1:{listener.getsockname()[1]}")
        started = time.monotonic()
        response = flows().start()
        assert time.monotonic() - started < 3
        assert_problem_page(response, 502, "Test provider cannot be reached")
    finally:
        for connection, _ in accepted:
            connection.close()
        listener.close()


def test_opening_the_sign_in_url_asks_before_leaving(oidc, client):
    # A GET (a link from elsewhere) starts nothing: a page with the POST button.
    response = client.get(login_url())
    assert response.status_code == 200
    assert b"Continue to Test provider" in response.content and b'method="post"' in response.content


def test_the_redirect_uri_is_voxdash_s_address_as_people_reach_it(oidc, client):
    # Under a URL prefix, behind a TLS proxy: what must be registered at the provider (README).
    oidc.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    oidc.ALLOWED_HOSTS = ["intranet.example"]
    set_script_prefix("/voxdash/")
    try:
        response = client.post(
            "/accounts/oidc/oidc/login/", headers={"Host": "intranet.example", "X-Forwarded-Proto": "https"}
        )
    finally:
        clear_script_prefix()
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["redirect_uri"] == ["https://intranet.example/voxdash/accounts/oidc/oidc/login/callback/"]
    assert set(query["scope"][0].split()) == {"openid", "profile", "email"}


# --- PKCE


def test_pkce_is_used_and_the_provider_requires_it(oidc, provider, flows, client):
    provider.set_account("pia", password=PASSWORD, groups=["voxdash-callers"])
    flow = flows()
    flow.start()
    query = parse_qs(urlsplit(flow.authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    [verifier] = [
        state["pkce_code_verifier"] for state, _, _ in client.session["socialaccount_states"].values()
    ]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == [digest]

    answer = flow.submit(flow.login_form(), "login", login="pia", password=PASSWORD)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    discovery = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": query["redirect_uri"][0],
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
    }
    refused = httpx.post(discovery["token_endpoint"], data=exchange)  # a stolen code, without the verifier
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
