"""Ended sessions in the metadata DB: recorded at logout, refused afterwards, by every replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.core import db
from portal.identity import sessions

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOB = {"iss": "http://localhost:9400", "sub": "bob", "aud": "telemetry-portal", "iat": 1_780_000_000,
       "auth_time": 1_780_000_000, "nonce": "first-login", "is_logged_in": True}


def migrated(url: str) -> sa.Engine:
    engine = db.make_engine(url)
    db.migrate(engine)
    return engine


@pytest.fixture
def engine(tmp_path):
    engine = migrated(f"sqlite:///{tmp_path / 'portal.db'}")
    yield engine
    engine.dispose()


def test_a_session_ended_with_logout_is_revoked_and_another_login_is_not(engine):
    assert not sessions.is_revoked(engine, BOB)
    assert sessions.revoke(engine, BOB, now=NOW)
    assert sessions.is_revoked(engine, BOB)
    again = {**BOB, "iat": BOB["iat"] + 600, "auth_time": BOB["auth_time"] + 600, "nonce": "second-login"}
    assert not sessions.is_revoked(engine, again)


def test_a_second_replica_sees_the_logout_recorded_by_the_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    first, second = migrated(url), db.make_engine(url)
    try:
        sessions.revoke(first, BOB, now=NOW)
        assert sessions.is_revoked(second, BOB)
    finally:
        first.dispose()
        second.dispose()


def test_logging_out_twice_is_recorded_once(engine):
    sessions.revoke(engine, BOB, now=NOW)
    assert sessions.revoke(engine, BOB, now=NOW + timedelta(seconds=5))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.revoked_sessions)).scalar_one() == 1


def test_the_record_of_a_logout_names_no_one(engine):
    sessions.revoke(engine, BOB, now=NOW)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.revoked_sessions)).all()
    assert [row.session_key for row in rows] == [sessions.session_key(BOB)]
    assert all("bob" not in str(value) for row in rows for value in row)


def test_a_login_without_an_issue_time_cannot_be_recorded_and_is_not_called_revoked(engine):
    undated = {k: v for k, v in BOB.items() if k not in ("iat", "auth_time")}
    assert not sessions.revoke(engine, undated, now=NOW)
    assert not sessions.is_revoked(engine, undated)


def test_logouts_older_than_streamlits_cookie_lifetime_are_dropped_and_recent_ones_kept(engine):
    old = {**BOB, "nonce": "long-ago"}
    sessions.revoke(engine, old, now=NOW - sessions.KEPT_FOR - timedelta(minutes=1))
    recent = {**BOB, "nonce": "last-week"}
    sessions.revoke(engine, recent, now=NOW - timedelta(days=7))
    sessions.revoke(engine, BOB, now=NOW)
    assert not sessions.is_revoked(engine, old)
    assert sessions.is_revoked(engine, recent) and sessions.is_revoked(engine, BOB)
    # Streamlit accepts its identity cookie for 30 days and a day
    assert sessions.KEPT_FOR > timedelta(days=31)  # noqa: SIM300 - the setting under test reads first


def test_an_unreachable_database_is_an_error_naming_it_not_a_session_that_looks_open(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")  # never migrated: no table
    try:
        with pytest.raises(sessions.SessionStoreError, match="metadata DB"):
            sessions.is_revoked(engine, BOB)
        with pytest.raises(sessions.SessionStoreError, match="did not record the sign-out"):
            sessions.revoke(engine, BOB, now=NOW)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_on_postgresql_a_logout_is_refused_by_every_replica_and_a_new_login_is_not(fresh_postgres_url):
    first, second = migrated(fresh_postgres_url), db.make_engine(fresh_postgres_url)
    try:
        assert sessions.revoke(first, BOB, now=NOW)
        assert sessions.revoke(second, BOB, now=NOW)
        assert sessions.is_revoked(second, BOB)
        assert not sessions.is_revoked(second, {**BOB, "nonce": "second-login", "iat": BOB["iat"] + 600})
        sessions.revoke(first, {**BOB, "nonce": "long-ago"}, now=NOW - sessions.KEPT_FOR - timedelta(days=1))
        sessions.revoke(first, {**BOB, "nonce": "today"}, now=NOW)
        assert not sessions.is_revoked(second, {**BOB, "nonce": "long-ago"})
    finally:
        first.dispose()
        second.dispose()
