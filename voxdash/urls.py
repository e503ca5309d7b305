from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

admin.site.site_header = "voxdash administration"
admin.site.site_title = "voxdash"
admin.site.site_url = "/"

urlpatterns = [
    path("", include("voxdash.overview.urls")),
    path("calls/", include("voxdash.placements.urls")),
    path("calls/", include("voxdash.calls.urls")),
    path("", include("voxdash.directory.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("webhooks/", include("voxdash.webhooks.urls")),
    path("admin/", admin.site.urls),
]
