"""Every screen, for every role, checked with axe-core against WCAG 2.0/2.1 A and AA; and the keyboard reaches
the navigation and the main buttons.

One sign-in per role, then page by page through whatever the sidebar offers, so a page added to the
portal is checked with no change here. A violation of impact "serious" or "critical" fails; the few that
sit inside Streamlit's own frontend, where the portal cannot change them, are listed in STREAMLIT_OWN with
the reason, by rule and target, never by rule alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.test_login import sign_in

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
FINISHED = "[data-testid='stApp'][data-test-script-state='notRunning']"
NAV_LINK = "[data-testid='stSidebarNavLink']"


@dataclass(frozen=True)
class Known:
    """A violation inside Streamlit's own frontend: this rule, on targets matching this pattern only."""

    rule: str
    target: re.Pattern[str]
    why: str


STREAMLIT_OWN: tuple[Known, ...] = ()

_axe = Axe()


def finished(page) -> None:  # noqa: ANN001
    """Wait until the script run has ended and the page has drawn what it produced."""
    page.locator(FINISHED).wait_for(state="attached", timeout=60_000)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
    page.wait_for_timeout(800)  # charts and tables draw after the run's last message
    page.locator(FINISHED).wait_for(state="attached", timeout=60_000)


def excused(rule: str, target: str) -> Known | None:
    return next((k for k in STREAMLIT_OWN if k.rule == rule and k.target.search(target)), None)


def violations(page, screen: str) -> list[str]:  # noqa: ANN001
    """The serious and critical violations on the page as it is now, one readable line each."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        targets = [t for t in targets if excused(violation["id"], t) is None]
        if targets:
            shown = "; ".join(targets[:3]) + (f" (and {len(targets) - 3} more)" if len(targets) > 3 else "")
            found.append(f"{screen}: {violation['id']} [{violation['impact']}] {violation['help']} -> {shown}")
    return found


def nav_links(page) -> list[tuple[str, str]]:  # noqa: ANN001
    """(text, href) of every page the sidebar offers."""
    links = page.locator(NAV_LINK)
    expect(links.first).to_be_visible()
    return [(links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href") or "")
            for i in range(links.count())]


def every_page(page, portal_url, subject) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """Sign in as ``subject`` and check every page the navigation offers: (page names, violations)."""
    sign_in(page, portal_url, subject)
    finished(page)
    offered = nav_links(page)
    found: list[str] = []
    for index, (name, href) in enumerate(offered):
        if index:
            page.locator(NAV_LINK).nth(index).click()
            page.wait_for_url(re.compile(re.escape(href) + r"/?(\?.*)?$"))
            finished(page)
        found += violations(page, f"{subject} / {name}")
    return [name for name, _href in offered], found


def report(found: list[str]) -> str:
    return f"{len(found)} serious or critical accessibility violation(s):\n" + "\n".join(found)


def test_every_page_an_employee_sees_meets_wcag_a_and_aa(page, portal_url):
    names, found = every_page(page, portal_url, "alice")
    assert "My data" in names and "My requests" in names
    assert not found, report(found)


def test_every_page_a_works_council_member_sees_meets_wcag_a_and_aa(page, portal_url):
    names, found = every_page(page, portal_url, "wanda")
    assert "Council overview" in names
    assert not found, report(found)


def test_every_page_the_privacy_office_sees_meets_wcag_a_and_aa(page, portal_url):
    names, found = every_page(page, portal_url, "priya")
    assert "Request queue" in names and "Subject lookup" in names
    assert not found, report(found)


def test_the_sign_in_and_no_record_screens_meet_wcag_a_and_aa(page, portal_url):
    page.goto(portal_url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    finished(page)
    found = violations(page, "sign-in screen")
    sign_in(page, portal_url, "mallory", predefined=False)
    expect(page.get_by_role("heading", name="We have no record of you")).to_be_visible()
    finished(page)
    found += violations(page, "no-record screen")
    assert not found, report(found)


FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {testid: el.getAttribute('data-testid') || '', tag: el.tagName, text: (el.innerText || '').trim(),
          inMain: !!el.closest('[data-testid="stMain"]'), nav: !!el.closest('[data-testid="stSidebarNav"]'),
          visible: el.matches(':focus-visible') && (outlined || style.boxShadow !== 'none')};
}"""


def test_the_keyboard_reaches_the_navigation_and_the_main_buttons_and_enter_opens_a_page(page, portal_url):
    sign_in(page, portal_url, "alice")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    finished(page)
    page.locator("body").click(position={"x": 700, "y": 5})  # start from the page, not the address bar
    seen = []
    for _step in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        seen.append(focused)
        if any(f["nav"] for f in seen) and any(f["inMain"] and f["tag"] == "BUTTON" for f in seen):
            break
    reached = [f"{f['tag']} {f['testid']} {f['text'][:30]!r}" for f in seen]
    assert any(f["nav"] for f in seen), f"Tab never reached the navigation; it reached: {reached}"
    assert any(f["inMain"] and f["tag"] == "BUTTON" for f in seen), f"Tab reached no main button: {reached}"
    invisible = [f"{f['tag']} {f['testid']} {f['text'][:30]!r}" for f in seen if not f["visible"]]
    assert not invisible, f"focused without a visible focus indicator: {invisible}"

    page.locator(NAV_LINK).filter(has_text="Who accessed my data").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Who accessed my data")).to_be_visible()
