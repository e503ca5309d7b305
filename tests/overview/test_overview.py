"""The overview page and the header every page shares."""

import re
import time
from datetime import datetime
from datetime import time as day_time

from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from vox_simulator import keys


def test_overview_shows_the_connection_and_today(viewer_client, simulator):
    response = viewer_client.get(reverse("overview"))
    assert response.status_code == 200
    body = response.content.decode()
    connection = response.context["connection"]
    assert connection.ok and connection.environment == "test"
    assert connection.business_id in body and connection.key_id in body
    today = response.context["today"]
    assert (
        today.period.first_day == today.period.last_day == timezone.localdate()
    )  # the mirror's: no Vox error
    # Links into today's filtered history, and that history holds exactly today's failed calls.
    day = today.period.first_day.isoformat()
    link = f"/calls/?status=failed&amp;created_after={day}"
    assert f'href="{link}"' in body


def test_todays_counts_match_the_simulator(viewer_client, simulator):
    from voxdash.calls.sync import calls_sync
    from voxdash.vox import get_client

    calls_sync(full=True)  # the overview counts the mirror
    since = timezone.make_aware(datetime.combine(timezone.localdate(), day_time.min))
    expected = sum(
        1 for page in get_client().iter_calls(limit=100) for call in page.calls if call.created_at >= since
    )
    today = viewer_client.get(reverse("overview")).context["today"]
    assert today.total == expected > 0


def test_the_overview_s_tiles_are_the_stats_page_s_today(viewer_client, simulator):
    """One source: the mirror, through the selector the stats page uses."""
    from voxdash.calls.sync import calls_sync

    calls_sync(full=True)
    listed = simulator.stats()["requests"].get("/v1/vox/calls", 0)
    overview = viewer_client.get(reverse("overview"))
    assert simulator.stats()["requests"].get("/v1/vox/calls", 0) == listed  # no budget spent on counting
    stats = viewer_client.get(reverse("stats:overview"), {"period": "today"}).context["stats"]
    today = overview.context["today"]
    assert today.total == stats.total > 0
    assert today.by_status == stats.by_status and today.by_direction == stats.by_direction
    assert today.completion_rate == stats.completion_rate
    body = overview.content.decode()
    assert (
        f'<span class="stat-value">{stats.total}</span> <span class="stat-label">calls today</span>' in body
    )
    for status in ("completed", "failed", "no_answer", "in_progress"):
        assert f'<span class="stat-value">{stats.by_status[status]}</span>' in body


def test_header_shows_a_loud_test_badge(viewer_client):
    body = viewer_client.get(reverse("calls:list")).content.decode()
    badge = re.search(r'<span class="env-badge env-test"[^>]*>\s*(\w+)\s*</span>', body)
    assert badge and badge.group(1) == "TEST"


def test_live_key_has_no_test_badge(viewer_client, settings):
    from voxdash.vox import reset_client

    settings.VOX_API_KEY = keys.LIVE_KEY
    reset_client()
    body = viewer_client.get(reverse("overview")).content.decode()
    assert "env-test" not in body and "env-live" in body


def test_every_page_says_when_the_key_is_expired(viewer_client, settings):
    from voxdash.vox import reset_client

    settings.VOX_API_KEY = keys.EXPIRED_KEY
    reset_client()
    for url in (reverse("overview"), reverse("calls:list"), reverse("directory:numbers")):
        response = viewer_client.get(url)
        assert response.status_code == 200
        assert b"expired" in response.content, url
        assert keys.EXPIRED_KEY.encode() not in response.content


def test_health_is_asked_once_for_many_pages(viewer_client, simulator):
    for _ in range(3):
        viewer_client.get(reverse("calls:list"))
    assert simulator.stats()["requests"].get("/v1/vox/health") == 1


def test_a_health_check_with_no_time_left_is_not_cached_for_everyone(viewer_client, simulator):
    # One page spent its deadline on a slow list; its header check was never sent. That says
    # nothing about Vox, so the next page must ask again rather than show "took too long".
    from voxdash.overview.connection import connection_status
    from voxdash.vox import deadline

    with deadline.within(0.01):
        time.sleep(0.02)
        status = connection_status()
    assert status.problem_kind == "VoxDeadlineSpent"
    assert connection_status().ok


def test_while_the_budget_is_spent_the_header_keeps_vox_s_last_answer(viewer_client, simulator, settings):
    # Busy pages spend the budget; the header's next check cannot be sent. The TEST badge and
    # "Connected" must stay (with the time Vox last answered), not turn into "budget spent".
    from django.core.cache import cache

    from voxdash.overview.connection import CACHE_KEY, connection_status
    from voxdash.vox.budget import budget_from_settings

    first = connection_status()
    assert first.ok and first.is_test
    cache.delete(CACHE_KEY)  # its minute is over
    budget_from_settings().pause(30)  # as when Vox said 429: nothing may be sent now
    body = viewer_client.get(reverse("overview")).content.decode()
    assert 'class="env-badge env-test"' in body  # the header's TEST badge
    assert '<span class="badge badge-ok">Connected</span>' in body  # the connection panel
    assert connection_status() == first


def test_the_menu_marks_one_page_current_and_the_crumbs_keep_their_spaces(viewer_client):
    # /stats/ is named "overview" inside its app; only Stats may be marked. Breadcrumbs are inline
    # blocks: without white space between them the "›" separator sticks to the next one.
    body = viewer_client.get(reverse("stats:overview")).content.decode()
    nav = body[body.index('<nav class="voxdash-nav"') : body.index("</nav>")]
    assert re.findall(r'aria-current="page">([^<]+)<', nav) == ["Stats"]
    body = viewer_client.get("/calls/call_not_mirrored_yet/").content.decode()
    assert "Call history</a></li> <li" in body


def test_favicon_ico_leads_to_the_dashboard_s_icon_signed_out_too(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    # The same URL the pages' <link rel="icon"> names (static files are whitenoise's and nginx's).
    assert response["Location"] == static("voxdash/favicon.svg")
    assert (
        f'<link rel="icon" href="{static("voxdash/favicon.svg")}"'
        in client.get(reverse("login")).content.decode()
    )
