"""The main menu under the header: which entries a person sees, and which one is the current page.

Worked out here once a page, in Python, instead of in base.html: the template used to ask
`request.resolver_match` a dozen times and test the roles per entry, which cost every page about
as much as its own table (issue 15). The entries are written as HTML here too (main_menu_html,
as lib.rows writes a list's rows): the template's loop cost ~10 µs an entry, 130 µs a staff page.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.urls import ResolverMatch
from django.utils.safestring import SafeString

from voxdash.lib.rows import html_format


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url: str
    current: bool = False  # the page shown belongs here: aria-current="page"
    css_class: str = ""
    # The open alerts' count beside the label. The count itself is the alerts app's context
    # processor's (`open_alert_count`, lazy: one COUNT only when the menu shows it), which the
    # alerts page replaces by its own list's length; overview may not import alerts.
    shows_open_alerts: bool = False


def _section(match: ResolverMatch | None) -> tuple[str, str, str]:
    """(app name, view name, url name) of the page; empty for a page no URL matched (a 404)."""
    if match is None:
        return "", "", ""
    return match.app_name, match.view_name, match.url_name or ""


def main_menu(
    *,
    urls: Mapping[str, str],
    match: ResolverMatch | None,
    can_place_calls: bool,
    is_staff: bool,
) -> list[MenuEntry]:
    """The entries in order. `urls` is the context processor's menu_urls (reversed once a
    process); `match` the page's request.resolver_match (None when no URL matched)."""
    app, view, url_name = _section(match)
    entries = [
        MenuEntry("Overview", urls["overview"], view == "overview"),
        MenuEntry("Call history", urls["calls"], app == "calls"),
        MenuEntry("Placed calls", urls["placed"], view in ("placements:list", "placements:detail")),
    ]
    if can_place_calls:
        entries.append(
            MenuEntry("Place a call", urls["place"], view == "placements:new", css_class="nav-action")
        )
    entries += [
        MenuEntry("Campaigns", urls["campaigns"], app == "campaigns"),
        MenuEntry("Do-not-call", urls["dnc"], app == "dnc"),
        # The directory's pages share no app name of their own with anything else on the menu.
        MenuEntry("Numbers", urls["numbers"], url_name == "numbers"),
        MenuEntry("Agents", urls["agents"], url_name == "agents"),
        MenuEntry("Stats", urls["stats"], app == "stats"),
    ]
    if is_staff:
        entries += [
            MenuEntry("Webhook log", urls["webhooks"], view in ("webhooks:log", "webhooks:log_detail")),
            MenuEntry("Alerts", urls["alerts"], app == "alerts", shows_open_alerts=True),
            MenuEntry("Audit log", urls["audit"], app == "audit"),
            MenuEntry("API tokens", urls["api_tokens"], app == "api_tokens"),
            MenuEntry("Subscriptions", urls["subscriptions"], app == "subscriptions"),
        ]
    return entries


# An entry (the current page's marked for screen readers), and the open alerts' count beside one.
ENTRY_HTML = '<a href="{url}"{css_class}{current}>{label}{badge}</a>'
CSS_CLASS_HTML = ' class="{css_class}"'
CURRENT_HTML = SafeString(' aria-current="page"')
OPEN_ALERTS_HTML = ' <span class="badge badge-failed" title="Open alerts">{count}<span class="visually-hidden"> open</span></span>'


def main_menu_html(entries: Sequence[MenuEntry], *, open_alert_count=None) -> SafeString:
    """The menu's links, a line each. `open_alert_count` (an int, or the context processor's lazy
    one: asked only when an entry shows it) is left out when nothing is open."""
    lines = []
    for entry in entries:
        count = open_alert_count if entry.shows_open_alerts else None
        lines.append(
            html_format(
                ENTRY_HTML,
                url=entry.url,
                css_class=html_format(CSS_CLASS_HTML, css_class=entry.css_class)
                if entry.css_class
                else SafeString(),
                current=CURRENT_HTML if entry.current else SafeString(),
                label=entry.label,
                badge=html_format(OPEN_ALERTS_HTML, count=count) if count else SafeString(),
            )
        )
    return SafeString("\n".join(lines))
