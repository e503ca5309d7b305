from django.contrib import admin

from .models import Call, SyncState


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """The mirror, read-only: the list sync and webhooks write it, people do not."""

    list_display = (
        "created_at",
        "customer_name",
        "customer_phone",
        "direction",
        "status",
        "duration_seconds",
    )
    list_filter = ("direction", "status")
    search_fields = ("customer_name", "customer_phone", "=vox_id")
    date_hierarchy = None
    ordering = ("-created_at", "-id")
    # Counting a million rows twice per page (filtered and unfiltered) is the admin's slowest habit.
    show_full_result_count = False
    list_per_page = 20

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = ("name", "last_finished_at", "last_full_at", "watermark", "full_next_page", "last_error")
    readonly_fields = [f.name for f in SyncState._meta.fields]

    def has_add_permission(self, request):
        return False
