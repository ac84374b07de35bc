"""Exposure: grants against policy against who actually read, on a seeded company; the grants import."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa

from portal.audit import access_events
from portal.council import aggregates, exposure, grants
from portal.core import catalog, db
from portal import charts, cli
from portal.demo import seed as demo, synthetic_access
from portal.core.line_input import IngestRejected
from portal.identity.principal import Employee, Principal
from portal.identity.policy import PermissionDenied
from tests.conftest import DEFAULT_POSTGRES_URL, POSTGRES_URL_VARIABLE, make_settings

TRANSCRIPTS = "user.content.private.meeting_transcript"
KEYSTROKES = "user.behavior.keystrokes"
PERFORMANCE = "user.workplace.performance"
NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def principal(*roles: str) -> Principal:
    employee = Employee("E00003", "Wanda Nowak", "wanda@example.com", "Operations", "Facilities", "Coordinator")
    return Principal("wanda", "wanda@example.com", "Wanda Nowak", employee, frozenset(roles))


@pytest.fixture(scope="module")
def report(seeded_company):
    return exposure.exposure_report(seeded_company.settings, seeded_company.engine)


# ---- the demo's over-exposure episode ------------------------------------------


def test_the_over_exposure_episode_is_the_one_breached_category_and_nothing_is_over_its_limit(report):
    assert [c.key for c in report.breached] == [TRANSCRIPTS]
    assert report.over_maximum == []
    transcripts = report.categories[0]
    assert transcripts.key == TRANSCRIPTS and transcripts.verdict == "breach: role not allowed"
    assert set(transcripts.outside_readers) == {synthetic_access.EXPOSED_ROLE}
    assert transcripts.outside_readers[synthetic_access.EXPOSED_ROLE] >= 20


def test_the_episode_weeks_have_more_readers_than_the_maximum_and_the_other_weeks_do_not(report, seeded_company):
    weekly = report.weekly.filter(pl.col("category") == TRANSCRIPTS).sort("week")
    first, last = synthetic_access.episode_days(seeded_company.report.days)
    start = seeded_company.report.start_date
    episode = {start + timedelta(days=d) - timedelta(days=(start + timedelta(days=d)).weekday())
               for d in range(first, last + 1)}
    for row in weekly.iter_rows(named=True):
        if row["week"] in episode and row["readers_outside"]:
            assert row["readers"] > row["max"] == 10
        else:
            assert row["readers_outside"] == 0 and row["readers"] <= row["max"]
    assert set(report.categories[0].weeks_over_max) <= episode


def test_the_episode_is_said_in_words_with_its_weeks_roles_grant_and_breadth(report):
    texts = [v.text for v in report.categories[0].violations if v.serious]
    assert any("people whose role the catalog does not allow read" in t and "in the role engineer" in t
               for t in texts)
    assert any(f"group {synthetic_access.EXPOSED_GROUP}" in t and "does not allow the role" in t for t in texts)
    assert report.categories[0].peak_can_read > report.categories[0].max_principals


def test_the_episode_stands_out_in_red_in_the_weekly_chart(report):
    figure = charts.exposure_trend(report.weekly)
    red = [t for t in figure.data if t.type == "bar" and t.marker.color == charts.BREACH_COLOUR and any(t.y)]
    assert len(red) == 1 and max(red[0].y) >= 20
    assert figure.layout.annotations[0].text.startswith("Meeting transcription")  # the breach comes first


def test_readers_are_counted_and_nobody_is_named(report, seeded_company):
    with seeded_company.engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.select(db.employees.c.display_name))]
        person_actors = [r[0] for r in conn.execute(sa.select(db.actors.c.actor_id).where(db.actors.c.kind == "person"))]
    shown = json.dumps([exposure.summary_frame(report).rows(), exposure.grants_frame(report).rows(),
                        exposure.outside_subjects_frame(report).rows(), report.weekly.rows(),
                        [v.text for c in report.categories for v in c.violations]], default=str)
    assert not [n for n in names if n in shown]
    assert not [a for a in person_actors if a in shown]
    assert "one person" in shown  # person grants are described by role, not by id


def test_the_number_of_people_whose_data_was_read_obeys_k(report, seeded_company):
    k = seeded_company.settings.k_anonymity
    with seeded_company.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT e.subject_pseudonym, e.category_key, e.occurred_at, a.role FROM access_events e "
            "JOIN actors a ON a.actor_id = e.actor_id WHERE a.kind = 'person' "
            "AND (a.pseudonym IS NULL OR a.pseudonym != e.subject_pseudonym)")).all()
    truth: dict[tuple, set] = {}
    for subject, category, when, role in rows:
        moment = datetime.fromisoformat(str(when))
        week = moment.date() - timedelta(days=moment.weekday())
        reader = exposure.ALLOWED if exposure.role_allowed(category, role) else exposure.NOT_ALLOWED
        truth.setdefault((category, week, reader), set()).add(subject)
    published = report.subjects[("category", "week", "reader")]
    assert published.height == len(truth)
    for cell in published.iter_rows(named=True):
        people = truth[(cell["category"], cell["week"], cell["reader"])]
        assert (cell["people"] is None) == cell["suppressed"]
        if not cell["suppressed"]:
            assert len(people) >= k and cell["people"] == aggregates.round_people(len(people), k)
    table = exposure.outside_subjects_frame(report)
    assert table.height >= 1 and set(table["Category"]) == {"Meeting transcription"}


def test_only_the_works_council_and_the_privacy_office_see_exposure(seeded_company):
    settings, engine = seeded_company.settings, seeded_company.engine
    with pytest.raises(PermissionDenied):
        exposure.exposure(principal("employee"), settings, engine)
    assert exposure.exposure(principal("employee", "works_council"), settings, engine).breached
    assert exposure.exposure(principal("privacy_office"), settings, engine).breached


def test_the_exposure_command_prints_the_breach(seeded_company, monkeypatch, capsys):
    monkeypatch.setenv("PORTAL_DATA_DIR", str(seeded_company.settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    assert cli.main(["exposure", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["category"] == TRANSCRIPTS and printed[0]["verdict"] == "breach: role not allowed"


# ---- the policy at the demo's default size ---------------------------------------------


@pytest.fixture(scope="module")
def demo300(tmp_path_factory):
    """The demo company as `portal seed` makes it by default: 300 employees over 90 days."""
    settings = make_settings(tmp_path_factory.mktemp("demo300"))
    report = demo.seed(settings)
    assert report.employees == 300
    engine = db.make_engine(settings.resolved_database_url)
    yield settings, engine
    engine.dispose()


def by_key(report: exposure.Exposure, key: str) -> exposure.CategoryExposure:
    return next(c for c in report.categories if c.key == key)


def test_the_demo_at_300_employees_has_one_breach_the_transcript_episode_and_nothing_else_over_its_limit(demo300):
    settings, engine = demo300
    report = exposure.exposure_report(settings, engine)
    assert [c.key for c in report.breached] == [TRANSCRIPTS]
    assert report.over_maximum == []
    assert {c.key for c in report.within_policy} == set(catalog.CATEGORY_BY_KEY) - {TRANSCRIPTS}
    transcripts = by_key(report, TRANSCRIPTS)
    assert len(transcripts.weeks_over_max) == 2 and transcripts.outside_readers == {synthetic_access.EXPOSED_ROLE: 40}
    others = report.weekly.filter(pl.col("category") != TRANSCRIPTS)
    assert others.filter((pl.col("readers") > pl.col("max")) | (pl.col("can_read") > pl.col("max"))).is_empty()
    assert not [v.text for c in report.categories if c.key != TRANSCRIPTS for v in c.violations]


def test_line_managers_reading_their_reports_are_counted_apart_and_within_their_scope_in_the_demo(demo300):
    settings, engine = demo300
    performance = by_key(exposure.exposure_report(settings, engine), PERFORMANCE)
    assert performance.ok and performance.scoped_weeks_over == ()
    # Counted against the maximum, the managers alone would have put the category over it.
    assert performance.peak_scoped_readers > performance.max_principals
    assert performance.scoped_can_read_now > performance.max_principals
    assert performance.peak_readers <= performance.max_principals
    assert "line-managers, only their direct reports" in exposure.scoped_phrase(performance)


def test_a_company_limit_set_through_the_setting_changes_the_verdict(demo300, monkeypatch, capsys):
    settings, engine = demo300
    assert by_key(exposure.exposure_report(settings, engine), KEYSTROKES).ok
    stricter = make_settings(settings.data_dir, max_principals={"keystrokes": 5})
    keystrokes = by_key(exposure.exposure_report(stricter, engine), KEYSTROKES)
    assert keystrokes.verdict == "over the maximum" and keystrokes.max_principals == 5
    assert keystrokes.limit_set_by == "company (catalog: 25)"
    assert any("more than the maximum of 5" in v.text for v in keystrokes.violations)
    # The command reads the same setting from the environment.
    monkeypatch.setenv("PORTAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    monkeypatch.setenv("PORTAL_MAX_PRINCIPALS", f'{{"{KEYSTROKES}": 5, "performance": 4}}')
    assert cli.main(["exposure", "--format", "json"]) == 0
    printed = {c["category"]: c for c in json.loads(capsys.readouterr().out)}
    assert printed[KEYSTROKES]["verdict"] == printed[PERFORMANCE]["verdict"] == "over the maximum"
    assert printed[PERFORMANCE]["max_principals"] == 4 and printed[PERFORMANCE]["limit_set_by"] == "company (catalog: 30)"
    # The catalog's limits again: the verdict of other limits is not kept.
    assert by_key(exposure.exposure_report(settings, engine), KEYSTROKES).ok


def test_a_generous_company_limit_does_not_excuse_a_role_the_catalog_does_not_allow(demo300):
    settings, engine = demo300
    lenient = make_settings(settings.data_dir, max_principals={"meeting_transcript": 5000})
    transcripts = by_key(exposure.exposure_report(lenient, engine), TRANSCRIPTS)
    assert transcripts.weeks_over_max == () and transcripts.peak_can_read <= 5000
    assert transcripts.verdict == "breach: role not allowed"
    assert any(f"group {synthetic_access.EXPOSED_GROUP}" in v.text for v in transcripts.violations if v.serious)


def test_a_bad_company_limit_stops_the_exposure_command_with_the_category_named(demo300, monkeypatch, capsys):
    settings, _ = demo300
    monkeypatch.setenv("PORTAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PORTAL_MAX_PRINCIPALS", '{"performace": 80}')
    assert cli.main(["exposure"]) == 2
    err = capsys.readouterr().err
    assert "PORTAL_MAX_PRINCIPALS" in err and "unknown category 'performace'" in err and "performance" in err
    assert "Traceback" not in err


# ---- broad grants and scoped reads on a small company ----------------------------------


@pytest.fixture
def small_company(tmp_path):
    settings = make_settings(tmp_path / "small")
    demo.seed(settings, employees=40, days=7, seed=5)
    engine = db.make_engine(settings.resolved_database_url)
    yield settings, engine
    engine.dispose()


@pytest.mark.parametrize(("group", "serious"), [("all-employees", True), ("hr-business-partners", False)])
def test_an_all_employees_grant_on_a_restricted_category_is_flagged(small_company, tmp_path, group, serious):
    settings, engine = small_company
    before = by_key(exposure.exposure_report(settings, engine), PERFORMANCE)
    assert before.ok
    # Every employee in one group with read access to performance records: a group of its own, or the HR group.
    path = jsonl(tmp_path / "g.jsonl", grant(grant_id="g-everyone", principal=f"group:{group}", group=group,
                                             member_count=40, category=PERFORMANCE, expires_at=None,
                                             granted_at="2026-11-23T09:00:00Z"))
    grants.ingest_grants(engine, path, now=NOW)
    performance = by_key(exposure.exposure_report(settings, engine), PERFORMANCE)
    assert not performance.ok and performance.serious is serious
    assert performance.can_read_now >= 40
    texts = [v.text for v in performance.violations]
    assert any("more than the maximum of 30" in t for t in texts)
    if serious:
        assert any(f"group {group} (40 people)" in t and "does not allow the role" in t for t in texts)


def manager_reads(n_readers: int, subjects: list[str], day: str = "2026-11-18") -> list[str]:
    """Performance-record reads by people in the role line-managers: reader i reads every subject. The
    default day is in the week before the small company's data, so no demo reads mix in."""
    return [json.dumps({
        "event_id": f"ev-lm-{i}-{s}", "time": f"{day}T10:{i:02d}:00Z", "subject": s, "category": PERFORMANCE,
        "actor": {"id": f"usr-lm-{i}", "kind": "person", "name": f"Manager {i}", "team": "Checkout",
                  "role": "line-managers"},
        "action": "view", "purpose": "employment.performance_management", "justification": None,
        "source_system": "HRIS Performance", "record_count": 1, "query_id": None}) for i in range(n_readers)
        for s in subjects]


