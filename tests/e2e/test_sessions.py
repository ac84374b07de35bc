"""Logging out ends the session in the portal: a copy of its cookies opens nothing afterwards."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_login import sign_in


def log_out(page, portal_url):
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(portal_url)))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_cookies_copied_before_logout_no_longer_open_bobs_data_in_another_browser(browser, page, portal_url):
    sign_in(page, portal_url, "bob")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text("Bob Okafor").first).to_be_visible()
    copied = page.context.cookies()
    assert any(c["name"].startswith("_streamlit_user") for c in copied)
    log_out(page, portal_url)

    elsewhere = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        elsewhere.add_cookies(copied)
        replay = elsewhere.new_page()
        replay.set_default_timeout(30_000)
        replay.goto(portal_url)
        expect(replay.get_by_role("heading", name="You signed out of this session")).to_be_visible()
        expect(replay.get_by_text("sign in again")).to_be_visible()
        expect(replay.get_by_role("button", name="Log in")).to_be_visible()
        expect(replay.get_by_text("Bob Okafor")).to_have_count(0)
        expect(replay.get_by_text("Categories held")).to_have_count(0)
        shot(replay, "replayed-cookies-after-logout")

        # A page's own address is refused too.
        replay.goto(f"{portal_url}/who_accessed")
        expect(replay.get_by_role("heading", name="You signed out of this session")).to_be_visible()
        expect(replay.get_by_text("Bob Okafor")).to_have_count(0)

        # Signing in afresh is a new login (new issued-at and nonce): it opens Bob's data again.
        sign_in(replay, portal_url, "bob")
        expect(replay.get_by_role("heading", name="My data")).to_be_visible()
        expect(replay.get_by_text("Bob Okafor").first).to_be_visible()
    finally:
        elsewhere.close()


def test_signing_in_again_after_logging_out_in_the_same_browser_shows_the_data(page, portal_url):
    sign_in(page, portal_url, "bob")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    log_out(page, portal_url)
    sign_in(page, portal_url, "bob")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text("Bob Okafor").first).to_be_visible()
