"""Django's ModelBackend, asking for a person's permissions in one query instead of two.

Every page's header asks whether the signed-in person may place calls (`roles.can_place_calls`).
ModelBackend answers from the person's own permissions and their groups' in two queries, which the
history page's budget notices; one query over both relations gives the same set. Everything else
(authentication, the per-request cache on the user, superusers, inactive users) is ModelBackend's.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class PermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        # The attribute ModelBackend itself caches in, so other backends built on it (the SSO
        # backend) reuse this answer instead of asking again.
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            pairs = permissions.values_list("content_type__app_label", "codename").order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in pairs}
        return user_obj._perm_cache