def test_a_line_manager_reading_more_people_than_a_span_of_control_is_over_the_maximum(small_company):
    settings, engine = small_company
    span = catalog.category(PERFORMANCE).scoped_roles[0].people_per_reader
    access_events.ingest_access(engine, manager_reads(1, [f"E{i:05d}" for i in range(1, span + 2)]), now=NOW)
    performance = by_key(exposure.exposure_report(settings, engine), PERFORMANCE)
    assert performance.verdict == "over the maximum" and not performance.serious
    assert performance.scoped_weeks_over == (date(2026, 11, 16),)
    assert any(f"1 person in the role line-managers read records in “Performance records” of more than {span} "
               f"people in a week (at most {span + 1})" in v.text for v in performance.violations)


def test_many_line_managers_reading_one_person_is_over_the_maximum(small_company):
    settings, engine = small_company
    allowed = catalog.category(PERFORMANCE).scoped_roles[0].readers_per_person
    access_events.ingest_access(engine, manager_reads(allowed, ["E00001"]), now=NOW)
    assert by_key(exposure.exposure_report(settings, engine), PERFORMANCE).ok
    access_events.ingest_access(engine, manager_reads(allowed + 1, ["E00002"]), now=NOW)
    performance = by_key(exposure.exposure_report(settings, engine), PERFORMANCE)
    assert performance.verdict == "over the maximum"
    assert any(f"read by more than {allowed} people in the role line-managers in the same week "
               f"(at most {allowed + 1} for one person)" in v.text for v in performance.violations)


