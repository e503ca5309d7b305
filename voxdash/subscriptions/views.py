"""/subscriptions/: staff choose which systems are told what voxdash learns, and see each delivery.

Staff only: a subscription sends call data to another system. Changes go through `services`
(audited), then a redirect (post/redirect/get).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from voxdash.lib.staff import staff_only

from . import services
from .delivery import send_later_note
from .forms import SubscriptionForm
from .models import EVENT_TYPES, EventDelivery, Subscription
from .selectors import delivery_log


def _page_number(request) -> int:
    """?page=, 1 when missing or not a number (a hand-made address gets the first page)."""
    value = request.GET.get("page", "")
    return int(value) if value.isdecimal() and len(value) < 10 else 1


@require_http_methods(["GET", "HEAD", "POST"])
@staff_only
def subscription_list(request):
    form = SubscriptionForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        subscription = services.subscription_save(form=form, user=request.user, request=request)
        messages.success(request, f"“{subscription.name}” is subscribed. Give its receiver the secret below.")
        return redirect(subscription)
    context = {"subscriptions": Subscription.objects.all(), "form": form, "event_types": EVENT_TYPES}
    return render(request, "subscriptions/list.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_only
def subscription_detail(request, pk: int):
    subscription = get_object_or_404(Subscription, pk=pk)
    form = SubscriptionForm(request.POST or None, instance=subscription)
    if request.method == "POST" and form.is_valid():
        services.subscription_save(form=form, user=request.user, request=request)
        messages.success(request, "Saved.")
        return redirect(subscription)
    page, rows = delivery_log(subscription=subscription, number=_page_number(request), query=request.GET)
    context = {
        "subscription": subscription,
        "form": form,
        "page": page,
        "rows": rows,
        "pager": page.pager,
        "later": send_later_note(),
    }
    return render(request, "subscriptions/detail.html", context, status=422 if form.errors else 200)


@require_POST
@staff_only
def subscription_rotate(request, pk: int):
    subscription = get_object_or_404(Subscription, pk=pk)
    services.subscription_secret_rotate(subscription=subscription, user=request.user, request=request)
    messages.success(request, "A new secret is made: give it to the receiver. The old one no longer signs.")
    return redirect(subscription)


@require_POST
@staff_only
def subscription_delete_view(request, pk: int):
    subscription = get_object_or_404(Subscription, pk=pk)
    services.subscription_delete(subscription=subscription, user=request.user, request=request)
    messages.success(request, f"“{subscription.name}” is deleted: it is told nothing more.")
    return redirect("subscriptions:list")


@require_POST
@staff_only
def delivery_resend_view(request, pk: int):
    delivery = get_object_or_404(EventDelivery.objects.select_related("event", "subscription"), pk=pk)
    services.delivery_resend(delivery=delivery, user=request.user, request=request)
    messages.success(
        request, f"{delivery.event.type} ({delivery.event.uuid}) will be sent again within seconds."
    )
    return redirect(delivery.subscription)
