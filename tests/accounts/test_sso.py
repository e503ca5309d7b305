"""Trusted-header SSO: believed from the proxy only, users made on first sight, roles from groups."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

PROXY = "10.0.0.7"
STRANGER = "192.0.2.50"
PAGE = "placements:list"  # a page that needs a login and no Vox


@pytest.fixture
def sso(vox_settings, db):  # vox_settings: the header asks a local simulator, not the internet
    settings = vox_settings
    settings.VOXDASH_SSO_HEADER = "X-Remote-User"
    settings.VOXDASH_SSO_TRUSTED_PROXIES = ["10.0.0.0/24", "::1"]
    settings.VOXDASH_SSO_GROUPS_HEADER = ""
    settings.VOXDASH_SSO_DEFAULT_ROLE = "viewer"
    return settings


def get(client: Client, user: str | None = None, *, addr: str = PROXY, groups: str | None = None):
    headers = {}
    if user is not None:
        headers["X-Remote-User"] = user
    if groups is not None:
        headers["X-Remote-Groups"] = groups
    return client.get(reverse(PAGE), headers=headers, REMOTE_ADDR=addr)


def groups_of(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def test_proxy_user_is_created_signed_in_and_given_the_default_role(client, sso):
    response = get(client, "ada@corp")
    assert response.status_code == 200
    assert response.wsgi_request.user.username == "ada@corp"
    assert groups_of("ada@corp") == {"Viewers"}
    assert not User.objects.get(username="ada@corp").has_usable_password()


def test_header_from_an_untrusted_address_is_ignored(client, sso):
    # Someone reaching voxdash past the proxy claims to be the admin.
    User.objects.create_superuser("admin", password="pw-admin-123")
    response = get(client, "admin", addr=STRANGER)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    response = get(client, "mallory", addr=STRANGER)
    assert response.status_code == 302
    assert not User.objects.filter(username="mallory").exists()


def test_groups_header_maps_roles_and_stays_authoritative(client, sso):
    sso.VOXDASH_SSO_GROUPS_HEADER = "X-Remote-Groups"
    sso.VOXDASH_SSO_CALLER_GROUPS = ["voxdash-callers"]
    sso.VOXDASH_SSO_VIEWER_GROUPS = ["voxdash-viewers"]
    assert get(client, "cal", groups="staff, voxdash-callers").status_code == 200
    assert groups_of("cal") == {"Callers"}
    # Next sign-in (a new session), the proxy says they are only a viewer now.
    assert get(Client(), "cal", groups="voxdash-viewers").status_code == 200
    assert groups_of("cal") == {"Viewers"}


def test_no_mapped_group_and_no_default_role_means_no_entry(client, sso):
    sso.VOXDASH_SSO_GROUPS_HEADER = "X-Remote-Groups"
    sso.VOXDASH_SSO_DEFAULT_ROLE = "none"
    assert get(client, "eve", groups="finance").status_code == 302
    assert not User.objects.filter(username="eve").exists()
    # Unmapped groups with a default role: the default.
    sso.VOXDASH_SSO_DEFAULT_ROLE = "viewer"
    assert get(Client(), "eve", groups="finance").status_code == 200
    assert groups_of("eve") == {"Viewers"}


def test_default_role_is_given_once_then_the_admin_decides(client, sso):
    user = User.objects.create_user("bo")
    user.groups.add(Group.objects.get(name="Callers"))  # promoted in the Django admin (groups: a migration)
    assert get(client, "bo").status_code == 200
    assert groups_of("bo") == {"Callers"}


def test_sso_session_ends_when_the_proxy_stops_sending_the_header(client, sso):
    assert get(client, "ada").status_code == 200
    assert get(client, None).status_code == 302


def test_password_login_works_with_sso_on_and_off(client, sso, viewer):
    login = reverse("login")
    response = client.post(login, {"username": "vera", "password": "pw-vera-123"}, REMOTE_ADDR=STRANGER)
    assert response.status_code == 302
    assert get(client, None, addr=STRANGER).status_code == 200  # a password session is not SSO's to end
    sso.VOXDASH_SSO_HEADER = ""
    other = Client()
    assert other.post(login, {"username": "vera", "password": "pw-vera-123"}).status_code == 302
    assert get(other, None).status_code == 200


def test_sso_off_ignores_the_header_even_from_the_proxy(client, sso):
    sso.VOXDASH_SSO_HEADER = ""
    assert get(client, "ada").status_code == 302
    assert not User.objects.filter(username="ada").exists()


def test_header_without_trusted_proxies_is_a_configuration_error(client, sso):
    sso.VOXDASH_SSO_TRUSTED_PROXIES = []
    with pytest.raises(ImproperlyConfigured):
        get(client, "ada")
