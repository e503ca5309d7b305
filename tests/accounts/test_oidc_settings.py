"""The OpenID Connect settings: the provider allauth is given, from the environment."""

from __future__ import annotations

from django.utils.csp import CSP

from tests.deploy.test_settings import production_settings
from voxdash.settings import oidc_form_action, oidc_socialaccount_providers


def test_the_provider_is_built_from_the_environment_with_pkce(monkeypatch, tmp_path):
    secret = tmp_path / "oidc-secret"
    secret.write_text("s3cret-from-a-file\n")
    values = production_settings(
        monkeypatch,
        VOXDASH_OIDC_ISSUER="https://login.example.com/realms/corp",
        VOXDASH_OIDC_CLIENT_ID="voxdash",
        VOXDASH_OIDC_CLIENT_SECRET_FILE=str(secret),
        VOXDASH_OIDC_NAME="Corp login",
        VOXDASH_OIDC_SCOPES="openid profile email groups",
    )
    provider = values["SOCIALACCOUNT_PROVIDERS"]["openid_connect"]
    assert provider["OAUTH_PKCE_ENABLED"] is True
    assert provider["SCOPE"] == ["openid", "profile", "email", "groups"]
    assert provider["APPS"] == [
        {
            "provider_id": "oidc",
            "name": "Corp login",
            "client_id": "voxdash",
            "secret": "s3cret-from-a-file",
            "settings": {"server_url": "https://login.example.com/realms/corp"},
        }
    ]
    assert values["SOCIALACCOUNT_ADAPTER"] == "voxdash.accounts.oidc.OIDCAccountAdapter"
    assert values["SOCIALACCOUNT_REQUESTS_TIMEOUT"] <= 5  # a provider that is down: a page, not a hang
    # The button's form is answered with a redirect to the provider: form-action must allow it.
    assert values["SECURE_CSP"]["form-action"] == [CSP.SELF, "https://login.example.com"]


def test_without_an_issuer_there_is_no_provider(monkeypatch):
    values = production_settings(monkeypatch)
    assert values["SOCIALACCOUNT_PROVIDERS"]["openid_connect"]["APPS"] == []
    assert (
        oidc_socialaccount_providers(issuer="", client_id="", secret="", name="x", scopes=["openid"])[
            "openid_connect"
        ]["APPS"]
        == []
    )


def test_the_sign_in_form_may_be_redirected_to_the_provider_only():
    assert oidc_form_action("https://login.example.com/realms/corp") == ["https://login.example.com"]
    assert oidc_form_action("http://127.0.0.1:8123") == ["http://127.0.0.1:8123"]
    assert oidc_form_action("") == []
