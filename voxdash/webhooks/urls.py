from django.urls import path

from . import views, views_log

app_name = "webhooks"
urlpatterns = [
    path("vox/", views.vox, name="vox"),
    path("log/", views_log.webhook_log, name="log"),
    path("log/<int:pk>/", views_log.webhook_log_detail, name="log_detail"),
    path("log/<int:pk>/rerun/", views_log.webhook_log_rerun, name="log_rerun"),
]
