"""The request service on SQLite and PostgreSQL: filing, every transition recorded, withdrawal,
the one extension, concurrent changes, the queue, and subject lookup."""

from __future__ import annotations

import os
import secrets
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit import my_access
from portal.identity import pseudonyms
from portal.identity import directory
from portal.core import catalog, db
from portal.privacy import privacy_requests, request_views, subject_lookup
from portal.privacy.deadlines import DeadlineError
from portal.identity.principal import Employee, Principal
from portal.identity.policy import EMPLOYEE, PRIVACY_OFFICE, WORKS_COUNCIL, PermissionDenied
from portal.privacy.privacy_requests import RequestError
from portal.privacy.request_states import EXECUTOR, OFFICE, SUBJECT, Status, TransitionError

PG_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RECEIVED = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
KEYSTROKES = "user.behavior.keystrokes"
PERFORMANCE = "user.workplace.performance"

PEOPLE = [("E00001", "alice", "alice@example.com", "Alice Lindqvist"),
          ("E00002", "bob", "bob@example.com", "Bob Okafor"),
          ("E00003", "wanda", "wanda@example.com", "Wanda Nowak"),
          ("E00004", "priya", "priya@example.com", "Priya Raman")]


def person(index: int, *roles: str) -> Principal:
    employee_id, sub, email, name = PEOPLE[index]
    employee = Employee(employee_id, name, email, "Engineering", "Platform", "Engineer", sub)
    return Principal(sub, email, name, employee, frozenset({EMPLOYEE, *roles}))


ALICE, BOB, WANDA = person(0), person(1), person(2, WORKS_COUNCIL)
PRIYA = person(3, PRIVACY_OFFICE)
NAMES = {value for row in PEOPLE for value in row}


def add_people(engine: sa.Engine) -> sa.Engine:
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
        conn.execute(sa.insert(db.employees), [
            {"employee_id": e, "oidc_sub": sub, "email": mail, "display_name": name, "department": "Engineering",
             "team": "Platform", "job_title": "Engineer", "hired_on": date(2020, 1, 1)}
            for e, sub, mail, name in PEOPLE])
    return engine


def postgres_schema_url() -> tuple[str, str]:
    """A fresh schema on the test PostgreSQL: (URL with search_path, schema); skips when unreachable."""
    admin = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    schema = f"t_{secrets.token_hex(6)}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable under CI: {exc.orig}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable")
    finally:
        admin.dispose()
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}", schema


def drop_schema(schema: str) -> None:
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = add_people(db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}"))
        yield engine
        engine.dispose()
    else:
        url, schema = postgres_schema_url()
        engine = add_people(db.make_engine(url))
        yield engine
        engine.dispose()
        drop_schema(schema)


def counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(db.privacy_requests)).scalar(),
                conn.execute(sa.select(sa.func.count()).select_from(db.request_transitions)).scalar())


def file(engine, who=ALICE, kind="erasure", when=RECEIVED, **kw):
    return privacy_requests.file_request(engine, who, who.employee_id if who is not PRIYA else "alice", kind,
                                         now=when, **kw)


# ---- filing ------------------------------------------------------------------------------------


def test_an_employee_files_a_request_that_is_due_one_month_later_and_recorded_as_received(engine):
    request = file(engine, categories=[KEYSTROKES])
    assert (request.status, request.deadline, request.due) == (Status.SUBMITTED, date(2026, 2, 28), date(2026, 2, 28))
    assert request.scope == "Keystroke activity"
    [entry] = privacy_requests.history(engine, ALICE, request.request_id)
    assert (entry.event, entry.to_status, entry.actor_role, entry.reason) == ("filed", Status.SUBMITTED, SUBJECT,
                                                                               "received by portal")
    assert entry.at == RECEIVED


