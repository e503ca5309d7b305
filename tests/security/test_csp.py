"""Strict CSP on every page: a nonce for scripts, no inline script or style anywhere in the HTML.

Every GET pattern of the URL table (and the admin's) is requested as a superuser, in full and as
an htmx partial. The browser half (no violation reported while the pages run) is
tests/browser/test_csp.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from django.test import Client

from .conftest import make_user
from .test_url_walk import rule_for
from .urlwalk import sample_url, url_patterns


class InlineFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.nonces: set[str] = set()
        self.htmx_config: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "style" in attributes:
            self.problems.append(f"<{tag} style=…>")
        if any(name.startswith("on") for name in attributes):
            self.problems.append(f"<{tag} {[n for n in attributes if n.startswith('on')][0]}=…>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script" and attributes.get("type") == "application/json":
            return  # a data block (the API docs' settings): the browser never runs it
        if tag == "script":
            if not attributes.get("src"):
                self.problems.append("<script> without src")
            self.nonces.add(attributes.get("nonce") or "")
        if tag == "a" and (attributes.get("href") or "").strip().lower().startswith("javascript:"):
            self.problems.append("<a href=javascript:…>")
        if tag == "meta" and attributes.get("name") == "htmx-config":
            self.htmx_config = attributes.get("content")


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def html_pages(samples):
    """(name, url) of every pattern a superuser GETs as a 200."""
    for pattern in url_patterns():
        rule = rule_for(pattern)
        if rule is not None and rule.method == "GET":
            yield pattern.name, sample_url(pattern, samples)


def test_every_page_has_a_strict_csp_and_no_inline_script_or_style(samples, vox_settings):
    client = Client()
    client.force_login(make_user("superuser"))
    checked, problems = 0, []
    for name, url in html_pages(samples):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            where = f"{name} ({url}{' as htmx' if headers else ''})"
            if response.status_code != 200:
                continue  # redirects, 403s and 405s: test_url_walk says which and why
            header = response.headers.get("Content-Security-Policy", "")
            if not header:
                problems.append(f"{where}: no Content-Security-Policy header")
                continue
            csp = csp_directives(header)
            script_src = csp.get("script-src", csp.get("default-src", []))
            # Django adds a nonce only to responses that used one (pages with a <script>).
            nonce = next((s[len("'nonce-") : -1] for s in script_src if s.startswith("'nonce-")), None)
            for directive in ("script-src", "style-src", "default-src"):
                unsafe = {"'unsafe-inline'", "'unsafe-eval'"} & set(csp.get(directive, []))
                if unsafe:
                    problems.append(f"{where}: {directive} allows {sorted(unsafe)}")
            if csp.get("object-src") != ["'none'"] or csp.get("frame-ancestors") != ["'none'"]:
                problems.append(f"{where}: object-src/frame-ancestors not 'none'")
            if not response["Content-Type"].startswith("text/html"):
                continue
            checked += 1
            finder = InlineFinder()
            finder.feed(response.content.decode())
            problems += [f"{where}: {problem}" for problem in dict.fromkeys(finder.problems)]
            # A script from 'self' runs without one (the API docs' Swagger files); one that has a
            # nonce must carry this response's.
            if finder.nonces - {""} and (not nonce or finder.nonces - {""} != {nonce}):
                problems.append(f"{where}: <script> nonces {finder.nonces} but the header's is {nonce}")
            if name == "overview" and not finder.nonces:
                problems.append(f"{where}: no <script> at all? (htmx and voxdash.js are expected)")
            if (
                finder.htmx_config is not None
                and json.loads(finder.htmx_config).get("allowEval") is not False
            ):
                problems.append(f"{where}: htmx-config does not set allowEval false")
    assert checked > 40  # the walk reached the pages (and the admin's), not only redirects
    assert not problems, "\n".join(problems)


def test_htmx_is_configured_without_eval_on_every_full_page(samples, vox_settings):
    client = Client()
    client.force_login(make_user("superuser"))
    response = client.get("/")
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', response.content.decode())
    assert config, "the htmx-config meta is missing"
    settings = json.loads(config[1])
    assert settings["allowEval"] is False
    assert settings["allowScriptTags"] is False  # swapped-in HTML never runs a script
    assert settings["includeIndicatorStyles"] is False  # htmx would add an inline <style>


def test_the_nonce_changes_with_every_response(samples, vox_settings):
    client = Client()
    client.force_login(make_user("viewer"))
    nonces = {
        re.search(r"'nonce-([^']+)'", client.get("/calls/").headers["Content-Security-Policy"])[1]
        for _ in range(3)
    }
    assert len(nonces) == 3
