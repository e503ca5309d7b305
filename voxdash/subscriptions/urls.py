from django.urls import path

from . import views

app_name = "subscriptions"
urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("<int:pk>/", views.subscription_detail, name="detail"),
    path("<int:pk>/rotate/", views.subscription_rotate, name="rotate"),
    path("<int:pk>/delete/", views.subscription_delete_view, name="delete"),
    path("deliveries/<int:pk>/resend/", views.delivery_resend_view, name="resend"),
]
