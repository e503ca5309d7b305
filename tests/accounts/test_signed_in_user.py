"""The signed-in person's row, read on every request by PermissionBackend.get_user with SQL
written once a process (voxdash.accounts.permissions.user_by_id): the same User the ORM gives, in
one query, and the backend a password sign-in records, so that pages take this path."""

from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from voxdash.accounts.permissions import PermissionBackend, user_by_id

pytestmark = pytest.mark.django_db


def test_the_user_read_is_the_orms_field_for_field(viewer):
    viewer.first_name, viewer.last_name, viewer.email = "Vera", "Okonkwo", "vera@example.com"
    viewer.last_login = timezone.now() - timedelta(days=2, microseconds=17)
    viewer.save()
    with CaptureQueriesContext(connection) as queries:
        read = user_by_id(viewer.pk)
    expected = User.objects.get(pk=viewer.pk)
    assert len(queries) == 1
    for field in User._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    # Loaded, not new: saving it updates the row instead of inserting another.
    assert read._state.adding is False and read._state.db == "default"
    read.first_name = "Vee"
    read.save(update_fields=["first_name"])
    assert User.objects.get(pk=viewer.pk).first_name == "Vee" and User.objects.count() == 1


def test_no_such_user_and_a_switched_off_one_are_nobody(viewer):
    assert user_by_id(viewer.pk + 1000) is None
    viewer.is_active = False
    viewer.save()
    assert user_by_id(viewer.pk) is not None  # the row is there
    assert PermissionBackend().get_user(viewer.pk) is None  # but nobody is signed in with it


def test_a_password_sign_in_is_remembered_with_this_backend(client, viewer, vox_settings):
    response = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera-123"})
    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "voxdash.accounts.permissions.PermissionBackend"
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/calls/placed/").status_code == 200
    user_reads = [q["sql"] for q in queries if 'FROM "auth_user"' in q["sql"] and "JOIN" not in q["sql"]]
    assert len(user_reads) == 1, user_reads
