"""What each main page weighs: its HTML (raw and gzipped), the stylesheets, scripts, images and
fonts it references, and how many requests a first visit makes; against a budget per page.

Signed in as a staff member who is also a Caller (so every page renders), with a little data:
the Vox simulator's calls and a few campaigns. Pages are fetched through Django's test client
(tests.settings: SQLite, the static files as they are in the tree, before collectstatic hashes
their names); each asset is read once from the static files, as collectstatic would copy it.
What is counted:
  - the HTML of the page;
  - <link rel="stylesheet">, <script src>, <img src>, <link rel="icon"> (the favicon);
  - @import in those stylesheets (fetched for certain) and their url()s (images, fonts): those
    are an upper bound, counted apart ("may load"): a browser fetches an image a stylesheet names
    only when a rule using it applies to the page.
Requests: the page and each distinct asset it certainly loads (an empty cache); "may load" adds
the stylesheets' images.

    .venv/bin/python benchmarks/page_weight.py          # exits 1 when a page is over its budget

tests/test_page_weight.py runs the same pages in the test suite and fails when a page references
a script or stylesheet outside KNOWN_ASSETS (a new library sneaking in) or JS/CSS pass the budget.
"""

from __future__ import annotations

import gzip
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent

# The pages, by name: a path, or None for one found from another page (a campaign's).
PAGES: dict[str, str | None] = {
    "overview": "/",
    "history": "/calls/",
    "call detail": "/calls/call_weigh_1/",  # seed_little's (the call page reads the mirror)
    "place a call": "/calls/new/",
    "placed calls": "/calls/placed/",
    "campaigns": "/campaigns/",
    "campaign detail": None,
    "new campaign": "/campaigns/new/",
    "numbers": "/numbers/",
    "agents": "/agents/",
    "do-not-call": "/dnc/",
    "stats": "/stats/",
    "webhook log": "/webhooks/log/",
    "alerts": "/alerts/",
    "audit": "/audit/",
    "api tokens": "/api/tokens/",
    "subscriptions": "/subscriptions/",
    "preferences": "/accounts/preferences/",
    "sign-in": "/accounts/login/",  # signed out
}
SIGNED_OUT = {"sign-in"}
CAMPAIGN_LINK = re.compile(r'href="(/campaigns/\d+/)"')

# Every script and stylesheet a page may reference (static paths). A new one is a decision: add
# it here, with its reason in the commit, and check its weight against the budgets below.
KNOWN_ASSETS = {
    # The Django admin's look (templates/base.html extends admin/base.html).
    "admin/css/base.css",
    "admin/css/dark_mode.css",
    "admin/css/responsive.css",
    "admin/css/changelists.css",
    "admin/css/forms.css",
    "admin/css/login.css",  # the sign-in page
    "admin/js/theme.js",
    # voxdash's own, and htmx (vendored: static/voxdash/vendor/README.md).
    "voxdash/voxdash.css",
    "voxdash/voxdash.js",
    "voxdash/vendor/htmx-2.0.11.min.js",
}

KB = 1024


@dataclass(frozen=True)
class Budget:
    """Bytes a page may weigh (uncompressed, as the files are) and the requests of a first visit
    (`other`: the favicon, images, and every image its stylesheets name)."""

    html: int
    css: int
    js: int
    other: int
    requests: int


# From what the pages weigh today (2 December 2026, issue 15: HTML 4-50 kB, CSS 70-71 kB, JS
# 56 kB, other 15 kB, 11-12 requests) with headroom: the HTML of a list holds a page of rows (50 on
# the campaign page); CSS is the admin's and ours; JS is htmx (51 kB minified), the admin's theme
# switch (1 kB) and ours (4 kB): no framework, no new library.
DEFAULT_BUDGET = Budget(html=60 * KB, css=80 * KB, js=64 * KB, other=20 * KB, requests=12)
BUDGETS: dict[str, Budget] = {}


