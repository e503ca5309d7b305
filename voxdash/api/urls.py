from django.urls import path

from . import views

app_name = "api_tokens"
urlpatterns = [
    path("tokens/", views.token_list, name="list"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke_view, name="revoke"),
]
