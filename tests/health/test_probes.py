"""/healthz and /readyz: public, JSON, 200 or 503, and nothing secret in the answer."""

import pytest
from django.db import OperationalError
from django.urls import reverse

from vox_simulator import keys

UNREACHABLE_REDIS = "redis://:hunter2-broker-password@127.0.0.1:1/0"  # port 1: refused at once


def test_healthz_answers_without_login_or_database(client):
    # No `db` fixture: pytest-django makes any database query here an error.
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_ok_when_database_broker_and_vox_answer(client, vox_settings):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "vox": "ok",
    }


@pytest.mark.django_db
def test_readyz_503_when_broker_is_unreachable_without_leaking_its_url(client, vox_settings):
    vox_settings.CELERY_BROKER_URL = UNREACHABLE_REDIS
    vox_settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert "hunter2" not in response.content.decode() and "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_503_when_database_fails(client, vox_settings, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect to server at db.internal, password=secret")

    monkeypatch.setattr("voxdash.health.views.connection.cursor", broken_cursor)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "status": "error",
        "ms": response.json()["checks"]["database"]["ms"],
        "error": "OperationalError",
    }
    assert "secret" not in response.content.decode()


@pytest.mark.django_db
def test_vox_problem_is_reported_and_gates_readiness_only_when_configured(client, vox_settings):
    vox_settings.VOX_API_KEY = keys.EXPIRED_KEY
    from voxdash.vox import reset_client

    reset_client()
    response = client.get(reverse("readyz"))
    assert response.status_code == 200  # the mirror keeps pages useful while Vox refuses us
    assert response.json()["checks"]["vox"]["status"] == "error"
    assert response.json()["checks"]["vox"]["error"] == "ExpiredApiKey"
    assert keys.EXPIRED_KEY not in response.content.decode()

    vox_settings.VOXDASH_READYZ_REQUIRES_VOX = True
    assert client.get(reverse("readyz")).status_code == 503


def test_probes_are_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("healthz"), SCRIPT_NAME="/voxdash").status_code == 200
    assert client.get("/accounts/login/").status_code == 301  # everything else is redirected


def test_readyz_refuses_other_methods(client):
    assert client.post(reverse("readyz")).status_code == 405
    assert client.post(reverse("healthz")).status_code == 405
