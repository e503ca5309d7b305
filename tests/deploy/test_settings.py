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
OURS = (
    "DJANGO_",
    "VOX_",
    "VOXDASH_URL",
    "VOXDASH_SSO",
    "VOXDASH_FRAME",
    "VOXDASH_LOGIN",
    "VOXDASH_ALERT",
    "VOXDASH_AUDIT",
    "VOXDASH_BASE",
    "VOXDASH_ADMINS",
    "EMAIL_",
    "SENTRY_",
    "DATABASE_URL",
    "CELERY_",
    "CACHE_URL",
    "LOG_",
)


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
    filed = {
        "DJANGO_SECRET_KEY": "from-a-file-" + "s" * 40,
        "VOX_API_KEY": "clv_live_sk_filed",
        "VOX_WEBHOOK_SECRET": "whsec_filed",
        "DATABASE_URL": "postgres://vox:pw@db/voxdash",
    }
    for name, value in filed.items():
        (tmp_path / name).write_text(value + "\n")  # mounted secrets often end with a newline
    s = production_settings(
        monkeypatch,
        **{
            f"{name}_FILE": str(tmp_path / name)
            for name in ("DJANGO_SECRET_KEY", "VOX_API_KEY", "VOX_WEBHOOK_SECRET", "DATABASE_URL")
        },
    )
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


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {
            "VOXDASH_URL_PREFIX": "/voxdash",
            "DJANGO_BEHIND_PROXY": "1",
            "VOXDASH_FRAME_ANCESTORS": "https://portal.example",
            "VOXDASH_SSO_HEADER": "X-Remote-User",
            "VOXDASH_SSO_TRUSTED_PROXIES": "10.0.0.1",
        },
    ],
)
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
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- The helpers are strict: a typo is a clear ImproperlyConfigured naming the variable.


@pytest.mark.parametrize(
    "word, expected",
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ],
)
def test_env_bool_reads_the_usual_words(monkeypatch, word, expected):
    from voxdash.settings import env_bool

    monkeypatch.setenv("VOXDASH_TEST_FLAG", word)
    assert env_bool("VOXDASH_TEST_FLAG", not expected) is expected


def test_env_bool_unset_or_empty_is_the_default(monkeypatch):
    from voxdash.settings import env_bool

    monkeypatch.delenv("VOXDASH_TEST_FLAG", raising=False)
    assert env_bool("VOXDASH_TEST_FLAG", True) is True
    monkeypatch.setenv("VOXDASH_TEST_FLAG", "")
    assert env_bool("VOXDASH_TEST_FLAG", False) is False


@pytest.mark.parametrize("word", ["ture", "y", "2", "enabled"])
def test_a_typo_in_a_boolean_is_refused_by_name(monkeypatch, word):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=f"DJANGO_DEBUG='{word}' is not a yes or no"):
        production_settings(monkeypatch, DJANGO_DEBUG=word)


def test_a_secret_file_wins_over_the_empty_line_left_from_env_example(monkeypatch, tmp_path):
    key = tmp_path / "vox_api_key"
    key.write_text("clv_live_sk_from_the_file\n")
    values = production_settings(monkeypatch, VOX_API_KEY="", VOX_API_KEY_FILE=str(key))
    assert values["VOX_API_KEY"] == "clv_live_sk_from_the_file"


def test_a_missing_secret_file_is_refused_by_name(monkeypatch, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    missing = tmp_path / "no-such-secret"
    with pytest.raises(ImproperlyConfigured, match=f"VOX_API_KEY_FILE={missing}: cannot read it"):
        production_settings(monkeypatch, VOX_API_KEY_FILE=str(missing))


@pytest.mark.parametrize(
    "name, value, what",
    [
        ("VOX_MAX_RETRIES", "three", "a whole number"),
        ("VOX_MAX_RETRIES", "2.5", "a whole number"),
        ("VOX_READ_TIMEOUT", "10s", "a number"),
        ("VOX_READ_TIMEOUT", "nan", "a number"),
        ("VOX_CONNECT_TIMEOUT", "inf", "a number"),
        ("DJANGO_SECURE_HSTS_SECONDS", "1y", "a whole number"),
    ],
)
def test_a_bad_number_is_refused_by_name(monkeypatch, name, value, what):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=f"{name}='{value}' is not {what}"):
        production_settings(monkeypatch, **{name: value})


