from django.urls import path

from . import views_dnc

app_name = "dnc"
urlpatterns = [
    path("", views_dnc.dnc_list, name="list"),
    path("add/", views_dnc.dnc_add, name="add"),
    path("import/", views_dnc.dnc_import, name="import"),
    path("remove/", views_dnc.dnc_remove, name="remove"),
]
