"""``portal retention run`` on SQLite and PostgreSQL: records past their category's retention leave the lake,
its files and log, the rollups and the releases; one row per category records each run; the latest run of
each category is what the works council is shown."""

from __future__ import annotations

import os
from pathlib import Path
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

import portal.bootstrap  # noqa: F401 - registers every derived copy retention must drop (rollups, releases)
from portal.collection import retention
from portal.core import cache_epoch, catalog, db
from portal.lake import volume_rollup
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings
from tests.integration.privacy.test_privacy_requests import drop_schema, postgres_schema_url

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEYSTROKES = "user.behavior.keystrokes"  # 180 days
APPS = "user.behavior.application_usage"  # 365 days


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        found = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
        db.migrate(found)
        yield found
        found.dispose()
    else:
        url, schema = postgres_schema_url()
        found = db.make_engine(url)
        db.migrate(found)
        yield found
        found.dispose()
        drop_schema(schema)


@pytest.fixture
def lite(tmp_path):
    found = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    db.migrate(found)
    yield found
    found.dispose()


def rows_for(table_name: str, subjects: list[str], times: list[datetime]) -> pa.Table:
    """Rows of any catalog table: the given subjects and times, plain values in the other columns."""
    schema = catalog.TABLE_SCHEMAS[table_name]
    columns = {"subject_id": pa.array(subjects), "ts": pa.array(times, pa.timestamp("us", tz="UTC"))}
    for field in schema:
        if field.name in columns or field.name == "bucket":
            continue
        value = "x" if pa.types.is_string(field.type) else 1.0 if pa.types.is_floating(field.type) else 1
        columns[field.name] = pa.array([value] * len(subjects), field.type)
    return pa.table(columns)


@pytest.fixture
def store(tmp_path) -> TelemetryStore:
    """Keystrokes from 200 and 100 days ago and yesterday; application usage from 400 and 200 days ago."""
    found = TelemetryStore(make_settings(tmp_path / "data", telemetry_buckets=4))
    found.create()
    people = [f"E{i:05d}" for i in range(1, 9)]
    for days in (200, 100, 1):
        found.append("keystrokes", rows_for("keystrokes", people, [NOW - timedelta(days=days)] * len(people)))
    for days in (400, 200):
        found.append("app_usage", rows_for("app_usage", people, [NOW - timedelta(days=days)] * len(people)))
    return found


def weeks(frame: pl.DataFrame, category: str) -> list:
    return sorted(set(frame.filter(pl.col("category") == category)["week"].to_list()))


def test_a_run_deletes_what_is_past_each_categorys_retention_and_records_one_row_per_category(engine, store):
    runs = retention.run_retention(engine, store, now=NOW)
    by_key = {r.category_key: r for r in runs}
    assert [r.category_key for r in runs] == [c.key for c in catalog.CATEGORIES]
    assert (by_key[KEYSTROKES].rows_deleted, by_key[APPS].rows_deleted) == (8, 8)
    assert by_key[KEYSTROKES].files_removed >= 1 and by_key[KEYSTROKES].cutoff == NOW - timedelta(days=180)
    assert all(r.rows_deleted == 0 for r in runs if r.category_key not in (KEYSTROKES, APPS))
    assert len({r.run_id for r in runs}) == 1
    assert store.count("keystrokes", "E00001") == 2 and store.count("app_usage", "E00001") == 1
    with engine.connect() as conn:
        stored = conn.execute(sa.select(db.retention_runs)).all()
    assert len(stored) == len(catalog.CATEGORIES)
    assert {r.category_key: r.rows_deleted for r in stored}[KEYSTROKES] == 8


def test_no_data_file_on_disk_holds_a_deleted_record(lite, store):
    retention.run_retention(lite, store, now=NOW)
    for table, days in (("keystrokes", 180), ("app_usage", 365)):
        for directory, _, names in os.walk(store.lake_dir / table):
            for name in (n for n in names if n.endswith(".parquet") and "_delta_log" not in directory):
                oldest = min(pq.read_table(os.path.join(directory, name), columns=["ts"])["ts"].to_pylist())
                assert oldest >= NOW - timedelta(days=days), (table, name)


def test_rollups_and_releases_keep_no_deleted_week(lite, store):
    before = volume_rollup.weekly_records(store)  # stored on disk and held in memory
    old_week = (NOW - timedelta(days=200)).date()
    assert any(w <= old_week for w in weeks(before, KEYSTROKES))
    epoch = cache_epoch.current(lite)
    retention.run_retention(lite, store, now=NOW)
    after = volume_rollup.weekly_records(store)
    cutoff = (NOW - timedelta(days=180 + 7)).date()
    assert all(w > cutoff for w in weeks(after, KEYSTROKES))
    stored = pl.read_parquet(Path(volume_rollup.rollups_location(store.location).root) / "keystrokes.parquet")
    assert stored["records"].sum() == 16  # the 100-day-old rows and yesterday's, no more
    assert cache_epoch.current(lite) != epoch  # a running portal drops its copies


def test_a_second_run_finds_nothing_left_to_delete(lite, store):
    retention.run_retention(lite, store, now=NOW)
    version = store.version("keystrokes")
    again = retention.run_retention(lite, store, now=NOW)
    assert all(r.rows_deleted == 0 and r.files_removed == 0 for r in again)
    assert store.version("keystrokes") == version
    assert "Nothing was past its retention." in retention.describe(again)


def test_last_runs_give_the_latest_run_of_each_category_and_nothing_before_the_first(engine, store):
    with engine.connect() as conn:
        assert retention.last_runs(conn) == []
    retention.run_retention(engine, store, now=NOW)
    latest = retention.run_retention(engine, store, now=NOW + timedelta(days=1))
    with engine.connect() as conn:
        shown = retention.last_runs(conn)
    assert shown == latest
    assert all(r.cutoff.tzinfo is not None and r.finished_at >= r.started_at for r in shown)


def test_the_report_names_each_category_its_cutoff_rows_and_files(lite, store):
    text = retention.describe(retention.run_retention(lite, store, now=NOW))
    assert "Keystroke activity" in text and f"before {(NOW - timedelta(days=180)):%Y-%m-%d}" in text
    assert "16 row(s) deleted in all." in text


def test_progress_is_told_for_every_category(lite, store):
    told: list[str] = []
    retention.run_retention(lite, store, now=NOW, progress=told.append)
    assert any(t.startswith("keystrokes: deleting records before") for t in told)
    assert any(t.startswith("keystrokes: 8 row(s) deleted, ") for t in told)
