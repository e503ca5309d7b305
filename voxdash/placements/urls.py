from django.urls import path

from . import views

app_name = "placements"
urlpatterns = [
    path("new/", views.place_call, name="new"),
    path("placed/", views.placed_call_list, name="list"),
    path("placed/<uuid:key>/", views.placed_call_detail, name="detail"),
    path("placed/<uuid:key>/cancel/", views.scheduled_call_cancel, name="cancel"),
]
