"""The header's and menu's links (voxdash.overview.context_processors.menu_urls): the same links
as reversing each, reversed once a process per URL prefix."""

import re

from django.urls import clear_script_prefix, reverse, set_script_prefix

from voxdash.overview import context_processors
from voxdash.overview.context_processors import MENU_URLS
from voxdash.overview.menu import MenuEntry, main_menu_html

PAGE = reverse("placements:list")


def test_every_menu_link_of_a_staff_caller_goes_where_its_url_name_says(client, vox_settings, db):
    from django.contrib.auth.models import User

    boss = User.objects.create_superuser("boss", password="pw-boss-123")
    client.force_login(boss)
    body = client.get(PAGE).content.decode()
    hrefs = set(re.findall(r'(?:href|action)="([^"]+)"', body))
    for name, url_name in MENU_URLS.items():
        assert reverse(url_name) in hrefs, name


def test_the_links_are_reversed_once_not_on_every_page(viewer_client, monkeypatch):
    reversed_names = []
    original = context_processors.reverse
    monkeypatch.setattr(
        context_processors, "reverse", lambda name: reversed_names.append(name) or original(name)
    )
    context_processors._menu_urls.cache_clear()
    for _ in range(3):
        assert viewer_client.get(PAGE).status_code == 200
    assert sorted(reversed_names) == sorted(MENU_URLS.values())


def test_under_a_url_prefix_the_links_carry_it(viewer_client):
    # Served under /voxdash/ (Django's WSGIHandler sets the prefix a request; the test client's
    # handler does not), then without, in one process: each prefix has its own links.
    context_processors._menu_urls.cache_clear()
    set_script_prefix("/voxdash/")
    try:
        body = viewer_client.get(PAGE).content.decode()
    finally:
        clear_script_prefix()
    assert 'href="/voxdash/calls/"' in body and 'href="/calls/"' not in body
    assert 'href="/calls/"' in viewer_client.get(PAGE).content.decode()


# --- The main menu's entries (voxdash.overview.menu): who sees which, and which one is current.
def _menu(body: str) -> list[tuple[str, bool]]:
    """(label, is current) of each entry of the main menu, in order."""
    nav = body[
        body.index('<nav class="voxdash-nav"') : body.index("</nav>", body.index('<nav class="voxdash-nav"'))
    ]
    return [
        (label.strip(), "aria-current" in attributes)
        for attributes, label in re.findall(r"<a ([^>]*)>([^<]+)", nav)
    ]


VIEWER_MENU = [
    "Overview",
    "Call history",
    "Placed calls",
    "Campaigns",
    "Do-not-call",
    "Numbers",
    "Agents",
    "Stats",
]


def test_a_viewer_sees_no_caller_or_staff_entries(viewer_client):
    assert [label for label, _ in _menu(viewer_client.get(PAGE).content.decode())] == VIEWER_MENU


def test_a_caller_sees_place_a_call_and_staff_see_their_pages(client, caller, db):
    client.force_login(caller)
    entries = [label for label, _ in _menu(client.get(PAGE).content.decode())]
    assert entries == [*VIEWER_MENU[:3], "Place a call", *VIEWER_MENU[3:]]
    assert 'class="nav-action"' in client.get(PAGE).content.decode()

    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("ops", password="pw-ops-123", is_staff=True))
    entries = [label for label, _ in _menu(client.get(PAGE).content.decode())]
    assert entries == [*VIEWER_MENU, "Webhook log", "Alerts", "Audit log", "API tokens", "Subscriptions"]


def test_the_entry_of_the_page_shown_is_current_and_no_other(client, db):
    from django.contrib.auth.models import Group, User

    boss = User.objects.create_user("boss", password="pw-boss-123", is_staff=True)
    boss.groups.add(Group.objects.get(name="Callers"))
    client.force_login(boss)
    pages = {
        "overview": "Overview",
        "calls:list": "Call history",
        "placements:list": "Placed calls",
        "placements:new": "Place a call",
        "campaigns:list": "Campaigns",
        "campaigns:new": "Campaigns",
        "dnc:list": "Do-not-call",
        "directory:numbers": "Numbers",
        "directory:agents": "Agents",
        "stats:overview": "Stats",
        "webhooks:log": "Webhook log",
        "alerts:index": "Alerts",
        "audit:index": "Audit log",
        "api_tokens:list": "API tokens",
        "subscriptions:list": "Subscriptions",
    }
    for url_name, label in pages.items():
        entries = _menu(client.get(reverse(url_name)).content.decode())
        assert [entry for entry, current in entries if current] == [label], url_name
    # A page no URL matched (a 404 of the resolver) has no current entry, and still a menu.
    entries = _menu(client.get("/no-such-page/").content.decode())
    assert entries and not [entry for entry, current in entries if current]


def test_the_links_are_written_escaped_with_the_current_one_and_the_open_count():
    entries = [
        MenuEntry("Calls & more", "/calls/?a=1&b=<2>", current=True),
        MenuEntry("Place a call", "/place/", css_class="nav-action"),
        MenuEntry("Alerts", "/alerts/", shows_open_alerts=True),
    ]
    assert main_menu_html(entries, open_alert_count=3).split("\n") == [
        '<a href="/calls/?a=1&amp;b=&lt;2&gt;" aria-current="page">Calls &amp; more</a>',
        '<a href="/place/" class="nav-action">Place a call</a>',
        '<a href="/alerts/">Alerts <span class="badge badge-failed" title="Open alerts">3'
        '<span class="visually-hidden"> open</span></span></a>',
    ]
    # Nothing open, or no count in the context (a Viewer's page): no badge.
    assert main_menu_html(entries[2:], open_alert_count=0) == '<a href="/alerts/">Alerts</a>'
    assert main_menu_html(entries[2:]) == '<a href="/alerts/">Alerts</a>'
