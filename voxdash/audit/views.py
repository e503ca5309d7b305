"""/audit/: who did what, when, from where, newest first, filtered; and the same as CSV.

Staff only: the log names every user, their addresses and the numbers they called. Read-only:
there is no view that changes or deletes an entry (nor may the admin: admin.py).
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from voxdash.lib.htmx import page_or_partial
from voxdash.lib.querystring import QueryString
from voxdash.lib.staff import staff_only

from .forms import AuditFiltersForm
from .log import Action, audit_record
from .selectors import audit_csv, audit_entries, audit_page, audit_rows_html


@require_safe
@staff_only
def audit_list(request):
    """The log, a page of 50, as the filters say. A COUNT capped at 10,000 and one SELECT
    (indexed): the entry carries its user's name and its object's label and link, so nothing is
    joined."""
    form = AuditFiltersForm(request.GET)
    form.is_valid()
    filters = form.audit_filters()
    page = audit_page(filters=filters, number=form.cleaned_data.get("page") or 1, query=request.GET)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows_html": audit_rows_html(page.object_list),
        "pager": page.pager,
        "export_url": reverse("audit:export") + QueryString(request.GET).href({"page": None}),
    }
    return render(request, page_or_partial(request, "audit/list.html", "results"), context)


@require_safe
@staff_only
def audit_export(request):
    """The entries of the current filters as CSV, every page, streamed; itself recorded."""
    form = AuditFiltersForm(request.GET)
    form.is_valid()  # a bad value is dropped, as on the page, so the file holds what was shown
    filters = form.audit_filters()
    audit_record(action=Action.AUDIT_EXPORTED, request=request, detail={"filters": filters.params()})
    response = StreamingHttpResponse(
        audit_csv(audit_entries(filters=filters)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="voxdash-audit_{timezone.localdate().isoformat()}.csv"'
    )
    return response
