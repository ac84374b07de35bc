"""The demo company's request history, seeded through the real lifecycle: legal paths only, erasures
verified, the council's figures shown at k = 5, the personas untouched, the same history for the same seed."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from portal.identity import pseudonyms
from portal import bootstrap
from portal.core import catalog, db
from portal.demo import seed as demo
from portal.privacy import optout, privacy_requests, receipts, request_views
from portal.council import figures
from portal.audit.signed_log import AuditLog
from portal.identity.principal import ClaimRules, principal_from_claims
from portal.demo.personas import PERSONA_BY_SUB, PERSONAS
from portal.privacy.request_states import OFFICE, Kind, Status, check_transition
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings

END = demo.DEFAULT_END_DATE
DAY_AFTER = END + timedelta(days=1)  # when the demo is looked at: the day after its last day


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    """The default demo company, 300 employees over 90 days; tests only read it."""
    settings = make_settings(tmp_path_factory.mktemp("demo-requests"))
    report = demo.seed(settings, employees=300, days=90, seed=42)
    services = bootstrap.build(settings)
    yield services, report
    services.engine.dispose()


@pytest.fixture(scope="module")
def priya(company):
    services, _ = company
    return principal_from_claims(PERSONA_BY_SUB["priya"].claims(), services.directory,
                                 ClaimRules.from_settings(services.settings))


def all_requests(services, priya) -> list[privacy_requests.Request]:
    return privacy_requests.list_requests(services.engine, priya)


def test_every_seeded_request_went_through_legal_transitions_only(company, priya):
    services, _ = company
    found = all_requests(services, priya)
    assert len(found) == 48
    for request in found:
        history = privacy_requests.history(services.engine, priya, request.request_id)
        assert (history[0].event, history[0].from_status, history[0].to_status) == ("filed", None, Status.SUBMITTED)
        status = Status.SUBMITTED
        for entry in history[1:]:
            assert entry.from_status == status, request.request_id
            if entry.event == "extended":
                assert entry.to_status == status and entry.actor_role == OFFICE and entry.reason
            else:
                check_transition(entry.from_status, entry.to_status, entry.actor_role, entry.reason)
                status = entry.to_status
        assert status == request.status
        assert [e.at for e in history] == sorted(e.at for e in history)
        assert history[-1].at <= datetime.combine(END, time(23, 59), UTC)


def test_the_mix_spreads_over_kinds_and_statuses_with_reasons_the_employee_reads(company, priya):
    services, _ = company
    found = all_requests(services, priya)
    by_kind = {k: [r for r in found if r.kind == k] for k in Kind}
    assert [len(by_kind[k]) for k in (Kind.OBJECTION, Kind.ACCESS, Kind.ERASURE)] == [34, 8, 6]
    assert sum(r.purpose_code == "train_ai_system" for r in by_kind[Kind.OBJECTION]) >= 20
    statuses = {r.status for r in found}
    assert {Status.COMPLETED, Status.IN_REVIEW, Status.APPROVED, Status.SUBMITTED, Status.REJECTED,
            Status.WITHDRAWN} <= statuses
    assert all(r.decision_reason for r in found if r.status == Status.REJECTED)
    [extended] = [r for r in found if r.extended_deadline is not None]
    assert extended.kind == Kind.ERASURE and extended.status in request_views.OPEN
    assert extended.deadline < DAY_AFTER <= extended.extended_deadline
    assert "Their reason: Copies are also held" in request_views.extension_words(extended)


def test_the_demo_queue_holds_open_requests_for_the_privacy_office(company, priya):
    services, _ = company
    queue = request_views.queue(services.engine, priya, DAY_AFTER)
    assert len(queue) == 14 and all(i.request.status in request_views.OPEN for i in queue)
    overdue = [i for i in queue if i.urgency == request_views.OVERDUE]
    assert len(overdue) == 3 and all(i.request.kind == Kind.OBJECTION for i in overdue)
    assert any(i.urgency == request_views.AT_RISK for i in queue)
    assert sum(i.urgency is None for i in queue) >= 8  # most are not yet due
    assert all(i.display_name != "unknown" for i in queue)


def test_completed_erasures_are_verified_and_no_row_of_those_people_remains(company, priya):
    services, _ = company
    store = TelemetryStore(services.settings)
    erased = [r for r in all_requests(services, priya) if r.kind == Kind.ERASURE and r.status == Status.COMPLETED]
    assert len(erased) == 3 and any(r.erases_everything for r in erased)
    salt = optout.salt(services.settings.data_dir)
    for request in erased:
        receipt = receipts.for_request(services.engine, priya, request.request_id)
        assert receipts.verify(receipt.text, receipts.verifier_key(services.settings.data_dir))
        assert receipt.document["verification"]["result"] == "passed"
        for key in request.category_keys:
            table = catalog.category(key).table_name
            assert store.count(table, request.employee_id) == 0
            assert store.rows_on_disk(table, request.employee_id).rows == 0, table
        with services.engine.connect() as conn:
            assert optout.tombstone(conn, salt, request.employee_id) is not False
        assert store.count("performance_records", request.employee_id) > 0  # kept under the contract


def test_the_people_sharing_a_bucket_with_an_erased_person_still_read_their_data(company, priya):
    services, _ = company
    store = TelemetryStore(services.settings)
    [erased] = [r.employee_id for r in all_requests(services, priya) if r.kind == Kind.ERASURE
                and r.status == Status.COMPLETED and r.erases_everything]
    neighbours = [f"E{i:05d}" for i in range(5, 301) if store.bucket_of(f"E{i:05d}") == store.bucket_of(erased)
                  and f"E{i:05d}" != erased]
    assert neighbours
    for subject in neighbours:  # their rows sit in the files the erasure rewrote
        assert store.summary(subject).height >= 5, subject
        for key in privacy_requests.ERASABLE:
            table = catalog.category(key).table_name
            assert store.rows_on_disk(table, subject).rows == store.count(table, subject), (subject, table)


def test_the_council_sees_objections_and_whether_their_deadlines_were_met_at_k_5(company):
    services, _ = company
    settings = services.settings
    assert settings.k_anonymity == 5
    release = figures.request_release(
        settings, services.engine, lambda engine: figures.default_request_source(engine, DAY_AFTER))
    kinds = {r["kind"]: r["requests"] for r in release.view(("kind",)).iter_rows(named=True)}
    assert kinds == {"objection": 34, "access": 8, "erasure": 6}
    assert {r["kind"]: r["people"] for r in release.view(("kind",)).iter_rows(named=True)} == {
        "objection": 35, "access": 10, "erasure": 5}  # people, rounded to a multiple of k
    deadlines = {r["deadline"]: r["requests"] for r in release.view(("kind", "deadline")).iter_rows(named=True)
                 if r["kind"] == "objection"}
    assert deadlines == {figures.MET: 21, figures.MISSED: 5, figures.NOT_DUE: 8}
    for view in figures.REQUEST_VIEWS:
        shown = release.view(view)["people"].drop_nulls()
        assert (shown >= 5).all(), view


def test_the_personas_never_ask_and_keep_all_their_data(company):
    services, _ = company
    store = TelemetryStore(services.settings)
    with services.engine.connect() as conn:
        askers = set(conn.execute(sa.select(db.privacy_requests.c.employee_id)).scalars())
        for persona in PERSONAS:
            assert pseudonyms.pseudonym_of(conn, persona.employee_id)
    assert not askers & {p.employee_id for p in PERSONAS}
    for persona in PERSONAS:
        assert store.summary(persona.employee_id).height == len(catalog.CATEGORIES), persona.sub


def test_the_signed_checkpoint_covers_every_request_transition_and_collector_decision(company):
    services, report = company
    with services.engine.connect() as conn:
        transitions = conn.execute(sa.select(sa.func.count()).select_from(db.request_transitions)).scalar_one()
        events = conn.execute(sa.select(sa.func.count()).select_from(db.access_events)).scalar_one()
        decisions = conn.execute(sa.select(sa.func.count()).select_from(db.collector_decisions)).scalar_one()
    assert transitions == report.db_rows["request_transitions"] > 0
    assert events == report.db_rows["access_events"]
    assert decisions == 2 * report.db_rows["collectors"] > 0  # each registered, then approved or refused
    checkpoint = AuditLog(services.settings, services.engine).latest_checkpoint()
    assert checkpoint.size == transitions + events + decisions
    assert "requests" in report.timings and "privacy_requests" in report.describe()


def _register(settings) -> list[tuple]:
    """The request register without its random ids (request ids are drawn fresh by design)."""
    engine = db.make_engine(settings.resolved_database_url)
    r = db.privacy_requests.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(r.employee_id, r.kind, r.categories, r.purpose_code, r.channel, r.details,
                                      r.received_at, r.deadline, r.extended_deadline, r.extension_reason, r.status,
                                      r.decision_reason, r.updated_at)).all()
    engine.dispose()
    return sorted(tuple(row) for row in rows)


def test_the_same_seed_seeds_the_same_request_history_and_another_seed_does_not(tmp_path):
    first, second, other = (make_settings(tmp_path / name) for name in ("first", "second", "other"))
    for settings, seed in ((first, 4), (second, 4), (other, 5)):
        demo.seed(settings, employees=60, days=7, seed=seed)
    assert len(_register(first)) == 8
    assert _register(first) == _register(second) != _register(other)
