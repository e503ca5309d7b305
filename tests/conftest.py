import os

import pytest

from vox_simulator import Simulator, keys

pytest_plugins = [
    "tests.fixtures.celery_worker",
    "tests.fixtures.redis_server",
    "tests.fixtures.secret_grep",
    # Every page the run renders through the W3C Nu HTML Checker, once, after the last test.
    "tests.fixtures.html_check",
]


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (VOXDASH_NO_SKIP=1) a skipped test fails: a missing browser or service must not hide."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("VOXDASH_NO_SKIP") == "1":
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI, which is a failure here: {reason}"


def pytest_collection_modifyitems(items):
    # Under pytest-xdist (make test: `-n 2 --dist loadgroup`), the tests on the deployed stack go to
    # one worker: the stack is a fixture of their package, and building it (a virtualenv installed
    # from the locks) costs a minute in each worker that needs it.
    for item in items:
        if "deploy_stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("deploy_stack"))


@pytest.fixture
def viewer(db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("vera", password="pw-vera-123")
    user.groups.add(Group.objects.get_or_create(name="Viewers")[0])  # flushed by live_server tests
    return user


@pytest.fixture
def caller(db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("cal", password="pw-cal-123")
    user.groups.add(Group.objects.get_or_create(name="Callers")[0])
    return user


@pytest.fixture
def viewer_client(client, viewer, vox_settings):
    """A signed-in Viewer whose pages talk to a fresh simulator."""
    client.force_login(viewer)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The shared cache (list cache, connection status) must not leak answers between tests, nor
    # the copies a process keeps of some of them (lib.caching's kept_here).
    from django.core.cache import cache

    from voxdash.lib.caching import forget_here

    cache.clear()
    forget_here()
    yield
    cache.clear()
    forget_here()
