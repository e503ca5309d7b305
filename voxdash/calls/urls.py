from django.urls import path

from . import views

app_name = "calls"
urlpatterns = [
    path("", views.call_list, name="list"),
    # Before <vox_id>/: "sync" is ours, not a call id.
    path("sync/", views.sync_now, name="sync"),
    path("sync/status/", views.sync_status, name="sync_status"),
    path("export.csv", views.call_export, name="export"),
    path("count/", views.call_count, name="count"),
    path("<str:vox_id>/", views.call_detail, name="detail"),
]