def test_line_managers_reading_a_category_outside_their_scope_are_a_breach(small_company):
    settings, engine = small_company
    chat = [line.replace(PERFORMANCE, "user.content.private.chat") for line in manager_reads(1, ["E00002"])]
    access_events.ingest_access(engine, chat, now=NOW)
    report = exposure.exposure_report(settings, engine)
    assert by_key(report, "user.content.private.chat").outside_readers == {"line-managers": 1}


# ---- the grants import ------------------------------------------------------------


def pg_url() -> str:
    return os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)


@pytest.fixture
def postgres_schema():
    """URL of a fresh schema on the test PostgreSQL, dropped afterwards; skips when unreachable (not under CI)."""
    admin = sa.create_engine(pg_url(), connect_args={"connect_timeout": 3})
    schema = f"t_{secrets.token_hex(6)}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is unreachable under CI: {exc.orig}")
        pytest.skip("PostgreSQL is unreachable")
    finally:
        admin.dispose()
    url = pg_url()
    yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    admin = sa.create_engine(pg_url())
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portal.db'}"
    return request.getfixturevalue("postgres_schema")


@pytest.fixture
def engine(database_url):
    """An empty metadata DB with the catalog, on SQLite and on PostgreSQL."""
    engine = db.make_engine(database_url)
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
    yield engine
    engine.dispose()


