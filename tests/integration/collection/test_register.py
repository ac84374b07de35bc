"""The collector register on SQLite and PostgreSQL: registration checked field by field, the works council's
decisions through one state machine, the refusals telemetry intake reads, and the history it keeps."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.collection import collector_views, register
from portal.collection.collector_states import Status, TransitionError
from portal.collection.register import Collector, CollectorError, CollectorRefused, require_active
from portal.core import catalog, db
from portal.identity import pseudonyms
from portal.identity.policy import EMPLOYEE, PRIVACY_OFFICE, WORKS_COUNCIL, PermissionDenied
from portal.identity.principal import Employee, Principal

KEYSTROKES = "user.behavior.keystrokes"
CHATS = "user.content.private.chat"
T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
PEOPLE = [("E00001", "alice", "Alice Lindqvist"), ("E00003", "wanda", "Wanda Nowak"),
          ("E00004", "priya", "Priya Raman")]


def person(index: int, *roles: str) -> Principal:
    employee_id, sub, name = PEOPLE[index]
    employee = Employee(employee_id, name, f"{sub}@example.com", "Engineering", "Platform", "Engineer", sub)
    return Principal(sub, f"{sub}@example.com", name, employee, frozenset({EMPLOYEE, *roles}))


ALICE, WANDA, PRIYA = person(0), person(1, WORKS_COUNCIL), person(2, PRIVACY_OFFICE)
NAMES = {value for row in PEOPLE for value in row} | {f"{row[1]}@example.com" for row in PEOPLE}


def prepared(engine: sa.Engine) -> sa.Engine:
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
        conn.execute(sa.insert(db.employees), [
            {"employee_id": e, "oidc_sub": sub, "email": f"{sub}@example.com", "display_name": name,
             "department": "Engineering", "team": "Platform", "job_title": "Engineer", "hired_on": date(2020, 1, 1)}
            for e, sub, name in PEOPLE])
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("fresh_postgres_url")
    found = prepared(db.make_engine(url))
    yield found
    found.dispose()


def registered(engine, name="endpoint-agent", **changes) -> Collector:
    fields = {"name": name, "category_key": KEYSTROKES, "purposes": ["essential.service.security"],
              "legal_basis": "GDPR Art. 6(1)(f) legitimate interests", "retention_days": 90,
              "agreement": "WA-2026-03", "description": "Counts keys per 15 minutes; never the keys.", "now": T0}
    fields.update(changes)
    return register.register(engine, PRIYA, **fields)


def decided(engine, name, decision, reason="as agreed in the council meeting", hours=1) -> Collector:
    return register.decide(engine, WANDA, name, decision, reason, now=T0 + timedelta(hours=hours))


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(db.collectors)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(db.collector_decisions)).scalar_one())


def active(engine, name, category_key=None) -> Collector:
    with engine.begin() as conn:
        return require_active(conn, name, category_key)


# ---- registration --------------------------------------------------------------------------------


def test_a_registered_collector_waits_for_the_works_council(engine):
    found = registered(engine)
    assert found == Collector(
        name="endpoint-agent", category_key=KEYSTROKES, purposes=("essential.service.security",),
        legal_basis="GDPR Art. 6(1)(f) legitimate interests", retention_days=90, agreement="WA-2026-03",
        description="Counts keys per 15 minutes; never the keys.", status="pending", registered_at=T0,
        approved_at=None, status_changed_at=T0, status_reason=None)
    [entry] = register.history(engine, WANDA, "endpoint-agent")
    assert (entry.event, entry.actor_role, entry.at) == ("registered", PRIVACY_OFFICE, T0)
    assert entry.reason == (f"category {KEYSTROKES}; purposes essential.service.security; legal basis GDPR Art. "
                            "6(1)(f) legitimate interests; retention 90 days; agreement WA-2026-03")
    with engine.connect() as conn:
        assert entry.actor_ref == pseudonyms.pseudonym_of(conn, "E00004")


def test_optional_fields_may_be_left_out_and_purposes_may_come_comma_separated(engine):
    found = registered(engine, purposes="train_ai_system, essential.service.security,train_ai_system",
                       agreement="  ", description=None)
    assert found.purposes == ("train_ai_system", "essential.service.security")
    assert found.agreement is None and found.description is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "**bold** <b>x</b>"}, "may hold only letters, digits"),
    ({"name": "-starts-with-a-dash"}, "starts with a letter or digit"),
    ({"name": "x" * 101}, "at most 100 characters (got 101)"),
    ({"name": ""}, "needs a name"),
    ({"category_key": "user.behavior.eye_tracking"},
     "unknown telemetry category 'user.behavior.eye_tracking'; known categories: user.behavior.application_usage"),
    ({"purposes": ["employment.performance_management"]},
     "employment.performance_management is not a purpose of Keystroke activity (user.behavior.keystrokes); its "
     "purposes are: essential.service.security, analytics.reporting.productivity, train_ai_system"),
    ({"purposes": ["mind_reading"]}, "unknown purpose 'mind_reading'; known purposes: "),
    ({"purposes": []}, "names at least one purpose"),
    ({"retention_days": 181}, "retention of 181 days is above the 180 days the catalog allows for Keystroke activity"),
    ({"retention_days": 0}, "at least 1 day (got 0)"),
    ({"retention_days": "90"}, "a whole number of days"),
    ({"legal_basis": " "}, "needs a legal basis"),
    ({"legal_basis": "x" * 201}, "the legal basis is limited to 200 characters (got 201)"),
    ({"agreement": "WA-1\x00"}, "the agreement holds a control character (U+0000)"),
], ids=["markup in the name", "leading dash", "long name", "no name", "unknown category", "foreign purpose",
        "unknown purpose", "no purpose", "retention above the catalog", "no retention", "retention as text",
        "blank legal basis", "long legal basis", "NUL in the agreement"])
def test_a_registration_with_a_bad_field_names_it_and_writes_nothing(engine, changes, message):
    with pytest.raises((CollectorError, catalog.UnknownCategory)) as caught:
        registered(engine, **changes)
    assert message in str(caught.value)
    assert counts(engine) == (0, 0)


def test_a_name_already_on_the_register_is_refused(engine):
    registered(engine)
    with pytest.raises(CollectorError, match="collector 'endpoint-agent' is already on the register \\(pending\\)"):
        registered(engine, category_key=CHATS, purposes=["legal.compliance"])
    assert counts(engine) == (1, 1)


# ---- decisions -----------------------------------------------------------------------------------


def test_the_works_council_approves_suspends_and_resumes_each_time_with_its_reason(engine):
    registered(engine)
    approved = decided(engine, "endpoint-agent", "approve", "agreed in works agreement WA-2026-03", hours=1)
    assert (approved.status, approved.approved_at, approved.status_reason) == (
        Status.APPROVED, T0 + timedelta(hours=1), "agreed in works agreement WA-2026-03")
    suspended = decided(engine, "endpoint-agent", "suspend", "data readable far too broadly", hours=2)
    assert (suspended.status, suspended.status_changed_at) == (Status.SUSPENDED, T0 + timedelta(hours=2))
    resumed = decided(engine, "endpoint-agent", "resume", "access narrowed to security operations", hours=3)
    assert resumed.status == Status.APPROVED
    assert resumed.approved_at == T0 + timedelta(hours=1)  # the first approval stays
    assert resumed.status_changed_at == T0 + timedelta(hours=3)
    entries = register.history(engine, PRIYA, "endpoint-agent")
    assert [(e.event, e.actor_role, e.reason) for e in entries[1:]] == [
        ("approved", WORKS_COUNCIL, "agreed in works agreement WA-2026-03"),
        ("suspended", WORKS_COUNCIL, "data readable far too broadly"),
        ("resumed", WORKS_COUNCIL, "access narrowed to security operations")]
    assert not {e.actor_ref for e in entries} & NAMES  # pseudonyms only
    assert collector_views.status_words(resumed) == ("approved by the works council since 7 Dec 2026; resumed on "
                                                     "7 Dec 2026 after a pause")


def test_refusing_a_pending_collector_suspends_it_and_a_later_resume_is_its_first_approval(engine):
    registered(engine)
    refused = decided(engine, "endpoint-agent", "suspend", "no works agreement yet", hours=1)
    assert refused.status == Status.SUSPENDED and refused.approved_at is None and refused.refused
    assert collector_views.status_words(refused) == ("refused by the works council on 7 Dec 2026: "
                                                     "no works agreement yet")
    resumed = decided(engine, "endpoint-agent", "resume", "works agreement signed", hours=5)
    assert resumed.status == Status.APPROVED and resumed.approved_at == T0 + timedelta(hours=5)


@pytest.mark.parametrize(("steps", "decision", "message"), [
    ((), "resume", "collector 'endpoint-agent' is pending; it cannot be resumed (a pending collector can only be "
                   "approved or suspended)"),
    (("approve",), "approve", "collector 'endpoint-agent' is approved; it cannot be approved"),
    (("approve",), "resume", "collector 'endpoint-agent' is approved; it cannot be resumed"),
    (("approve", "suspend"), "approve", "collector 'endpoint-agent' is suspended; it cannot be approved (a suspended "
                                        "collector can only be resumed)"),
    (("approve", "suspend"), "suspend", "collector 'endpoint-agent' is suspended; it cannot be suspended"),
], ids=["resume pending", "approve approved", "resume approved", "approve suspended", "suspend suspended"])
def test_a_decision_the_lifecycle_does_not_allow_names_the_current_status_and_writes_nothing(engine, steps, decision,
                                                                                            message):
    registered(engine)
    for hours, step in enumerate(steps, start=1):
        decided(engine, "endpoint-agent", step, hours=hours)
    before = counts(engine)
    with pytest.raises(TransitionError) as caught:
        decided(engine, "endpoint-agent", decision, hours=9)
    assert message in str(caught.value)
    assert counts(engine) == before


@pytest.mark.parametrize(("reason", "message"), [
    ("", "a reason is required: employees read it"),
    ("   \n ", "a reason is required: employees read it"),
    ("x" * 1001, "the reason is limited to 1,000 characters (got 1,001)"),
    (None, "a reason is required"),
], ids=["empty", "blank", "too long", "none"])
def test_a_decision_needs_a_reason_of_reasonable_length(engine, reason, message):
    registered(engine)
    with pytest.raises(CollectorError, match=re.escape(message)):
        register.decide(engine, WANDA, "endpoint-agent", "approve", reason)
    assert counts(engine) == (1, 1)


def test_an_unknown_collector_or_decision_is_named(engine):
    registered(engine)
    with pytest.raises(CollectorError, match="collector 'nobody' is not on the register"):
        register.decide(engine, WANDA, "nobody", "approve", "fine")
    with pytest.raises(CollectorError, match="unknown decision 'bless'; choose approve, suspend, resume"):
        register.decide(engine, WANDA, "endpoint-agent", "bless", "fine")


def test_only_the_privacy_office_registers_and_only_the_works_council_decides(engine):
    with pytest.raises(PermissionDenied, match="privacy_office"):
        register.register(engine, WANDA, name="by-wanda", category_key=KEYSTROKES, purposes=["train_ai_system"],
                          legal_basis="consent", retention_days=1)
    registered(engine)
    for who in (PRIYA, ALICE):
        with pytest.raises(PermissionDenied, match="works_council"):
            register.decide(engine, who, "endpoint-agent", "approve", "fine")
    with pytest.raises(PermissionDenied):
        register.listed(engine, ALICE)
    assert counts(engine) == (1, 1)


def test_a_decision_based_on_a_stale_read_is_refused_and_writes_nothing(engine, monkeypatch):
    stale = registered(engine)
    decided(engine, "endpoint-agent", "approve")  # someone else, meanwhile
    real = register._load
    monkeypatch.setattr(register, "_load", lambda conn, name, lock=False, share=False:
                        stale if lock else real(conn, name, lock=lock, share=share))
    before = counts(engine)
    with pytest.raises(CollectorError, match="collector 'endpoint-agent' changed meanwhile"):
        decided(engine, "endpoint-agent", "approve", hours=2)
    monkeypatch.undo()
    assert counts(engine) == before
    assert active(engine, "endpoint-agent").approved_at == T0 + timedelta(hours=1)


# ---- what telemetry intake reads ---------------------------------------------------------------------


def test_only_an_approved_collector_for_its_own_category_gets_through(engine):
    registered(engine)
    with pytest.raises(CollectorRefused) as caught:
        active(engine, "endpoint-agent")
    assert str(caught.value) == "collector 'endpoint-agent' is pending: the works council has not approved it"
    decided(engine, "endpoint-agent", "approve")
    assert active(engine, "endpoint-agent", KEYSTROKES).status == "approved"
    with pytest.raises(CollectorRefused) as caught:
        active(engine, "endpoint-agent", CHATS)
    assert str(caught.value) == f"collector 'endpoint-agent' is registered for {KEYSTROKES}, not {CHATS}"
    decided(engine, "endpoint-agent", "suspend", "readable far too broadly", hours=2)
    with pytest.raises(CollectorRefused) as caught:
        active(engine, "endpoint-agent", KEYSTROKES)
    assert str(caught.value) == ("collector 'endpoint-agent' is suspended: paused by the works council on 2026-12-07: "
                                 "readable far too broadly")
    with pytest.raises(CollectorRefused) as caught:
        active(engine, "shadow-agent")
    assert str(caught.value) == "collector 'shadow-agent' is not on the register"


def test_the_register_lists_every_collector_or_those_of_one_category(engine):
    registered(engine, name="b-agent")
    registered(engine, name="a-agent")
    registered(engine, name="chat-export", category_key=CHATS, purposes=["legal.compliance"], retention_days=730)
    with engine.connect() as conn:
        assert [c.name for c in register.collectors(conn)] == ["a-agent", "b-agent", "chat-export"]
        assert [c.name for c in register.collectors(conn, KEYSTROKES)] == ["a-agent", "b-agent"]
        assert register.collectors(conn, "user.workplace.performance") == []


def test_a_suspension_waits_for_a_batch_being_taken_in_on_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the share lock is PostgreSQL's")
    registered(engine)
    decided(engine, "endpoint-agent", "approve")
    finished = threading.Event()

    def suspend() -> None:
        decided(engine, "endpoint-agent", "suspend", "stop now", hours=2)
        finished.set()

    with engine.begin() as conn:
        require_active(conn, "endpoint-agent", KEYSTROKES)
        worker = threading.Thread(target=suspend)
        worker.start()
        time.sleep(0.5)
        assert not finished.is_set()  # the batch in flight is taken in under the approval it was checked against
    worker.join(10)
    assert finished.is_set()
    with pytest.raises(CollectorRefused, match="is suspended"):
        active(engine, "endpoint-agent")


# ---- what employees read -------------------------------------------------------------------------------


def test_an_employee_sees_every_category_with_its_collectors_and_their_status(engine):
    registered(engine, name="endpoint-agent")
    registered(engine, name="keylogger-next", agreement=None)
    decided(engine, "endpoint-agent", "approve", "agreed")
    groups = {g.key: g for g in collector_views.by_category(engine, ALICE)}
    assert set(groups) == {c.key for c in catalog.CATEGORIES}
    assert groups[CHATS].lines == ()
    assert [(line.name, line.agreement, line.words, line.active) for line in groups[KEYSTROKES].lines] == [
        ("endpoint-agent", "WA-2026-03", "approved by the works council since 7 Dec 2026", True),
        ("keylogger-next", None, "awaiting the works council's decision; it may send nothing until approved", False)]
    nobody = Principal("svc:x", None, None, None, frozenset({EMPLOYEE}))
    with pytest.raises(PermissionDenied):
        collector_views.by_category(engine, nobody)
