"""Fixtures shared by the campaign tests. Each helper's are named for what they give."""

import pytest


# --- "dispatch": the dispatcher against the simulator over HTTP
@pytest.fixture
def dispatch_settings(vox_settings):
    """The simulator's key, with voxdash's request budget off (tests that need it turn it on):
    a campaign test dials more rows than a minute's background share."""
    from voxdash.vox import reset_client

    vox_settings.VOX_REQUESTS_PER_MINUTE = 0
    reset_client()
    yield vox_settings
    reset_client()


@pytest.fixture
def webhooks(simulator):
    from tests.campaigns.dispatching import Webhooks

    return Webhooks(simulator)


# --- every campaign test: the counts the database keeps equal a direct count
def counts_kept_and_direct() -> tuple[dict, dict]:
    """(campaign, state) -> rows, as CampaignRowCount keeps it and as COUNT(*) finds it."""
    from django.db.models import Count

    from voxdash.campaigns.models import CampaignRow, CampaignRowCount

    kept = {(c, s): n for c, s, n in CampaignRowCount.objects.values_list("campaign_id", "state", "n") if n}
    direct = {
        (c, s): n
        for c, s, n in CampaignRow.objects.values_list("campaign_id", "state")
        .annotate(n=Count("*"))
        .order_by()
    }
    return kept, direct


@pytest.fixture(autouse=True)
def _row_counts_exact(request):
    """After each test here that used the database, the row counts the triggers keep equal a
    direct count: every draft, dispatch, outcome, retry and cancel path the tests take checks them."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        request.getfixturevalue("_django_db_helper")  # set up before this fixture, torn down after it
    elif "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    elif "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        yield
        return
    yield
    kept, direct = counts_kept_and_direct()
    assert kept == direct, "CampaignRowCount differs from a direct count of the rows"