def test_the_privacy_office_files_a_request_that_arrived_by_letter_on_the_persons_behalf(engine):
    request = privacy_requests.file_request(engine, PRIYA, "alice@example.com", "objection",
                                            purpose="train_ai_system", channel="letter", now=RECEIVED)
    assert request.employee_id == "E00001" and request.channel == "letter"
    [entry] = privacy_requests.history(engine, PRIYA, request.request_id)
    assert entry.actor_role == OFFICE and entry.reason == "received by letter"
    assert privacy_requests.my_requests(engine, ALICE)[0].request_id == request.request_id


@pytest.mark.parametrize(("who", "subject", "kind", "kw", "error", "message"), [
    (ALICE, "E00001", "forget-me", {}, RequestError, "unknown request kind 'forget-me'"),
    (ALICE, "E00001", "erasure", {"categories": ["user.behavior.mind"]}, catalog.UnknownCategory, "user.behavior.mind"),
    (ALICE, "E00001", "erasure", {"categories": [PERFORMANCE]}, RequestError, "kept under the employment contract"),
    (ALICE, "E00001", "erasure", {"purpose": "train_ai_system"}, RequestError, "only applies to objections"),
    (ALICE, "E00001", "objection", {}, RequestError, "names a purpose"),
    (ALICE, "E00001", "objection", {"categories": ["user.content.private.chat"],
                                    "purpose": "essential.service.collaboration"}, RequestError,
     "Chat messages serves Providing chat and meetings under GDPR Art. 6.1..b. employment contract; an objection"),
    (ALICE, "E00001", "objection", {"purpose": "employment.performance_management"}, RequestError,
     "not open to objection"),
    (ALICE, "E00001", "objection", {"purpose": "mind_reading"}, RequestError, "unknown purpose 'mind_reading'"),
    (ALICE, "E00001", "access", {"categories": [KEYSTROKES]}, RequestError, "takes no categories"),
    (ALICE, "E00001", "erasure", {"channel": "pigeon"}, RequestError, "unknown channel 'pigeon'"),
    (ALICE, "E00001", "erasure", {"details": "x" * 4001}, RequestError, "limited to 4000 characters"),
    (ALICE, "E00002", "erasure", {}, PermissionDenied, "needs one of the roles privacy_office"),
    (PRIYA, "nobody@example.com", "erasure", {}, directory.UnknownSubject, "nobody@example.com"),
    (WANDA, "E00001", "erasure", {}, PermissionDenied, "Not allowed"),
], ids=["kind", "category", "performance erasure", "purpose on erasure", "empty objection",
        "performance objection", "performance purpose", "purpose", "access with categories", "channel", "details",
        "someone else", "unknown subject", "works council"])
def test_a_bad_request_is_refused_with_the_reason_and_nothing_is_written(engine, who, subject, kind, kw, error,
                                                                         message):
    with pytest.raises(error, match=message):
        privacy_requests.file_request(engine, who, subject, kind, now=RECEIVED, **kw)
    assert counts(engine) == (0, 0)


# ---- transitions -----------------------------------------------------------------------------------


def test_every_transition_is_recorded_with_actor_time_and_reason_and_names_nobody(engine):
    request = file(engine)
    t = RECEIVED + timedelta(days=1)
    privacy_requests.transition(engine, PRIYA, request.request_id, "in_review", "checking identity", now=t)
    privacy_requests.approve(engine, PRIYA, request.request_id, "identity confirmed", now=t + timedelta(hours=1))
    privacy_requests.transition(engine, PRIYA, request.request_id, "executing", "starting", now=t + timedelta(hours=2))
    with engine.begin() as conn:
        privacy_requests.executor_transition(conn, request.request_id, Status.COMPLETED, "verified",
                                             now=t + timedelta(hours=3))
    entries = privacy_requests.history(engine, ALICE, request.request_id)
    assert [(e.from_status, e.to_status, e.actor_role, e.reason) for e in entries] == [
        (None, Status.SUBMITTED, SUBJECT, "received by portal"),
        (Status.SUBMITTED, Status.IN_REVIEW, OFFICE, "checking identity"),
        (Status.IN_REVIEW, Status.APPROVED, OFFICE, "identity confirmed"),
        (Status.APPROVED, Status.EXECUTING, OFFICE, "starting"),
        (Status.EXECUTING, Status.COMPLETED, EXECUTOR, "verified"),
    ]
    assert [e.at for e in entries] == sorted(e.at for e in entries) and entries[-1].at == t + timedelta(hours=3)
    assert not {e.actor_ref for e in entries} & NAMES  # pseudonyms and service ids only
    with engine.connect() as conn:
        assert entries[1].actor_ref == pseudonyms.pseudonym_of(conn, "E00004")
    assert entries[-1].actor_ref == privacy_requests.EXECUTOR_REF