def grant(**changes) -> dict:
    base = {"grant_id": "g-1", "principal": "group:all-engineering", "kind": "group", "group": "all-engineering",
            "member_count": 412, "category": TRANSCRIPTS, "granted_by": "IAM-2231",
            "granted_at": "2026-10-18T08:12:00Z", "expires_at": "2026-10-31T23:59:59Z"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def jsonl(path, *objects) -> str:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return str(path)


def stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(db.grants).order_by(db.grants.c.grant_id))]


def test_grants_from_json_lines_are_stored_once_however_often_they_arrive(engine, tmp_path):
    path = jsonl(tmp_path / "grants.jsonl", grant(), grant(grant_id=..., principal="svc:siem", kind="service",
                                                          group=..., member_count=..., category=KEYSTROKES,
                                                          expires_at=None))
    first = grants.ingest_grants(engine, path, now=NOW)
    assert (first.records, first.added, first.already_present) == (2, 2, 0)
    again = grants.ingest_grants(engine, path, now=NOW)
    assert (again.added, again.already_present) == (0, 2)
    rows = stored(engine)
    assert len(rows) == 2
    content_ids = [r[0] for r in rows if r[0] != "g-1"]
    assert content_ids[0].startswith("grant-")  # no grant_id: identified by its content
    held = {g.grant_id: g for g in grants.stored_grants(engine)}
    assert held["g-1"].member_count == 412 and held["g-1"].expires_at == datetime(2026, 10, 31, 23, 59, 59)


