"""The engines' small parts: probes and what a count returns, the data files a count reads, choosing an engine
(without starting Ray), and Daft's access to a lake on object storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portal.core.lake_location import LakeLocation, S3Access
from portal.engines import lake_rows, ray_cluster
from portal.engines.choice import open_engine
from portal.engines.engine import EngineError
from portal.engines.lake_rows import FileRows, LakeRows, Probe
from tests.conftest import make_settings


def test_one_probe_per_table_and_subject_keeps_the_latest_time_and_no_limit_beats_any():
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    merged = lake_rows.merge_probes([Probe("keystrokes", "E1", early), Probe("keystrokes", "E1", late),
                                     Probe("chat_messages", "E1", late), Probe("chat_messages", "E1"),
                                     Probe("keystrokes", "E2", early)])
    assert merged == (Probe("chat_messages", "E1"), Probe("keystrokes", "E1", late), Probe("keystrokes", "E2", early))


def test_a_time_without_a_zone_is_utc_and_another_zone_is_converted():
    naive = Probe("t", "s", datetime(1970, 1, 1, 0, 0, 1))
    zoned = Probe("t", "s", datetime(1970, 1, 1, 2, 0, 1, tzinfo=timezone(timedelta(hours=2))))
    assert naive.until_us == zoned.until_us == 1_000_000
    assert Probe("t", "s").until_us == lake_rows.FOREVER_US


def test_a_count_lists_every_probe_with_zeros_and_drops_empty_files():
    probes = [Probe("keystrokes", "E1"), Probe("keystrokes", "E2")]
    result = lake_rows.result(probes, {"keystrokes": 3}, [FileRows("keystrokes", "b/x.parquet", "E1", 4),
                                                          FileRows("keystrokes", "a/y.parquet", "E1", 0)])
    assert result == LakeRows(tuple(probes), {"keystrokes": 3}, (FileRows("keystrokes", "b/x.parquet", "E1", 4),))
    assert result.totals() == {("keystrokes", "E1"): 4, ("keystrokes", "E2"): 0}
    assert not result.clean and result.total_files == 3


def _file(path, subjects, times):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"subject_id": pa.array(subjects, pa.string()),
                             "ts": pa.array(times, pa.timestamp("us", tz="UTC"))}), path)


def test_every_parquet_file_under_a_table_counts_but_its_delta_log(tmp_path):
    at = datetime(2026, 3, 2, tzinfo=UTC)
    table = tmp_path / "lake" / "keystrokes"
    _file(table / "bucket=1" / "part-a.parquet", ["E1", "E2", "E1"], [at, at, at + timedelta(days=1)])
    _file(table / "bucket=1" / "deeper" / "left-behind.parquet", ["E1"], [None])
    _file(table / "_delta_log" / "00000000000000000002.checkpoint.parquet", ["E1"], [at])
    (table / "bucket=1" / "notes.txt").write_text("E1")
    location = LakeLocation(str(tmp_path / "lake"), tmp_path)
    assert [e.relative for e in lake_rows.data_files(location, "keystrokes")] == [
        "bucket=1/deeper/left-behind.parquet", "bucket=1/part-a.parquet"]
    counted = lake_rows.count_local(location, [Probe("keystrokes", "E1", at)])
    # The row a day after the time does not count; the row without a time does (it cannot be shown newer).
    assert counted.found == (FileRows("keystrokes", "bucket=1/deeper/left-behind.parquet", "E1", 1),
                             FileRows("keystrokes", "bucket=1/part-a.parquet", "E1", 1))


def test_an_unreadable_data_file_is_named_not_skipped(tmp_path):
    table = tmp_path / "lake" / "keystrokes" / "bucket=0"
    table.mkdir(parents=True)
    (table / "part-broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(EngineError, match="part-broken.parquet is unreadable"):
        open_engine(make_settings(tmp_path), "local").count_rows(LakeLocation(str(tmp_path / "lake"), tmp_path),
                                                                 [Probe("keystrokes", "E1")])


def test_choosing_an_engine_starts_nothing_and_an_unknown_one_is_refused(tmp_path):
    import ray

    settings = make_settings(tmp_path, engine="ray")
    was_running = ray.is_initialized()
    assert open_engine(settings).name == "ray" and open_engine(settings, "local").name == "local"
    assert ray.is_initialized() == was_running
    with pytest.raises(EngineError, match="unknown batch engine 'spark'; choose one of: local, ray"):
        open_engine(settings, "spark")


def _s3(endpoint: str | None, key: str | None) -> LakeLocation:
    access = S3Access(endpoint, "eu-central-1", key, "secret" if key else None, None,
                      bool(endpoint and endpoint.startswith("http://")))
    return LakeLocation("s3://lake/portal", Path("."), access)


def test_daft_reads_object_storage_with_the_lakes_endpoint_and_keys_path_style():
    assert ray_cluster.io_config(LakeLocation("/tmp/lake", Path("/tmp"))) is None
    plain = ray_cluster.io_config(_s3("http://127.0.0.1:8333", "portal"))
    assert plain is not None
    assert (plain.s3.endpoint_url, plain.s3.key_id, plain.s3.access_key, plain.s3.region_name) == (
        "http://127.0.0.1:8333", "portal", "secret", "eu-central-1")
    assert (plain.s3.use_ssl, plain.s3.force_virtual_addressing, plain.s3.anonymous) == (False, False, False)
    anonymous = ray_cluster.io_config(_s3(None, None))
    assert anonymous is not None and anonymous.s3.anonymous and anonymous.s3.use_ssl
