"""/dnc/: the do-not-call list. Everyone signed in sees it; Callers add, import and remove.

Changing the list is allowed to whoever may place calls (`placements.place_call`, held by
Callers): the people who dial are the ones who hear "please don't call me again".
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST, require_safe

from voxdash.accounts.roles import CallersOnly, can_place_calls
from voxdash.lib.formatting import phone_display
from voxdash.lib.paging import pager

from . import do_not_call as dnc
from .forms_dnc import DncAddForm, DncImportForm, DncRemoveForm, DncSearchForm

PAGE_SIZE = 50
IMPORT_ROWS_SHOWN = 200  # of each kind; the counts are always whole


def may_change_list(user) -> bool:
    return can_place_calls(user)


def list_managers_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_change_list(request.user):
            raise CallersOnly("Only Callers may change the do-not-call list.")
        return view(request, *args, **kwargs)

    return wrapper


@require_safe
def dnc_list(request):
    """The list, searchable by number or reason, with the latest changes to it."""
    return _page(request)


def _page(request, *, add_form=None, import_form=None, import_result=None):
    search = DncSearchForm(request.GET)
    search.is_valid()
    query = search.cleaned_data.get("q") or ""
    paginator = Paginator(dnc.dnc_entries(search=query), PAGE_SIZE)
    page = paginator.get_page(search.cleaned_data.get("page") or 1)
    can_change = may_change_list(request.user)
    context = {
        "search": search,
        "query": query,
        "page": page,
        "pager": pager(paginator, page.number),
        "changes": dnc.dnc_recent_changes(),
        "can_change": can_change,
        "add_form": (add_form or DncAddForm()) if can_change else None,
        "import_form": (import_form or DncImportForm()) if can_change else None,
        "import_result": import_result,
        "import_rows_shown": IMPORT_ROWS_SHOWN,
    }
    return render(request, "directory/dnc.html", context)


@require_POST
@list_managers_only
def dnc_add(request):
    form = DncAddForm(request.POST)
    if not form.is_valid():
        return _page(request, add_form=form)  # what was typed stays in the form
    entry, created = dnc.dnc_add(
        phone=form.cleaned_data["phone"],
        reason=form.cleaned_data["reason"],
        user=request.user,
        request=request,
    )
    shown = phone_display(entry.phone)
    if created:
        messages.success(request, f"Added {shown} to the do-not-call list: voxdash will not dial it.")
    else:
        since = f"since {date_format(timezone.localtime(entry.added_at), 'j M Y')}"
        since += f" ({entry.reason})" if entry.reason else ""
        messages.info(request, f"{shown} was already on the do-not-call list {since}; nothing changed.")
    return redirect("dnc:list")


@require_POST
@list_managers_only
def dnc_import(request):
    """Import a CSV; the page shows what was added, already listed and invalid, row by row."""
    form = DncImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, import_form=form)
    upload = form.cleaned_data["file"]
    result = dnc.dnc_import(upload=upload, user=request.user, filename=upload.name, request=request)
    if result.error:
        form.add_error("file", result.error)
        return _page(request, import_form=form)
    return _page(request, import_result=result)


@require_POST
@list_managers_only
def dnc_remove(request):
    form = DncRemoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an entry of the list to remove.")
        return redirect("dnc:list")
    removed = dnc.dnc_remove(entry_id=form.cleaned_data["entry"], user=request.user, request=request)
    if removed is None:
        messages.info(request, "That number was no longer on the list (someone removed it already).")
    else:
        shown = phone_display(removed.phone)
        messages.success(request, f"{shown} is off the do-not-call list: voxdash may dial it again.")
    query = form.cleaned_data.get("q")
    return redirect(reverse("dnc:list") + (f"?{urlencode({'q': query})}" if query else ""))
