from django.contrib import admin

from .models import PlacedCall


@admin.register(PlacedCall)
class PlacedCallAdmin(admin.ModelAdmin):
    """An audit trail: readable by staff, changed by nobody."""

    list_display = (
        "attempted_at",
        "username",
        "customer_phone",
        "purpose",
        "outcome",
        "answered_locally",
        "vox_placement_id",
    )
    list_filter = ("outcome", "answered_locally", "attempted_at")
    search_fields = ("customer_phone", "username", "vox_placement_id", "listed_call_id", "idempotency_key")
    date_hierarchy = "attempted_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
