"""axe-core on every main page, light and dark: no serious or critical violation.

axe-core comes from the npm registry (scripts/ensure-node-tools, run by `make test`, puts it in
node_modules/). Injecting it adds an inline script, which our CSP rightly refuses, so these pages
are opened in a context that bypasses the CSP; tests/browser/test_csp.py checks the CSP itself.
"""

import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT_USER, sign_in

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.exists():
        subprocess.run([str(ROOT / "scripts" / "ensure-node-tools")], check=False)
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/ensure-node-tools (needs npm)")
    return AXE


def axe_violations(page, axe_script: Path) -> list[str]:
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 200))}));
        }"""
    )
    return [
        f"{v['impact']} {v['id']} ({v['help']}): " + " | ".join(v["nodes"])
        for v in result
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_any_main_page(new_page, site, axe_script, scheme):
    page = new_page(color_scheme=scheme, bypass_csp=True)
    problems = {}

    def check(name):
        found = axe_violations(page, axe_script)
        if found:
            problems[name] = found

    page.goto(f"{site.base}/accounts/login/")
    check("sign-in")
    sign_in(page, site.base, *ROOT_USER)
    for name, path in site.main_pages().items():
        page.goto(site.base + path)
        check(name)

    # The second steps of the forms.
    page.goto(f"{site.base}/calls/new/")
    page.click("button[value=review]")  # empty: the form with its errors
    page.wait_for_selector(".errorlist")
    check("place-call-errors")
    page.fill("#id_customer_phone", "0803 123 4560")
    page.fill("#id_purpose", "order_confirmation")
    page.fill("#id_context", "Confirm order #1042.")
    page.click("button[value=review]")
    page.wait_for_selector("#call-summary")
    check("place-call-review")

    assert not problems, "\n".join(f"{name}:\n  " + "\n  ".join(found) for name, found in problems.items())
