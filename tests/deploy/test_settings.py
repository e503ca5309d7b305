"""Production settings from the environment: secrets from files, HTTPS behind a proxy, and a clean
`manage.py check --deploy`."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SETTINGS = ROOT / "voxdash" / "settings.py"
# Variables a developer's shell or tests/settings.py may have set; production_settings starts clean.
OURS = ("DJANGO_", "VOX_", "VOXDASH_URL", "VOXDASH_SSO", "VOXDASH_FRAME", "VOXDASH_LOGIN", "DATABASE_URL",
        "CELERY_", "CACHE_URL", "LOG_")


def production_settings(monkeypatch, **env: str) -> dict:
    """settings.py evaluated afresh, in production mode, with this environment."""
    for name in list(os.environ):
        if name.startswith(OURS):
            monkeypatch.delenv(name)
    defaults = {"DJANGO_SECRET_KEY": "production-settings-test-" + "k" * 40, "VOX_API_KEY": "clv_live_sk_env"}
    for name, value in defaults.items():
        if f"{name}_FILE" not in env:
            monkeypatch.setenv(name, value)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_production_defaults_are_secure(monkeypatch):
    s = production_settings(monkeypatch)
    assert s["DEBUG"] is False
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] == 31_536_000
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"]
    assert "SECURE_PROXY_SSL_HEADER" not in s  # X-Forwarded-Proto is believed only when told
    assert s["CSRF_TRUSTED_ORIGINS"] == []


def test_tls_at_the_proxy(monkeypatch):
    s = production_settings(
        monkeypatch,
        DJANGO_BEHIND_PROXY="1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_HSTS_SECONDS="3600",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://intranet.example, https://voxdash.intranet.example",
    )
    assert s["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECURE_HSTS_SECONDS"] == 3600
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://intranet.example", "https://voxdash.intranet.example"]


def test_url_prefix_sets_script_name_static_url_and_cookie_paths(monkeypatch):
    for given in ("voxdash", "/voxdash/", " /voxdash"):
        s = production_settings(monkeypatch, VOXDASH_URL_PREFIX=given)
        assert s["FORCE_SCRIPT_NAME"] == "/voxdash"
        assert s["STATIC_URL"] == "/voxdash/static/"
        assert s["SESSION_COOKIE_PATH"] == s["CSRF_COOKIE_PATH"] == "/voxdash/"
    s = production_settings(monkeypatch)
    assert "FORCE_SCRIPT_NAME" not in s and s["STATIC_URL"] == "static/"


def test_every_secret_may_come_from_a_file(monkeypatch, tmp_path):
    filed = {"DJANGO_SECRET_KEY": "from-a-file-" + "s" * 40, "VOX_API_KEY": "clv_live_sk_filed",
             "VOX_WEBHOOK_SECRET": "whsec_filed", "DATABASE_URL": "postgres://vox:pw@db/voxdash"}
    for name, value in filed.items():
        (tmp_path / name).write_text(value + "\n")  # mounted secrets often end with a newline
    s = production_settings(monkeypatch, **{f"{name}_FILE": str(tmp_path / name) for name in (
        "DJANGO_SECRET_KEY", "VOX_API_KEY", "VOX_WEBHOOK_SECRET", "DATABASE_URL")})
    assert s["SECRET_KEY"] == "from-a-file-" + "s" * 40
    assert s["VOX_API_KEY"] == "clv_live_sk_filed"
    assert s["VOX_WEBHOOK_SECRET"] == "whsec_filed"
    assert s["DATABASES"]["default"]["HOST"] == "db"


def test_the_environment_wins_over_a_file_and_env_falls_back_to_the_default(monkeypatch, tmp_path):
    from voxdash.settings import env

    (tmp_path / "key").write_text("from-file")
    monkeypatch.setenv("VOXDASH_TEST_SECRET_FILE", str(tmp_path / "key"))
    assert env("VOXDASH_TEST_SECRET") == "from-file"
    monkeypatch.setenv("VOXDASH_TEST_SECRET", "from-env")
    assert env("VOXDASH_TEST_SECRET") == "from-env"
    assert env("VOXDASH_TEST_UNSET", "fallback") == "fallback"


def test_production_refuses_to_start_without_its_secrets(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        production_settings(monkeypatch, DJANGO_SECRET_KEY="")


@pytest.mark.parametrize("extra", [{}, {"VOXDASH_URL_PREFIX": "/voxdash", "DJANGO_BEHIND_PROXY": "1",
                                        "VOXDASH_FRAME_ANCESTORS": "https://portal.example",
                                        "VOXDASH_SSO_HEADER": "X-Remote-User",
                                        "VOXDASH_SSO_TRUSTED_PROXIES": "10.0.0.1"}])
def test_check_deploy_is_clean_in_production_mode(tmp_path, extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(OURS) and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="voxdash.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="voxdash.intranet.example",
        VOX_API_KEY="clv_live_sk_check_deploy",
        VOX_WEBHOOK_SECRET="whsec_check_deploy",
        DATABASE_URL="postgres://voxdash@127.0.0.1:5432/voxdash",  # not connected to by `check`
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        VOXDASH_VAR_DIR=str(tmp_path),
        **extra,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
