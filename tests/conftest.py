import pytest

from voxdash.simulator import Simulator, keys


@pytest.fixture
def simulator():
    """A fresh Vox simulator on a free port, over real HTTP; lifecycle advanced by hand."""
    sim = Simulator(port=0, seed=1, calls=300, lifecycle_step_seconds=None)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def vox_settings(settings, simulator):
    """Point the project's Vox client at the simulator with the demo key."""
    from voxdash.vox import reset_client

    settings.VOX_API_BASE_URL = simulator.base_url
    settings.VOX_API_KEY = keys.DEMO_KEY
    reset_client()
    yield settings
    reset_client()
