"""Every screen, for every role, checked with axe-core against WCAG 2.0/2.1 A and AA; and the keyboard reaches
the navigation and the main buttons.

One sign-in per role, then page by page through whatever the sidebar offers, so a page added to the
portal is checked with no change here. The roles are the demo personas': an employee (alice), a works
council member (wanda) and the privacy office (priya); no persona holds both council and privacy roles.
A violation of impact "serious" or "critical" fails. One that sits inside Streamlit's own frontend, where the
portal cannot change it, goes in STREAMLIT_OWN with the reason, by rule and target, never by rule alone.
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


# None at present: the captions' and code's contrast is the theme's (.streamlit/config.toml), and a scrolling
# code block is avoided by wrapping its lines (st.code(..., wrap_lines=True)).
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
        nodes = [n for n in violation["nodes"] if excused(violation["id"], " ".join(map(str, n["target"]))) is None]
        if nodes:
            shown = "; ".join(" ".join(map(str, n["target"])) for n in nodes[:3])
            shown += f" (and {len(nodes) - 3} more)" if len(nodes) > 3 else ""
            why = next((c["message"] for c in nodes[0].get("any", []) + nodes[0].get("all", []) if c.get("message")), "")
            found.append(f"{screen}: {violation['id']} [{violation['impact']}] {violation['help']} -> {shown}"
                         + (f"\n    first: {why}" if why else ""))
    return found


def nav_links(page) -> list[tuple[str, str]]:  # noqa: ANN001
    """(text, href) of every page the sidebar offers."""
    links = page.locator(NAV_LINK)
    expect(links.first).to_be_visible()
    # A link's text is its icon's ligature name, then the page's title.
    return [(links.nth(i).inner_text().strip().splitlines()[-1].strip(), links.nth(i).get_attribute("href") or "")
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
    assert "Council overview" in names, names
    assert not found, report(found)


def test_every_page_the_privacy_office_sees_meets_wcag_a_and_aa(page, portal_url):
    names, found = every_page(page, portal_url, "priya")
    assert "Request queue" in {name.split(" (")[0] for name in names}, names
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
  const around = el.parentElement ? getComputedStyle(el.parentElement).backgroundColor : 'rgba(0, 0, 0, 0)';
  const shaded = style.backgroundColor !== 'rgba(0, 0, 0, 0)' && style.backgroundColor !== around;
  return {testid: el.getAttribute('data-testid') || '', tag: el.tagName, text: (el.innerText || '').trim(),
          inMain: !!el.closest('[data-testid="stMain"]'), nav: !!el.closest('[data-testid="stSidebarNav"]'),
          control: ['A', 'BUTTON', 'INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName),
          visible: el.matches(':focus-visible') && (outlined || style.boxShadow !== 'none' || shaded)};
}"""


def tab_until(page, wanted, seen, limit=80):  # noqa: ANN001
    """Press Tab until the focused element satisfies ``wanted``; every element focused is added to ``seen``."""
    for _step in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        seen.append(focused)
        if wanted(focused):
            return focused
    reached = [f"{f['tag']} {f['testid']} {f['text'][:30]!r}" for f in seen[-limit:]]
    raise AssertionError(f"Tab never reached what was looked for; it reached: {reached}")


def test_the_keyboard_reaches_the_navigation_and_the_main_buttons_and_enter_opens_a_page(page, portal_url):
    sign_in(page, portal_url, "alice")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    finished(page)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # Tab from the page's start
    seen: list[dict] = []
    tab_until(page, lambda f: f["nav"], seen)
    tab_until(page, lambda f: f["nav"] and f["text"].endswith("My copy"), seen)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My copy")).to_be_visible()
    finished(page)
    button = tab_until(page, lambda f: f["inMain"] and f["tag"] == "BUTTON", seen)
    assert button["text"].endswith("Prepare my copy")
    invisible = [f"{f['tag']} {f['testid']} {f['text'][:30]!r}" for f in seen if f["control"] and not f["visible"]]
    assert not invisible, f"focused without a visible focus indicator: {invisible}"