@dataclass
class Weight:
    name: str
    path: str
    html: int = 0
    html_gzip: int = 0
    css: int = 0
    js: int = 0
    other: int = 0
    assets: list[str] = field(default_factory=list)  # static paths it certainly loads, each once
    may_load: list[str] = field(default_factory=list)  # the images its stylesheets name
    missing: list[str] = field(default_factory=list)  # referenced but not found

    @property
    def requests(self) -> int:
        return 1 + len(self.assets)

    @property
    def total(self) -> int:
        return self.html + self.css + self.js + self.other

    @property
    def budget(self) -> Budget:
        return BUDGETS.get(self.name, DEFAULT_BUDGET)

    def unknown_assets(self) -> list[str]:
        """The scripts and stylesheets it loads that KNOWN_ASSETS does not list."""
        return [a for a in self.assets if a.endswith((".css", ".js")) and a not in KNOWN_ASSETS]

    def over(self) -> list[str]:
        """What is over the budget, in words; empty when within it."""
        budget, problems = self.budget, []
        for part in ("html", "css", "js", "other", "requests"):
            value, limit = getattr(self, part), getattr(budget, part)
            if value > limit:
                problems.append(f"{part} {value:,} > {limit:,}")
        return problems


class _References(HTMLParser):
    """The URLs a page makes a browser fetch: stylesheets, scripts, images, the icon."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rel = (attrs.get("rel") or "").lower().split()
        if tag == "link" and "stylesheet" in rel and attrs.get("href"):
            self.urls.append(("css", attrs["href"]))
        elif tag == "link" and "icon" in rel and attrs.get("href"):
            self.urls.append(("other", attrs["href"]))
        elif tag == "script" and attrs.get("src"):
            self.urls.append(("js", attrs["src"]))
        elif tag in ("img", "source") and attrs.get("src"):
            self.urls.append(("other", attrs["src"]))


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def page_references(html: str) -> list[tuple[str, str]]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def css_references(css: str, base: str) -> list[tuple[str, str]]:
    """The url()s and @imports of a stylesheet at `base`, made absolute (data: URLs are inline)."""
    found = []
    for match in CSS_URL.finditer(css):
        url = (match.group(1) or match.group(2)).strip()
        if url.startswith(("data:", "#")):
            continue
        kind = "css" if match.group(2) or url.endswith(".css") else "maybe"
        found.append((kind, urljoin(base, url)))
    return found


def static_path(url: str, static_url: str) -> str | None:
    """'admin/css/base.css' for '/static/admin/css/base.css?v=1'; None for a URL outside the static files."""
    path = urlsplit(url).path
    prefix = "/" + static_url.strip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def weigh(name: str, path: str, html: bytes, read_static) -> Weight:
    """The weight of one page: `read_static(static path)` gives an asset's bytes (or None)."""
    from django.conf import settings

    weight = Weight(name=name, path=path, html=len(html), html_gzip=len(gzip.compress(html, 6)))
    pending = [(kind, urljoin(path, url)) for kind, url in page_references(html.decode())]
    seen: set[str] = set()
    while pending:
        kind, url = pending.pop(0)
        asset = static_path(url, settings.STATIC_URL)
        if asset is None or asset in seen:
            if asset is None:
                weight.missing.append(url)  # a page's assets are all static files, or it is news
            continue
        seen.add(asset)
        content = read_static(asset)
        if content is None:
            weight.missing.append(asset)
            continue
        (weight.may_load if kind == "maybe" else weight.assets).append(asset)
        part = "other" if kind == "maybe" else kind
        setattr(weight, part, getattr(weight, part) + len(content))
        if kind == "css":
            pending += css_references(content.decode(errors="replace"), url)
    return weight


def read_static_file(asset: str) -> bytes | None:
    from django.contrib.staticfiles import finders

    found = finders.find(asset)
    return Path(found).read_bytes() if found else None


def page_paths(client) -> dict[str, str]:
    """Every page's path; the campaign page is the first the list links to."""
    paths = {}
    for name, path in PAGES.items():
        if path is None:
            match = CAMPAIGN_LINK.search(client.get("/campaigns/").content.decode())
            if not match:
                raise RuntimeError(f"{name}: no campaign on /campaigns/")
            path = match.group(1)
        paths[name] = path
    return paths


