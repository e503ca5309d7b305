from dataclasses import replace

from allauth.account.decorators import secure_admin_login
from allauth.account.models import EmailAddress
from allauth.mfa.base.internal.flows import delete_dangling_recovery_codes
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    ReadOnlyPasswordHashWidget,
    SetUnusablePasswordMixin,
    UserChangeForm,
)
from django.contrib.auth.models import Group, User

from voxdash.audit.admin_records import RecordedAdmin
from voxdash.audit.log import Action, Target

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


# Two pieces of the stock user admin are invalid HTML (every page passes the W3C checker:
# tests/fixtures/html_check.py); mended here rather than by copying Django's templates.
class PasswordHashWidget(ReadOnlyPasswordHashWidget):
    """The password's summary is a <div>, which may not carry the `disabled` its field passes on."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].pop("disabled", None)
        return context


class VoxdashUserChangeForm(UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].widget = PasswordHashWidget()


class VoxdashPasswordChangeForm(AdminPasswordChangeForm):
    # The admin's template puts this help text in a <p>, where Django's <ul> of a warning may not be.
    usable_password_help_text = SetUnusablePasswordMixin.usable_password_help_text + (
        ' <strong id="id_unusable_warning">If disabled, the current password for this user will be lost.</strong>'
    )


@admin.register(User)
class VoxdashUserAdmin(RecordedAdmin, UserAdmin):
    form = VoxdashUserChangeForm
    change_password_form = VoxdashPasswordChangeForm
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


# allauth's models in the admin: only what an administrator needs. E-mail addresses (voxdash verifies
# none), provider apps (the one provider is configured by VOXDASH_OIDC_*, and a second one here would
# be ignored) and tokens (none are stored) are left out; linked provider accounts stay, to look at.
admin.site.unregister(EmailAddress)
admin.site.unregister(SocialApp)
admin.site.unregister(SocialToken)
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(RecordedAdmin, admin.ModelAdmin):
    """Someone's authenticator app or recovery codes: never made or changed by hand (the secrets are
    theirs), but an administrator deletes them for a person who lost their phone, who then signs in
    with the password alone and sets up the app again."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    search_fields = ("user__username",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields
    audit_actions = (Action.MFA_ENABLED, Action.MFA_ENABLED, Action.MFA_DISABLED)

    def audit_target(self, obj, *, link: bool = True) -> Target:
        # Whose: the entry's user is the administrator.
        target = super().audit_target(obj, link=link)
        return replace(target, label=f"{obj.get_type_display()} of {obj.user.get_username()}")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        delete_dangling_recovery_codes(obj.user)  # codes without an app would still be asked for

    def delete_queryset(self, request, queryset) -> None:
        users = {authenticator.user for authenticator in queryset}
        super().delete_queryset(request, queryset)
        for user in users:
            delete_dangling_recovery_codes(user)
