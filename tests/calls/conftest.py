import pytest


@pytest.fixture
def no_sleep(vox_settings):
    """The client's backoff sleeps recorded instead of slept (retries still happen, instantly)."""
    from voxdash.vox import get_client

    sleeps: list[float] = []
    get_client()._sleep = sleeps.append
    return sleeps


@pytest.fixture
def staff_client(client, db, vox_settings):
    from django.contrib.auth.models import User

    user = User.objects.create_user("stan", password="pw-stan-123", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def synced(vox_settings, db):
    """A mirror holding the simulator's 300 calls (one full sync)."""
    from voxdash.calls.sync import calls_sync

    return calls_sync(full=True)
