"""The collector register in the browser: the works council reviews it, an employee reads who collects what."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_login import sign_in


def settle(page) -> None:
    """The page's run has ended and its tables have painted, for the screenshot."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)
    page.wait_for_timeout(1000)


def test_the_works_council_sees_the_register_with_the_pilot_it_refused_and_why(page, portal_url):
    sign_in(page, portal_url, "wanda")
    page.get_by_role("link", name="Collectors").click()
    expect(page.get_by_role("heading", name="Collectors")).to_be_visible(timeout=15_000)
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    expect(page.get_by_text("Retention has never run", exact=False)).to_be_visible()
    settle(page)
    shot(page, "collectors-works-council")


def test_an_employee_reads_on_my_data_which_systems_collect_each_category_and_under_which_agreement(page, portal_url):
    sign_in(page, portal_url, "alice")
    expect(page.get_by_role("heading", name="Which systems collect it")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("endpoint-agent-keystrokes", exact=False).first).to_be_visible()
    expect(page.get_by_text("Works agreement WA-2024-03 on endpoint monitoring", exact=False).first).to_be_visible()
    expect(page.get_by_text("refused by the works council on", exact=False).first).to_be_visible()
    settle(page)
    shot(page, "my-data-collectors")
