"""The header's and menu's links (voxdash.overview.context_processors.menu_urls): the same links
as reversing each, reversed once a process per URL prefix."""

import re

from django.urls import clear_script_prefix, reverse, set_script_prefix

from voxdash.overview import context_processors
from voxdash.overview.context_processors import MENU_URLS

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
