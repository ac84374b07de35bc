"""Two `portal demo`s side by side, in Chromium: each signs in at its own provider and returns to itself."""

import re

from playwright.sync_api import expect

from tests.integration.demo.test_demo_command import portal_demo, seeded


def test_two_demos_on_other_ports_each_sign_alice_in_at_their_own_provider(browser, tmp_path):
    first_dir, second_dir = seeded(tmp_path / "first", seed=3), seeded(tmp_path / "second", seed=4)
    with portal_demo(tmp_path, first_dir) as first, portal_demo(tmp_path, second_dir) as second:
        for running_demo in (first, second):
            # A browser of its own for each: cookies are kept per host, not per port.
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            try:
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(running_demo.portal_url)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(re.compile(rf"localhost:{running_demo.provider_port}/oauth2/authorize"))
                page.locator("form[aria-labelledby='heading-auth-predefined']").get_by_role(
                    "button", name="alice").click()
                page.wait_for_url(re.compile(re.escape(running_demo.portal_url)))
                expect(page.get_by_role("heading", name="My data")).to_be_visible()
                expect(page.get_by_text("Alice Lindqvist").first).to_be_visible()
            finally:
                context.close()