def test_the_history_is_append_only_in_the_database(engine):
    request = file(engine)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.update(db.request_transitions).values(reason="rewritten")
                     .where(db.request_transitions.c.request_id == request.request_id))


@pytest.mark.parametrize("reached", [Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED])
def test_the_employee_withdraws_a_request_that_is_not_yet_being_carried_out(engine, reached):
    request = file(engine)
    if reached != Status.SUBMITTED:
        privacy_requests.transition(engine, PRIYA, request.request_id, "in_review")
    if reached == Status.APPROVED:
        privacy_requests.approve(engine, PRIYA, request.request_id)
    done = privacy_requests.transition(engine, ALICE, request.request_id, "withdrawn", "changed my mind")
    assert done.status == Status.WITHDRAWN
    assert privacy_requests.history(engine, ALICE, request.request_id)[-1].actor_role == SUBJECT


def test_a_request_being_carried_out_can_no_longer_be_withdrawn(engine):
    request = file(engine)
    privacy_requests.approve(engine, PRIYA, request.request_id)
    privacy_requests.transition(engine, PRIYA, request.request_id, "executing")
    before = counts(engine)
    with pytest.raises(TransitionError, match="executing to withdrawn"):
        privacy_requests.transition(engine, ALICE, request.request_id, "withdrawn")
    assert counts(engine) == before
    assert privacy_requests.get(engine, ALICE, request.request_id).status == Status.EXECUTING


def test_nobody_else_may_withdraw_or_read_an_employees_request(engine):
    request = file(engine)
    with pytest.raises(PermissionDenied):
        privacy_requests.transition(engine, BOB, request.request_id, "withdrawn")
    with pytest.raises(PermissionDenied):
        privacy_requests.get(engine, WANDA, request.request_id)
    with pytest.raises(PermissionDenied):
        privacy_requests.history(engine, BOB, request.request_id)


def test_a_rejection_needs_a_reason_which_the_employee_then_reads(engine):
    request = file(engine)
    with pytest.raises(TransitionError, match="needs a reason"):
        privacy_requests.transition(engine, PRIYA, request.request_id, "rejected", "  ")
    privacy_requests.transition(engine, PRIYA, request.request_id, "rejected", "identity could not be confirmed")
    assert privacy_requests.get(engine, ALICE, request.request_id).decision_reason == "identity could not be confirmed"


# ---- deadlines -------------------------------------------------------------------------------------


def test_the_deadline_is_extended_once_with_a_reason_the_employee_sees(engine):
    request = file(engine)
    later = RECEIVED + timedelta(days=20)
    privacy_requests.extend(engine, PRIYA, request.request_id, 2, "several legacy systems must be searched", now=later)
    seen = privacy_requests.get(engine, ALICE, request.request_id)
    assert (seen.deadline, seen.extended_deadline, seen.due) == (date(2026, 2, 28), date(2026, 4, 30),
                                                                  date(2026, 4, 30))
    assert seen.extension_reason == "several legacy systems must be searched"
    words = request_views.extension_words(seen)
    assert "28 Feb 2026 to 30 Apr 2026" in words and "several legacy systems must be searched" in words
    assert request_views.deadline_words(seen, date(2026, 4, 20)) == "due 30 Apr 2026 (10 days left)"
    last = privacy_requests.history(engine, ALICE, request.request_id)[-1]
    assert last.event == "extended" and "2026-04-30" in last.reason and "legacy systems" in last.reason
    before = counts(engine)
    with pytest.raises(DeadlineError, match="already extended once"):
        privacy_requests.extend(engine, PRIYA, request.request_id, 1, "again")
    assert counts(engine) == before


