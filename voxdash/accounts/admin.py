from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from .models import Profile


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    verbose_name_plural = "voxdash preferences"


# The stock user admin, with the person's own time zone beside their groups.
admin.site.unregister(User)


@admin.register(User)
class VoxdashUserAdmin(UserAdmin):
    inlines = [ProfileInline]
