"""Signing in through the local OIDC provider, as a person would."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot


def sign_in(page, portal_url, subject, *, predefined=True):
    page.goto(portal_url)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"localhost:\d+/oauth2/authorize"))
    if predefined:
        page.locator("form[aria-labelledby='heading-auth-predefined']").get_by_role("button", name=subject).click()
    else:
        page.locator("input[name='sub']").fill(subject)
        page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(portal_url)))


def test_alice_signs_in_and_sees_her_telemetry(page, portal_url):
    sign_in(page, portal_url, "alice")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text("Alice Lindqvist").first).to_be_visible()
    expect(page.get_by_text("Categories held")).to_be_visible()
    expect(page.get_by_text("Records per day").first).to_be_visible()  # the heading; the chart axis repeats it
    page.wait_for_timeout(1000)  # let the chart draw before the screenshot
    shot(page, "alice-my-data")


def test_an_unknown_subject_sees_the_no_record_message_and_no_data(page, portal_url):
    sign_in(page, portal_url, "mallory", predefined=False)
    expect(page.get_by_role("heading", name="We have no record of you")).to_be_visible()
    expect(page.get_by_text("Categories held")).to_have_count(0)
    expect(page.get_by_text("Records per day")).to_have_count(0)
    shot(page, "unknown-subject")


def test_an_email_typed_as_subject_does_not_open_that_persons_record(page, portal_url):
    sign_in(page, portal_url, "alice@example.com", predefined=False)
    expect(page.get_by_role("heading", name="We have no record of you")).to_be_visible()
    expect(page.get_by_text("Alice Lindqvist")).to_have_count(0)


def test_logging_out_ends_the_session_at_the_provider_too(page, portal_url):
    sign_in(page, portal_url, "bob")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(portal_url)))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_text("Bob Okafor")).to_have_count(0)