@pytest.mark.parametrize(("months", "reason", "message"), [(3, "busy", "1 or 2 further months"),
                                                            (2, " ", "needs a reason")])
def test_an_extension_beyond_the_law_or_without_a_reason_is_refused(engine, months, reason, message):
    request = file(engine)
    with pytest.raises(DeadlineError, match=message):
        privacy_requests.extend(engine, PRIYA, request.request_id, months, reason)
    assert privacy_requests.get(engine, ALICE, request.request_id).extended_deadline is None


def test_only_the_privacy_office_extends(engine):
    request = file(engine)
    with pytest.raises(PermissionDenied):
        privacy_requests.extend(engine, ALICE, request.request_id, 2, "I want more time")


# ---- concurrent changes ------------------------------------------------------------------------------


def test_a_change_based_on_a_stale_read_is_refused_and_writes_nothing(engine, monkeypatch):
    request = file(engine)
    stale = privacy_requests.get(engine, ALICE, request.request_id)
    privacy_requests.transition(engine, PRIYA, request.request_id, "in_review")  # someone else, meanwhile
    real = privacy_requests._load
    monkeypatch.setattr(privacy_requests, "_load",
                        lambda conn, rid, lock=False: stale if lock else real(conn, rid, lock=lock))
    before = counts(engine)
    with pytest.raises(TransitionError, match="changed meanwhile"):
        privacy_requests.transition(engine, ALICE, request.request_id, "withdrawn")
    monkeypatch.undo()
    assert counts(engine) == before
    assert privacy_requests.get(engine, ALICE, request.request_id).status == Status.IN_REVIEW


