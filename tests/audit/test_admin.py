"""The admin: user and group changes are recorded; the audit log itself is read-only there."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from voxdash.audit.log import Action, audit_record
from voxdash.audit.models import AuditEntry

from .conftest import ADDRESS, entries, rows_of


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser("root", password="pw-root-123")


@pytest.fixture
def admin_in(root, vox_settings) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(root)
    return client


# The empty time-zone inline (voxdash preferences) the user forms carry.
INLINE = {"TOTAL_FORMS": "1", "INITIAL_FORMS": "0", "MIN_NUM_FORMS": "0", "MAX_NUM_FORMS": "1"}


def user_form(user: User, **changes) -> dict:
    """The admin's change form for `user` as a browser submits it, with `changes`."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "groups": [str(g.pk) for g in user.groups.all()],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        # The form's own copy of what it showed: unchanged, so the date is no change.
        "initial-date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **{f"voxdash_profile-{name}": value for name, value in INLINE.items()},
        "_save": "Save",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_adding_changing_and_deleting_a_user_are_recorded(admin_in, auditor):
    secret = "a-new-Passw0rd-for-ada"
    add = {
        "username": "ada",
        "password1": secret,
        "password2": secret,
        "usable_password": "true",
        **{f"voxdash_profile-{name}": value for name, value in INLINE.items()},
        "_save": "Save",
    }
    response = admin_in.post(reverse("admin:auth_user_add"), add)
    assert response.status_code == 302
    ada = User.objects.get(username="ada")
    [added] = entries(Action.USER_ADDED)
    assert (added.username, added.remote_addr, added.object_label, added.object_id) == (
        "root",
        ADDRESS,
        "ada",
        str(ada.pk),
    )
    assert added.object_url == reverse("admin:auth_user_change", args=[ada.pk])

    callers = Group.objects.get(name="Callers")
    change = reverse("admin:auth_user_change", args=[ada.pk])
    response = admin_in.post(change, user_form(ada, groups=[str(callers.pk)], is_staff="on"))
    assert response.status_code == 302
    [changed] = entries(Action.USER_CHANGED)
    assert changed.detail["message"] == "Changed Staff status and Groups."
    assert rows_of(auditor, Action.USER_CHANGED) == [
        [
            "root",
            ADDRESS,
            "Changed a user",
            "ada user",
            "Changed Staff status and Groups.; groups: Callers; access: staff",
        ]
    ]
    password = reverse("admin:auth_user_password_change", args=[ada.pk])
    other = "another-Passw0rd-9"
    admin_in.post(password, {"password1": other, "password2": other, "usable_password": "true"})
    assert entries(Action.USER_CHANGED)[-1].detail["message"] == "Changed password."
    everything = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert secret not in everything and other not in everything  # names of fields, never values

    delete = reverse("admin:auth_user_delete", args=[ada.pk])
    assert admin_in.post(delete, {"post": "yes"}).status_code == 302
    assert not User.objects.filter(username="ada").exists()
    [deleted] = entries(Action.USER_DELETED)
    assert (deleted.object_label, deleted.object_id, deleted.object_url) == ("ada", str(ada.pk), "")


def test_the_bulk_delete_action_records_each_user(admin_in):
    users = [User.objects.create_user(name) for name in ("bo", "chi", "dayo")]
    data = {"action": "delete_selected", "_selected_action": [str(u.pk) for u in users[:2]]}
    changelist = reverse("admin:auth_user_changelist")
    assert admin_in.post(changelist, data).status_code == 200  # the confirmation page: nothing yet
    assert entries(Action.USER_DELETED) == []
    assert admin_in.post(changelist, {**data, "post": "yes"}).status_code == 302
    assert sorted(e.object_label for e in entries(Action.USER_DELETED)) == ["bo", "chi"]
    assert list(
        User.objects.filter(username__in=["bo", "chi", "dayo"]).values_list("username", flat=True)
    ) == ["dayo"]


def test_group_changes_are_recorded(admin_in):
    add = reverse("admin:auth_group_add")
    assert admin_in.post(add, {"name": "Supervisors", "_save": "Save"}).status_code == 302
    group = Group.objects.get(name="Supervisors")
    assert [e.object_label for e in entries(Action.GROUP_ADDED)] == ["Supervisors"]
    change = reverse("admin:auth_group_change", args=[group.pk])
    assert admin_in.post(change, {"name": "Team leads", "_save": "Save"}).status_code == 302
    [changed] = entries(Action.GROUP_CHANGED)
    assert (changed.object_label, changed.detail) == ("Team leads", {"message": "Changed Name."})
    assert (
        admin_in.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}).status_code == 302
    )
    assert [e.object_label for e in entries(Action.GROUP_DELETED)] == ["Team leads"]


def test_a_refused_admin_form_records_nothing(admin_in):
    response = admin_in.post(reverse("admin:auth_group_add"), {"name": "", "_save": "Save"})
    assert response.status_code == 200  # the form again, with its error
    assert entries(Action.GROUP_ADDED) == []


def test_a_superuser_can_neither_change_nor_delete_an_entry_in_the_admin(admin_in):
    entry = audit_record(action=Action.DNC_ADDED, username="cal", detail={"reason": "complaint"})
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    page = admin_in.get(change)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="username"' not in body and "complaint" in body  # shown, read-only
    assert "Save" not in body and 'class="deletelink"' not in body

    assert admin_in.post(change, {"username": "someone-else", "action": "dnc_removed"}).status_code == 403
    assert (
        admin_in.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert admin_in.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert admin_in.post(reverse("admin:audit_auditentry_add"), {"action": "dnc_added"}).status_code == 403
    changelist = reverse("admin:audit_auditentry_changelist")
    listing = admin_in.get(changelist).content.decode()
    assert "delete_selected" not in listing  # no bulk delete action offered
    bulk = {"action": "delete_selected", "_selected_action": [str(entry.pk)], "post": "yes"}
    admin_in.post(changelist, bulk)
    entry_now = AuditEntry.objects.get(pk=entry.pk)
    assert (entry_now.username, entry_now.action, entry_now.detail) == (
        "cal",
        "dnc_added",
        {"reason": "complaint"},
    )


def test_the_admin_lists_filters_and_searches_entries(admin_in):
    audit_record(action=Action.DNC_ADDED, username="cal")
    audit_record(action=Action.CALLS_EXPORTED, username="vera")
    changelist = reverse("admin:audit_auditentry_changelist")

    def listed(**params) -> list[str]:
        body = admin_in.get(changelist, params).content.decode()
        return re.findall(r'<td class="field-action">([^<]*)</td>', body)

    assert listed(q="vera") == ["Exported calls (CSV)"]
    assert listed(action__exact="dnc_added") == ["Added to the do-not-call list"]
    assert len(listed()) == 2 + 1  # and root's own sign-in
