"""Django's ModelBackend, asking for a person's permissions in one query instead of two, and at
most once every PERMISSIONS_KEPT_SECONDS per process; and reading the signed-in person's row with
SQL written once a process.

Every page's header asks whether the signed-in person may place calls (`roles.can_place_calls`).
ModelBackend answers from the person's own permissions and their groups' in two queries, which the
history page's budget notices; one query over both relations gives the same set. Everything else
(authentication, the per-request cache on the user, superusers, inactive users) is ModelBackend's.

The answer is also kept in this process's memory, so a page costs no permission query at all
while the person keeps browsing. How fast a changed role takes effect:
- at once in the process that changed it (the Django admin's request, a sign-in that set the role
  from the identity provider's groups): any change to users, groups, their memberships or their
  permissions made through the ORM forgets every kept answer (the signals below);
- within PERMISSIONS_KEPT_SECONDS in every other process (each keeps its own answers, and
  the change's signals fire only where it was made);
- at once everywhere when the user row itself changes what ModelBackend decides on (is_active,
  is_superuser: read from the row each request, never kept), or the account is another one
  reusing the id (the key holds date_joined).

The signed-in person's row is read on every page and API request (`get_user`). The ORM's
`User.objects.get(pk=…)` builds that one query anew each time, which costs twice the round trip
to PostgreSQL (~0.25 ms of a page's budget, issue 15); `user_by_id` sends the same SELECT, written
once a process, through the ORM's `raw()`.
"""

import threading
import time
from functools import cache

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save

# Long enough that a person browsing asks once in a while, short enough that a role taken away in
# the admin is gone from every process before they could do much with it.
PERMISSIONS_KEPT_SECONDS = 30.0

# (user id, date joined, is_superuser) -> (monotonic time it was read, the permission names)
_kept: dict[tuple, tuple[float, frozenset[str]]] = {}
# Bumped by every forget: an answer read from the database before a change is not kept after it.
_generation = 0
_lock = threading.Lock()
_clock = time.monotonic  # the tests move it on


def permissions_forget(**_signal_arguments) -> None:
    """Forget every kept answer in this process (a user, group or permission changed)."""
    global _generation
    with _lock:
        _generation += 1
        _kept.clear()


def connect_signals() -> None:
    for model in (User, Group, Permission):
        post_save.connect(
            permissions_forget, sender=model, dispatch_uid=f"voxdash-perms-save-{model.__name__}"
        )
        post_delete.connect(
            permissions_forget, sender=model, dispatch_uid=f"voxdash-perms-delete-{model.__name__}"
        )
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(
            permissions_forget, sender=through, dispatch_uid=f"voxdash-perms-m2m-{through.__name__}"
        )


def _read_permissions(user_obj) -> frozenset[str]:
    permissions = Permission.objects.all()
    if not user_obj.is_superuser:
        permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
    pairs = permissions.values_list("content_type__app_label", "codename").order_by()
    return frozenset(f"{app_label}.{codename}" for app_label, codename in pairs)


def _kept_permissions(user_obj) -> frozenset[str]:
    key = (user_obj.pk, user_obj.date_joined, user_obj.is_superuser)
    now = _clock()
    kept = _kept.get(key)
    if kept is not None and now - kept[0] < PERMISSIONS_KEPT_SECONDS:
        return kept[1]
    generation = _generation
    permissions = _read_permissions(user_obj)
    with _lock:
        if generation == _generation:  # nothing changed while we read
            _kept[key] = (now, permissions)
    return permissions


@cache
def _user_select() -> str:
    """SELECT every column of User (as the ORM's get() does) WHERE the primary key = %s."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(field.column) for field in User._meta.concrete_fields)
    return f"SELECT {columns} FROM {quote(User._meta.db_table)} WHERE {quote(User._meta.pk.column)} = %s"


def user_by_id(user_id) -> User | None:
    """The User with this primary key, or None: what `User.objects.get(pk=user_id)` returns, in
    one query whose SQL is not built again every time. Through the ORM's raw(), which turns the
    columns into the model's values as get() does (SQLite's times made aware, for one)."""
    return next(iter(User._default_manager.raw(_user_select(), [user_id])), None)


class PermissionBackend(ModelBackend):
    def get_user(self, user_id):
        # ModelBackend's, reading the row with user_by_id (every request asks).
        user = user_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        # The attribute ModelBackend itself caches in, so other backends built on it (the SSO
        # backend) reuse this answer instead of asking again.
        if not hasattr(user_obj, "_perm_cache"):
            # A user not yet saved has no permissions to read or keep (ModelBackend's rule too).
            user_obj._perm_cache = set(_kept_permissions(user_obj)) if user_obj.pk is not None else set()
        return user_obj._perm_cache
