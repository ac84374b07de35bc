"""The collector register's registrations and decisions are entries of the tamper-evident log: each is
logged and signed, and changing, deleting or forging one afterwards is detected and located."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit.signed_log import AuditError, AuditLog, collector_entry
from portal.collection import register
from portal.core import db
from portal.identity.policy import PRIVACY_OFFICE, WORKS_COUNCIL
from portal.identity.principal import Principal
from tests.conftest import make_settings
from tests.integration.audit.test_signed_log import T0, add_events

OFFICE = Principal("svc:portal-cli", None, None, None, frozenset({PRIVACY_OFFICE}))
COUNCIL = Principal("svc:council-cli", None, None, None, frozenset({WORKS_COUNCIL}))
DECISIONS = [("approve", "agreed in WA-2026-03"), ("suspend", "readable far too broadly"),
             ("resume", "access narrowed to security operations")]


def make_log(tmp_path, settings=None):
    """A log over 10 access events, then one collector registered and three decisions, all signed."""
    settings = settings or make_settings(tmp_path)
    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    add_events(engine, 10)
    log = AuditLog(settings, engine)
    register.register(engine, OFFICE, name="endpoint-agent", category_key="user.behavior.keystrokes",
                      purposes=["essential.service.security"], legal_basis="GDPR Art. 6(1)(f) legitimate interests",
                      retention_days=90, agreement="WA-2026-03", now=T0)
    for hours, (decision, reason) in enumerate(DECISIONS, start=1):
        register.decide(engine, COUNCIL, "endpoint-agent", decision, reason, now=T0 + timedelta(hours=hours))
        assert register.sign_decisions(log) is None
    return log, engine


def unlock(engine):
    """Tampering takes deliberate effort: first the append-only triggers must go."""
    with engine.begin() as conn:
        for name in ("collector_decisions_no_update", "collector_decisions_no_delete"):
            conn.execute(sa.text(f"DROP TRIGGER {name}"))


def log_index_of(engine, seq):
    with engine.connect() as conn:
        return conn.execute(sa.select(db.log_entries.c.log_index).where(
            db.log_entries.c.source == "collector", db.log_entries.c.source_seq == seq)).scalar()


def test_every_registration_and_decision_is_logged_signed_and_verifies(tmp_path):
    log, engine = make_log(tmp_path)
    assert log.latest_checkpoint().size == 14  # ten reads, the registration and three decisions
    report = log.verify()
    assert report.ok and report.entries == 14, report.describe()
    entries = [log.show(index) for index in range(10, 14)]
    assert [(e["log"], e["collector"], e["event"], e["actor_role"]) for e in entries] == [
        ("collector", "endpoint-agent", "registered", PRIVACY_OFFICE),
        ("collector", "endpoint-agent", "approved", WORKS_COUNCIL),
        ("collector", "endpoint-agent", "suspended", WORKS_COUNCIL),
        ("collector", "endpoint-agent", "resumed", WORKS_COUNCIL)]
    assert [e["reason"] for e in entries[1:]] == [reason for _, reason in DECISIONS]
    assert entries[0]["reason"].startswith("category user.behavior.keystrokes; purposes essential.service.security")
    assert {e["actor_ref"] for e in entries} == {"svc:portal-cli", "svc:council-cli"}
    assert entries[2]["at"] == "2026-11-01T11:00:00.000000Z"


def test_the_database_refuses_to_rewrite_a_decision(tmp_path):
    _, engine = make_log(tmp_path)
    for statement in ("UPDATE collector_decisions SET reason = 'nothing to see'", "DELETE FROM collector_decisions"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))


@pytest.mark.parametrize(("column", "value"), [("reason", "no concerns"), ("event", "approved"),
                                               ("actor_role", "privacy_office"), ("collector_name", "other")])
def test_changing_a_stored_decision_is_detected_and_located(tmp_path, column, value):
    log, engine = make_log(tmp_path)
    if column == "collector_name":  # moved to another collector on the register (the foreign key holds)
        register.register(engine, OFFICE, name="other", category_key="user.behavior.keystrokes",
                          purposes=["train_ai_system"], legal_basis="consent", retention_days=1)
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(db.collector_decisions).where(db.collector_decisions.c.seq == 3)
                     .values({column: value}))
    report = log.verify()
    assert not report.ok
    assert report.first_bad_index == log_index_of(engine, 3) == 12
    assert "collector row 3 does not match the log" in report.describe()


def test_deleting_a_decision_is_detected_and_located(tmp_path):
    log, engine = make_log(tmp_path)
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(db.collector_decisions).where(db.collector_decisions.c.seq == 2))
    report = log.verify()
    assert not report.ok and report.first_bad_index == log_index_of(engine, 2)
    assert "collector row 2 is missing" in report.describe()


def test_a_rewritten_decision_fails_the_consistency_check_against_an_earlier_checkpoint(tmp_path):
    log, engine = make_log(tmp_path)
    witnessed = log.latest_checkpoint()
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(db.collector_decisions).where(db.collector_decisions.c.seq == 4)
                     .values(reason="resumed without conditions"))
    with pytest.raises(AuditError, match="history was rewritten"):
        log.consistency(witnessed.text)


def test_the_logged_form_of_a_decision_holds_every_stored_column(tmp_path):
    _, engine = make_log(tmp_path)
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.collector_decisions).where(db.collector_decisions.c.seq == 2)).one()
    entry = collector_entry(row)
    assert set(entry) == {"log", *(c.name for c in db.collector_decisions.columns)} - {"collector_name"} | {
        "collector"}


def test_on_postgresql_decisions_are_logged_and_their_table_refuses_rewrites(tmp_path, fresh_postgres_url):
    log, engine = make_log(tmp_path, make_settings(tmp_path, database_url=fresh_postgres_url))
    assert log.verify().ok
    for statement in ("UPDATE collector_decisions SET reason = 'x'", "DELETE FROM collector_decisions",
                      "TRUNCATE collector_decisions CASCADE"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    engine.dispose()