def test_grants_from_csv_are_read_like_json_lines(engine, tmp_path):
    path = tmp_path / "grants.csv"
    path.write_text("principal,kind,group,member_count,category,granted_by,granted_at,expires_at\n"
                    f"group:ml-platform,group,ml-platform,5,{TRANSCRIPTS},iam,2025-01-01T00:00:00Z,\n"
                    "\n"
                    f"svc:meet-assist,service,,,{TRANSCRIPTS},iam,2025-01-01T00:00:00+01:00,\n")
    report = grants.ingest_grants(engine, path, now=NOW)
    assert (report.records, report.added) == (2, 2)
    assert grants.ingest_grants(engine, path, now=NOW).already_present == 2
    services = [g for g in grants.stored_grants(engine) if g.kind == "service"]
    assert services[0].member_count == 1 and services[0].granted_at == datetime(2024, 12, 31, 23, 0)


BAD_LINES = [
    (grant(kind="team"), "line 2: kind: 'team' is not one of person, group, service"),
    (grant(category="user.secret"), "line 2: category: 'user.secret' is not a catalog category"),
    (grant(member_count=0), "line 2: member_count: must be at least 1 (got 0)"),
    (grant(member_count="many"), "line 2: member_count: must be a whole number"),
    (grant(member_count=...), "line 2: member_count: is missing; a group grant says how many"),
    (grant(group=...), "line 2: group: is missing; a group grant names its group"),
    (grant(kind="person", member_count=3, group=...), "line 2: member_count: a person grant is for exactly one"),
    (grant(kind="service", member_count=..., group="x"), "line 2: group: only a group grant names a group"),
    (grant(granted_at="2026-10-18"), "line 2: granted_at: '2026-10-18' has no time zone"),
    (grant(granted_at="2030-01-01T00:00:00Z"), "line 2: granted_at: 2030-01-01T00:00:00Z is in the future"),
    (grant(expires_at="2026-10-01T00:00:00Z"), "line 2: expires_at: 2026-10-01T00:00:00Z is not after granted_at"),
    (grant(expires_at="soon"), "line 2: expires_at: 'soon' is not an ISO 8601 timestamp"),
    (grant(principal=""), "line 2: principal: must not be empty"),
    (grant(granted_by=...), "line 2: granted_by: is missing"),
    (grant(colour="red"), "line 2: colour: is not a known field"),
    (grant(principal="x\u0000y"), "line 2: principal: contains a NUL character"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_a_bad_grant_is_named_by_line_and_field_and_nothing_is_written(engine, tmp_path, bad, message):
    path = jsonl(tmp_path / "grants.jsonl", grant(grant_id="g-ok"), bad, grant(grant_id="g-also-ok"))
    with pytest.raises(IngestRejected) as caught:
        grants.ingest_grants(engine, path, now=NOW)
    assert message in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert stored(engine) == []


@pytest.mark.parametrize(("text", "message"), [
    ("not json\n", "line 1: is not JSON"),
    ("[1, 2]\n", "line 1: must be a JSON object, not a list"),
    (b"\xff\xfe\n", "line 1: is not valid UTF-8"),
])
def test_a_line_that_is_not_a_json_object_is_named(lite, tmp_path, text, message):
    path = tmp_path / "grants.jsonl"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(IngestRejected, match=message):
        grants.ingest_grants(lite, path, now=NOW)


@pytest.mark.parametrize(("text", "message"), [
    ("principal,kind,colour\n", "line 1: header has unknown column(s) 'colour'"),
    ("principal,kind\n", "line 1: header has missing column(s) 'category', 'granted_by', 'granted_at'"),
    ("principal,kind,group,member_count,category,granted_by,granted_at\n"
     f"svc:a,service,,,{KEYSTROKES},iam,2025-01-01T00:00:00Z\n"
     f"svc:b,service,,,{KEYSTROKES},iam\n", "line 3: has 6 cells, the header has 7"),
    ("principal,kind,group,member_count,category,granted_by,granted_at\n"
     f"\"svc:a\nsecond line\",service,,-2,{KEYSTROKES},iam,2025-01-01T00:00:00Z\n",
     "line 2: member_count: must not be negative (got -2)"),
])
def test_a_bad_csv_file_is_named_by_line_and_nothing_is_written(lite, tmp_path, text, message):
    path = tmp_path / "grants.csv"
    path.write_text(text)
    with pytest.raises(IngestRejected) as caught:
        grants.ingest_grants(lite, path, now=NOW)
    assert message in str(caught.value)
    assert stored(lite) == []


@pytest.fixture
def lite(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
    yield engine
    engine.dispose()


def test_a_stored_grant_is_never_rewritten(lite, tmp_path):
    grants.ingest_grants(lite, jsonl(tmp_path / "a.jsonl", grant()), now=NOW)
    with pytest.raises(IngestRejected, match="line 1: grant_id: 'g-1' is already stored with different content"):
        grants.ingest_grants(lite, jsonl(tmp_path / "b.jsonl", grant(member_count=5)), now=NOW)
    with pytest.raises(IngestRejected, match="line 2: grant_id: 'g-2' was already given on line 1"):
        grants.ingest_grants(lite, jsonl(tmp_path / "c.jsonl", grant(grant_id="g-2"),
                                         grant(grant_id="g-2", member_count=5)), now=NOW)
    assert [g.member_count for g in grants.stored_grants(lite)] == [412]


def test_only_a_live_grants_expiry_can_move_and_only_from_now_on(lite, tmp_path):
    live = grant(grant_id="g-live", expires_at=None)
    grants.ingest_grants(lite, jsonl(tmp_path / "a.jsonl", live, grant()), now=NOW)
    ended = grants.ingest_grants(lite, jsonl(tmp_path / "b.jsonl", dict(live, expires_at="2026-11-27T18:00:00Z")),
                                 now=NOW)
    assert ended.expiry_changed == 1
    with pytest.raises(IngestRejected, match="expires_at: a stored grant's expiry can only be moved to now or later"):
        grants.ingest_grants(lite, jsonl(tmp_path / "c.jsonl", dict(live, expires_at="2026-11-01T00:00:00Z")),
                             now=NOW)
    with pytest.raises(IngestRejected, match="expires_at: grant 'g-1' already expired"):
        grants.ingest_grants(lite, jsonl(tmp_path / "d.jsonl", grant(expires_at="2027-01-01T00:00:00Z")), now=NOW)


def test_the_grants_command_imports_and_refuses_a_bad_file_with_exit_2(tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path / "data")
    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    good = jsonl(tmp_path / "good.jsonl", grant(expires_at=None, granted_at="2026-01-01T00:00:00Z"))
    assert cli.main(["ingest", "grants", good]) == 0
    assert "1 added" in capsys.readouterr().out
    bad = jsonl(tmp_path / "bad.jsonl", grant(grant_id="g-9"), grant(grant_id="g-10", kind="robot"))
    assert cli.main(["ingest", "grants", bad]) == 2
    err = capsys.readouterr().err
    assert "line 2: kind: 'robot' is not one of person, group, service" in err and "Traceback" not in err
    assert [g.grant_id for g in grants.stored_grants(engine)] == ["g-1"]
    engine.dispose()


def test_a_new_broad_grant_shows_up_as_a_breach(tmp_path):
    settings = make_settings(tmp_path)
    demo.seed(settings, employees=40, days=7, seed=5)
    engine = db.make_engine(settings.resolved_database_url)
    before = exposure.exposure_report(settings, engine)
    assert KEYSTROKES not in [c.key for c in before.breached]
    path = jsonl(tmp_path / "g.jsonl", grant(grant_id="g-sales", principal="group:sales", group="sales",
                                             member_count=60, category=KEYSTROKES, expires_at=None,
                                             granted_at="2026-11-20T00:00:00Z"))
    grants.ingest_grants(engine, path, now=NOW)
    after = exposure.exposure_report(settings, engine)
    keystrokes = next(c for c in after.categories if c.key == KEYSTROKES)
    assert keystrokes.serious and keystrokes.can_read_now >= 60
    assert any("group sales (60 people)" in v.text for v in keystrokes.violations)
    engine.dispose()


@pytest.mark.postgres
def test_exposure_on_postgresql_equals_exposure_on_sqlite(tmp_path, postgres_schema):
    on_pg = make_settings(tmp_path / "pg", database_url=postgres_schema)
    on_sqlite = make_settings(tmp_path / "sqlite")
    for settings in (on_pg, on_sqlite):
        demo.seed(settings, employees=60, days=45, seed=4)
    moment = datetime(2026, 11, 28, tzinfo=UTC)
    reports = []
    for settings in (on_pg, on_sqlite):
        engine = db.make_engine(settings.resolved_database_url)
        reports.append(exposure.exposure_report(settings, engine, now=moment))
        engine.dispose()
    pg_report, lite_report = reports
    assert exposure.summary_frame(pg_report).equals(exposure.summary_frame(lite_report))
    assert pg_report.weekly.equals(lite_report.weekly)
    assert [c.key for c in pg_report.breached] == [TRANSCRIPTS] and pg_report.over_maximum == []
    assert [v.text for c in pg_report.categories for v in c.violations] == \
        [v.text for c in lite_report.categories for v in c.violations]


def test_a_database_without_the_catalog_refuses_grants_with_the_fix(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    db.migrate(engine)  # the schema, but not the catalog's categories
    with pytest.raises(IngestRejected, match="run `portal migrate`"):
        grants.ingest_grants(engine, jsonl(tmp_path / "g.jsonl", grant()), now=NOW)
    assert stored(engine) == []
    engine.dispose()
