"""Campaign pages: the list, a new campaign (upload a file, get a draft), a campaign's page (the
draft's preview, the actions, the live progress, the rows) and its rows as CSV.

Everyone signed in watches; Callers (`placements.place_call`) create, start, pause, resume and
cancel. Every action is a POST through `running.campaign_act`, which decides what still applies
(pressing Start twice starts once), then a redirect (post/redirect/get).
"""

from django.conf import settings
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from voxdash.accounts.roles import CallersOnly, callers_only, can_place_calls
from voxdash.accounts.timezones import user_time_zone
from voxdash.audit.log import Action, audit_record
from voxdash.directory import selectors as directory
from voxdash.lib.htmx import page_or_partial
from voxdash.lib.sheets import MAX_FILE_BYTES, MAX_ROWS, SheetError
from voxdash.placements.forms import PURPOSE_SUGGESTIONS

from . import drafts, progress, running
from .actions import campaign_press
from .forms import CampaignForm
from .models import Campaign

ACTIONS = (running.START, running.PAUSE, running.RESUME, running.CANCEL)
# The htmx container of the rows table (filter links, pager); every other htmx request on the
# page is the live section polling.
ROWS_TARGET = "campaign-rows"


@require_safe
def campaign_list(request):
    """Every campaign, newest first, with its state and progress."""
    page, pager, items = progress.campaign_list(page_number=request.GET.get("page"), query=request.GET)
    context = {"page": page, "pager": pager, "items": items, "rows_html": progress.campaign_list_html(items)}
    return render(request, "campaigns/list.html", context)


def _form(request, data=None, files=None):
    numbers, agents = directory.voice_numbers(), directory.agents()
    time_zone = user_time_zone(request) or settings.TIME_ZONE
    form = CampaignForm(data, files, numbers=numbers.items, agents=agents.items, time_zone=time_zone)
    return form, {"numbers": numbers, "agents": agents}


def _render_new(request, form, pickers):
    context = {
        "form": form,
        "purpose_suggestions": PURPOSE_SUGGESTIONS,
        "max_megabytes": MAX_FILE_BYTES // (1024 * 1024),
        "max_rows": f"{MAX_ROWS:,}",
        **pickers,
    }
    return render(request, "campaigns/new.html", context)


@callers_only
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    """Upload a list and its settings; a valid one becomes a draft, shown with its preview.

    A problem with the file is shown on the file field and every other value is kept (browsers
    do not keep a chosen file, so the page asks for it again).
    """
    form, pickers = _form(request, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            campaign = drafts.campaign_create(
                user=request.user,
                fields=form.campaign_fields(),
                upload=upload,
                filename=upload.name,
                request=request,
            )
        except SheetError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, "Draft saved. Nothing is dialled until you press Start.")
            return redirect("campaigns:detail", pk=campaign.pk)
    return _render_new(request, form, pickers)


@require_http_methods(["GET", "POST"])
def campaign_detail(request, pk: int):
    """A campaign: the draft's preview, or its live progress (htmx polls the live section while it
    runs or is paused), its settings, its events and its rows."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.method == "POST":
        return _act(request, campaign)
    can_act = can_place_calls(request.user)
    if request.GET.get("confirm") == "cancel" and can_act and not campaign.is_over:
        return render(request, "campaigns/confirm_cancel.html", {"campaign": campaign})
    partial = "rows" if request.htmx and request.htmx.target == ROWS_TARGET else "live"
    context = {
        "campaign": campaign,
        "page_url": campaign.get_absolute_url(),  # reversed once: the page links to itself a few times
        "can_act": can_act,
        **_detail_parts(request, campaign, partial),
    }
    return render(request, page_or_partial(request, "campaigns/detail.html", partial), context)


def _detail_parts(request, campaign: Campaign, partial: str) -> dict:
    """What the page, its live section (polled) or its rows table (filtered, paged) needs."""
    # The rate is the live section's (the whole page is "live" too); the rows table shows none.
    now_progress = progress.campaign_progress(campaign=campaign, with_rate=partial == "live")
    parts: dict = {"progress": now_progress}
    if partial == "live":
        parts["events"] = progress.campaign_events(campaign=campaign)
    if not request.htmx or partial == "rows":
        parts["table"] = table = progress.campaign_rows(
            campaign=campaign,
            progress=now_progress,
            state=request.GET.get("state", ""),
            page_number=request.GET.get("page"),
            query=request.GET,
        )
        parts["state_filters"] = progress.campaign_state_filters(
            progress=now_progress, current=table.state, query=request.GET
        )
    elif not now_progress.is_live:
        # The poll that sees the run end (the last one): the rows table, loaded with the page,
        # is brought up to date once, with the filter and page the reader is on.
        current = request.htmx.current_url_abs_path or ""
        parts["rows_refresh_url"] = current if current.startswith(request.path) else request.path
    if not request.htmx:
        parts["run"] = progress.campaign_settings(campaign=campaign)
        if campaign.state == Campaign.State.DRAFT:
            parts["preview"] = drafts.campaign_preview(campaign=campaign)
    return parts


def _act(request, campaign: Campaign):
    if not can_place_calls(request.user):
        raise CallersOnly("Only Callers may start, pause, resume or cancel a campaign.")
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, "Nothing was done: that is not something a campaign can do.")
        return redirect("campaigns:detail", pk=campaign.pk)
    result = campaign_press(campaign_id=campaign.pk, action=action, user=request.user, request=request)
    (messages.success if result.done else messages.warning)(request, result.message)
    return redirect("campaigns:detail", pk=campaign.pk)


@require_safe
def campaign_rows_csv(request, pk: int):
    """Every row of the campaign as CSV, streamed (flat memory at 100,000 rows), formula-safe."""
    campaign = get_object_or_404(Campaign, pk=pk)
    # Every customer's number and name in one file: reading personal data in bulk is recorded.
    audit_record(action=Action.CAMPAIGN_ROWS_EXPORTED, request=request, target=campaign)
    response = StreamingHttpResponse(
        progress.campaign_rows_csv(campaign=campaign), content_type="text/csv; charset=utf-8"
    )
    filename = progress.campaign_csv_filename(campaign=campaign)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
