"""Keyboard only: filters, pager, page sizes, search and placing a call, with a visible focus.

After signing in, the test only presses keys. `tab_to` presses Tab until the wanted element has the
focus, and checks on the way that every focused element shows where the focus is.
"""

import re

from .conftest import ROOT_USER, sign_in

MAX_TABS = 150

FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || "").trim().slice(0, 40),
    href: el.getAttribute("href") || "", focusVisible: el.matches(":focus-visible"),
    shows: outline || style.boxShadow !== "none",
  };
}"""


def tab_to(page, wanted, *, backwards=False) -> dict:
    """Press Tab until `wanted(focus)` is true; fail if some stop on the way has no visible focus."""
    unmarked = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focus = page.evaluate(FOCUS_STATE)
        if focus is None:
            continue
        if not (focus["focusVisible"] and focus["shows"]):
            unmarked.append(focus)
        if wanted(focus):
            assert not unmarked, f"no visible focus on {unmarked}"
            return focus
    raise AssertionError(f"never reached the element after {MAX_TABS} Tabs")


def link(text=None, href=None):
    return lambda f: (
        f["tag"] == "a" and (text is None or f["text"] == text) and (href is None or href in f["href"])
    )


def test_filters_pager_page_size_and_search(new_page, site):
    page = new_page()
    sign_in(page, site.base, *ROOT_USER)
    page.goto(f"{site.base}/calls/")

    tab_to(page, link("Completed", "status=completed"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"status=completed"))
    page.wait_for_selector("#changelist-filter li.selected >> text=Completed")

    tab_to(page, link("2", "page=2"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"page=2"))
    page.wait_for_selector('nav.paginator .this-page:text("2")')
    assert "status=completed" in page.url

    tab_to(page, link("50", "limit=50"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"limit=50"))
    page.wait_for_selector('nav.paginator strong:text("50")')
    assert "status=completed" in page.url and "page=" not in page.url

    # The search box is above the results: back up to it.
    tab_to(page, lambda f: f["id"] == "searchbar", backwards=True)
    page.keyboard.type("Ada")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"search=Ada"))
    page.wait_for_selector("tr.call-row")
    names = page.locator("tr.call-row td:nth-child(2)").all_inner_texts()
    assert names and all("ada" in name.lower() for name in names)
    assert "status=completed" in page.url and "limit=50" in page.url


def test_place_a_call_with_the_keyboard(new_page, site):
    page = new_page()
    sign_in(page, site.base, *ROOT_USER)

    tab_to(page, link("Place a call", "/calls/new/"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.base}/calls/new/")

    tab_to(page, lambda f: f["id"] == "id_customer_phone")
    page.keyboard.type("0803 123 4560")
    page.keyboard.press("Tab")  # the customer's name
    page.keyboard.type("Zoë Müller")
    page.keyboard.press("Tab")  # purpose
    page.keyboard.type("order_confirmation")
    tab_to(page, lambda f: f["id"] == "id_context")
    page.keyboard.type("Confirm order #1042.")
    # The number and the agent are preselected; the Review button submits.
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Review")
    page.keyboard.press("Enter")
    page.wait_for_selector("#call-summary")
    assert "+234 803 123 4560" in page.inner_text("#call-summary")

    tab_to(page, lambda f: f["id"] == "place-call-button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/calls/placed/[0-9a-f-]+/$"))
    assert page.locator(".messagelist").inner_text().startswith("Call queued")
    assert site.simulator.stats()["dialed"] == 2  # the seeded call and this one
