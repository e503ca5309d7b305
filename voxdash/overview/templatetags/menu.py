"""The main menu's links (voxdash.overview.menu writes them)."""

from django import template

from voxdash.overview.menu import main_menu_html

register = template.Library()


@register.simple_tag
def menu_links(entries, open_alert_count=None):
    """{% menu_links main_menu open_alert_count %}: the context processor's entries, and the count
    of open alerts the context holds (the alerts page's own, else the staff's lazy one)."""
    # The count as the context holds it (lazy for staff, "" for others): asked only by the entry
    # that shows it.
    return main_menu_html(entries or (), open_alert_count=open_alert_count)