def test_two_people_deciding_at_once_on_postgresql_one_wins_and_the_other_is_refused(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row lock is PostgreSQL's")
    request = file(engine)
    outcomes, barrier = [], threading.Barrier(2)

    def decide(who, target):
        barrier.wait()
        try:
            privacy_requests.transition(engine, who, request.request_id, target, "deciding")
            outcomes.append("ok")
        except TransitionError as exc:
            outcomes.append(str(exc))

    # Either order leaves the other change impossible: nothing leaves rejected or withdrawn.
    threads = [threading.Thread(target=decide, args=args) for args in ((PRIYA, "rejected"), (ALICE, "withdrawn"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1, outcomes
    assert "already" in next(o for o in outcomes if o != "ok")
    assert len(privacy_requests.history(engine, ALICE, request.request_id)) == 2


# ---- the queue -------------------------------------------------------------------------------------


def test_the_queue_is_ordered_by_deadline_and_marks_overdue_and_at_risk_requests(engine):
    today = date(2026, 3, 10)
    late = file(engine, when=datetime(2026, 2, 1, tzinfo=UTC))  # due 1 Mar: overdue
    soon = file(engine, kind="access", when=datetime(2026, 2, 14, tzinfo=UTC))  # due 14 Mar: at risk
    calm = file(engine, kind="objection", purpose="train_ai_system", when=datetime(2026, 3, 9, tzinfo=UTC))
    done = file(engine, when=datetime(2026, 1, 2, tzinfo=UTC))
    privacy_requests.transition(engine, ALICE, done.request_id, "withdrawn")
    items = request_views.queue(engine, PRIYA, today)
    assert [i.request.request_id for i in items] == [late.request_id, soon.request_id, calm.request_id]
    assert [i.urgency for i in items] == ["overdue", "at risk", None]
    assert [i.days_left for i in items] == [-9, 4, 30]
    assert items[0].person == "Alice Lindqvist (E00001)"
    frame = request_views.queue_frame(items)
    assert frame["Deadline"].to_list() == [["overdue"], ["at risk"], []]
    assert len(request_views.queue(engine, PRIYA, today, include_closed=True)) == 4
    with pytest.raises(PermissionDenied):
        request_views.queue(engine, ALICE, today)


def test_the_request_register_tells_the_works_council_which_deadlines_were_met(engine):
    on_time = file(engine, when=datetime(2026, 2, 1, tzinfo=UTC))
    privacy_requests.transition(engine, PRIYA, on_time.request_id, "rejected", "no",
                                now=datetime(2026, 2, 5, tzinfo=UTC))
    file(engine, when=datetime(2026, 1, 1, tzinfo=UTC))  # still open, past its deadline
    frame = request_views.register_frame(engine, today=date(2026, 3, 1)).sort("met_deadline", nulls_last=True)
    assert frame.select("kind", "status", "met_deadline").rows() == [("erasure", "submitted", False),
                                                                      ("erasure", "rejected", True)]


# ---- subject lookup -------------------------------------------------------------------------------


def test_a_subject_lookup_without_a_justification_shows_and_records_nothing(engine, tmp_path):
    from portal.lake.telemetry import TelemetryStore
    from tests.conftest import make_settings

    store = TelemetryStore(make_settings(tmp_path))
    for reason in (None, "", "   ", "ok"):
        with pytest.raises(subject_lookup.SubjectLookupError):
            subject_lookup.open_records(engine, store, PRIYA, "alice", KEYSTROKES, reason)
    about_bob = privacy_requests.file_request(engine, PRIYA, "bob", "access", now=RECEIVED)
    with pytest.raises(subject_lookup.SubjectLookupError, match="is about someone else"):
        subject_lookup.open_records(engine, store, PRIYA, "alice", KEYSTROKES, f"handling {about_bob.request_id}")
    with pytest.raises(subject_lookup.SubjectLookupError, match="there is no request REQ-0BADF00D"):
        subject_lookup.open_records(engine, store, PRIYA, "alice", KEYSTROKES, "handling REQ-0BADF00D")
    with pytest.raises(PermissionDenied):
        subject_lookup.open_records(engine, store, WANDA, "alice", KEYSTROKES, "PRIV-1234")
    with engine.connect() as conn:
        assert my_access.events_for_subject(conn, "E00001") == []


def test_a_subject_lookup_with_a_justification_is_an_access_event_the_person_sees(engine, tmp_path):
    import pyarrow as pa

    from portal.lake.telemetry import TelemetryStore
    from tests.conftest import make_settings

    store = TelemetryStore(make_settings(tmp_path))
    n = 7
    store.append("keystrokes", pa.table({
        "subject_id": ["E00001"] * n, "ts": pa.array([RECEIVED + timedelta(minutes=15 * i) for i in range(n)],
                                                     pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array([15] * n, pa.int16()), "key_count": pa.array(range(n), pa.int32()),
        "active_seconds": pa.array([60] * n, pa.int32()), "device": ["LT-1"] * n}))
    request = privacy_requests.file_request(engine, ALICE, "E00001", "erasure", now=RECEIVED)
    found = subject_lookup.open_records(engine, store, PRIYA, "alice@example.com", KEYSTROKES,
                                        f"checking scope of {request.request_id.lower()}", limit=5)
    assert (found.person, found.total, found.records.height) == ("Alice Lindqvist (E00001)", 7, 5)
    [event] = my_access.events_about(engine, ALICE)
    assert (event.event_id, event.actor, event.category_key, event.record_count, event.action) == (
        found.event_id, "Priya Raman", KEYSTROKES, 5, "view")
    assert event.justification == f"checking scope of {request.request_id.lower()}"
    assert my_access.events_about(engine, BOB) == []
