"""A Caller uploads a list, checks the preview, presses Start and watches the campaign finish.

Everything is real: the live voxdash, a simulator whose calls move on by themselves and post
signed webhooks back, a Celery worker and beat on a Redis of the test's own (the dispatcher runs
only there), and Debian's chromium. Outcomes follow the simulator's last-digit rule: 7 busy,
8 failed, 9 no answer, anything else completed.
"""

import re

import pytest

from tests.fixtures.celery_worker import _database_url, _point_app_at, running_beat, running_worker
from vox_simulator import Simulator, keys

from .conftest import sign_in
from .test_accessibility import AXE, axe_violations

# Row 2 onwards (the header is row 1). Two are skipped before dialling: an invalid number and a
# number already on row 2.
LIST = (
    "customer_phone,customer_name,invoice,amount\r\n"
    "+2348031230001,Adaeze Okonkwo,INV-1,15000\r\n"
    "0803 123 0002,Fúnmiláyọ̀ Adébáyọ̀,INV-2,9500\r\n"
    "+2348031230003,Zoë Müller,INV-3,1200\r\n"
    "+2348031230007,Busy Bee,INV-4,300\r\n"
    "+2348031230008,Fay Failed,INV-5,250\r\n"
    "+2348031230009,Noah Answer,INV-6,700\r\n"
    "12345,Not A Number,INV-7,100\r\n"
    "+2348031230001,Adaeze Again,INV-8,15000\r\n"
)
EXPECTED = {
    "completed": 3,
    "busy": 1,
    "failed": 1,
    "no_answer": 1,
    "invalid": 1,
    "duplicate": 1,
    "pending": 0,
    "in_flight": 0,
    "unknown": 0,
    "do_not_call": 0,
    "cancelled": 0,
}


@pytest.fixture
def running_site(live_server, settings, own_redis, tmp_path):
    """The live server, a lively simulator that posts webhooks to it, a worker and beat."""
    from voxdash.vox import reset_client

    sim = Simulator(
        port=0,
        seed=1,
        calls=20,
        lifecycle_step_seconds=0.3,
        webhook_url=f"{live_server.url}/webhooks/vox/",
        webhook_secret=settings.VOX_WEBHOOK_SECRET,
        webhook_backoff=(0.2, 0.5, 1, 2, 4),
    )
    sim.start()
    settings.VOX_API_BASE_URL = sim.base_url
    settings.VOX_API_KEY = keys.DEMO_KEY
    reset_client()
    env = {
        "VOX_API_BASE_URL": sim.base_url,
        "VOX_API_KEY": keys.DEMO_KEY,
        "VOXDASH_CAMPAIGN_DISPATCH_EVERY": "1",
        "VOX_SYNC_FULL_AT": "",
    }
    old = _point_app_at(own_redis.url, "celery")  # what the pages queue goes to the worker
    try:
        with (
            running_worker(
                _database_url(), tmp_path, broker_url=own_redis.url, queue="celery", extra_env=env
            ) as worker,
            running_beat(tmp_path, broker_url=own_redis.url, extra_env=env),
        ):
            yield live_server, sim, worker
    finally:
        _point_app_at(*old)
        sim.stop()
        reset_client()


def _tallies(page) -> dict[str, int]:
    return {
        item.get_attribute("data-state"): int(item.locator(".tally-count").inner_text())
        for item in page.locator("#campaign-tallies li").all()
    }


@pytest.mark.redis
def test_a_caller_uploads_a_list_starts_it_and_watches_it_finish(page, running_site, caller, tmp_path):
    live_server, sim, worker = running_site
    base = live_server.url
    path = tmp_path / "december.csv"
    path.write_text(LIST, encoding="utf-8")

    sign_in(page, base, "cal", "pw-cal-123")
    page.goto(f"{base}/campaigns/")
    page.click("text=New campaign")
    page.wait_for_url(f"{base}/campaigns/new/")
    page.fill("#id_name", "December reminders")
    page.set_input_files("#id_file", str(path))
    page.fill("#id_purpose", "payment_reminder")
    page.fill("#id_context", "Remind {customer_name} about invoice {invoice} for NGN {amount}.")
    # Open all day, every day: the run must not depend on when the test runs.
    page.fill("#id_window_start", "00:00")
    page.fill("#id_window_end", "00:00")
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        page.check(f"input[name=window_days][value={day}]")
    page.fill("#id_max_in_flight", "3")
    page.click("text=Save draft and preview")

    page.wait_for_url(re.compile(rf"{base}/campaigns/\d+/$"))
    counts = {
        key: page.inner_text(f'#preview-counts dd[data-count="{key}"]')
        for key in ("rows_read", "valid", "invalid", "duplicates", "do_not_call")
    }
    assert counts == {"rows_read": "8", "valid": "6", "invalid": "1", "duplicates": "1", "do_not_call": "0"}
    assert "Remind Adaeze Okonkwo about invoice INV-1 for NGN 15000." in page.inner_text("#preview-examples")
    assert sim.stats()["dialed"] == 0  # a draft dials nothing

    page.click("button[name=action][value=start]")
    page.wait_for_selector("#campaign-state[data-state=running], #campaign-state[data-state=finished]")
    assert "started" in page.locator(".messagelist").inner_text().lower()
    # The live section polls the page until the run is over, then stops.
    page.wait_for_selector("#campaign-state[data-state=finished]", timeout=90_000)
    assert _tallies(page) == EXPECTED
    assert page.inner_text("#campaign-progress-summary") == "8 of 8 rows done, 100%"
    events = page.inner_text("#campaign-events")
    assert "Started it" in events and "Finished" in events
    assert page.locator("#campaign-live[data-hx-trigger]").count() == 0
    # Each valid row was dialled exactly once.
    assert sim.stats()["dialed"] == 6

    # The rows table came with the page; the poll that saw the end brought it up to date.
    page.wait_for_selector('#campaign-rows-table tr[data-state="busy"]')
    states = [row.get_attribute("data-state") for row in page.locator("#campaign-rows-table tbody tr").all()]
    assert sorted(states) == sorted(
        ["completed"] * 3 + ["busy", "failed", "no_answer", "invalid", "duplicate"]
    )
    # Its filter swaps the table alone and puts the filter in the address bar.
    page.click(".campaign-state-filter >> text=Busy (1)")
    page.wait_for_url(re.compile(r"\?state=busy$"))
    busy = page.locator("#campaign-rows-table tbody tr")
    assert busy.count() == 1 and "+234 803 123 0007" in busy.inner_text()
    busy.locator("a.call-link").click()
    page.wait_for_url(re.compile(r"/calls/[^/]+/$"))
    assert "Busy" in page.inner_text("#content")
    assert page.js_errors == []
    assert "Traceback" not in worker.log()


