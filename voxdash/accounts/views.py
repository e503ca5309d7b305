from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from .forms import ThrottledAuthenticationForm


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429  # the page explains; scripts get a status they understand
        return response


login = LoginView.as_view()
