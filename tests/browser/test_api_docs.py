"""The API's browsable docs (Swagger UI, served by voxdash itself) work under the strict CSP."""

from .conftest import ROOT_USER, sign_in
from .test_csp import violations


def test_staff_browse_the_api_docs_without_a_csp_violation(new_page, site):
    page = new_page()
    sign_in(page, site.base, *ROOT_USER)
    page.goto(f"{site.base}/api/v1/docs")
    # Swagger UI fetched the schema and drew an operation for each endpoint.
    page.wait_for_selector('.opblock-summary-path[data-path="/api/v1/token"]')
    assert page.locator(".opblock").count() >= 1
    assert "voxdash API" in page.locator(".title").first.inner_text()
    assert violations(page) == []
    assert [e for e in page.js_errors if "Content Security Policy" not in e] == []
