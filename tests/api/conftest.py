"""Tokens and a client that sends them, for every API test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from voxdash.api.scopes import SCOPES


@dataclass
class Api:
    """The Django test client speaking to /api/v1/ with one token."""

    client: object
    raw: str
    token: object

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.raw}", **(headers or {})}

    def get(self, path, data=None, headers=None):
        return self.client.get(f"/api/v1{path}", data, headers=self._headers(headers))

    def post(self, path, json=None, headers=None, **extra):
        if json is None and "data" in extra:
            return self.client.post(
                f"/api/v1{path}", extra.pop("data"), headers=self._headers(headers), **extra
            )
        return self.client.post(
            f"/api/v1{path}", json if json is not None else {}, content_type="application/json",
            headers=self._headers(headers),
        )  # fmt: skip

    def delete(self, path, headers=None):
        return self.client.delete(f"/api/v1{path}", headers=self._headers(headers))


@pytest.fixture
def admin_user(db):
    from django.contrib.auth.models import User

    return User.objects.create_superuser("ada", password="pw-ada-123")


@pytest.fixture
def make_token(db, admin_user):
    """make_token(scopes=[...], name=..., **fields) -> MadeToken (raw token and row)."""
    from voxdash.api.tokens import token_create

    counter = iter(range(1, 1000))

    def make(scopes=None, name=None, **fields):
        return token_create(
            name=name or f"system-{next(counter)}",
            scopes=list(SCOPES) if scopes is None else scopes,
            created_by=admin_user,
            **fields,
        )

    return make


@pytest.fixture
def api_for(client, make_token):
    """api_for(scopes) -> Api: a client with a fresh token of those scopes."""

    def make(scopes=None, **fields):
        made = make_token(scopes=scopes, **fields)
        return Api(client, made.raw, made.token)

    return make


@pytest.fixture
def api(api_for, vox_settings):
    """A client with a token of every scope, against a fresh simulator."""
    return api_for()
