"""Screenshots of the main pages for the README (not part of the suite: run scripts/screenshots.py).

Its name does not match `test_*.py`, so pytest only collects it when it is named on the command line.
"""

import os
from pathlib import Path

import pytest

from .conftest import ROOT_USER, sign_in

OUT = Path(
    os.environ.get("VOXDASH_SCREENSHOTS", Path(__file__).resolve().parents[2] / "docs" / "screenshots")
)
PAGES = {
    "overview": "/",
    "history": "/calls/",
    "call-detail": "/calls/{call_id}/",
    "place-call": "/calls/new/",
    "numbers": "/numbers/",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(new_page, site, scheme):
    OUT.mkdir(parents=True, exist_ok=True)
    page = new_page(color_scheme=scheme)
    sign_in(page, site.base, *ROOT_USER)
    for name, path in PAGES.items():
        page.goto(site.base + path.format(call_id=site.call_id))
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}-{scheme}.png"))
