from django.utils.functional import SimpleLazyObject

from voxdash.lib.staff import is_staff_member

from .selectors import open_alert_count


def open_alerts(request):
    """How many alerts are open, for the staff's "Alerts" menu entry: whoever looks at any page
    sees that something is wrong. Lazy: only a page that renders the staff menu asks (kept a few
    seconds: alerts.selectors.open_alert_count)."""
    if not is_staff_member(request.user):
        return {}
    return {"open_alert_count": SimpleLazyObject(open_alert_count)}