def weigh_pages(client, anonymous) -> list[Weight]:
    """Each page's weight, fetched with `client` (signed in) or `anonymous` (the sign-in page)."""
    weights = []
    for name, path in page_paths(client).items():
        response = (anonymous if name in SIGNED_OUT else client).get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{name} {path}: {response.status_code}")
        weights.append(weigh(name, path, response.content, read_static_file))
    return weights


def seed_little() -> None:
    """A call in the mirror with its events and recording, and a few small campaigns in several
    states (benchmarks/campaign_seed.py)."""
    from datetime import timedelta

    from campaign_seed import seed
    from django.utils import timezone

    from voxdash.calls.models import Call
    from voxdash.webhooks.models import WebhookEvent

    now = timezone.now()
    Call.objects.create(
        vox_id="call_weigh_1",
        direction="outbound",
        status="completed",
        customer_phone="+2348012345678",
        customer_name="Adaeze Okonkwo",
        duration_seconds=125,
        created_at=now - timedelta(hours=1),
        started_at=now - timedelta(minutes=59),
        ended_at=now - timedelta(minutes=57),
        recording_url="https://recordings.example/call_weigh_1.wav",
    )
    for n, (event_type, minutes) in enumerate((("vox.call.started", 59), ("vox.call.completed", 57))):
        WebhookEvent.objects.create(
            event_id=f"evt_weigh_{n}",
            event_type=event_type,
            call_vox_id="call_weigh_1",
            raw_body="{}",
            created=now - timedelta(minutes=minutes),
            payload={"data": {}},
            outcome=WebhookEvent.Outcome.APPLIED,
        )
    seed(big_rows=120, campaigns=4, small_rows=(20, 60))


def staff_caller(username: str = "weigher"):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, password="weigh-pw-123", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Callers")[0])
    return user


def report(weights: list[Weight]) -> bool:
    """Print the table; True when every page is within its budget."""
    print(
        f"{'page':16} {'html':>8} {'gzip':>7} {'css':>8} {'js':>8} {'other':>7} {'requests':>8} {'may':>4}"
        f" {'total':>8}  budget"
    )
    ok = True
    for w in weights:
        over = w.over()
        ok &= not over
        verdict = "met" if not over else "NOT met: " + ", ".join(over)
        print(
            f"{w.name:16} {w.html:8,} {w.html_gzip:7,} {w.css:8,} {w.js:8,} {w.other:7,} {w.requests:8} "
            f"{len(w.may_load):4} {w.total:8,}  {verdict}"
        )
        for url in w.missing:
            print(f"{'':16} missing or outside the static files: {url}")
    b = DEFAULT_BUDGET
    print(
        "\nbytes uncompressed (gzip: the HTML gzipped); other: the favicon and the images the stylesheets"
        " name; may: how many of those a browser may also fetch (only those a rule on the page uses)"
    )
    print(
        f"budget per page: html ≤ {b.html:,}, css ≤ {b.css:,}, js ≤ {b.js:,}, "
        f"other ≤ {b.other:,}, requests ≤ {b.requests}"
    )
    unknown = sorted({a for w in weights for a in w.unknown_assets()})
    if unknown:
        ok = False
        print(f"scripts or stylesheets outside KNOWN_ASSETS: {', '.join(unknown)}")
    print("target: " + ("met" if ok else "NOT met"))
    return ok


def main() -> int:
    import os
    import tempfile

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='voxdash-page-weight-')}/db.sqlite3"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from vox_simulator import Simulator, keys
    from voxdash.vox import reset_client

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    with Simulator(port=0, seed=1, calls=60, rate_limit=None, lifecycle_step_seconds=None) as sim:
        settings.VOX_API_BASE_URL, settings.VOX_API_KEY = sim.base_url, keys.DEMO_KEY
        reset_client()
        seed_little()
        client = Client()
        client.force_login(staff_caller())
        weights = weigh_pages(client, Client())
    return 0 if report(weights) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # campaign_seed beside this script
    raise SystemExit(main())
