"""Telemetry intake on SQLite and PostgreSQL: only an approved collector's batch of its own category gets in;
Parquet, CSV and JSON Lines are checked column by column and refused as a whole, naming line or row and
column; the same batch is stored once, also after a crash between the lake commit and the record;
objections are honoured; new rows reach My data and the works council's figures."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

from portal.collection import intake
from portal.collection.intake_formats import BatchFileError
from portal.collection.intake_problems import IntakeRejected
from portal.core import catalog, db
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings
from tests.integration.privacy.test_privacy_requests import drop_schema, postgres_schema_url

KEYSTROKES = "user.behavior.keystrokes"
PEOPLE = [f"E{i:05d}" for i in range(1, 31)]
NOW = datetime.now(UTC).replace(microsecond=0)
AGENT = "endpoint-agent"


def add_company(engine: sa.Engine) -> sa.Engine:
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
        conn.execute(sa.insert(db.employees), [
            {"employee_id": e, "email": f"{e.lower()}@example.com", "display_name": f"Person {e}",
             "department": "Engineering", "team": "Platform", "job_title": "Engineer"} for e in PEOPLE])
    add_collector(engine, AGENT)
    return engine


def add_collector(engine: sa.Engine, name: str, status: str = "approved", category: str = KEYSTROKES,
                  purposes: str = "essential.service.security,train_ai_system") -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(db.collectors).values(
            name=name, category_key=category, purposes=purposes, legal_basis="GDPR Art. 6(1)(f) legitimate interests",
            retention_days=180, status=status, registered_at=NOW, approved_at=NOW if status != "pending" else None,
            status_changed_at=NOW, status_reason="works agreement 2026/3" if status == "suspended" else None))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        found = add_company(db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}"))
        yield found
        found.dispose()
    else:
        url, schema = postgres_schema_url()
        found = add_company(db.make_engine(url))
        yield found
        found.dispose()
        drop_schema(schema)


@pytest.fixture
def lite(tmp_path):
    """SQLite only, for checks of the file that do not depend on the database."""
    found = add_company(db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}"))
    yield found
    found.dispose()


@pytest.fixture
def store(tmp_path) -> TelemetryStore:
    return TelemetryStore(make_settings(tmp_path / "data", telemetry_buckets=4))


def rows(n: int = 60, start: datetime | None = None, people: list[str] = PEOPLE) -> pl.DataFrame:
    start = start or NOW - timedelta(days=1)
    return pl.DataFrame({
        "subject_id": [people[i % len(people)] for i in range(n)],
        "ts": [start + timedelta(minutes=15 * (i // len(people))) for i in range(n)],
        "window_minutes": pl.Series([15] * n, dtype=pl.Int16),
        "key_count": pl.Series([100 + i for i in range(n)], dtype=pl.Int32),
        "active_seconds": pl.Series([60] * n, dtype=pl.Int32),
        "device": [f"LT-{i % 7}" for i in range(n)],
    }).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))


def write(frame: pl.DataFrame, path) -> str:
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".csv":
        as_text(frame).write_csv(path)
    else:
        as_text(frame).write_ndjson(path)
    return str(path)


def lake_rows(store: TelemetryStore) -> pl.DataFrame:
    frame = pl.from_arrow(DeltaTable(store.lake_dir / "keystrokes").to_pyarrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame.drop("bucket").sort("subject_id", "ts")


def batches(engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.select(db.intake_batches)).all()


def refused(engine, store, path, collector=AGENT, **kw) -> str:
    before = store.version("keystrokes")
    with pytest.raises((IntakeRejected, intake.IntakeRefused, BatchFileError)) as caught:
        intake.take_in(engine, store, collector, path, **kw)
    assert store.version("keystrokes") == before and batches(engine) == []
    return str(caught.value)


# ---- storing --------------------------------------------------------------------------------------------


def test_an_approved_collectors_parquet_batch_is_stored_in_one_commit_and_recorded(engine, store, tmp_path):
    sent = rows()
    report = intake.take_in(engine, store, AGENT, write(sent, tmp_path / "b.parquet"))
    assert (report.rows, report.stored, report.skipped_objected, report.repeated) == (60, 60, 0, False)
    assert report.lake_version == store.version("keystrokes")
    assert lake_rows(store).equals(sent.sort("subject_id", "ts"))
    [batch] = batches(engine)
    assert (batch.batch_hash, batch.collector_name, batch.category_key, batch.rows, batch.skipped_objected,
            batch.lake_version) == (report.batch_hash, AGENT, KEYSTROKES, 60, 0, report.lake_version)
    assert "stored 60 row(s)" in report.describe()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_csv_and_json_lines_batches_store_the_same_values_as_parquet(lite, store, tmp_path, suffix):
    sent = rows()
    report = intake.take_in(lite, store, AGENT, write(sent, tmp_path / f"b{suffix}"))
    assert report.fmt == suffix[1:] and report.stored == 60
    assert lake_rows(store).equals(sent.sort("subject_id", "ts"))


def test_the_same_batch_twice_stores_its_rows_once_whatever_the_format(engine, store, tmp_path):
    sent = rows()
    first = intake.take_in(engine, store, AGENT, write(sent, tmp_path / "b.parquet"))
    version = store.version("keystrokes")
    for name in ("b.parquet", "again.csv", "again.jsonl"):
        again = intake.take_in(engine, store, AGENT, write(sent, tmp_path / name))
        assert again.repeated and again.stored == 0 and again.batch_hash == first.batch_hash
        assert "taken in before" in again.describe()
    assert store.version("keystrokes") == version and lake_rows(store).height == 60
    assert len(batches(engine)) == 1


def test_a_different_batch_gets_a_name_of_its_own(lite, store, tmp_path):
    first = intake.take_in(lite, store, AGENT, write(rows(), tmp_path / "a.parquet"))
    second = intake.take_in(lite, store, AGENT, write(rows(start=NOW - timedelta(hours=3)), tmp_path / "b.parquet"))
    assert first.batch_hash != second.batch_hash and not second.repeated
    assert lake_rows(store).height == 120


def test_a_batch_committed_to_the_lake_but_never_recorded_is_recorded_and_not_written_again(engine, store, tmp_path):
    """What a process that died between the Delta commit and the DB record leaves: rows and id in the lake."""
    path = write(rows(), tmp_path / "b.parquet")
    prepared = store.prepare("keystrokes", pa.Table.from_pandas(rows().to_pandas(), preserve_index=False))
    digest = intake.batch_hash(KEYSTROKES, prepared)
    store.append_once("keystrokes", prepared, digest)
    version = store.version("keystrokes")
    report = intake.take_in(engine, store, AGENT, path)
    assert report.repeated and report.batch_hash == digest
    assert store.version("keystrokes") == version and lake_rows(store).height == 60
    [batch] = batches(engine)
    assert batch.batch_hash == digest and batch.lake_version is None


def test_the_same_batch_sent_twice_at_the_same_moment_is_stored_once(engine, store, tmp_path):
    path = write(rows(), tmp_path / "b.parquet")
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: intake.take_in(engine, store, AGENT, path), range(2)))
    assert sorted(r.repeated for r in reports) == [False, True]
    assert lake_rows(store).height == 60 and len(batches(engine)) == 1


# ---- the register ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "said"), [("pending", "pending"), ("suspended", "suspended")])
def test_a_pending_or_suspended_collector_is_refused_naming_why(engine, store, tmp_path, status, said):
    add_collector(engine, "shadow-agent", status)
    message = refused(engine, store, write(rows(), tmp_path / "b.parquet"), "shadow-agent")
    assert "shadow-agent" in message and said in message


def test_a_collector_not_on_the_register_is_refused(lite, store, tmp_path):
    assert "not on the register" in refused(lite, store, write(rows(), tmp_path / "b.parquet"), "nobody")


def test_a_category_the_collector_is_not_registered_for_is_refused(lite, store, tmp_path):
    message = refused(lite, store, write(rows(), tmp_path / "b.parquet"), category_key="user.content.private.chat")
    assert "registered for user.behavior.keystrokes" in message


# ---- bad input ---------------------------------------------------------------------------------------------


def test_a_bad_csv_line_is_named_by_its_line_in_the_file_and_its_column(lite, store, tmp_path):
    path = tmp_path / "b.csv"
    as_text(rows(5)).write_csv(path)
    text = path.read_text().splitlines()
    text[3] = text[3].replace(",15,", ",fifteen,")
    # A quoted field over two lines moves every later record's line.
    text.insert(2, 'E00002,2026-01-01T00:00:00Z,15,1,1,"LT\nnew"'.replace("2026-01-01", (NOW - timedelta(days=1))
                                                                          .strftime("%Y-%m-%d")))
    path.write_text("\n".join(text) + "\n")
    message = refused(lite, store, str(path))
    assert "line 6: window_minutes: 'fifteen' is not a whole number" in message
    assert "nothing was written" in message


def test_json_lines_problems_name_the_line_counting_blank_lines(lite, store, tmp_path):
    path = tmp_path / "b.jsonl"
    good = [json.dumps(r) for r in as_text(rows(3)).to_dicts()]
    bad = dict(as_text(rows(1)).to_dicts()[0], key_count=3_000_000_000)
    path.write_text("\n".join([good[0], "", good[1], json.dumps(bad), good[2]]) + "\n")
    assert "line 4: key_count: 3000000000 does not fit int32" in refused(lite, store, str(path))


def test_a_json_line_that_is_not_an_object_or_holds_text_for_a_number_is_named(lite, store, tmp_path):
    path = tmp_path / "b.jsonl"
    good = as_text(rows(2)).to_dicts()
    path.write_text("\n".join([json.dumps(good[0]), "[1, 2]", json.dumps(dict(good[1], key_count="many"))]) + "\n")
    message = refused(lite, store, str(path))
    assert "line 2: must be a JSON object, not a list" in message
    assert "line 3: key_count: must be a whole number, not text \"many\"" in message


def test_parquet_problems_name_the_row_index_from_zero(lite, store, tmp_path):
    frame = rows(4).with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("E99999"))
                                 .otherwise(pl.col("subject_id")).alias("subject_id"))
    message = refused(lite, store, write(frame, tmp_path / "b.parquet"))
    assert "row index 2: subject_id: 'E99999' is not an employee id of the company's directory" in message


def test_an_int32_column_refuses_three_billion_and_one_and_a_half_and_accepts_three_point_zero(lite, store, tmp_path):
    table = pa.Table.from_pandas(rows(3).to_pandas(), preserve_index=False)
    table = table.set_column(3, "key_count", pa.array([3_000_000_000, 1.5, 3.0], pa.float64()))
    pq.write_table(table, tmp_path / "b.parquet")
    message = refused(lite, store, str(tmp_path / "b.parquet"))
    assert "row index 0: key_count: 3000000000 does not fit int32" in message
    assert "row index 1: key_count: 1.5 is not a whole number" in message
    assert "row index 2" not in message
    assert message.startswith("2 problem(s)")


@pytest.mark.parametrize(("value", "said"), [
    ("2026-03-02T09:30:00", "has no time zone"),
    ("2026-03-02 09:30", "has no time zone"),
    ("2026-03-02T09:30:00.1234567Z", "is finer than microseconds"),
    ("2026-02-30T09:30:00Z", "is not a valid date and time"),
    ("yesterday", "is not an ISO 8601 timestamp"),
])
def test_a_time_needs_a_zone_and_at_most_microseconds(lite, store, tmp_path, value, said):
    frame = as_text(rows(2)).with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(value))
                                          .otherwise(pl.col("ts")).alias("ts"))
    frame.write_csv(tmp_path / "b.csv")
    assert f"line 3: ts: '{value}' {said}" in refused(lite, store, str(tmp_path / "b.csv"))


def test_a_time_with_an_offset_is_stored_as_the_same_instant_in_utc(lite, store, tmp_path):
    frame = as_text(rows(1)).with_columns(
        pl.lit((NOW - timedelta(hours=5)).astimezone(ZoneInfo("Asia/Kolkata")).isoformat()).alias("ts"))
    frame.write_csv(tmp_path / "b.csv")
    intake.take_in(lite, store, AGENT, str(tmp_path / "b.csv"))
    assert lake_rows(store)["ts"].to_list() == [NOW - timedelta(hours=5)]


def test_times_in_the_future_or_past_the_categorys_retention_are_refused(lite, store, tmp_path):
    frame = rows(3).with_columns(pl.Series("ts", [NOW + timedelta(hours=1), NOW - timedelta(days=181),
                                                  NOW + timedelta(minutes=4)]).dt.cast_time_unit("us"))
    message = refused(lite, store, write(frame, tmp_path / "b.parquet"))
    assert "row index 0: ts:" in message and "is in the future" in message
    assert "row index 1: ts:" in message and "older than the 180-day retention" in message
    assert "row index 2" not in message


def test_missing_subjects_or_times_are_refused(lite, store, tmp_path):
    frame = rows(3).with_columns(pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("subject_id"))
                                 .alias("subject_id"),
                                 pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("ts")).alias("ts"))
    message = refused(lite, store, write(frame, tmp_path / "b.parquet"))
    assert "row index 0: subject_id: is missing" in message and "row index 1: ts: is missing" in message


def test_missing_and_unexpected_columns_are_named_with_the_tables_columns(lite, store, tmp_path):
    frame = rows(2).drop("device").with_columns(pl.lit("x").alias("keys_pressed"))
    message = refused(lite, store, write(frame, tmp_path / "b.parquet"))
    assert "missing column(s) device" in message and "unexpected column(s) keys_pressed" in message
    assert "subject_id, ts, window_minutes, key_count, active_seconds, device" in message


def test_a_bucket_column_in_the_file_is_ignored_because_intake_computes_it(lite, store, tmp_path):
    frame = rows(4).with_columns(pl.lit(999, pl.Int32).alias("bucket"))
    assert intake.take_in(lite, store, AGENT, write(frame, tmp_path / "b.parquet")).stored == 4
    assert store.count("keystrokes", PEOPLE[0]) == 1


def test_more_than_twenty_problems_name_twenty_and_count_the_rest(lite, store, tmp_path):
    frame = rows(30).with_columns(pl.lit("E99999").alias("subject_id"))
    message = refused(lite, store, write(frame, tmp_path / "b.parquet"))
    assert message.startswith("30 problem(s)")
    assert message.count("is not an employee id") == 20 and message.endswith("and 10 more")


@pytest.mark.parametrize(("name", "content", "said"), [
    ("b.txt", b"hello world\n", "expected Parquet (.parquet), CSV with a header line (.csv) or JSON Lines"),
    ("b.bin", b"\x00\x01\x02binary", "holds binary data but is not Parquet"),
    ("b.parquet", b"subject_id,ts\n", "is named like a Parquet file but is not one"),
    ("b.csv", b"", "is empty"),
])
def test_a_file_that_is_not_a_batch_is_refused_saying_what_is_expected(lite, store, tmp_path, name, content, said):
    (tmp_path / name).write_bytes(content)
    assert said in refused(lite, store, str(tmp_path / name))


def test_a_csv_line_with_too_many_fields_or_bad_utf_8_is_named(lite, store, tmp_path):
    path = tmp_path / "b.csv"
    as_text(rows(3)).write_csv(path)
    good = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([*good[:2], good[2] + b",surplus", good[3]]) + b"\n")
    assert "line 3: has 7 field(s) where the header line names 6" in refused(lite, store, str(path))
    path.write_bytes(b"\n".join([*good[:3], good[3].replace(b"LT-", b"LT\xff")]) + b"\n")
    assert "line 4: is not valid UTF-8" in refused(lite, store, str(path))


def test_a_parquet_time_column_without_a_zone_or_with_nanoseconds_is_refused(lite, store, tmp_path):
    table = pa.Table.from_pandas(rows(2).to_pandas(), preserve_index=False)
    naive = table.set_column(1, "ts", table["ts"].cast(pa.timestamp("us")))
    pq.write_table(naive, tmp_path / "naive.parquet")
    assert "file: ts: must hold times with a time zone" in refused(lite, store, str(tmp_path / "naive.parquet"))
    nanos = table.set_column(1, "ts", pa.array([int(NOW.timestamp() * 1e9) - 1] * 2, pa.timestamp("ns", tz="UTC")))
    pq.write_table(nanos, tmp_path / "nanos.parquet")
    assert "row index 0: ts:" in refused(lite, store, str(tmp_path / "nanos.parquet"))


def test_a_json_time_given_as_a_number_is_refused_naming_what_is_expected(lite, store, tmp_path):
    record = dict(as_text(rows(1)).to_dicts()[0], ts=1_700_000_000)
    (tmp_path / "b.jsonl").write_text(json.dumps(record) + "\n")
    assert "line 1: ts: must be an ISO 8601 timestamp string" in refused(lite, store, str(tmp_path / "b.jsonl"))


def test_a_batch_without_an_ending_is_read_by_its_content(lite, store, tmp_path):
    as_text(rows(3)).write_csv(tmp_path / "upload")
    assert intake.take_in(lite, store, AGENT, str(tmp_path / "upload")).fmt == "csv"


# ---- objections ----------------------------------------------------------------------------------------------


def object_to(engine, person: str, *, purpose: str | None = None, category: str | None = None, n: int = 1) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(db.objections).values(
            objection_id=f"OBJ-{person}-{n}", employee_id=person, purpose_code=purpose, category_key=category,
            effective_at=NOW - timedelta(days=3)))


def test_rows_of_people_who_objected_to_every_purpose_of_the_collector_are_not_stored_but_counted(engine, store,
                                                                                                   tmp_path):
    object_to(engine, PEOPLE[0], purpose="essential.service.security")
    object_to(engine, PEOPLE[0], purpose="train_ai_system", n=2)
    object_to(engine, PEOPLE[1], category=KEYSTROKES)
    report = intake.take_in(engine, store, AGENT, write(rows(), tmp_path / "b.parquet"))
    assert (report.rows, report.stored, report.skipped_objected) == (60, 56, 4)
    assert set(lake_rows(store)["subject_id"]) == set(PEOPLE[2:])
    assert batches(engine)[0].skipped_objected == 4
    assert "4 row(s) not stored" in report.describe()


def test_an_objection_to_some_purposes_only_keeps_the_rows(lite, store, tmp_path):
    object_to(lite, PEOPLE[0], purpose="train_ai_system")
    assert intake.take_in(lite, store, AGENT, write(rows(), tmp_path / "b.parquet")).skipped_objected == 0


def test_rows_are_kept_when_a_purpose_of_the_collector_is_not_open_to_objection(lite, store, tmp_path, monkeypatch):
    object_to(lite, PEOPLE[0], category=KEYSTROKES)
    monkeypatch.setattr(intake, "open_to_objection", lambda category: frozenset({"train_ai_system"}))
    report = intake.take_in(lite, store, AGENT, write(rows(), tmp_path / "b.parquet"))
    assert report.skipped_objected == 0 and report.stored == 60


def test_purposes_open_to_objection_come_from_the_catalog_and_fall_back_to_the_category():
    keystrokes = catalog.category(KEYSTROKES)
    assert intake.open_to_objection(keystrokes) == frozenset(keystrokes.objectionable_purposes)

    class OlderCategory:
        purposes = ("a", "b")
        objection_possible = False

    assert intake.open_to_objection(OlderCategory()) == frozenset()  # type: ignore[arg-type]
    OlderCategory.objection_possible = True
    assert intake.open_to_objection(OlderCategory()) == frozenset({"a", "b"})  # type: ignore[arg-type]


def test_a_batch_of_only_objecting_people_is_recorded_without_a_commit(lite, store, tmp_path):
    object_to(lite, PEOPLE[0], category=KEYSTROKES)
    report = intake.take_in(lite, store, AGENT, write(rows(3, people=PEOPLE[:1]), tmp_path / "b.parquet"))
    assert (report.stored, report.skipped_objected, report.lake_version) == (0, 3, None)
    assert intake.take_in(lite, store, AGENT, str(tmp_path / "b.parquet")).repeated


# ---- readers learn of new rows ------------------------------------------------------------------------------


def test_new_rows_reach_the_persons_my_data_and_the_works_councils_figures_at_once(tmp_path):
    from portal import bootstrap
    from portal.council import figures
    from portal.demo import seed as demo
    from portal.identity.policy import EMPLOYEE
    from portal.identity.principal import Employee, Principal
    from portal.lake import my_data

    settings = make_settings(tmp_path / "company")
    demo.seed(settings, employees=30, days=7, seed=5)
    services = bootstrap.build(settings)  # one long-lived process: its store and rollups have read the lake
    engine, store = services.engine, services.store
    add_collector(engine, "agent-2")
    with engine.connect() as conn:
        people = conn.execute(sa.select(db.employees.c.employee_id, db.employees.c.email,
                                        db.employees.c.display_name).order_by(db.employees.c.employee_id)).all()
    someone = people[0]
    principal = Principal(someone.email, someone.email, someone.display_name,
                          Employee(someone.employee_id, someone.display_name, someone.email, "", "", "", None),
                          frozenset({EMPLOYEE}))

    def held() -> int:
        return sum(h.records for h in my_data.holdings(principal, store) if h.key == KEYSTROKES)

    def counted() -> int:
        view = figures.collection_release(settings, engine, store).view(("category",))
        return int(view.filter(pl.col("category") == KEYSTROKES)["records"].sum())

    mine, council = held(), counted()
    batch = rows(4 * len(people), start=NOW - timedelta(hours=2), people=[p.employee_id for p in people])
    report = intake.take_in(engine, store, "agent-2", write(batch, tmp_path / "b.parquet"))
    assert report.stored == 4 * len(people)
    assert held() == mine + 4
    assert counted() == council + report.stored
    engine.dispose()
