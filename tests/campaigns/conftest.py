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
