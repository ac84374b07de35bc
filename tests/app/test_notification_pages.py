"""The Notifications and Settings pages: a person's own notices, unread counts, and the language they choose."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal.core import db
from portal.core.settings import load_settings
from portal.notify import notices
from portal.notify.notices import Draft
from tests.app.conftest import signed_in

NOTIFICATIONS, SETTINGS = "app_pages/notifications.py", "app_pages/settings.py"
BODY = "Mallory **Marsh** <img src=x onerror=alert(1)> read your Chat messages, 7 records\n\nWho accessed my data: x"


@pytest.fixture
def engine(app_data_dir, monkeypatch):
    monkeypatch.setenv("PORTAL_DATA_DIR", str(app_data_dir))
    engine = db.make_engine(load_settings(data_dir=app_data_dir, database_url=None).resolved_database_url)
    yield engine
    with engine.begin() as conn:  # the seeded company is shared by the session's page tests
        conn.execute(sa.delete(db.notices))
        conn.execute(sa.delete(db.notice_settings))
    engine.dispose()


def _notice(engine, employee_id="E00001", key="flagged:test"):
    with engine.begin() as conn:
        notices.add(conn, Draft(employee_id, key, notices.FLAGGED_READS, "A read of your data was flagged", BODY),
                    language="en", email=False, now=datetime.now(UTC))


def test_a_person_sees_their_notice_unread_and_can_mark_it_read(app, engine):
    _notice(engine)
    at = app(signed_in("alice"), script=NOTIFICATIONS)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Notifications"
    assert any(m.value.startswith("**1 unread notice** of 1") for m in at.markdown)
    assert any("Unread · Flagged read" in c.value for c in at.caption)
    at.button(key="notices-all-read").click().run()
    assert any(m.value.startswith("**0 unread notices** of 1") for m in at.markdown)


def test_text_in_a_notice_is_shown_as_text(app, engine):
    _notice(engine)
    at = app(signed_in("alice"), script=NOTIFICATIONS)
    at.run()
    [body] = [m.value for m in at.markdown if "Mallory" in m.value]
    assert "\\*\\*Marsh\\*\\*" in body and "\\<img" in body


def test_nobody_sees_another_persons_notices(app, engine):
    _notice(engine)
    at = app(signed_in("bob"), script=NOTIFICATIONS)
    at.run()
    assert not at.exception, at.exception
    assert not [m for m in at.markdown if "Mallory" in m.value]
    assert at.info and at.info[0].value.startswith("No notices yet.")


def test_the_navigation_counts_unread_notices(app, engine):
    _notice(engine)
    at = app(signed_in("alice"))
    at.run()
    assert not at.exception, at.exception
    at.switch_page(NOTIFICATIONS).run()
    assert at.title[0].value == "Notifications"


def test_a_person_who_chooses_german_sees_the_portal_in_german(app, engine):
    at = app(signed_in("alice"), script=SETTINGS)
    at.run()
    assert at.radio(key="settings-digest").value == "weekly"
    at.selectbox(key="settings-language").set_value("de")
    at.radio(key="settings-digest").set_value("daily")
    at.button(key="settings-save").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Your settings were saved."  # the page alone: app.py sets the language
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.notice_settings).where(db.notice_settings.c.employee_id == "E00001")).one()
    assert (row.digest, row.language) == ("daily", "de")
    whole = app(signed_in("alice"))
    whole.run()
    whole.switch_page(SETTINGS).run()
    assert not whole.exception, whole.exception
    assert [t.value for t in whole.title] == ["Einstellungen"], [e.value for e in whole.error]


def test_bob_keeps_english_while_alice_chose_german(app, engine):
    with engine.begin() as conn:
        conn.execute(sa.insert(db.notice_settings).values(employee_id="E00001", digest="weekly", language="de",
                                                          updated_at=datetime.now(UTC)))
    at = app(signed_in("bob"))
    at.run()
    at.switch_page(SETTINGS).run()
    assert at.title[0].value == "Settings"
