"""Both engines on a lake in S3-compatible object storage (a real SeaweedFS server): Daft reads it with the lake's
endpoint and credentials, and gives the local engine's rollups and counts; releases are stored beside the lake."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portal.core import catalog
from portal.council import figures, releases
from portal.engines.lake_rows import Probe, data_files
from portal.lake import volume_rollup
from portal.lake.telemetry import TelemetryStore
from portal.lake.volume_rollup import RollupJob
from tests.conftest import make_settings, s3_prefix

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
PEOPLE = [f"E{i:05d}" for i in range(1, 13)]


def keystrokes(subjects: list[str], per_subject: int, start: datetime = T0) -> pa.Table:
    ids = [s for s in subjects for _ in range(per_subject)]
    stamps = [start + timedelta(hours=5 * i) for _ in subjects for i in range(per_subject)]
    n = len(ids)
    return pa.table({
        "subject_id": pa.array(ids, pa.string()), "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array([1] * n, pa.int16()), "key_count": pa.array([40] * n, pa.int32()),
        "active_seconds": pa.array([50] * n, pa.int32()), "device": pa.array(["laptop"] * n, pa.string())})


@pytest.fixture
def lake(s3_environment, tmp_path):
    settings = make_settings(tmp_path, telemetry_buckets=4, lake_url=s3_environment.url(s3_prefix()))
    store = TelemetryStore(settings)
    store.append("keystrokes", keystrokes(PEOPLE, 40))
    store.append("keystrokes", keystrokes(PEOPLE[:5], 10, T0 + timedelta(days=9)))
    # A file no Delta version references (a leftover of a crashed writer), written the way delta-rs rewrites
    # files on a delete: with a view type Daft cannot read, so the Ray engine's polars tasks read it.
    leftover = keystrokes(["E00003"], 7)
    leftover = leftover.set_column(0, "subject_id", leftover["subject_id"].cast(pa.string_view()))
    sink = io.BytesIO()
    pq.write_table(leftover, sink)
    settings.lake_location.write_bytes(sink.getvalue(), "keystrokes", "bucket=1", "part-leftover.parquet")
    volume_rollup.forget()
    yield settings
    volume_rollup.forget()


def test_both_engines_roll_up_and_count_a_lake_on_object_storage_alike(lake, local_engine, ray_engine):
    location = lake.lake_location
    assert not location.is_local
    jobs = [RollupJob(e.path, "subject_id", "ts") for e in data_files(location, "keystrokes")]
    local = local_engine.rollup_files(location, jobs)
    on_ray = ray_engine.rollup_files(location, jobs)
    assert len(jobs) >= 5
    for job, mine, theirs in zip(jobs, local, on_ray, strict=True):
        assert mine.sort("subject_id", "week").equals(theirs), job.path
    assert sum(int(f["records"].sum()) for f in on_ray) == 12 * 40 + 5 * 10 + 7
    probes = [Probe("keystrokes", "E00003"), Probe("keystrokes", "E00004", T0 + timedelta(days=3)),
              Probe("keystrokes", "nobody")]
    counted = [engine.count_rows(location, probes) for engine in (local_engine, ray_engine)]
    assert counted[0] == counted[1]
    assert counted[0].totals() == {("keystrokes", "E00003"): 40 + 10 + 7, ("keystrokes", "E00004"): 15,
                                   ("keystrokes", "nobody"): 0}
    assert "bucket=1/part-leftover.parquet" in {f.file for f in counted[0].found}


def test_weekly_records_on_object_storage_are_the_same_through_either_runner(lake, ray_engine):
    store = TelemetryStore(lake)
    local = volume_rollup.weekly_records(store)
    rollups = lake.lake_location.derived("rollups")
    for entry in list(rollups.files()):
        rollups.delete(entry.path)
    volume_rollup.forget()
    on_ray = volume_rollup.weekly_records(store, ray_engine.rollups)
    key = ["category", "subject_id", "week"]
    assert local.sort(key).equals(on_ray.sort(key))
    assert rollups.exists("keystrokes.parquet")


def test_releases_are_stored_beside_a_lake_on_object_storage_and_forgotten_with_it(lake):
    where = figures.release_store(lake)
    assert where.root == lake.lake_location.uri("_portal", "releases")
    views = {("category",): pl.DataFrame({"category": [catalog.CATEGORIES[0].key], "people": [10], "records": [99],
                                          "suppressed": [False]})}
    made = releases.cached(where, "collection", "key-1", ("category",), lambda: views, 5, None)
    assert where.exists("collection.parquet")
    releases.forget(None, ["collection"])  # memory only: another replica reads the stored one
    again = releases.cached(where, "collection", "key-1", ("category",), lambda: pytest.fail("recomputed"), 5, None)
    assert again.created_at == made.created_at and again.view(("category",)).equals(views[("category",)])
    figures.forget_cached_copies(lake)
    assert not where.exists("collection.parquet")
