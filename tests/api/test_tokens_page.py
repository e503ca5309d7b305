"""/api/tokens/ and the admin: staff make a token (shown once, only its hash kept), see when each
was last used, and revoke one (its next request is refused); nobody else may."""

import hashlib
import re

import pytest
from django.contrib.auth.models import User

from voxdash.api.models import ServiceToken
from voxdash.audit.models import AuditEntry

from .test_auth import assert_error

pytestmark = pytest.mark.django_db

PAGE = "/api/tokens/"
MADE = re.compile(r'<code id="new-token-value" class="token-value">(vxd_[^<]+)</code>')


@pytest.fixture
def staff(client, db):
    user = User.objects.create_user("stan", password="pw-stan-123", is_staff=True)
    client.force_login(user)
    return client


def make(client, **fields):
    data = {"name": "CRM", "scopes": ["calls:read", "dnc"], "expires": "90", "rate_per_minute": "60"}
    return client.post(PAGE, {**data, **fields})


def made_token(response) -> str:
    found = MADE.search(response.content.decode())
    assert found, response.content
    return found.group(1)


def test_only_staff_see_or_use_the_page(client, viewer, caller):
    assert client.get(PAGE).status_code == 302  # to the sign-in
    for user in (viewer, caller):
        client.force_login(user)
        refused = client.get(PAGE)
        assert refused.status_code == 403
        assert refused["Content-Type"].startswith("text/html")  # the dashboard's page, not the API's
        assert make(client).status_code == 403
    assert not ServiceToken.objects.exists()


def test_a_made_token_is_shown_once_and_works(staff):
    response = make(staff)
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    raw = made_token(response)
    assert "“CRM” is made" in response.content.decode()
    token = ServiceToken.objects.get()
    assert token.scopes == ["calls:read", "dnc"] and token.created_by.username == "stan"
    # Only the hash is kept: no column holds the token.
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ServiceToken.objects.values().get())
    # It works at once, with the scopes ticked.
    answer = staff.get("/api/v1/token", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 200 and answer.json()["scopes"] == ["calls:read", "dnc"]
    # A reload of the page lists it by its prefix, never the token itself.
    reloaded = staff.get(PAGE).content.decode()
    assert raw not in reloaded and not MADE.search(reloaded)
    assert f"vxd_{token.prefix}_…" in reloaded


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"scopes": []}, "scopes", "This field is required."),
        ({"name": "  "}, "name", "This field is required."),
        ({"rate_per_minute": "0"}, "rate_per_minute", "greater than or equal to 1"),
        ({"expires": "forever"}, "expires", "Select a valid choice"),
    ],
)
def test_a_refused_form_keeps_what_was_typed_and_makes_nothing(staff, fields, field, message):
    response = make(staff, name=fields.pop("name", "Billing job"), **fields)
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "No token was made." in body and message in body
    assert message in str(response.context["form"].errors[field])
    if field != "name":
        assert 'value="Billing job"' in body
    assert not MADE.search(body)
    assert not ServiceToken.objects.exists()


def test_a_name_in_use_is_refused_whatever_its_case(staff):
    assert make(staff).status_code == 201
    again = make(staff, name="crm", scopes=["campaigns"])
    assert again.status_code == 422
    body = again.content.decode()
    assert "A token has this name already" in body and 'value="crm"' in body
    assert re.search(r'value="campaigns"[^>]*checked', body)  # the ticked scope is kept
    assert ServiceToken.objects.count() == 1


def test_a_resubmitted_form_makes_no_second_token(staff):
    # A reload of the answer re-sends the POST: the name is then in use, and nothing is shown.
    first = made_token(make(staff))
    again = make(staff)
    assert again.status_code == 422 and first not in again.content.decode()
    assert ServiceToken.objects.count() == 1


