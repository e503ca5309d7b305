"""/api/tokens/: staff make, see and revoke the service tokens other systems use for /api/v1/.

A new token is shown once, in the answer to the POST that made it (not after a redirect: the
secret must never sit in a session, a message or a URL), with Cache-Control: no-store.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from voxdash.lib.staff import staff_only

from .forms import TokenForm
from .models import ServiceToken
from .selectors import token_rows
from .tokens import token_create, token_revoke

TOKENS = "api/tokens.html"


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@staff_only
def token_list(request):
    made = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            made = token_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                rate_per_minute=form.cleaned_data["rate_per_minute"],
                created_by=request.user,
                request=request,
            )
            form = TokenForm()
    else:
        form = TokenForm()
    status = 201 if made else 422 if form.is_bound and form.errors else 200
    return render(request, TOKENS, {"form": form, "made": made, "tokens": token_rows()}, status=status)


@require_POST
@staff_only
def token_revoke_view(request, token_id: int):
    token = get_object_or_404(ServiceToken, pk=token_id)
    if token_revoke(token=token, revoked_by=request.user, request=request):
        messages.success(request, f"“{token.name}” is revoked: its next request is refused.")
    else:
        messages.info(request, f"“{token.name}” was already revoked.")
    return redirect("api_tokens:list")
