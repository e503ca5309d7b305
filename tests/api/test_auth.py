"""Who may call /api/v1/: a valid, unexpired, unrevoked token holding the endpoint's scope, within
its own rate limit; and every refusal in the one JSON error shape."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from voxdash.api.models import ServiceToken
from voxdash.api.scopes import CALLS_READ, DNC
from voxdash.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == code
    assert body["message"]
    return body


def test_a_token_says_who_it_is(api):
    response = api.get("/token")
    assert response.status_code == 200
    assert response.json()["name"] == api.token.name
    assert response.json()["scopes"] == ["calls:read", "calls:place", "campaigns", "dnc"]


def test_no_token_is_401_with_how_to_send_one(client):
    body = assert_error(client.get("/api/v1/token"), 401, "unauthorized")
    assert "Authorization: Bearer" in body["message"]


@pytest.mark.parametrize("raw", ["nonsense", "vxd_", "vxd_abcdef12_wrong", "clv_test_sk_abc"])
def test_a_wrong_token_is_401(client, make_token, raw):
    make_token()
    response = client.get("/api/v1/token", headers={"Authorization": f"Bearer {raw}"})
    assert_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_right_prefix_with_a_wrong_secret_is_401(client, make_token):
    made = make_token()
    forged = made.raw[:-4] + ("AAAA" if not made.raw.endswith("AAAA") else "BBBB")
    assert_error(
        client.get("/api/v1/token", headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token"
    )


def test_only_a_hash_is_kept(make_token):
    made = make_token()
    row = ServiceToken.objects.get(pk=made.token.pk)
    assert made.raw not in str(row.__dict__)
    assert row.secret_hash != made.raw and len(row.secret_hash) == 64


def test_a_revoked_token_is_refused_at_once(api_for, admin_user):
    from voxdash.api.tokens import token_revoke

    api = api_for()
    assert api.get("/token").status_code == 200
    token_revoke(token=api.token, revoked_by=admin_user)
    assert_error(api.get("/token"), 401, "token_revoked")


def test_an_expired_token_is_refused(api_for):
    api = api_for(expires_at=timezone.now() + timedelta(days=1))
    assert api.get("/token").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert_error(api.get("/token"), 401, "token_expired")


def test_a_missing_scope_is_403_naming_it(api_for):
    api = api_for(scopes=[DNC])
    body = assert_error(api.get("/calls"), 403, "missing_scope")
    assert CALLS_READ in body["message"]


def test_last_used_is_kept_at_most_once_a_minute(api_for):
    api = api_for()
    assert api.token.last_used_at is None
    api.get("/token")
    first = ServiceToken.objects.get(pk=api.token.pk).last_used_at
    assert first is not None
    api.get("/token")
    assert ServiceToken.objects.get(pk=api.token.pk).last_used_at == first
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        api.get("/token")
        assert ServiceToken.objects.get(pk=api.token.pk).last_used_at > first


def test_each_token_has_its_own_rate_limit(api_for):
    slow, other = api_for(rate_per_minute=3), api_for(rate_per_minute=3)
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        answers = [slow.get("/token") for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert [r["X-RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
        assert answers[0]["X-RateLimit-Limit"] == "3"
        refused = assert_error(answers[3], 429, "rate_limited")
        assert "3 requests a minute" in refused["message"]
        assert answers[3]["Retry-After"] == "59"
        assert other.get("/token").status_code == 200  # another token's minute is its own
    with time_machine.travel(timezone.now().replace(second=1) + timedelta(minutes=1), tick=False):
        assert slow.get("/token").status_code == 200  # the next minute


def test_an_unknown_path_is_a_json_404(api):
    assert_error(api.get("/no-such-thing"), 404, "not_found")
    assert_error(api.client.get("/api/v1/no/such/thing"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(api):
    response = api.delete("/token")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_the_schema_is_public_and_openapi_3(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/token" in schema["paths"]


def test_the_docs_page_is_for_signed_in_staff(client, admin_user, viewer):
    assert client.get("/api/v1/docs").status_code == 302  # to the sign-in
    client.force_login(viewer)
    assert client.get("/api/v1/docs").status_code == 403
    client.force_login(admin_user)
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_api_answers_are_never_cached(api):
    assert api.get("/token")["Cache-Control"] == "no-store"


def test_the_service_account_cannot_sign_in_with_a_password(client, make_token):
    made = make_token()
    assert not made.token.user.has_usable_password()
    assert made.token.user.username == f"api:{made.token.name}"
    assert not client.login(username=made.token.user.username, password="")


def test_making_and_revoking_are_in_the_audit_log(make_token, admin_user):
    from voxdash.api.tokens import token_revoke

    made = make_token(name="CRM")
    token_revoke(token=made.token, revoked_by=admin_user)
    actions = list(AuditEntry.objects.filter(object_id=str(made.token.pk)).values_list("action", "username"))
    assert actions == [("api_token_revoked", "ada"), ("api_token_created", "ada")] or sorted(
        actions
    ) == sorted([("api_token_created", "ada"), ("api_token_revoked", "ada")])
