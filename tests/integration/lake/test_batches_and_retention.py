"""The lake's side of intake and retention: a batch and its id in one commit, recognised after checkpoints
and log cleanup; rows before a cutoff deleted, vacuumed and cleaned out of the log; nothing done when
nothing is that old. Every test runs on a local lake and on one on object storage (a real SeaweedFS server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portal.lake import delta_log
from portal.lake.telemetry import BATCH_ID_RETENTION, PARTITION_COLUMN, TelemetryError, TelemetryStore, bucket_for
from tests.conftest import make_settings, s3_prefix

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def keystrokes(subjects: list[str], start: datetime, step: timedelta = timedelta(minutes=15)) -> pa.Table:
    n = len(subjects)
    return pa.table({
        "subject_id": pa.array(subjects, pa.string()),
        "ts": pa.array([start + i * step for i in range(n)], pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array([15] * n, pa.int16()), "key_count": pa.array(range(n), pa.int32()),
        "active_seconds": pa.array([60] * n, pa.int32()), "device": pa.array(["LT-1"] * n, pa.string())})


@pytest.fixture(params=["local disk", "object storage"])
def store(request, tmp_path) -> TelemetryStore:
    lake_url = None
    if request.param == "object storage":
        lake_url = request.getfixturevalue("s3_environment").url(s3_prefix())
    found = TelemetryStore(make_settings(tmp_path, telemetry_buckets=4, lake_url=lake_url))
    found.create()
    return found


def every_row(store: TelemetryStore, table: str = "keystrokes") -> pa.Table:
    return pl.read_delta(store.uri(table), storage_options=store.location.storage_options).to_arrow()


def test_prepare_adds_the_bucket_and_orders_rows_by_bucket_subject_and_time(store):
    prepared = store.prepare("keystrokes", keystrokes(["E3", "E1", "E2", "E1"], NOW - timedelta(days=1)))
    assert prepared.schema.names[:3] == ["subject_id", PARTITION_COLUMN, "ts"]
    keys = list(zip(prepared[PARTITION_COLUMN].to_pylist(), prepared["subject_id"].to_pylist(),
                    prepared["ts"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    assert all(b == bucket_for(s, store.buckets) for b, s, _ in keys)


def test_a_batch_is_appended_with_its_id_in_one_commit_and_the_new_version_is_returned(store):
    before = store.version("keystrokes")
    appended = store.append_once("keystrokes", store.prepare("keystrokes", keystrokes(["E1", "E2"], NOW)), "b1")
    assert (appended.rows, appended.version, appended.before) == (2, before + 1, False)
    assert store.version("keystrokes") == before + 1
    assert store.delta_table("keystrokes").transaction_version("portal-intake:b1") == 1


def test_a_batch_whose_id_the_table_holds_is_not_written_again_even_after_checkpoint_and_log_cleanup(store):
    prepared = store.prepare("keystrokes", keystrokes(["E1", "E2"], NOW))
    store.append_once("keystrokes", prepared, "b1")
    table = store.delta_table("keystrokes")
    table.create_checkpoint()
    table.cleanup_metadata()
    store.erase_subject("keystrokes", "E9")  # an erasure cleans the log down to one checkpoint
    again = store.append_once("keystrokes", prepared, "b1")
    assert (again.rows, again.version, again.before) == (0, None, True)
    assert every_row(store).num_rows == 2


def test_tables_remember_batch_ids_for_a_bounded_time_and_an_older_lake_learns_to(store):
    table = store.delta_table("keystrokes")
    assert {k: table.metadata().configuration.get(k) for k in BATCH_ID_RETENTION} == BATCH_ID_RETENTION
    table.alter.set_table_properties({"delta.setTransactionRetentionDuration": "interval 1 days"})
    store.append_once("keystrokes", store.prepare("keystrokes", keystrokes(["E1"], NOW)), "b2")
    configured = store.delta_table("keystrokes").metadata().configuration
    assert configured["delta.setTransactionRetentionDuration"] == BATCH_ID_RETENTION[
        "delta.setTransactionRetentionDuration"]


def test_append_once_refuses_rows_that_did_not_come_from_prepare(store):
    with pytest.raises(TelemetryError, match="prepare"):
        store.append_once("keystrokes", keystrokes(["E1"], NOW), "b3")


def test_rows_before_the_cutoff_are_deleted_vacuumed_and_gone_from_the_log(store):
    old = keystrokes(["E1", "E2", "E3"], NOW - timedelta(days=200), timedelta(days=10))  # 200, 190, 180 days ago
    store.append("keystrokes", old)
    store.append("keystrokes", keystrokes(["E1", "E2"], NOW - timedelta(days=2)))
    expired = store.delete_before("keystrokes", NOW - timedelta(days=185))
    assert expired.rows_deleted == 2
    assert expired.files_removed >= 1
    assert expired.version_after > expired.version_before
    left = every_row(store)
    assert sorted(left["ts"].to_pylist()) == sorted(
        [NOW - timedelta(days=180), NOW - timedelta(days=2), NOW - timedelta(days=2) + timedelta(minutes=15)])
    # No data file on disk and no log entry holds a deleted row any more.
    on_disk = []
    for entry in store.data_files("keystrokes"):
        with pq.ParquetFile(store.open_file(entry.path)) as parquet:
            on_disk += parquet.read(columns=["ts"])["ts"].to_pylist()
    assert min(on_disk) >= NOW - timedelta(days=185)
    log = sorted(store.location.names("keystrokes", delta_log.LOG_DIR))
    assert all(not name[:20].isdigit() or int(name[:20]) >= expired.version_after for name in log)


def test_a_table_with_nothing_past_the_cutoff_is_left_without_a_commit(store):
    store.append("keystrokes", keystrokes(["E1"], NOW - timedelta(days=1)))
    before = store.version("keystrokes")
    expired = store.delete_before("keystrokes", NOW - timedelta(days=180))
    assert (expired.rows_deleted, expired.files_removed) == (0, 0)
    assert store.version("keystrokes") == before == expired.version_after


def test_reads_of_a_store_that_cached_the_table_see_the_rows_after_retention(store):
    store.append("keystrokes", keystrokes(["E1", "E1"], NOW - timedelta(days=200), timedelta(days=199)))
    assert store.count("keystrokes", "E1") == 2
    store.delete_before("keystrokes", NOW - timedelta(days=100))
    assert store.count("keystrokes", "E1") == 1
