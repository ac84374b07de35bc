"""``portal lake check`` against tables written directly by another writer: what breaks the portal's reads
is a problem, what only slows them is a note (a problem with --strict), and a conforming lake gets its
rollups."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import WriterProperties, write_deltalake

from portal.collection import lake_check
from portal.core import catalog
from portal.lake import volume_rollup
from portal.lake.telemetry import TelemetryStore, bucket_for
from tests.conftest import make_settings

NOW = datetime.now(UTC).replace(microsecond=0)
PEOPLE = {f"E{i:05d}" for i in range(1, 21)}
TABLE = "keystrokes"


@pytest.fixture
def store(tmp_path) -> TelemetryStore:
    found = TelemetryStore(make_settings(tmp_path, telemetry_buckets=4))
    found.create()
    return found


def rows(store: TelemetryStore, n: int = 200, *, bucket=None, ordered: bool = True, ntz: bool = False,
         extra: bool = False) -> pa.Table:
    """Keystroke rows as a direct writer would send them: ``bucket`` computes the partition (default: right)."""
    people = sorted(PEOPLE)
    subjects = [people[i % len(people)] for i in range(n)]
    times = [NOW - timedelta(hours=1 + i) for i in range(n)]
    buckets = [(bucket or (lambda s: bucket_for(s, store.buckets)))(s) for s in subjects]
    ts_type = pa.timestamp("us") if ntz else pa.timestamp("us", tz="UTC")
    table = pa.table({
        "subject_id": pa.array(subjects, pa.string()), "bucket": pa.array(buckets, pa.int32()),
        "ts": pa.array([t.replace(tzinfo=None) if ntz else t for t in times], ts_type),
        "window_minutes": pa.array([15] * n, pa.int16()), "key_count": pa.array(range(n), pa.int32()),
        "active_seconds": pa.array([60] * n, pa.int32()), "device": pa.array(["LT-1"] * n, pa.string())})
    if extra:
        table = table.append_column("keys_typed", pa.array(["secret"] * n))
    if ordered:
        table = table.sort_by([("bucket", "ascending"), ("subject_id", "ascending"), ("ts", "ascending")])
    return table


def write_directly(store: TelemetryStore, table: pa.Table, *, fresh: bool = False, partition: list[str] | None = None,
                   group_rows: int = 16_384) -> None:
    path = store.lake_dir / TABLE
    if fresh:
        shutil.rmtree(path)
    write_deltalake(path, table, mode="append", partition_by=["bucket"] if partition is None else partition,
                    writer_properties=WriterProperties(max_row_group_size=group_rows))


def checked(store: TelemetryStore, known: set[str] = PEOPLE, **kw) -> lake_check.TableCheck:
    report = lake_check.check_lake(store, known, rollups=False, **kw)
    return next(t for t in report.tables if t.table_name == TABLE)


def test_a_table_written_directly_by_the_contract_conforms_and_the_rollups_count_its_rows(store):
    write_directly(store, rows(store))
    report = lake_check.check_lake(store, PEOPLE)
    assert not report.failed and all(not t.problems and not t.notes for t in report.tables)
    mine = next(t for t in report.tables if t.table_name == TABLE)
    assert (mine.rows, mine.describe().endswith("conforms")) == (200, True)
    assert report.rollup_rows is not None and report.rollup_rows > 0
    volume = volume_rollup.weekly_records(store)
    assert volume.filter(volume["category"] == "user.behavior.keystrokes")["records"].sum() == 200
    assert "Rollups up to date" in report.describe()


def test_the_portals_own_appends_conform(store):
    store.append(TABLE, rows(store, ordered=False).drop_columns(["bucket"]))
    assert not checked(store).problems and not checked(store).notes


def test_rows_in_the_wrong_bucket_partition_are_a_problem_naming_the_bucket_function(store):
    write_directly(store, rows(store, bucket=lambda s: 0))
    found = checked(store)
    assert any("wrong bucket partition" in p and "CRC-32 of the UTF-8 subject id modulo 4" in p
               for p in found.problems)
    report = lake_check.check_lake(store, PEOPLE)
    assert report.failed and report.rollup_rows is None and "Rollups not built" in report.describe()


def test_subjects_the_directory_does_not_know_are_a_problem(store):
    write_directly(store, rows(store))
    found = checked(store, known=PEOPLE - {"E00003"})
    assert any("1 subject(s) the company's directory does not know: 'E00003'" in p for p in found.problems)


def test_a_time_without_a_zone_and_a_column_the_catalog_does_not_declare_are_problems(store):
    write_directly(store, rows(store, ntz=True, extra=True), fresh=True)
    problems = " | ".join(checked(store).problems)
    assert "column 'ts' is timestamp_ntz, the contract says timestamp" in problems
    assert "column(s) 'keys_typed' are not in the catalog" in problems


def test_a_missing_column_is_a_problem(store):
    write_directly(store, rows(store).drop_columns(["device"]), fresh=True)
    assert any("column 'device' (string) is missing" in p for p in checked(store).problems)


def test_a_table_not_partitioned_by_bucket_is_a_problem(store):
    write_directly(store, rows(store), fresh=True, partition=[])
    assert any("partitioned by nothing instead of ['bucket']" in p for p in checked(store).problems)


def test_a_missing_table_is_a_problem(store):
    shutil.rmtree(store.lake_dir / TABLE)
    assert any("there is no Delta table" in p for p in checked(store).problems)


def test_unsorted_files_and_huge_row_groups_are_notes_that_strict_makes_problems(store):
    table = rows(store, n=2000, ordered=False)
    table = table.take(pc.sort_indices(table, [("bucket", "ascending"), ("ts", "ascending")]))  # by time, not person
    write_directly(store, table, group_rows=100)
    write_directly(store, rows(store, n=280_000), group_rows=280_000)
    found = checked(store)
    assert not found.problems
    notes = " | ".join(found.notes)
    assert "not sorted by (subject_id, time)" in notes and "row groups of up to 84,000 rows" in notes
    assert not lake_check.check_lake(store, PEOPLE, rollups=False).failed
    assert lake_check.check_lake(store, PEOPLE, rollups=False, strict=True).failed


def test_rows_past_retention_are_a_note_pointing_to_retention(store):
    old = rows(store, n=20)
    old = old.set_column(2, "ts", pa.array([NOW - timedelta(days=400)] * 20, pa.timestamp("us", tz="UTC")))
    write_directly(store, old)
    assert any("portal retention run" in n for n in checked(store).notes)


def test_reader_features_are_read_through_delta_rs_or_refused():
    result = lake_check.TableCheck(TABLE, "Keystroke activity")
    assert lake_check._protocol({"deletionVectors"}, 3, result) is False
    assert "reads it through delta-rs" in result.notes[0] and not result.problems
    assert lake_check._protocol({"timestampNtz"}, 3, result) is True
    lake_check._protocol({"variantType"}, 3, result)
    assert "variantType, which the portal cannot read" in result.problems[0]


def test_every_catalog_table_is_checked(store):
    report = lake_check.check_lake(store, PEOPLE, rollups=False)
    assert [t.table_name for t in report.tables] == [c.table_name for c in catalog.CATEGORIES]
