"""The side panel's filter links, shared by the history and the webhook log."""

import re

from django.contrib.auth.models import User
from django.http import QueryDict
from django.urls import reverse

from voxdash.lib.filter_links import FilterChoice, filter_choices


def test_a_choice_sets_its_parameter_and_goes_back_to_page_one():
    choices = filter_choices("direction", [("", "All"), ("inbound", "Inbound")], "inbound")
    assert choices == [
        FilterChoice("All", {"direction": None, "page": None}, selected=False),
        FilterChoice("Inbound", {"direction": "inbound", "page": None}, selected=True),
    ]
    assert filter_choices("status", [("", "All")], None)[0].selected


def test_the_history_s_links_keep_the_other_filters(viewer_client, simulator):
    body = viewer_client.get(
        reverse("calls:list"), {"status": "failed", "page": 3, "search": "a"}
    ).content.decode()
    link = re.search(r'<li class="selected"><a href="([^"]+)" aria-current="true">Failed</a>', body).group(1)
    assert "status=failed" in link and "search=a" in link and "page=" not in link
    inbound = re.search(r'<a href="([^"]+)">Inbound</a>', body).group(1).replace("&amp;", "&")
    assert "direction=inbound" in inbound and "status=failed" in inbound


def test_the_webhook_log_s_links(client, db, vox_settings):
    client.force_login(User.objects.create_user("stan", password="pw-stan-123", is_staff=True))
    body = client.get(reverse("webhooks:log"), {"outcome": "failed", "page": 2}).content.decode()
    assert re.search(r'<li class="selected"><a href="\?outcome=failed" aria-current="true">', body)


def test_with_the_query_the_hrefs_are_made_in_python():
    choices = filter_choices(
        "status",
        [("", "All"), ("failed", "Failed")],
        "failed",
        query=QueryDict("status=failed&page=3&search=a b"),
    )
    assert [c.href for c in choices] == ["?search=a+b", "?status=failed&search=a+b"]
