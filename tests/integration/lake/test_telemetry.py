"""The Delta Lake telemetry store against brute-force reads of whole tables."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from portal.core import catalog
from portal.lake.telemetry import PARTITION_COLUMN, TelemetryError, TelemetryStore, UnknownTable, bucket_for
from tests.conftest import make_settings

SUBJECTS = ["E00001", "E00002", "E00003", "E00004", "E00017", "E00088", "E00150"]
NOBODY = "E99999"


@pytest.fixture(scope="module")
def whole_tables(seeded_company) -> dict[str, pl.DataFrame]:
    """Every catalog table read in full with deltalake, no filters and no store involved."""
    lake = Path(seeded_company.settings.lake_dir)
    return {c.table_name: pl.from_arrow(DeltaTable(lake / c.table_name).to_pyarrow_table())
            for c in catalog.CATEGORIES}


@pytest.fixture(scope="module")
def store(seeded_company) -> TelemetryStore:
    return TelemetryStore(seeded_company.settings)


def _keystroke_rows(subjects: list[str], start: datetime, **extra) -> pa.Table:
    n = len(subjects)
    columns = {
        "subject_id": pa.array(subjects, pa.string()),
        "ts": pa.array([start + timedelta(minutes=15 * i) for i in range(n)], pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array([15] * n, pa.int16()),
        "key_count": pa.array([100 + i for i in range(n)], pa.int32()),
        "active_seconds": pa.array([60] * n, pa.int32()),
        "device": pa.array(["LT-00001"] * n, pa.string()),
    }
    columns.update(extra)
    return pa.table(columns)


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_summary_counts_match_a_brute_force_scan(store, whole_tables):
    for subject in SUBJECTS + [NOBODY]:
        expected = {}
        for c in catalog.CATEGORIES:
            rows = whole_tables[c.table_name].filter(pl.col("subject_id") == subject)
            if rows.height:
                expected[c.key] = (rows.height, rows["ts"].min(), rows["ts"].max())
        summary = store.summary(subject)
        got = {r["category"]: (r["records"], r["first_ts"], r["last_ts"]) for r in summary.iter_rows(named=True)}
        assert got == expected, subject
    assert store.summary(NOBODY).height == 0


def test_summary_rows_follow_the_catalog_and_name_each_category(store):
    summary = store.summary("E00001")
    assert summary["category"].to_list() == [c.key for c in catalog.CATEGORIES]
    assert summary["name"].to_list() == [c.name for c in catalog.CATEGORIES]


def test_daily_volume_matches_a_brute_force_count(store, whole_tables):
    for subject in SUBJECTS:
        frames = [
            whole_tables[c.table_name].filter(pl.col("subject_id") == subject)
            .group_by(pl.col("ts").dt.date().alias("day")).agg(pl.len().cast(pl.Int64).alias("records"))
            .with_columns(pl.lit(c.key).alias("category"))
            for c in catalog.CATEGORIES
        ]
        expected = pl.concat(frames).select("day", "category", "records").sort("day", "category")
        assert store.daily_volume(subject).equals(expected), subject
    assert store.daily_volume(NOBODY).height == 0


def test_records_are_paged_newest_first_with_the_full_total(store, whole_tables):
    for c in catalog.CATEGORIES:
        everything = whole_tables[c.table_name].filter(pl.col("subject_id") == "E00001")
        newest_first = everything["ts"].sort(descending=True).to_list()
        page, total = store.records("E00001", c.key, offset=5, limit=20)
        assert total == everything.height
        assert page["ts"].to_list() == newest_first[5:25]
        assert PARTITION_COLUMN not in page.columns
        assert set(page["subject_id"]) <= {"E00001"}


def test_records_of_an_unknown_category_name_the_known_ones(store):
    with pytest.raises(catalog.UnknownCategory, match="user.behavior.keystrokes"):
        store.records("E00001", "user.behavior.heartbeat")


def test_a_subject_scan_never_contains_another_subjects_rows(store, whole_tables):
    for c in catalog.CATEGORIES:
        for subject in SUBJECTS + [NOBODY]:
            rows = store.scan(c.table_name, subject).collect()
            assert rows["subject_id"].unique().to_list() in ([subject], [])
            assert rows.height == whole_tables[c.table_name].filter(pl.col("subject_id") == subject).height
            assert rows.columns == catalog.TABLE_SCHEMAS[c.table_name].names


def test_each_partition_holds_only_its_buckets_subjects_sorted_by_subject_and_time(seeded_company):
    lake = Path(seeded_company.settings.lake_dir)
    buckets = json.loads((lake / "lake.json").read_text())["buckets"]
    for c in catalog.CATEGORIES:
        files = sorted((lake / c.table_name).glob(f"{PARTITION_COLUMN}=*/*.parquet"))
        assert files, c.table_name
        for path in files:
            bucket = int(path.parent.name.split("=")[1])
            data = pl.from_arrow(pq.read_table(path, columns=["subject_id", "ts"]))
            assert {bucket_for(s, buckets) for s in data["subject_id"].unique()} == {bucket}, path
            out_of_order = data.with_row_index().filter(
                (pl.col("subject_id") < pl.col("subject_id").shift(1))
                | ((pl.col("subject_id") == pl.col("subject_id").shift(1)) & (pl.col("ts") < pl.col("ts").shift(1))))
            assert out_of_order.height == 0, (path, out_of_order.head(3))


def test_buckets_are_stable_and_fixed_when_the_lake_is_created(tmp_path):
    # Pinned values: a change of hash would move people to partitions that their reads skip.
    assert [bucket_for(s, 32) for s in ("E00001", "alice", "Zoë")] == [2, 7, 10]
    assert [bucket_for(s, 7) for s in ("E00001", "alice", "Zoë")] == [4, 5, 4]
    first = TelemetryStore(make_settings(tmp_path, telemetry_buckets=7))
    first.append("keystrokes", _keystroke_rows(["alice", "E00001"], T0))
    later = TelemetryStore(make_settings(tmp_path, telemetry_buckets=32))
    assert later.buckets == 7
    assert later.bucket_of("alice") == 5
    assert later.summary("alice")["records"].to_list() == [1]


def test_an_append_is_one_commit_and_visible_to_a_store_that_read_before(settings):
    store = TelemetryStore(settings)
    store.append("keystrokes", _keystroke_rows(["E1", "E2", "E1"], T0))
    assert store.summary("E1")["records"].to_list() == [2]
    version = DeltaTable(settings.lake_dir / "keystrokes").version()
    store.append("keystrokes", _keystroke_rows(["E1"] * 3, T0 + timedelta(days=1)))
    assert DeltaTable(settings.lake_dir / "keystrokes").version() == version + 1
    assert store.summary("E1")["records"].to_list() == [5]


def test_append_accepts_polars_frames_and_ignores_a_callers_bucket(settings):
    store = TelemetryStore(settings)
    frame = pl.from_arrow(_keystroke_rows(["E1", "E2"], T0)).with_columns(pl.lit(999).alias(PARTITION_COLUMN))
    assert store.append("keystrokes", frame) == 2
    whole = pl.from_arrow(DeltaTable(settings.lake_dir / "keystrokes").to_pyarrow_table())
    assert dict(whole.select("subject_id", PARTITION_COLUMN).iter_rows()) == {
        "E1": store.bucket_of("E1"), "E2": store.bucket_of("E2")}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["device"]), "missing column(s) device"),
        (lambda t: t.append_column("keys_typed", pa.array(["a", "b"])), "unexpected column(s) keys_typed"),
        (lambda t: t.set_column(3, "key_count", pa.array(["many", "few"])), "'key_count' of 'keystrokes' must be int32"),
        (lambda t: t.set_column(1, "ts", pa.array([T0.replace(tzinfo=None)] * 2, pa.timestamp("us"))),
         "timezone-aware"),
        (lambda t: t.set_column(3, "key_count", pa.array([2**40, 1], pa.int64())), "do not fit int32"),
        (lambda t: t.set_column(0, "subject_id", pa.array([None, "E1"], pa.string())), "'subject_id'"),
    ],
)
def test_append_rejects_bad_columns_naming_them_and_writes_nothing(settings, change, message):
    store = TelemetryStore(settings)
    store.create()
    before = DeltaTable(settings.lake_dir / "keystrokes").version()
    with pytest.raises(TelemetryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.append("keystrokes", change(_keystroke_rows(["E1", "E2"], T0)))
    assert DeltaTable(settings.lake_dir / "keystrokes").version() == before


def test_append_to_an_unknown_table_names_the_known_tables(settings):
    with pytest.raises(UnknownTable, match="unknown telemetry table 'keylogger'.*keystrokes.*transcript_segments"):
        TelemetryStore(settings).append("keylogger", _keystroke_rows(["E1"], T0))
    assert not settings.lake_dir.exists()


def test_check_explains_a_missing_lake(settings):
    with pytest.raises(TelemetryError, match=r"lake at .* is missing; run `portal seed` or set PORTAL_DATA_DIR"):
        TelemetryStore(settings).check()


def test_check_explains_a_missing_table(settings):
    store = TelemetryStore(settings)
    store.create()
    store.check()
    shutil.rmtree(settings.lake_dir / "chat_messages")
    with pytest.raises(TelemetryError, match=r"'chat_messages' \(Chat messages\) is missing.*portal migrate.*restore it from backup"):
        store.check()


def test_check_and_reads_explain_a_corrupt_delta_log(settings):
    store = TelemetryStore(settings)
    store.append("keystrokes", _keystroke_rows(["E1"], T0))
    for log in (settings.lake_dir / "keystrokes" / "_delta_log").glob("*.json"):
        log.write_text("this is not a delta log\n")
    with pytest.raises(TelemetryError, match=r"'keystrokes' .* unreadable: its _delta_log is damaged .*"
                                             r"Restore .* from backup or run `portal seed --force`"):
        store.check()
    with pytest.raises(TelemetryError, match="'keystrokes'.*unreadable"):
        TelemetryStore(settings).summary("E1")


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.tuples(st.sampled_from(["a", "b", "É", "c1", "z"]), st.integers(0, 10_000)),
                                 min_size=1, max_size=30), min_size=1, max_size=3))
def test_summaries_equal_a_python_count_for_any_appends(batches):
    with tempfile.TemporaryDirectory() as tmp:
        store = TelemetryStore(make_settings(Path(tmp), telemetry_buckets=3))
        everything = []
        for batch in batches:
            stamps = [T0 + timedelta(minutes=m) for _, m in batch]
            subjects = [s for s, _ in batch]
            table = _keystroke_rows(subjects, T0).set_column(1, "ts", pa.array(stamps, pa.timestamp("us", tz="UTC")))
            store.append("keystrokes", table)
            everything += list(zip(subjects, stamps, strict=True))
        for subject in {s for s, _ in everything}:
            mine = [t for s, t in everything if s == subject]
            row = store.summary(subject).row(0, named=True)
            assert (row["records"], row["first_ts"], row["last_ts"]) == (len(mine), min(mine), max(mine))
            assert sorted(store.scan("keystrokes", subject).collect()["ts"].to_list()) == sorted(mine)


# ---- the Delta log after an erasure --------------------------------------------------------------


def test_the_log_search_finds_an_id_in_file_statistics_checkpoints_and_a_delete_predicate(settings):
    store = TelemetryStore(make_settings(settings.data_dir, telemetry_buckets=1))
    store.append("keystrokes", _keystroke_rows(["E1", "E5", "E9"], T0))  # E1 and E9 bound the file
    assert [p.rsplit("/", 1)[0] for p in store.log_mentions("keystrokes", "E1").files_naming] == ["_delta_log"]
    assert store.log_mentions("keystrokes", "E5").files_naming == ()  # inside the bounds: not in the log
    store.checkpoint()
    assert any(p.endswith(".checkpoint.parquet") for p in store.log_mentions("keystrokes", "E9").files_naming)
    table = DeltaTable(settings.lake_dir / "keystrokes")
    table.delete("subject_id = 'E5'")  # a delete alone: its commit records the predicate
    assert f"_delta_log/{table.version():020d}.json" in store.log_mentions("keystrokes", "E5").files_naming


def test_erase_subject_leaves_no_log_entry_naming_the_subject_and_keeps_an_id_it_is_a_prefix_of(settings):
    store = TelemetryStore(make_settings(settings.data_dir, telemetry_buckets=1))
    store.append("keystrokes", _keystroke_rows(["E10", "E2"], T0))
    store.append("keystrokes", _keystroke_rows(["E1", "E3"], T0 + timedelta(days=1)))
    store.checkpoint()
    store.append("keystrokes", _keystroke_rows(["E0", "E1"], T0 + timedelta(days=2)))
    erased = store.erase_subject("keystrokes", "E1")

    assert erased.rows_removed == 2 and erased.log_entries_removed > 0
    log = settings.lake_dir / "keystrokes" / "_delta_log"
    assert store.log_mentions("keystrokes", "E1").files_naming == ()
    commits = b"".join(p.read_bytes() for p in log.glob("*.json"))
    for form in (b'"E1"', b'\\"E1\\"', b"'E1'"):  # a value, a value in the stats JSON, a predicate literal
        assert form not in commits
    # E10 still bounds the file nobody rewrote: a search for the substring "E1" would find the person there.
    assert store.log_mentions("keystrokes", "E10").files_naming
    whole = pl.from_arrow(DeltaTable(settings.lake_dir / "keystrokes").to_pyarrow_table())
    assert sorted(whole["subject_id"].to_list()) == ["E0", "E10", "E2", "E3"]
    with pytest.raises(Exception):  # older versions held the subject and cannot be loaded any more
        DeltaTable(settings.lake_dir / "keystrokes", version=erased.version_before)


def test_new_tables_keep_no_log_history_or_tombstones_beyond_the_latest_checkpoint(settings):
    TelemetryStore(settings).create()
    configuration = DeltaTable(settings.lake_dir / "keystrokes").metadata().configuration
    assert configuration["delta.logRetentionDuration"] == "interval 0 seconds"
    assert configuration["delta.deletedFileRetentionDuration"] == "interval 0 seconds"


def test_a_table_created_before_the_log_properties_gets_them_on_its_first_erasure(settings):
    schema = catalog.TABLE_SCHEMAS["keystrokes"]
    DeltaTable.create(settings.lake_dir / "keystrokes", schema, partition_by=[PARTITION_COLUMN])
    store = TelemetryStore(make_settings(settings.data_dir, telemetry_buckets=1))
    store.append("keystrokes", _keystroke_rows(["E1", "E2"], T0))
    assert "delta.logRetentionDuration" not in DeltaTable(settings.lake_dir / "keystrokes").metadata().configuration
    store.erase_subject("keystrokes", "E1")
    table = DeltaTable(settings.lake_dir / "keystrokes")
    assert table.metadata().configuration["delta.logRetentionDuration"] == "interval 0 seconds"
    assert store.log_mentions("keystrokes", "E1").files_naming == ()
    assert table.to_pyarrow_table()["subject_id"].to_pylist() == ["E2"]


def test_when_the_delete_is_the_last_commit_the_checkpoint_sits_on_a_commit_that_names_nobody(settings, monkeypatch):
    store = TelemetryStore(make_settings(settings.data_dir, telemetry_buckets=1))
    store.append("keystrokes", _keystroke_rows(["E1", "E2"], T0))
    monkeypatch.setattr(TelemetryStore, "_vacuum", staticmethod(lambda table: 0))  # no vacuum commit follows
    erased = store.erase_subject("keystrokes", "E1")
    assert store.log_mentions("keystrokes", "E1").files_naming == ()
    head = settings.lake_dir / "keystrokes" / "_delta_log" / f"{erased.version_after:020d}.json"
    assert '"SET TBLPROPERTIES"' in head.read_text()


def test_appends_and_store_reads_running_alongside_erasures_lose_nothing_and_the_log_ends_clean(settings):
    import threading

    store = TelemetryStore(make_settings(settings.data_dir, telemetry_buckets=2))
    store.append("keystrokes", _keystroke_rows(["E1", "E2", "E3"], T0))
    failures: list[BaseException] = []
    done = threading.Event()

    def appender():
        try:
            for day in range(8):
                store.append("keystrokes", _keystroke_rows(["E1", "E2", "E3"], T0 + timedelta(days=day + 1)))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    def reader():
        try:
            while not done.is_set():
                TelemetryStore(store.settings).summary("E2")  # a fresh store loads the log every time
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=appender), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for _ in range(4):
        store.erase_subject("keystrokes", "E1")
    threads[0].join()
    store.erase_subject("keystrokes", "E1")
    done.set()
    threads[1].join()
    assert failures == []
    assert [store.count("keystrokes", s) for s in ("E2", "E3", "E1")] == [9, 9, 0]
    assert store.log_mentions("keystrokes", "E1").files_naming == ()
