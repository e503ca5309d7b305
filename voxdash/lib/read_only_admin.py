"""The admin of a record nobody may change by hand (each admin class says why its record is one).

Without add, change and delete permissions the admin still lists and shows each row, its fields
read-only, offers no delete action, and answers a POST to the change or delete page with 403,
superusers included.
"""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
