"""Signing in through the local OIDC provider, as a person would."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from portal.core import db
from portal.demo.personas import PERSONAS
from portal.core.settings import load_settings
from tests.e2e.conftest import running_portal, shot


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


def expect_no_page_list(page):
    """No navigation at all: not in the sidebar, not at the top, and no page's name anywhere."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)  # the screen's run has ended
    page.wait_for_timeout(500)  # a page list arrives with the session, before the screen; give it time anyway
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
    expect(page.get_by_test_id("stTopNavLink")).to_have_count(0)
    for name in ("request queue", "subject lookup", "council overview", "Request queue", "Subject lookup"):
        expect(page.get_by_text(name, exact=True)).to_have_count(0)


def test_the_login_screen_lists_no_page_of_the_portal(page, portal_url):
    page.goto(portal_url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect_no_page_list(page)
    shot(page, "login-screen")


def test_a_page_address_opened_first_on_a_freshly_started_portal_lists_no_page_either(page, tmp_path):
    # A fresh server: no session has run the app's navigation yet, which is when Streamlit falls back
    # to listing (and running, without app.py) every file of a folder named pages/.
    with running_portal(tmp_path, seed=11) as fresh_url:
        page.goto(f"{fresh_url}/request_queue")
        # The first run of a fresh server imports Streamlit's and the app's modules: 6 to 8 s on this machine.
        expect(page.get_by_role("heading", name="Telemetry transparency portal")).to_be_visible(timeout=30_000)
        expect_no_page_list(page)
        expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_a_person_with_no_record_sees_no_page_list_either(page, portal_url):
    sign_in(page, portal_url, "mallory", predefined=False)
    expect(page.get_by_role("heading", name="We have no record of you")).to_be_visible()
    expect_no_page_list(page)


def test_alice_signs_in_and_sees_her_telemetry(page, portal_url):
    sign_in(page, portal_url, "alice")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text("Alice Lindqvist").first).to_be_visible()
    # A loaded machine (two test processes, each with browsers) can take more than expect's 5 s to draw a page.
    expect(page.get_by_text("Categories held")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Records per day").first).to_be_visible(timeout=30_000)  # the heading; the axis repeats it
    page.wait_for_timeout(1000)  # let the chart draw before the screenshot
    shot(page, "alice-my-data")


def test_an_unknown_subject_sees_the_no_record_message_and_no_data(page, portal_url):
    sign_in(page, portal_url, "mallory", predefined=False)
    expect(page.get_by_role("heading", name="We have no record of you")).to_be_visible()
    expect(page.get_by_text("Categories held")).to_have_count(0)
    expect(page.get_by_text("Records per day")).to_have_count(0)
    expect(page.get_by_text("the company holds no employee record linked to this account")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()  # the whole screen has drawn
    shot(page, "unknown-subject")


def test_an_email_typed_as_subject_does_not_open_that_persons_record(page, portal_url):
    sign_in(page, portal_url, "alice@example.com", predefined=False)
    expect(page.get_by_role("heading", name="We have no record of you")).to_be_visible()
    expect(page.get_by_text("Alice Lindqvist")).to_have_count(0)


def a_seeded_colleague(data_dir):
    """An employee of the seeded company who is none of the demo people: (subject, e-mail, name)."""
    engine = db.make_engine(load_settings(data_dir=data_dir).resolved_database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(db.employees).where(
                db.employees.c.oidc_sub.not_in([p.sub for p in PERSONAS])).order_by(db.employees.c.employee_id)
            ).first()
    finally:
        engine.dispose()
    return row.oidc_sub, row.email, row.display_name


def test_a_seeded_employees_subject_typed_at_the_provider_opens_their_record(page, portal_url, portal_base):
    subject, _, name = a_seeded_colleague(portal_base / "data")
    sign_in(page, portal_url, subject, predefined=False)
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text(name).first).to_be_visible()


def test_a_seeded_employees_email_typed_at_the_provider_opens_nothing(page, portal_url, portal_base):
    _, email, name = a_seeded_colleague(portal_base / "data")
    sign_in(page, portal_url, email, predefined=False)
    expect(page.get_by_role("heading", name="We have no record of you")).to_be_visible()
    expect(page.get_by_text(name)).to_have_count(0)


def test_logging_out_ends_the_session_at_the_provider_too(page, portal_url):
    sign_in(page, portal_url, "bob")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(portal_url)))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_text("Bob Okafor")).to_have_count(0)
