"""One view serves the whole page and, for htmx, only the part that changes (django-htmx's
example project): the history's results, a call's live status, the sync panel."""


def page_or_partial(request, template: str, partial: str) -> str:
    """`template`, or `template#partial` for an htmx request. A history restore (the back button
    with htmx's history cache off) replaces the whole body, so it gets the whole page."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template
