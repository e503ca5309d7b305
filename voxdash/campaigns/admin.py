from django.contrib import admin

from voxdash.lib.read_only_admin import ReadOnlyAdmin

from .models import Campaign, CampaignEvent, CampaignRow


# Read-only: the dispatcher's record, changed by nobody (a row edited by hand could be dialled
# twice, or never). Campaigns are run from their pages.
class CampaignEventInline(admin.TabularInline):
    model = CampaignEvent
    fields = ("at", "action", "username", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "state",
        "created_by_name",
        "created_at",
        "started_at",
        "finished_at",
        "rows_read",
    )
    list_filter = ("state", "created_at")
    search_fields = ("name", "created_by_name", "file_name", "uuid")
    date_hierarchy = "created_at"
    inlines = [CampaignEventInline]


@admin.register(CampaignRow)
class CampaignRowAdmin(ReadOnlyAdmin):
    list_display = (
        "campaign",
        "number",
        "customer_phone",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
    )
    list_filter = ("state", "last_status")
    search_fields = ("customer_phone", "customer_name", "last_call_id", "campaign__name")
    list_select_related = ("campaign",)
    raw_id_fields = ("campaign",)


@admin.register(CampaignEvent)
class CampaignEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "campaign", "action", "username", "note")
    list_filter = ("action", "at")
    search_fields = ("campaign__name", "username", "note")
    list_select_related = ("campaign",)
