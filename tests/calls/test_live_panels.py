"""Live-status panels: each polls the page it is part of, and that view answers htmx with the panel alone."""

from django.urls import reverse

HTMX = {"HX-Request": "true"}


def test_the_sync_panel_is_a_page_and_a_partial(staff_client):
    url = reverse("calls:sync_status")
    page = staff_client.get(url).content.decode()
    assert "<html" in page and 'id="sync-panel"' in page and "Sync the call history" in page
    partial = staff_client.get(url, headers=HTMX).content.decode()
    assert "<html" not in partial and partial.strip().startswith('<div id="sync-panel"')


def test_the_history_shows_the_same_panel(staff_client, simulator):
    body = staff_client.get(reverse("calls:list")).content.decode()
    assert 'id="sync-panel"' in body and f'hx-post="{reverse("calls:sync")}"' in body


def test_a_history_restore_gets_the_whole_page(staff_client):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    assert b"<html" in staff_client.get(reverse("calls:sync_status"), headers=headers).content
