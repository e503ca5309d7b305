import pytest


@pytest.fixture
def caller_client(client, caller, vox_settings):
    client.force_login(caller)
    return client