def test_alert_urls_are_split_on_spaces_and_lines_not_commas(monkeypatch):
    urls = "mailto://smtp.example.com?to=a@example.com,b@example.com\n  https://hooks.example/x file:///tmp/a.log"
    s = production_settings(
        monkeypatch, VOXDASH_ALERT_URLS=urls, VOXDASH_BASE_URL="https://intranet.example/vd/"
    )
    assert s["VOXDASH_ALERT_URLS"] == [
        "mailto://smtp.example.com?to=a@example.com,b@example.com",
        "https://hooks.example/x",
        "file:///tmp/a.log",
    ]
    assert s["VOXDASH_BASE_URL"] == "https://intranet.example/vd/"
    assert s["VOXDASH_AUDIT_RETENTION_DAYS"] == 365 and "prune-audit-log" in s["CELERY_BEAT_SCHEDULE"]
    s = production_settings(monkeypatch, VOXDASH_AUDIT_RETENTION_DAYS="0")
    assert "prune-audit-log" not in s["CELERY_BEAT_SCHEDULE"]


def test_a_base_url_that_is_not_a_web_address_is_refused(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="VOXDASH_BASE_URL='intranet.example' is not an http"):
        production_settings(monkeypatch, VOXDASH_BASE_URL="intranet.example")


def test_numbers_still_read_as_before(monkeypatch):
    s = production_settings(
        monkeypatch, VOX_MAX_RETRIES=" 5 ", VOX_READ_TIMEOUT="2.5", VOX_INTERACTIVE_DEADLINE="0"
    )
    assert s["VOX_MAX_RETRIES"] == 5 and s["VOX_READ_TIMEOUT"] == 2.5 and s["VOX_INTERACTIVE_DEADLINE"] == 0.0


# --- Importing settings creates nothing; the processes that write make their own folders.


def fresh_process(var_dir: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OURS) and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="voxdash.settings",
        DJANGO_DEBUG="1",
        VOXDASH_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-c", code] if code else [sys.executable, *args]
    # cwd: an empty folder, so a folder made relative to it (kombu's ./control) would show too.
    result = subprocess.run(
        command,
        cwd=var_dir.parent if var_dir.parent.exists() else ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_importing_settings_and_starting_django_creates_no_folder(tmp_path):
    var_dir = tmp_path / "var-that-does-not-exist"
    fresh_process(var_dir, "import voxdash.settings, django; django.setup()")
    assert not var_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_manage_py_makes_the_sqlite_folder_it_migrates_into(tmp_path):
    var_dir = tmp_path / "fresh" / "var"  # two levels that do not exist yet
    fresh_process(var_dir, "", str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0")
    assert (var_dir / "voxdash.sqlite3").is_file()


@pytest.mark.parametrize(
    "start",
    [
        "import voxdash.wsgi",
        "import django; django.setup(); from celery.signals import worker_init; worker_init.send(sender=None)",
        "import django; django.setup(); from celery.signals import beat_init; beat_init.send(sender=None)",
    ],
    ids=["wsgi", "worker", "beat"],
)
def test_the_web_worker_and_beat_make_the_embedded_broker_s_folders_as_they_start(tmp_path, start):
    var_dir = tmp_path / "var"
    fresh_process(var_dir, f"{start}\nfrom voxdash.celery import app\napp.send_task('voxdash.nothing')")
    assert len(list((var_dir / "celery" / "queue").iterdir())) == 1  # the message was published
    assert (var_dir / "celery" / "control").is_dir()


def test_the_production_package_neither_installs_nor_imports_the_simulator(tmp_path):
    # The simulator and the demo runner are development tools (vox_simulator/): a deployment
    # loads voxdash, its apps, the WSGI app and the Celery app without them.
    code = (
        "import sys, django; django.setup(); import voxdash.wsgi, voxdash.celery, voxdash.urls;"
        "from django.apps import apps;"
        "assert not [a.name for a in apps.get_app_configs() if 'simulator' in a.name], 'installed';"
        "assert not [m for m in sys.modules if m.startswith('vox_simulator')], 'imported'"
    )
    fresh_process(tmp_path / "var", code)
