"""Which pages the navigation offers: before sign-in, and to anyone with no pages, none at all."""

import secrets
import time

import pytest

from portal.core import db
from portal.identity import sessions
from portal.core.settings import load_settings
from tests.app.conftest import ROOT, signed_in

PAGE_FILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app_pages").glob("*.py"))


def unreachable_pages(at) -> list[str]:
    """The page files this session's navigation does not know (AppTest refuses to switch to them)."""
    refused = []
    for page in PAGE_FILES:
        try:
            at.switch_page(page)
        except ValueError:
            refused.append(page)
    return refused


def assert_no_page_is_listed(at):
    assert not at.exception, at.exception
    assert PAGE_FILES and unreachable_pages(at) == PAGE_FILES


def test_before_sign_in_the_navigation_lists_no_page_of_the_portal(app):
    at = app()
    at.run()
    assert at.title[0].value == "Telemetry transparency portal"
    assert_no_page_is_listed(at)


def test_the_login_screen_explaining_missing_sign_in_secrets_lists_no_page_either(app):
    at = app(secrets=False)
    at.run()
    assert "secrets.toml" in at.error[0].value
    assert_no_page_is_listed(at)


def test_a_person_with_no_record_is_offered_no_page(app):
    at = app(signed_in("mallory"))
    at.run()
    assert at.title[0].value == "We have no record of you"
    assert_no_page_is_listed(at)


def test_an_expired_session_is_offered_no_page(app):
    at = app(signed_in("alice", age_hours=9))
    at.run()
    assert at.title[0].value == "Your session has expired"
    assert_no_page_is_listed(at)


def test_a_session_that_logged_out_is_offered_no_page(app, app_data_dir):
    claims = signed_in("bob", nonce=secrets.token_urlsafe(8), auth_time=int(time.time() - 360))
    engine = db.make_engine(load_settings(data_dir=app_data_dir).resolved_database_url)
    try:
        sessions.revoke(engine, claims)
    finally:
        engine.dispose()
    at = app(claims)
    at.run()
    assert at.title[0].value == "You signed out of this session"
    assert_no_page_is_listed(at)


@pytest.mark.parametrize("sub", ["alice", "wanda", "priya"])
def test_a_signed_in_employee_is_offered_the_pages_of_their_roles(app, sub):
    at = app(signed_in(sub))
    at.run()
    assert not at.exception
    reachable = set(PAGE_FILES) - set(unreachable_pages(at))
    assert "app_pages/my_data.py" in reachable
    assert ("app_pages/request_queue.py" in reachable) == (sub == "priya")
    assert ("app_pages/collectors.py" in reachable) == (sub in {"wanda", "priya"})