def test_revoking_refuses_the_next_request_and_is_audited(staff):
    raw = made_token(make(staff))
    token = ServiceToken.objects.get()
    response = staff.post(f"/api/tokens/{token.pk}/revoke/", follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    body = response.content.decode()
    assert "“CRM” is revoked" in body
    row = re.search(rf'<tr class="token-row token-revoked" id="token-{token.pk}">.*?</tr>', body, re.S)
    assert row and "Revoked" in row.group(0) and "<button" not in row.group(0)
    assert_error(staff.get("/api/v1/token", headers={"Authorization": f"Bearer {raw}"}), 401, "token_revoked")
    entry = AuditEntry.objects.get(action="api_token_revoked")
    assert entry.username == "stan" and entry.object_id == str(token.pk)
    # A second press changes nothing and says so.
    again = staff.post(f"/api/tokens/{token.pk}/revoke/", follow=True)
    assert "was already revoked" in again.content.decode()
    assert AuditEntry.objects.filter(action="api_token_revoked").count() == 1


def test_only_staff_may_revoke_and_only_by_post(staff, client, viewer):
    made_token(make(staff))
    token = ServiceToken.objects.get()
    assert staff.get(f"/api/tokens/{token.pk}/revoke/").status_code == 405
    assert staff.post("/api/tokens/999999/revoke/").status_code == 404
    client.force_login(viewer)
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_last_used_is_shown(staff):
    raw = made_token(make(staff))
    token = ServiceToken.objects.get()

    def last_used():
        body = staff.get(PAGE).content.decode()
        row = re.search(rf'id="token-{token.pk}">.*?</tr>', body, re.S).group(0)
        return re.search(r'<td class="token-last-used">(.*?)</td>', row, re.S).group(1)

    assert last_used() == "Never"
    staff.get("/api/v1/token", headers={"Authorization": f"Bearer {raw}"})
    token.refresh_from_db()
    shown = last_used()
    assert '<time datetime="' in shown
    assert token.last_used_at.strftime("%H:%M") in shown


# --- the admin


def test_the_admin_makes_a_token_shown_once(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/api/servicetoken/add/",
        {
            "name": "Billing",
            "scopes": ["calls:read"],
            "rate_per_minute": "30",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    raw = made_token(response)
    token = ServiceToken.objects.get()
    assert token.name == "Billing" and token.rate_per_minute == 30 and token.created_by == admin_user
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert client.get("/api/v1/token", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    for page in ("/admin/api/servicetoken/", f"/admin/api/servicetoken/{token.pk}/change/"):
        shown = client.get(page)
        assert shown.status_code == 200 and raw not in shown.content.decode()
    assert AuditEntry.objects.filter(action="api_token_created", object_id=str(token.pk)).exists()


def test_the_admin_cannot_delete_a_token_only_revoke_it(client, admin_user, make_token):
    made = make_token(name="CRM")
    client.force_login(admin_user)
    assert client.get(f"/admin/api/servicetoken/{made.token.pk}/delete/").status_code == 403
    changelist = client.get("/admin/api/servicetoken/")
    actions = [value for value, _ in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions and "revoke" in actions
    response = client.post(
        "/admin/api/servicetoken/", {"action": "revoke", "_selected_action": [made.token.pk]}, follow=True
    )
    assert response.status_code == 200
    made.token.refresh_from_db()
    assert made.token.revoked_at is not None and made.token.revoked_by == admin_user
    assert_error(
        client.get("/api/v1/token", headers={"Authorization": f"Bearer {made.raw}"}), 401, "token_revoked"
    )


def test_the_admin_judges_a_name_as_the_page_does(client, admin_user, make_token):
    make_token(name="CRM")
    client.force_login(admin_user)
    response = client.post(
        "/admin/api/servicetoken/add/",
        {"name": " crm ", "scopes": ["dnc"], "rate_per_minute": "60", "expires_at_0": "", "expires_at_1": ""},
    )
    assert response.status_code == 200
    assert "A token has this name already" in response.content.decode()
    assert not MADE.search(response.content.decode())
    assert ServiceToken.objects.count() == 1


@pytest.mark.parametrize(
    "fields, words",
    [({"rate_per_minute": "0"}, "greater than or equal to 1"),
     ({"expires_at_0": "2020-01-01", "expires_at_1": "00:00"}, "That time has passed")],
    ids=["no-requests", "expired-already"],
)  # fmt: skip
def test_the_admin_refuses_a_token_that_could_never_work(client, admin_user, fields, words):
    client.force_login(admin_user)
    form = {
        "name": "Billing",
        "scopes": ["dnc"],
        "rate_per_minute": "60",
        "expires_at_0": "",
        "expires_at_1": "",
    }
    response = client.post("/admin/api/servicetoken/add/", {**form, **fields})
    assert words in response.content.decode() and not MADE.search(response.content.decode())
    assert not ServiceToken.objects.exists()
