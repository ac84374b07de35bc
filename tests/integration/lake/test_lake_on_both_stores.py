"""The lake on a local directory and on S3-compatible object storage (a real SeaweedFS server): every
read and write the portal makes, and erasure with its file-by-file verification, behave the same on both."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import portal.bootstrap  # noqa: F401 - registers every derived copy erasure must drop (rollups, releases)
from portal.collection import lake_check
from portal.core import caches
from portal.lake import volume_rollup
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings, s3_prefix

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
PEOPLE = [f"E{i:05d}" for i in range(1, 9)]


def keystroke_rows(subjects: list[str], per_subject: int, start: datetime = T0) -> pa.Table:
    subject_ids, stamps = [], []
    for subject in subjects:
        for i in range(per_subject):
            subject_ids.append(subject)
            stamps.append(start + timedelta(minutes=10 * i))
    n = len(subject_ids)
    return pa.table({
        "subject_id": pa.array(subject_ids, pa.string()), "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array([1] * n, pa.int16()), "key_count": pa.array([40] * n, pa.int32()),
        "active_seconds": pa.array([50] * n, pa.int32()), "device": pa.array(["laptop"] * n, pa.string())})


@pytest.fixture(params=["local disk", "object storage"])
def lake_settings(request, tmp_path):
    if request.param == "local disk":
        return make_settings(tmp_path, telemetry_buckets=4)
    server = request.getfixturevalue("s3_environment")
    return make_settings(tmp_path, telemetry_buckets=4, lake_url=server.url(s3_prefix()))


@pytest.fixture
def store(lake_settings):
    found = TelemetryStore(lake_settings)
    found.append("keystrokes", keystroke_rows(PEOPLE, 60))
    volume_rollup.forget()
    yield found
    volume_rollup.forget()


def test_a_lake_is_made_checked_and_read_one_person_at_a_time(store):
    store.check()
    assert store.exists() and store.buckets == 4
    summary = store.summary("E00003")
    assert summary["records"].to_list() == [60] and summary["category"].to_list() == ["user.behavior.keystrokes"]
    page, total = store.records("E00003", "user.behavior.keystrokes", limit=5)
    assert total == 60 and page.height == 5 and set(page["subject_id"]) == {"E00003"}
    assert store.daily_volume("E00003")["records"].sum() == 60
    assert store.summary("E09999").is_empty()


def test_a_lake_on_object_storage_keeps_its_files_under_its_prefix_and_nothing_on_the_local_disk(store):
    names = [e.relative for e in store.location.files()]
    assert "lake.json" in names and any(n.startswith("keystrokes/bucket=") and n.endswith(".parquet") for n in names)
    if not store.location.is_local:
        assert not (store.settings.data_dir / "lake").exists()


def test_the_same_batch_sent_twice_is_stored_once(store):
    prepared = store.prepare("keystrokes", keystroke_rows(["E00020"], 30))
    first = store.append_once("keystrokes", prepared, "batch-1")
    again = store.append_once("keystrokes", prepared, "batch-1")
    assert first.rows == 30 and again.before and again.rows == 0
    assert store.count("keystrokes", "E00020") == 30


def test_writers_appending_at_the_same_time_all_land(store):
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            store.append("keystrokes", keystroke_rows([f"E0010{i}"], 20))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert [store.count("keystrokes", f"E0010{i}") for i in range(4)] == [20] * 4


def test_erasure_leaves_no_row_in_any_file_or_log_entry_and_everyone_else_untouched(store):
    before = {p: store.count("keystrokes", p) for p in PEOPLE}
    # A stray file no version references (a crashed writer's) that holds the person: vacuum must take it.
    stray = store.location.path("keystrokes", f"bucket={store.bucket_of('E00003')}", "part-stray.parquet")
    sink = io.BytesIO()
    pq.write_table(keystroke_rows(["E00003"], 3), sink)
    with store.location.fs.open_output_stream(stray) as out:
        out.write(sink.getvalue())
    assert store.rows_on_disk("keystrokes", "E00003").rows == 63

    erased = store.erase_subject("keystrokes", "E00003")

    assert erased.rows_removed == 60 and erased.files_vacuumed >= 2
    on_disk = store.rows_on_disk("keystrokes", "E00003")
    assert on_disk.rows == 0 and on_disk.files_scanned > 0
    assert store.log_mentions("keystrokes", "E00003").files_naming == ()
    assert store.count("keystrokes", "E00003") == 0
    assert {p: store.count("keystrokes", p) for p in PEOPLE if p != "E00003"} == {
        p: n for p, n in before.items() if p != "E00003"}
    store.check()  # still a healthy table that takes appends
    store.append("keystrokes", keystroke_rows(["E00003"], 2))
    assert store.count("keystrokes", "E00003") == 2


def test_retention_deletes_what_is_past_its_cutoff_and_keeps_the_rest(store):
    store.append("keystrokes", keystroke_rows(["E00030"], 10, T0 - timedelta(days=400)))
    expired = store.delete_before("keystrokes", T0 - timedelta(days=200))
    assert expired.rows_deleted == 10
    assert store.rows_on_disk("keystrokes", "E00030").rows == 0
    assert store.count("keystrokes", "E00001") == 60


def test_weekly_rollups_are_stored_beside_the_lake_and_pruned_of_an_erased_person(store):
    weekly = volume_rollup.weekly_records(store)
    assert weekly.filter(pl.col("subject_id") == "E00005")["records"].sum() == 60
    stored = volume_rollup.rollups_location(store.location)
    assert stored.exists("keystrokes.parquet")
    if not store.location.is_local:
        assert stored.root == store.location.uri("_portal", "rollups")
    assert volume_rollup.subject_rows(store.location, "E00005", ["keystrokes"]) > 0
    store.erase_subject("keystrokes", "E00005")
    caches.forget(store.settings)
    assert volume_rollup.subject_rows(store.location, "E00005", ["keystrokes"]) == 0
    volume_rollup.forget()  # a fresh process reads what was stored
    again = volume_rollup.weekly_records(store)
    assert again.filter(pl.col("subject_id") == "E00005").is_empty()
    assert again["records"].sum() == weekly["records"].sum() - 60


def test_the_lake_check_reads_the_tables_on_either_store(store, lake_settings):
    report = lake_check.check_lake(store, set(PEOPLE), now=T0 + timedelta(days=1), rollups=False)
    keystrokes = next(t for t in report.tables if t.table_name == "keystrokes")
    assert not keystrokes.problems and keystrokes.rows == 480
