"""The weekly rollup behind the works council's collection figures, against a brute-force count."""

from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa

from portal import volume_rollup
from portal.telemetry import TelemetryStore
from tests.conftest import make_settings


def test_the_rollup_equals_a_brute_force_count_across_small_and_multi_row_group_files(tmp_path):
    settings = make_settings(tmp_path, telemetry_buckets=2)
    store = TelemetryStore(settings)
    start = datetime(2026, 10, 5, 8, tzinfo=UTC)

    def rows(subjects, per_subject):
        subject_ids, stamps = [], []
        for s in subjects:
            subject_ids += [s] * per_subject
            stamps += [start + timedelta(minutes=15 * i) for i in range(per_subject)]
        n = len(subject_ids)
        return pa.table({
            "subject_id": subject_ids, "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "window_minutes": pa.array([15] * n, pa.int16()), "key_count": pa.array([10] * n, pa.int32()),
            "active_seconds": pa.array([60] * n, pa.int32()), "device": ["LT-1"] * n})

    store.append("keystrokes", rows(["E1", "E2", "E3"], 12_000))  # files of several row groups
    store.append("keystrokes", rows(["E4"], 30))  # a small file of one row group
    volume_rollup.forget()
    got = volume_rollup.weekly_records(store).filter(pl.col("category") == "user.behavior.keystrokes")
    expected = (pl.scan_delta(str(store.table_dir("keystrokes"))).select("subject_id", "ts")
                .group_by("subject_id", pl.col("ts").dt.truncate("1w").cast(pl.Date).alias("week"))
                .agg(pl.len().cast(pl.Int64).alias("records")).collect())
    key = ["subject_id", "week"]
    assert got.select(*key, "records").sort(key).equals(expected.sort(key))
