from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("", views.alert_index, name="index"),
    path("rules/new/", views.alert_rule_new, name="rule_new"),
    path("rules/<int:pk>/", views.alert_rule, name="rule"),
    path("rules/<int:pk>/delete/", views.alert_rule_delete, name="rule_delete"),
    path("channels/<int:pk>/test/", views.alert_channel_test, name="channel_test"),
]
