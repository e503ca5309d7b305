"""The sign-in settings: strict (a bad value stops the start with the variable's name), and the
OpenID Connect provider block they build."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS = Path(__file__).resolve().parent.parent.parent / "voxdash" / "settings.py"


def settings_with(monkeypatch, **env: str) -> dict:
    """settings.py evaluated afresh with these sign-in variables (and none from the shell)."""
    for name in list(os.environ):
        if name.startswith(("VOXDASH_OIDC_", "VOXDASH_LOCAL_LOGIN", "VOXDASH_REQUIRE_MFA")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_defaults_password_sign_in_for_all_and_no_provider(monkeypatch):
    s = settings_with(monkeypatch)
    assert s["VOXDASH_LOCAL_LOGIN"] == "all" and s["VOXDASH_REQUIRE_MFA_FOR_ADMINS"] is False
    assert s["VOXDASH_OIDC_ISSUER"] == "" and s["SOCIALACCOUNT_PROVIDERS"]["openid_connect"]["APPS"] == []
    assert s["VOXDASH_OIDC_NAME"] == "single sign-on" and s["VOXDASH_OIDC_GROUPS_CLAIM"] == "groups"


def test_a_local_login_mode_that_is_neither_all_nor_admins_stops_the_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match=r"VOXDASH_LOCAL_LOGIN='staff' is neither 'all'"):
        settings_with(monkeypatch, VOXDASH_LOCAL_LOGIN="staff")
    provider = {
        "VOXDASH_OIDC_ISSUER": "https://login.example.com",
        "VOXDASH_OIDC_CLIENT_ID": "voxdash",
        "VOXDASH_OIDC_CLIENT_SECRET": "s3cret",
    }
    chosen = settings_with(monkeypatch, VOXDASH_LOCAL_LOGIN=" Admins ", **provider)
    assert chosen["VOXDASH_LOCAL_LOGIN"] == "admins"


def test_admins_only_without_a_provider_stops_the_start(monkeypatch):
    # Everyone but the administrators would meet a sign-in page with no way in.
    with pytest.raises(ImproperlyConfigured, match="VOXDASH_LOCAL_LOGIN=admins needs VOXDASH_OIDC_ISSUER"):
        settings_with(monkeypatch, VOXDASH_LOCAL_LOGIN="admins")


def test_require_mfa_is_a_strict_yes_or_no(monkeypatch):
    assert (
        settings_with(monkeypatch, VOXDASH_REQUIRE_MFA_FOR_ADMINS="1")["VOXDASH_REQUIRE_MFA_FOR_ADMINS"]
        is True
    )
    with pytest.raises(ImproperlyConfigured, match="VOXDASH_REQUIRE_MFA_FOR_ADMINS='sure'"):
        settings_with(monkeypatch, VOXDASH_REQUIRE_MFA_FOR_ADMINS="sure")


def test_an_issuer_without_its_client_says_what_is_missing(monkeypatch):
    issuer = "https://login.example.com/realms/corp"
    with pytest.raises(
        ImproperlyConfigured, match="VOXDASH_OIDC_CLIENT_ID and VOXDASH_OIDC_CLIENT_SECRET are"
    ):
        settings_with(monkeypatch, VOXDASH_OIDC_ISSUER=issuer)
    with pytest.raises(ImproperlyConfigured, match=r"but VOXDASH_OIDC_CLIENT_SECRET is not"):
        settings_with(monkeypatch, VOXDASH_OIDC_ISSUER=issuer, VOXDASH_OIDC_CLIENT_ID="voxdash")
    with pytest.raises(ImproperlyConfigured, match="VOXDASH_OIDC_ISSUER='login.example.com' is not an http"):
        settings_with(
            monkeypatch,
            VOXDASH_OIDC_ISSUER="login.example.com",
            VOXDASH_OIDC_CLIENT_ID="voxdash",
            VOXDASH_OIDC_CLIENT_SECRET="s3cret",
        )


def test_the_provider_block_from_the_variables_with_the_secret_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "secret").write_text("s3cret-from-a-file\n")
    s = settings_with(
        monkeypatch,
        VOXDASH_OIDC_ISSUER="https://login.example.com/realms/corp",
        VOXDASH_OIDC_CLIENT_ID="voxdash",
        VOXDASH_OIDC_CLIENT_SECRET_FILE=str(tmp_path / "secret"),
        VOXDASH_OIDC_NAME="Corp Login",
        VOXDASH_OIDC_SCOPES="openid profile email groups",
    )
    block = s["SOCIALACCOUNT_PROVIDERS"]["openid_connect"]
    [app] = block["APPS"]
    assert app["provider_id"] == "oidc" and app["name"] == "Corp Login"
    assert (app["client_id"], app["secret"]) == ("voxdash", "s3cret-from-a-file")
    assert app["settings"]["server_url"] == "https://login.example.com/realms/corp"
    assert block["OAUTH_PKCE_ENABLED"] is True
    assert block["SCOPE"] == ["openid", "profile", "email", "groups"]
