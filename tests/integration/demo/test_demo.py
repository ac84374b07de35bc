"""The synthetic demo company: deterministic, complete, pseudonymous, and telling its story."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

from portal.audit import access_events
from portal.core import catalog, db
from portal.demo import seed as demo, synthetic_access
from portal.lake import volume_rollup
from portal.demo.personas import PERSONAS
from portal.core.settings import Settings
from portal.lake.telemetry import TelemetryStore
from tests.conftest import SEEDED_DAYS, SEEDED_EMPLOYEES, make_settings

TRANSCRIPTS = "user.content.private.meeting_transcript"


def _plain(value: object) -> object:
    # SQLite hands back naive UTC datetimes, PostgreSQL aware ones; compare instants.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _digest(rows: list[tuple]) -> str:
    normalised = sorted(repr(tuple(_plain(v) for v in row)) for row in rows)
    return hashlib.sha256("\n".join(normalised).encode()).hexdigest()


def _table_digest(engine: sa.Engine, table: sa.Table) -> str:
    with engine.connect() as conn:
        return _digest([tuple(r) for r in conn.execute(sa.select(table))])


def _lake_digest(settings: Settings, table_name: str) -> str:
    data = DeltaTable(settings.lake_dir / table_name).to_pyarrow_table()
    return _digest([tuple(r.values()) for r in data.to_pylist()])


def _digests(settings: Settings) -> dict[str, str]:
    engine = db.make_engine(settings.resolved_database_url)
    try:
        found = {t.name: _table_digest(engine, t) for t in (db.employees, db.pseudonyms, db.access_events,
                                                              db.grants, db.dataset_members)}
    finally:
        engine.dispose()
    return found | {name: _lake_digest(settings, name) for name in ("keystrokes", "chat_messages", "app_usage")}


def test_the_same_seed_gives_identical_data_and_another_seed_does_not(tmp_path):
    sizes = {"employees": 30, "days": 10}
    first, second, other = (make_settings(tmp_path / name) for name in ("first", "second", "other"))
    demo.seed(first, seed=5, **sizes)
    demo.seed(second, seed=5, **sizes)
    demo.seed(other, seed=6, **sizes)
    assert _digests(first) == _digests(second)
    differing = {k for k, v in _digests(other).items() if _digests(first)[k] != v}
    assert {"access_events", "keystrokes", "chat_messages"} <= differing


def test_personas_are_the_first_employees_with_their_departments_and_roles(seeded_company):
    with seeded_company.engine.connect() as conn:
        rows = {r.employee_id: r for r in conn.execute(sa.select(db.employees).order_by(db.employees.c.employee_id))}
        privacy_actors = conn.execute(
            sa.select(db.actors.c.display_name).where(db.actors.c.role == "privacy_office")).scalars().all()
    for persona in PERSONAS:
        row = rows[persona.employee_id]
        assert (row.oidc_sub, row.email, row.display_name, row.department, row.team, row.job_title) == (
            persona.sub, persona.email, persona.display_name, persona.department, persona.team, persona.job_title)
    role_groups = Settings(_env_file=None).role_groups  # type: ignore[call-arg]
    assert {g: role_groups[g] for p in PERSONAS for g in p.groups} == {
        "works-council": "works_council", "privacy-office": "privacy_office"}
    assert "Priya Raman" in privacy_actors
    others = [r for i, r in rows.items() if i not in {p.employee_id for p in PERSONAS}]
    assert len(rows) == SEEDED_EMPLOYEES
    assert all(r.oidc_sub == r.email.removesuffix("@example.com") and "." in r.oidc_sub for r in others)
    assert len({r.email for r in rows.values()}) == len(rows)
    assert len({r.department for r in rows.values()}) == 8


def test_every_catalog_table_is_registered_and_holds_rows(seeded_company):
    with seeded_company.engine.connect() as conn:
        registered = dict(conn.execute(sa.select(db.categories.c.key, db.categories.c.table_name)).all())
    assert registered == {c.key: c.table_name for c in catalog.CATEGORIES}
    TelemetryStore(seeded_company.settings).check()
    for c in catalog.CATEGORIES:
        rows = DeltaTable(seeded_company.settings.lake_dir / c.table_name).to_pyarrow_table().num_rows
        assert rows == seeded_company.report.lake_rows[c.table_name] > 0, c.table_name


def test_activity_volume_is_about_55_rows_per_employee_day(seeded_company):
    per_day = seeded_company.report.activity_rows / (SEEDED_EMPLOYEES * SEEDED_DAYS)
    assert 40 < per_day < 75


def test_access_events_never_store_a_name_an_email_or_an_employee_id(seeded_company):
    with seeded_company.engine.connect() as conn:
        people = conn.execute(sa.select(db.employees.c.employee_id, db.employees.c.display_name,
                                        db.employees.c.email)).all()
        events = conn.execute(sa.select(db.access_events)).all()
    string_columns = [c.name for c in db.access_events.columns if isinstance(c.type, sa.String | sa.Text)]
    values = {getattr(e, c) for e in events for c in string_columns} - {None}
    ids = [p.employee_id for p in people]
    texts = [p.display_name.lower() for p in people] + [p.email.lower() for p in people]
    texts += [p.email.split("@")[0].lower() for p in people]
    leaks = [v for v in values if any(i in v for i in ids) or any(t in v.lower() for t in texts)]
    assert leaks == []
    assert len(events) > 1000


def test_access_events_point_to_known_pseudonyms_actors_and_purposes(seeded_company):
    with seeded_company.engine.connect() as conn:
        events = pl.DataFrame([dict(r._mapping) for r in conn.execute(sa.select(db.access_events))])
        pseudonyms = set(conn.execute(sa.select(db.pseudonyms.c.pseudonym)).scalars())
        actors = set(conn.execute(sa.select(db.actors.c.actor_id)).scalars())
        r = db.privacy_requests.c
        erased_everything = conn.execute(sa.select(sa.func.count()).where(
            r.kind == "erasure", r.status == "completed", r.categories.is_(None))).scalar_one()
    # An erasure of everything deletes the person's link: their entries stay but point to nobody.
    assert erased_everything >= 1
    assert len(set(events["subject_pseudonym"]) - pseudonyms) == erased_everything
    assert set(events["actor_id"]) <= actors
    assert set(events["purpose_code"].drop_nulls()) <= set(catalog.PURPOSE_BY_CODE)
    assert set(events["action"]) <= {"view", "query", "export", "train"}
    unregistered = events["purpose_code"].null_count() / events.height
    assert 0.05 <= unregistered <= 0.10
    assert events["event_id"].n_unique() == events.height
    # seq follows time: the log is append-only in the order things happened. The reads the portal recorded
    # itself while working the demo's requests (copies of people's data) come after, at their own moments.
    generated = events.filter(pl.col("source_system") != access_events.PORTAL_SOURCE)
    recorded = events.filter(pl.col("source_system") == access_events.PORTAL_SOURCE)
    assert generated.sort("seq")["occurred_at"].is_sorted()
    assert recorded.height > 0 and recorded["seq"].min() > generated["seq"].max()


def test_the_over_exposure_episode_is_in_the_log(seeded_company):
    allowed = catalog.category(TRANSCRIPTS).allowed_roles
    with seeded_company.engine.connect() as conn:
        reads = pl.DataFrame([dict(r._mapping) for r in conn.execute(
            sa.select(db.access_events.c.occurred_at, db.access_events.c.subject_pseudonym, db.actors.c.role,
                      db.actors.c.kind)
            .join(db.actors, db.actors.c.actor_id == db.access_events.c.actor_id)
            .where(db.access_events.c.category_key == TRANSCRIPTS, db.actors.c.role.not_in(allowed)))])
        alice = conn.execute(sa.select(db.pseudonyms.c.pseudonym).where(db.pseudonyms.c.employee_id == "E00001")).scalar_one()
        grant = conn.execute(sa.select(db.grants).where(db.grants.c.group_name == synthetic_access.EXPOSED_GROUP)).one()
    assert set(reads["role"]) == {synthetic_access.EXPOSED_ROLE}
    assert set(reads["kind"]) == {"person"}
    assert reads["occurred_at"].max() - reads["occurred_at"].min() < timedelta(days=14)
    assert reads["subject_pseudonym"].n_unique() > 100
    assert alice in set(reads["subject_pseudonym"])
    assert grant.category_key == TRANSCRIPTS and grant.kind == "group" and grant.member_count >= 40
    assert _plain(grant.granted_at) <= _plain(reads["occurred_at"].min())
    assert _plain(reads["occurred_at"].max()) <= _plain(grant.expires_at)


def test_alices_data_is_in_several_datasets_with_counts_the_lake_confirms(seeded_company):
    settings = seeded_company.settings
    with seeded_company.engine.connect() as conn:
        alice = conn.execute(sa.select(db.pseudonyms.c.pseudonym).where(db.pseudonyms.c.employee_id == "E00001")).scalar_one()
        memberships = conn.execute(
            sa.select(db.dataset_members.c.category_key, db.dataset_members.c.record_count, db.datasets.c.created_at,
                      db.datasets.c.dataset_id)
            .join(db.datasets, db.datasets.c.dataset_id == db.dataset_members.c.dataset_id)
            .where(db.dataset_members.c.subject_pseudonym == alice)).all()
        trained = conn.execute(sa.select(db.model_datasets.c.model_id).distinct().where(
            db.model_datasets.c.dataset_id.in_({m.dataset_id for m in memberships}))).scalars().all()
    assert len({m.dataset_id for m in memberships}) >= 3
    assert {"meeting-summarizer-2.0", "typing-fatigue-detector-1.1"} <= set(trained)
    store = TelemetryStore(settings)
    for m in memberships:
        # Members' records are those before the build day.
        built = _plain(m.created_at).date()
        table = catalog.category(m.category_key).table_name
        ts = store.scan(table, "E00001").collect()["ts"]
        assert m.record_count == (ts.dt.date() < built).sum() > 0


def test_seeding_refuses_to_overwrite_unless_asked_to_replace(settings):
    assert not demo.data_present(settings)
    assert not (settings.data_dir / "portal.db").exists()
    demo.seed(settings, employees=8, days=3, seed=1)
    assert demo.data_present(settings)
    with pytest.raises(demo.DemoError, match="already holds portal data.*replace"):
        demo.seed(settings, employees=8, days=3, seed=1)
    again = demo.seed(settings, employees=6, days=3, seed=2, replace=True)
    engine = db.make_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.employees)).scalar_one() == 6
        assert conn.execute(sa.select(sa.func.min(db.access_events.c.seq))).scalar_one() == 1
    engine.dispose()
    assert again.db_rows["employees"] == 6
    assert "6 employees" in again.describe() and "access_events" in again.describe()


def test_seeding_stores_the_council_rollups_and_releases_and_replacing_removes_every_copy_of_the_old_company(
        settings, monkeypatch):
    demo.seed(settings, employees=8, days=3, seed=1)
    data_dir = Path(settings.data_dir)
    assert (Path(volume_rollup.rollups_location(settings.lake_location).root) / "keystrokes.parquet").exists()
    # (a company of 8 files no requests, so there is no request release to store)
    assert {p.name for p in (data_dir / "releases").iterdir()} == {"collection.parquet", "access.parquet"}
    volume_rollup.forget()
    monkeypatch.setattr(volume_rollup, "rollup_file", lambda *_a: pytest.fail("a data file was read again"))
    assert volume_rollup.weekly_records(TelemetryStore(settings)).height > 0
    monkeypatch.undo()
    for leftover in ("copies/copy-E00005-old.zip", "releases/collection.parquet"):
        (data_dir / leftover).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / leftover).write_bytes(b"the old company's")
    demo.seed(settings, employees=6, days=3, seed=2, replace=True)
    assert not (data_dir / "copies" / "copy-E00005-old.zip").exists()
    assert (data_dir / "releases" / "collection.parquet").read_bytes() != b"the old company's"  # the new one's
    assert volume_rollup.subject_rows(settings.lake_location, "E00007", ["keystrokes"]) == 0  # the old company had E00007


def test_seeding_rejects_a_company_smaller_than_the_personas(settings):
    with pytest.raises(demo.DemoError, match="at least 4 employees"):
        demo.seed(settings, employees=3, days=5)


def test_the_end_date_anchors_the_data_not_the_clock(tmp_path):
    report = demo.seed(make_settings(tmp_path), employees=5, days=4, seed=3, end_date=date(2025, 1, 10))
    assert (report.start_date, report.end_date) == (date(2025, 1, 7), date(2025, 1, 10))
    last = TelemetryStore(make_settings(tmp_path)).summary("E00001")["last_ts"].max()
    assert last.date() <= date(2025, 1, 10)


@pytest.mark.postgres
def test_seeding_into_postgresql_gives_the_same_rows_as_sqlite(tmp_path, fresh_postgres_url):
    on_postgres = make_settings(tmp_path / "pg", database_url=fresh_postgres_url)
    on_sqlite = make_settings(tmp_path / "sqlite")
    demo.seed(on_postgres, employees=25, days=7, seed=9)
    demo.seed(on_sqlite, employees=25, days=7, seed=9)
    assert _digests(on_postgres) == _digests(on_sqlite)
    # Replacing truncates the tables and restarts the event numbering.
    demo.seed(on_postgres, employees=25, days=7, seed=9, replace=True)
    assert _digests(on_postgres) == _digests(on_sqlite)
    assert Path(on_postgres.lake_dir).is_dir()
