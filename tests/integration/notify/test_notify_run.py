"""`portal notify run` against a real SMTP server: who is told what, once, in their language, never the data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal import bootstrap, notify
from portal.audit import access_events
from portal.collection import register
from portal.core import db
from portal.demo import seed as demo
from portal.demo.personas import PERSONA_BY_SUB
from portal.identity.principal import Employee, Principal
from portal.core.roles import EMPLOYEE, PRIVACY_OFFICE, WORKS_COUNCIL
from portal.notify import notices
from portal.notify.run import holders_in
from portal.privacy import privacy_requests
from tests.conftest import make_settings

ALICE = PERSONA_BY_SUB["alice"]
NOW = datetime.now(UTC).replace(microsecond=0)


def _principal(sub: str, *roles: str) -> Principal:
    p = PERSONA_BY_SUB[sub]
    return Principal(p.sub, p.email, p.display_name, Employee(p.employee_id, p.display_name, p.email, p.department,
                                                              p.team, p.job_title, p.sub), frozenset({EMPLOYEE, *roles}))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def company(request, tmp_path):
    url = request.getfixturevalue("fresh_postgres_url") if request.param == "postgresql" else None
    settings = make_settings(tmp_path, database_url=url)
    demo.seed(settings, employees=8, days=3, seed=5)
    services = bootstrap.build(settings)
    with services.engine.begin() as conn:  # the seeded history is old news: start the sources after it
        for table, source in ((db.access_events, "access_events"), (db.request_transitions, "request_transitions"),
                              (db.collector_decisions, "collector_decisions")):
            top = conn.execute(sa.select(sa.func.max(table.c.seq))).scalar() or 0
            conn.execute(sa.insert(db.notice_marks).values(source=source, seq=top))
    yield services
    services.engine.dispose()


def _configured(services, **overrides):
    return services.settings.model_copy(update=overrides)


def _read(services, tmp_path: Path, *, purpose: str | None, when: datetime = NOW - timedelta(hours=1),
          reader: str = "Mallory Marsh", role: str = "Data Scientist", event_id: str = "read-1",
          category: str = "user.content.private.chat", query_id: str | None = None) -> None:
    line = {"event_id": event_id, "time": when.isoformat(), "subject": ALICE.employee_id, "category": category,
            "action": "view", "purpose": purpose, "justification": "looked around", "source_system": "notebook",
            "record_count": 7, "query_id": query_id,
            "actor": {"id": f"person:{reader}", "kind": "person", "name": reader, "team": "Data", "role": role}}
    path = tmp_path / f"{event_id}.jsonl"
    path.write_text(json.dumps(line) + "\n")
    access_events.ingest_access(services.engine, str(path))


def _run(services, settings, **kwargs):
    return notify.run(services.engine, settings, holders=holders_in(services.store), **kwargs)


def test_a_read_without_a_registered_purpose_is_emailed_in_one_run_and_listed_for_the_person(
        company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    report = _run(company, _configured(company, smtp_url=mail_server.url))

    assert report.created == {"flagged_read": 1} and report.sent == 1 and not report.failed
    [mail] = mail_server.inbox.to(ALICE.email)
    body = mail.get_content()
    assert "Mallory Marsh read your Chat messages, 7 records, purpose: none given (no registered purpose" in body
    assert "http://localhost:8501/who_accessed" in body
    [listed] = notify.for_principal(company.engine, _principal("alice"))
    assert listed.unread and listed.email_status == "sent" and listed.subject == mail["Subject"]
    assert notify.unread_count(company.engine, ALICE.employee_id) == 1


def test_a_notice_never_holds_the_data_that_was_read(company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    _run(company, _configured(company, smtp_url=mail_server.url))
    [mail] = mail_server.inbox.to(ALICE.email)
    chats, _total = company.store.records(ALICE.employee_id, "user.content.private.chat", 0, 1000)
    texts = [str(v) for column in chats.columns if chats[column].dtype == pl.String for v in chats[column]
             if v and len(str(v)) > 12]
    assert texts, "the demo person has chat messages to compare with"
    assert not [t for t in texts if t in mail.get_content()]


def test_running_again_creates_and_sends_nothing_more(company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    settings = _configured(company, smtp_url=mail_server.url)
    _run(company, settings)
    again = _run(company, settings)
    assert again.created_total == 0 and again.sent == 0
    assert len(mail_server.inbox.to(ALICE.email)) == 1


def test_notices_created_by_a_run_that_sent_nothing_are_sent_by_the_next(company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    settings = _configured(company, smtp_url=mail_server.url)
    first = _run(company, settings, email=False)
    assert first.created_total == 1 and not mail_server.inbox.messages
    second = _run(company, settings)
    assert second.created_total == 0 and second.sent == 1


def test_a_notice_a_killed_run_left_sending_is_sent_once_more_with_the_same_message_id(
        company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    settings = _configured(company, smtp_url=mail_server.url)
    _run(company, settings)
    with company.engine.begin() as conn:  # as a run killed between the server's 250 and its own record leaves it
        conn.execute(sa.update(db.notices).values(email_status=notices.SENDING))
    _run(company, settings)
    assert _run(company, settings).sent == 0
    first, second = mail_server.inbox.to(ALICE.email)
    assert first["Message-ID"] == second["Message-ID"]


def test_a_mail_server_that_does_not_answer_fails_the_sends_and_the_next_run_retries(
        company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    port = mail_server.url.rsplit(":", 1)[1]
    mail_server.controller.stop()
    report = _run(company, _configured(company, smtp_url=f"smtp://127.0.0.1:{port}"))
    assert report.created_total == 1 and report.sent == 0 and len(report.failed) == 1
    assert "cannot use the mail server 127.0.0.1:" in (report.mail_problem or "")
    again = Controller(mail_server.inbox, hostname="127.0.0.1", port=int(port))
    again.start()
    try:
        retried = _run(company, _configured(company, smtp_url=mail_server.url))
    finally:
        again.stop()
    assert retried.sent == 1 and len(mail_server.inbox.to(ALICE.email)) == 1


def test_starttls_and_a_login_deliver_the_mail(company, secure_mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    report = _run(company, _configured(company, smtp_url=secure_mail_server.url))
    assert report.sent == 1, report.describe()
    assert len(secure_mail_server.inbox.to(ALICE.email)) == 1


def test_a_password_is_never_sent_to_a_server_without_starttls(company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    report = _run(company, _configured(company, smtp_url=mail_server.url.replace("smtp://", "smtp://u:p@")))
    assert report.sent == 0 and "offers no STARTTLS" in (report.mail_problem or "")
    assert not mail_server.inbox.messages


def test_readers_are_named_by_team_and_role_when_the_company_says_so(company, mail_server, tmp_path):
    _read(company, tmp_path, purpose=None)
    _run(company, _configured(company, smtp_url=mail_server.url, actor_naming="team_role"))
    body = mail_server.inbox.to(ALICE.email)[0].get_content()
    assert "Mallory" not in body and "Someone in Data (Data Scientist)" in body


def test_a_person_who_chose_german_gets_german(company, mail_server, tmp_path):
    notify.save(company.engine, _principal("alice"), digest="weekly", language="de")
    _read(company, tmp_path, purpose=None)
    _run(company, _configured(company, smtp_url=mail_server.url))
    [mail] = mail_server.inbox.to(ALICE.email)
    assert mail["Content-Language"] == "de"
    assert mail["Subject"] == "Ein Zugriff auf Ihre Daten wurde als auffällig markiert"
    assert "kein eingetragener Zweck" in mail.get_content()


def test_a_privacy_office_lookup_is_told_with_its_justification(company, tmp_path):
    _read(company, tmp_path, purpose="legal.compliance", reader="Priya Raman", role="Privacy Officer",
          query_id="lookup-abc", event_id="lookup-1")
    report = _run(company, company.settings)
    assert report.created == {"lookup": 1} and report.email_off
    [notice] = notify.for_principal(company.engine, _principal("alice"))
    assert notice.subject == "The privacy office opened your records"
    assert "Justification given: looked around" in notice.body and notice.email_status == "off"


def test_a_weekly_digest_lists_last_weeks_reads_flagged_first_and_a_daily_one_yesterdays(company, tmp_path):
    today = NOW.date()
    last_monday = datetime.combine(today - timedelta(days=today.weekday() + 7), datetime.min.time(), UTC)
    _read(company, tmp_path, purpose="essential.service.security", when=last_monday + timedelta(hours=10), event_id="ok-1",
          reader="Sam Service", role="security-operations", category="user.behavior.application_usage")
    _read(company, tmp_path, purpose=None, when=last_monday + timedelta(days=2), event_id="flag-1")
    run = _run(company, company.settings)
    assert run.created["digest"] >= 1
    digest = [n for n in notify.for_principal(company.engine, _principal("alice")) if n.kind == "digest"][0]
    assert digest.subject == "Your weekly digest: who read your data"
    assert digest.body.index("Flagged reads:") < digest.body.index("Other reads:")
    assert "Sam Service: Active application and window, 1 read, 7 records" in digest.body

    notify.save(company.engine, _principal("bob"), digest="daily", language=None)
    bob = PERSONA_BY_SUB["bob"]
    line = {"event_id": "bob-1", "time": (NOW - timedelta(days=1)).replace(hour=9, minute=0).isoformat(),
            "subject": bob.employee_id, "category": "user.content.private.chat", "action": "view", "purpose": None,
            "justification": None, "source_system": "x", "record_count": 1,
            "actor": {"id": "person:m", "kind": "person", "name": "M", "team": "T", "role": "R"}}
    (tmp_path / "bob.jsonl").write_text(json.dumps(line) + "\n")
    access_events.ingest_access(company.engine, str(tmp_path / "bob.jsonl"))
    _run(company, company.settings)
    subjects = [n.subject for n in notify.for_principal(company.engine, _principal("bob"))]
    assert "Your daily digest: who read your data" in subjects
    assert "Your weekly digest: who read your data" not in subjects


def test_an_extended_deadline_is_told_with_the_reason(company):
    filed = privacy_requests.file_request(company.engine, _principal("alice"), ALICE.employee_id, "access")
    office = _principal("priya", PRIVACY_OFFICE)
    privacy_requests.extend(company.engine, office, filed.request_id, 1, "Many <b>systems</b> to search")
    _run(company, company.settings)
    texts = [(n.subject, n.body) for n in notify.for_principal(company.engine, _principal("alice"))]
    assert any(s == "Your request is now: received, waiting for the privacy office" for s, _b in texts)
    [(subject, body)] = [t for t in texts if "extended" in t[0]]
    assert "Reason given: Many <b>systems</b> to search" in body and filed.request_id in body


def test_suspending_a_collector_tells_everyone_whose_data_it_sends(company):
    council = _principal("wanda", WORKS_COUNCIL)
    with company.engine.connect() as conn:
        name = conn.execute(sa.select(db.collectors.c.name).where(db.collectors.c.status == "approved",
                                                                  db.collectors.c.category_key == "user.content.private.chat")).scalar()
    register.decide(company.engine, council, name, "suspend", "Paused until the agreement is renewed")
    report = _run(company, company.settings)
    assert report.created["collector"] >= 2
    [notice] = [n for n in notify.for_principal(company.engine, _principal("alice")) if n.kind == "collector"]
    assert notice.subject == "A system collecting your Chat messages was suspended"
    assert "Paused until the agreement is renewed" in notice.body


def test_an_employee_lists_and_marks_only_their_own_notices(company, tmp_path):
    _read(company, tmp_path, purpose=None)
    _run(company, company.settings)
    assert notify.for_principal(company.engine, _principal("bob")) == []
    assert notify.mark_read(company.engine, _principal("bob")) == 0
    assert notify.unread_count(company.engine, ALICE.employee_id) == 1
    assert notify.mark_read(company.engine, _principal("alice")) == 1
    assert notify.unread_count(company.engine, ALICE.employee_id) == 0
