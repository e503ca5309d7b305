"""The strict CSP in a real browser: every main page (and an htmx swap) runs without a violation.

tests/security/test_csp.py checks the header and the HTML of every page; this checks that what the
pages do once running (htmx, voxdash.js, the admin's theme script) stays inside the policy.
"""

import re

from .conftest import ROOT_USER, sign_in


def violations(page) -> list[str]:
    reported = page.evaluate("window.__cspViolations || []")
    refused = [e for e in page.js_errors if "Content Security Policy" in e or "Refused to" in e]
    return reported + refused


def test_no_page_breaks_the_csp(new_page, site):
    page = new_page()
    problems = {}

    def check(name):
        page.wait_for_load_state("load")
        found = violations(page)
        if found:
            problems[name] = found
        page.js_errors.clear()

    page.goto(f"{site.base}/accounts/login/")
    check("sign-in")
    sign_in(page, site.base, *ROOT_USER)
    for name, path in site.main_pages().items():
        page.goto(site.base + path)
        assert page.evaluate("typeof htmx") == "object", f"{name}: htmx did not load"
        check(name)

    # htmx at work: a filter swaps the results in place (its indicator would add an inline style).
    page.goto(f"{site.base}/calls/")
    page.evaluate("window.sameDocument = true")
    page.click("#changelist-filter >> text=Outbound")
    page.wait_for_url(re.compile(r"direction=outbound"))
    page.wait_for_selector("#changelist-filter li.selected >> text=Outbound")
    assert page.evaluate("window.sameDocument") is True
    check("history-after-htmx-swap")

    assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())


def test_the_listener_sees_a_violation(new_page, site):
    # The check above can fail: an inline script the CSP refuses is reported.
    page = new_page()
    page.goto(f"{site.base}/accounts/login/")
    page.evaluate("""() => { const s = document.createElement("script");
                     s.textContent = "window.__ran = 1"; document.body.append(s); }""")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in violations(page))
