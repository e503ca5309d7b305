from django.contrib import admin

from voxdash.lib.read_only_admin import ReadOnlyAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Read-only: a record of who did what is worth nothing if it can be edited.

    Without add, change and delete permissions the admin shows the list and each entry's fields
    read-only, offers no delete action, and refuses a POST to the change or delete page (403),
    superusers included. The model refuses too (save and delete raise), should anything else try.
    """

    list_display = ["at", "username", "via", "remote_addr", "action", "object_type", "object_label"]
    list_filter = ["action", "via"]
    search_fields = ["username", "remote_addr", "object_label", "object_id", "request_id"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    # The entry keeps the user's name: the list needs no join (and the user may be gone).
    list_select_related = False
    show_full_result_count = False  # one COUNT per page, not two, on a table that only grows
