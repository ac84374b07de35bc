"""The weekly rollup behind the works council's collection figures, against a brute-force count."""

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portal.lake import volume_rollup
from portal.council import figures
from portal.lake.telemetry import TelemetryStore
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


# ---- stored rollups -------------------------------------------------------------------------------


def keystroke_rows(subjects, per_subject, start=datetime(2026, 10, 5, 8, tzinfo=UTC)):
    subject_ids, stamps = [], []
    for s in subjects:
        subject_ids += [s] * per_subject
        stamps += [start + timedelta(hours=i) for i in range(per_subject)]
    n = len(subject_ids)
    return pa.table({
        "subject_id": subject_ids, "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array([15] * n, pa.int16()), "key_count": pa.array([10] * n, pa.int32()),
        "active_seconds": pa.array([60] * n, pa.int32()), "device": ["LT-1"] * n})


@pytest.fixture
def lake(tmp_path):
    settings = make_settings(tmp_path, telemetry_buckets=4)
    store = TelemetryStore(settings)
    store.append("keystrokes", keystroke_rows([f"E{i:05d}" for i in range(1, 13)], 200))
    volume_rollup.forget()
    yield settings, store
    volume_rollup.forget()


def keystrokes(store) -> pl.DataFrame:
    frame = volume_rollup.weekly_records(store).filter(pl.col("category") == "user.behavior.keystrokes")
    return frame.sort("subject_id", "week")


def test_a_fresh_process_reads_the_stored_rollups_instead_of_the_data_files(lake, monkeypatch):
    settings, store = lake
    first = keystrokes(store)
    stored = Path(volume_rollup.rollups_location(settings.lake_location).root) / "keystrokes.parquet"
    assert stored.exists() and stat.S_IMODE(stored.stat().st_mode) == 0o600

    def no_data_file_read(*_args, **_kw):
        raise AssertionError("a data file was read although its rollup is stored")

    volume_rollup.forget()
    monkeypatch.setattr(volume_rollup, "rollup_file", no_data_file_read)
    assert keystrokes(store).equals(first)


def test_a_new_table_version_reads_only_the_files_it_added(lake, monkeypatch):
    settings, store = lake
    before = keystrokes(store)
    store.append("keystrokes", keystroke_rows(["E00099"], 30, datetime(2026, 11, 2, 8, tzinfo=UTC)))
    volume_rollup.forget()  # a fresh process: the stored rollup knows every file but the new one
    read = []
    original = volume_rollup.rollup_file
    monkeypatch.setattr(volume_rollup, "rollup_file", lambda location, path, *a: read.append(path) or original(location, path, *a))
    after = keystrokes(store)
    assert len(read) == 1
    assert after.filter(pl.col("subject_id") != "E00099").equals(before)
    assert after.filter(pl.col("subject_id") == "E00099")["records"].sum() == 30


def test_a_stored_rollup_that_is_corrupt_or_from_another_format_is_computed_again(lake):
    settings, store = lake
    expected = keystrokes(store)
    stored = Path(volume_rollup.rollups_location(settings.lake_location).root) / "keystrokes.parquet"
    for damage in (b"not parquet at all", stored.read_bytes()[: stored.stat().st_size // 2]):
        stored.write_bytes(damage)
        volume_rollup.forget()
        assert keystrokes(store).equals(expected)
        assert pq.read_metadata(stored).num_rows == expected.height  # written again, whole


def test_erasure_leaves_no_stored_rollup_row_of_the_person_and_keeps_everyone_elses(lake):
    settings, store = lake
    before = keystrokes(store)
    assert volume_rollup.subject_rows(settings.lake_location, "E00003", ["keystrokes"]) > 0
    store.erase_subject("keystrokes", "E00003")
    figures.forget_cached_copies(settings)
    assert volume_rollup.subject_rows(settings.lake_location, "E00003", ["keystrokes"]) == 0
    untouched = volume_rollup._read_stored(volume_rollup.rollups_location(settings.lake_location), "keystrokes.parquet")[1]  # noqa: SLF001
    assert untouched.height > 0 and "E00003" not in untouched["subject_id"].to_list()
    assert keystrokes(store).equals(before.filter(pl.col("subject_id") != "E00003"))


def test_a_reader_that_listed_files_before_an_erasure_never_writes_their_rollups_back(lake):
    settings, store = lake
    keystrokes(store)
    table_dir = Path(os.path.realpath(settings.lake_dir)) / "keystrokes"
    with volume_rollup._lock:  # noqa: SLF001 - what a slow reader still holds in memory
        held = {p: f for p, f in volume_rollup._files.items() if p.startswith(str(table_dir))}  # noqa: SLF001
    store.erase_subject("keystrokes", "E00003")  # rewrites and vacuums the file that held E00003
    figures.forget_cached_copies(settings)
    volume_rollup._write_stored(settings.lake_location, "keystrokes", held)  # noqa: SLF001
    assert volume_rollup.subject_rows(settings.lake_location, "E00003", ["keystrokes"]) == 0


def test_a_leftover_of_an_interrupted_write_counts_as_naming_the_person_until_pruned(lake):
    settings, _store = lake
    leftover = Path(volume_rollup.rollups_location(settings.lake_location).root) / ".keystrokes.parquet.0badf00d.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"PAR1 half a file")
    assert volume_rollup.subject_rows(settings.lake_location, "E00003", ["keystrokes"]) == 1
    volume_rollup.prune_stored(settings.lake_location)
    assert not leftover.exists()
    assert volume_rollup.subject_rows(settings.lake_location, "E00003", ["keystrokes"]) == 0


def test_telemetry_of_people_without_an_employee_record_counts_each_of_them_once_under_no_department(lake):
    _settings, store = lake
    departments = pl.DataFrame({"subject_id": [f"E{i:05d}" for i in range(1, 11)],
                                "department": ["Sales"] * 5 + ["Legal"] * 5})
    facts = figures.collection_facts(store, departments).filter(pl.col("category") == "user.behavior.keystrokes")
    per_person = facts.group_by("person").agg(pl.col("department").unique())
    assert per_person.height == 12
    strangers = facts.filter(pl.col("department") == figures.NO_DEPARTMENT)
    assert strangers["person"].n_unique() == 2
    assert set(strangers["person"]).isdisjoint(set(facts.filter(pl.col("department") != figures.NO_DEPARTMENT)["person"]))
    assert facts["records"].sum() == 12 * 200
