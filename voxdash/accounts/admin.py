from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from voxdash.audit.admin_records import RecordedAdmin
from voxdash.audit.log import Action

from .models import Profile


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    verbose_name_plural = "voxdash preferences"


# The admin's own login page would sign people in with a password alone, around the second factor:
# it sends them to voxdash's sign-in (allauth's flow) instead, and refuses signed-in non-staff.
admin.site.login = secure_admin_login(admin.site.login)

# The stock user and group admins, with the person's own time zone beside their groups, and
# every addition, change and deletion recorded in the audit log (voxdash.audit.admin_records).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class VoxdashUserAdmin(RecordedAdmin, UserAdmin):
    inlines = [ProfileInline]
    audit_actions = (Action.USER_ADDED, Action.USER_CHANGED, Action.USER_DELETED)

    def audit_detail(self, obj) -> dict:
        # What the person may do after the change: the message says "Changed Groups", not to what.
        detail = {"groups": ", ".join(sorted(obj.groups.values_list("name", flat=True))) or "none"}
        if obj.is_superuser or obj.is_staff:
            detail["access"] = "superuser" if obj.is_superuser else "staff"
        if not obj.is_active:
            detail["active"] = "no"
        return detail


@admin.register(Group)
class VoxdashGroupAdmin(RecordedAdmin, GroupAdmin):
    audit_actions = (Action.GROUP_ADDED, Action.GROUP_CHANGED, Action.GROUP_DELETED)
