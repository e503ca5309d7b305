from django.contrib import admin
from django.urls import include, path

from voxdash.api import v1

admin.site.site_header = "voxdash administration"
admin.site.site_title = "voxdash"
admin.site.site_url = "/"

urlpatterns = [
    path("", include("voxdash.overview.urls")),
    path("calls/", include("voxdash.placements.urls")),
    path("calls/", include("voxdash.calls.urls")),
    path("campaigns/", include("voxdash.campaigns.urls")),
    path("dnc/", include("voxdash.directory.urls_dnc")),
    path("stats/", include("voxdash.stats.urls")),
    path("alerts/", include("voxdash.alerts.urls")),
    path("audit/", include("voxdash.audit.urls")),
    path("", include("voxdash.directory.urls")),
    path("accounts/", include("voxdash.accounts.urls")),
    path("webhooks/", include("voxdash.webhooks.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", v1.urlpatterns()),
    path("api/", include("voxdash.api.urls")),
    path("subscriptions/", include("voxdash.subscriptions.urls")),
    path("", include("voxdash.health.urls")),
]

# The error pages in the dashboard's own look, with the request id (voxdash.health.error_pages).
handler400 = "voxdash.health.error_pages.bad_request"
handler403 = "voxdash.health.error_pages.permission_denied"
handler404 = "voxdash.health.error_pages.page_not_found"
handler500 = "voxdash.health.error_pages.server_error"
# allauth's own rate limit answers with the URLconf's handler429 when it names one.
handler429 = "voxdash.health.error_pages.too_many_requests"
