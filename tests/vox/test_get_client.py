"""The per-process client built from settings."""

import threading

from vox_simulator import keys
from voxdash.vox import VoxClient, get_client, reset_client


def test_one_client_per_process_built_from_settings(vox_settings):
    vox_settings.VOX_READ_TIMEOUT = 2.5
    vox_settings.VOX_MAX_RETRIES = 1
    vox_settings.VOX_MAX_RETRY_WAIT = 0.5
    reset_client()
    client = get_client()
    assert isinstance(client, VoxClient) and get_client() is client
    assert client.base_url == vox_settings.VOX_API_BASE_URL
    assert (client.max_retries, client.max_retry_wait) == (1, 0.5)
    assert (
        client._http.timeout.read == 2.5 and client._http.timeout.connect == vox_settings.VOX_CONNECT_TIMEOUT
    )
    assert client.health().environment == "test"


def test_reset_closes_and_rereads_settings(vox_settings):
    first = get_client()
    vox_settings.VOX_API_KEY = keys.LIVE_KEY
    assert get_client() is first  # settings are read once
    reset_client()
    assert first._http.is_closed
    second = get_client()
    assert second is not first and second.health().environment == "live"


def test_concurrent_first_use_builds_one_client(vox_settings):
    reset_client()
    seen, barrier = [], threading.Barrier(8)

    def grab():
        barrier.wait()
        seen.append(get_client())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1


def test_reset_without_a_client_is_harmless():
    reset_client()
    reset_client()
