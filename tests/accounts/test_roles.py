"""Who may place calls is a permission (placements.place_call): the Callers group holds it, the
admin may grant it to one person, and nothing asks for a group's name."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.test import Client
from django.urls import reverse

from voxdash.accounts.roles import CALLERS, PLACE_CALL, VIEWERS, can_place_calls, role_group

PLACE = reverse("placements:new")
MENU_ENTRY = b'href="/calls/new/"'


def place_call_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="placements", codename="place_call")


def test_the_migrations_give_callers_the_permission_and_viewers_nothing(db):
    assert list(Group.objects.get(name=CALLERS).permissions.all()) == [place_call_permission()]
    assert not Group.objects.get(name=VIEWERS).permissions.exists()


def test_a_person_granted_the_permission_in_the_admin_may_place_calls_without_the_group(
    client, viewer, vox_settings
):
    client.force_login(viewer)
    assert client.get(PLACE).status_code == 403
    viewer.user_permissions.add(place_call_permission())
    assert client.get(PLACE).status_code == 200
    assert MENU_ENTRY in client.get(reverse("overview")).content


def test_callers_without_the_permission_may_not(client, caller, vox_settings):
    Group.objects.get(name=CALLERS).permissions.clear()  # the admin took it from the group
    client.force_login(caller)
    assert client.get(PLACE).status_code == 403
    assert MENU_ENTRY not in client.get(reverse("overview")).content


def test_inactive_and_anonymous_users_never_may(caller, db):
    from django.contrib.auth.models import AnonymousUser

    assert can_place_calls(caller)
    caller.is_active = False
    assert not can_place_calls(caller)
    assert not can_place_calls(AnonymousUser())


def test_the_admin_offers_the_permission_per_user(admin_client, viewer):
    body = admin_client.get(reverse("admin:auth_user_change", args=[viewer.pk])).content.decode()
    assert "Can place a call through voxdash" in body


def test_role_groups_come_back_with_their_permissions_after_a_flush(db):
    # A flush (live-server tests) empties auth_group; Django's post_migrate brings the permissions
    # back, and ours the role groups holding them.
    Group.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert Group.objects.get(name=CALLERS).permissions.filter(pk=place_call_permission().pk).exists()
    assert Group.objects.filter(name=VIEWERS).exists()


def test_an_existing_role_group_is_left_as_the_admin_set_it(db):
    Group.objects.get(name=CALLERS).permissions.clear()
    assert not role_group("caller").permissions.exists()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert not Group.objects.get(name=CALLERS).permissions.exists()


def test_an_sso_caller_may_place_calls(vox_settings, db):
    vox_settings.VOXDASH_SSO_HEADER = "X-Remote-User"
    vox_settings.VOXDASH_SSO_TRUSTED_PROXIES = ["10.0.0.0/24"]
    vox_settings.VOXDASH_SSO_GROUPS_HEADER = "X-Remote-Groups"
    vox_settings.VOXDASH_SSO_CALLER_GROUPS = ["voxdash-callers"]
    client = Client()
    headers = {"X-Remote-User": "sam", "X-Remote-Groups": "voxdash-callers"}
    assert client.get(PLACE, headers=headers, REMOTE_ADDR="10.0.0.7").status_code == 200
    assert User.objects.get(username="sam").has_perm(PLACE_CALL)


def test_demo_users_refuses_a_database_without_debug(settings, db):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1.*--force"):
        call_command("demo_users")
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.parametrize("debug, args", [(True, []), (False, ["--force"])])
def test_demo_users_with_debug_or_force_makes_the_three_logins(settings, db, capsys, debug, args):
    settings.DEBUG = debug
    call_command("demo_users", *args)
    assert "admin / voxdash-admin" in capsys.readouterr().out
    admin, caller, staff = (User.objects.get(username=name) for name in ("admin", "caller", "staff"))
    assert admin.is_superuser and admin.has_perm(PLACE_CALL)
    assert caller.has_perm(PLACE_CALL) and set(caller.groups.values_list("name", flat=True)) == {CALLERS}
    assert not staff.has_perm(PLACE_CALL) and set(staff.groups.values_list("name", flat=True)) == {VIEWERS}


@pytest.mark.parametrize("who", ["viewer", "caller", "granted"])
def test_asking_costs_one_query_a_request(request, who, django_assert_num_queries):
    # The header asks on every page; ModelBackend's two queries (own, then groups' permissions)
    # showed in the history page's budget.
    user = request.getfixturevalue("viewer" if who == "granted" else who)
    if who == "granted":
        user.user_permissions.add(place_call_permission())
    user = User.objects.get(pk=user.pk)  # fresh, as each request loads it
    with django_assert_num_queries(1):
        allowed = [can_place_calls(user) for _ in range(3)]
    assert allowed == [who != "viewer"] * 3


# --- The answer kept per process (accounts.permissions): no permission query on the next page,
# and a changed role taking effect at once here, within PERMISSIONS_KEPT_SECONDS elsewhere.
def permission_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "auth_permission" in q["sql"]]


def test_the_next_page_asks_the_database_nothing_about_permissions(client, caller, vox_settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(caller)
    with CaptureQueriesContext(connection) as first:
        assert MENU_ENTRY in client.get(reverse("overview")).content
    with CaptureQueriesContext(connection) as second:
        assert MENU_ENTRY in client.get(reverse("overview")).content
    assert len(permission_queries(first.captured_queries)) == 1
    assert permission_queries(second.captured_queries) == []


def test_a_role_taken_away_in_the_admin_is_gone_from_the_next_page(client, caller, vox_settings):
    client.force_login(caller)
    assert MENU_ENTRY in client.get(reverse("overview")).content  # kept now
    caller.groups.remove(Group.objects.get(name=CALLERS))  # what the admin's form does
    assert MENU_ENTRY not in client.get(reverse("overview")).content
    assert client.get(PLACE).status_code == 403


def test_a_role_changed_by_another_process_takes_effect_within_the_kept_time(
    client, caller, vox_settings, monkeypatch
):
    from voxdash.accounts import permissions

    client.force_login(caller)
    assert MENU_ENTRY in client.get(reverse("overview")).content
    # Another process's change: no signal reaches this one (a queryset delete of the link rows
    # sends none that the backend listens to).
    User.groups.through.objects.filter(user=caller).delete()
    assert client.get(PLACE).status_code == 200  # still kept here…
    later = permissions._clock() + permissions.PERMISSIONS_KEPT_SECONDS + 1
    monkeypatch.setattr(permissions, "_clock", lambda: later)
    assert client.get(PLACE).status_code == 403  # …and read again once the kept time is over
    assert MENU_ENTRY not in client.get(reverse("overview")).content


def test_a_deactivated_or_demoted_superuser_is_refused_at_once_everywhere(client, db, vox_settings):
    # is_active and is_superuser are read from the user row each request, never kept.
    boss = User.objects.create_superuser("boss", password="pw-boss-123")
    client.force_login(boss)
    assert MENU_ENTRY in client.get(reverse("overview")).content
    User.objects.filter(pk=boss.pk).update(is_superuser=False)  # no signal: as from another process
    assert MENU_ENTRY not in client.get(reverse("overview")).content
