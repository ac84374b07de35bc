"""Logging out ends the session in the portal: its claims, replayed, open nothing."""

import secrets
import time

import pytest

from portal.core import db
from portal.identity import sessions
from portal.core.settings import load_settings
from tests.app.conftest import signed_in
from tests.app.test_pages import texts


@pytest.fixture
def engine(app_data_dir):
    engine = db.make_engine(load_settings(data_dir=app_data_dir).resolved_database_url)
    yield engine
    engine.dispose()


def login(sub, **extra):
    """One login of ``sub``: its own nonce, as Streamlit sends with every sign-in."""
    return signed_in(sub, nonce=secrets.token_urlsafe(8), auth_time=int(time.time() - 360), **extra)


def test_clicking_log_out_records_that_the_session_ended(app, engine):
    claims = login("bob")
    at = app(dict(claims))  # a copy: logging out empties the claims Streamlit holds
    at.run()
    assert "Bob Okafor" in texts(at)
    at.button(key="sidebar-logout").click().run()
    assert not at.exception
    assert sessions.is_revoked(engine, claims)


def test_clicking_log_out_on_the_no_record_screen_records_that_the_session_ended(app, engine):
    claims = login("mallory")
    at = app(dict(claims))
    at.run()
    assert at.title[0].value == "We have no record of you"
    at.button(key="logout").click().run()
    assert not at.exception
    assert sessions.is_revoked(engine, claims)


def test_a_session_that_logged_out_is_refused_and_shows_none_of_the_data(app, engine):
    claims = login("bob")
    sessions.revoke(engine, claims)
    at = app(claims)
    at.run()
    assert not at.exception
    assert at.title[0].value == "You signed out of this session"
    assert "You signed out of this session; sign in again." in texts(at)
    assert [b.label for b in at.button] == ["Log in"]
    assert "Bob Okafor" not in texts(at) and not at.dataframe and not at.metric


def test_a_page_opened_directly_with_a_session_that_logged_out_is_refused(app, engine):
    claims = login("bob")
    at = app(claims)
    at.run()
    sessions.revoke(engine, claims)
    at.switch_page("app_pages/who_accessed.py").run()
    assert not at.exception
    assert "Bob Okafor" not in texts(at) and not at.dataframe


def test_signing_in_again_after_logging_out_shows_the_data(app, engine):
    sessions.revoke(engine, login("bob", iat=int(time.time() - 600)))
    at = app(login("bob"))
    at.run()
    assert not at.exception
    assert at.title[0].value == "My data" and "Bob Okafor" in texts(at)
