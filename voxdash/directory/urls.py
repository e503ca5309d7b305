from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("numbers/", views.numbers, name="numbers"),
    path("agents/", views.agents, name="agents"),
]