@pytest.fixture
def campaign_pages(site) -> dict[str, str]:
    """name -> path of every campaign page, with a campaign in each state to show."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.campaigns.pages import State, make_campaign, phone
    from voxdash.campaigns.drafts import campaign_create
    from voxdash.campaigns.models import Campaign

    number, agent = site.simulator.store.list_numbers()[0], site.simulator.store.list_agents()[0]
    fields = {
        "name": "Draft with problems",
        "business_voice_number_id": number["id"],
        "ai_agent_id": agent["id"],
        "purpose": "payment_reminder",
        "context_template": "Remind {customer_name} about invoice {invoice} for NGN {amount}.",
        "max_attempts": 2,
        "retry_after_minutes": 30,
        "window_start": "09:00",
        "window_end": "17:00",
        "window_days": "mon,tue,wed,thu,fri",
        "time_zone": "Africa/Lagos",
        "max_in_flight": 5,
    }
    from django.contrib.auth.models import User

    draft = campaign_create(
        user=User.objects.get(username="root"),
        fields=fields,
        upload=SimpleUploadedFile("list.csv", LIST.encode()),
        filename="list.csv",
    )
    rows = [
        (phone(n, n % 10), f"Customer {n}", s)
        for n, s in enumerate([State.COMPLETED, State.BUSY, State.PENDING])
    ]
    running = make_campaign(name="Running", rows=rows)
    paused = make_campaign(
        name="Paused by the breaker",
        state=Campaign.State.PAUSED,
        pause_reason="Vox refused the API key (401): check VOX_API_KEY, then resume.",
        rows=rows,
    )
    finished = make_campaign(name="Finished", state=Campaign.State.FINISHED, rows=rows)
    detail = "/campaigns/{}/"
    return {
        "campaigns": "/campaigns/",
        "new-campaign": "/campaigns/new/",
        "draft": detail.format(draft.pk),
        "running": detail.format(running.pk),
        "running-no-answer": detail.format(running.pk) + "?state=busy",
        "paused": detail.format(paused.pk),
        "finished": detail.format(finished.pk),
        "confirm-cancel": detail.format(running.pk) + "?confirm=cancel",
    }


@pytest.fixture(scope="session")
def axe_script():
    if not AXE.exists():  # test_accessibility.py says how to get it
        pytest.fail(f"{AXE} is missing: run scripts/ensure-node-tools (needs npm)")
    return AXE


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_campaign_pages_pass_axe_and_keep_to_the_csp(new_page, site, campaign_pages, axe_script, scheme):
    from .conftest import ROOT_USER
    from .test_csp import violations

    problems = {}
    # axe needs its own inline script (CSP bypassed); the CSP is checked on a page that keeps it.
    checked, strict = new_page(color_scheme=scheme, bypass_csp=True), new_page(color_scheme=scheme)
    for page in (checked, strict):
        sign_in(page, site.base, *ROOT_USER)
    for name, path in campaign_pages.items():
        checked.goto(site.base + path)
        if found := axe_violations(checked, axe_script):
            problems[f"axe {name}"] = found
        strict.goto(site.base + path)
        if name.startswith("running"):
            strict.wait_for_timeout(2500)  # the live section has polled and been swapped once
        strict.wait_for_load_state("load")
        if found := violations(strict):
            problems[f"csp {name}"] = found
    # The form with its errors.
    checked.goto(f"{site.base}/campaigns/new/")
    checked.click("text=Save draft and preview")
    checked.wait_for_selector(".errorlist")
    if found := axe_violations(checked, axe_script):
        problems["axe new-campaign-errors"] = found
    assert not problems, "\n".join(f"{name}:\n  " + "\n  ".join(found) for name, found in problems.items())
