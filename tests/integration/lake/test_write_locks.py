"""One writer per table at a time: a flock beside a local lake, a PostgreSQL advisory lock shared by every
replica when the lake is on object storage."""

from __future__ import annotations

import threading
import time

import pytest

from portal.core.lake_location import LakeLocation
from portal.lake import write_lock
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings, s3_prefix
from tests.integration.lake.test_lake_on_both_stores import keystroke_rows


def held_back(location: LakeLocation, table: str, other: LakeLocation) -> float:
    """Seconds a second writer (through ``other``) waited while the first held the lock for 0.5 s."""
    entered = threading.Event()
    waited: list[float] = []

    def second() -> None:
        entered.wait(5)
        start = time.monotonic()
        with write_lock.table_lock(other, table):
            waited.append(time.monotonic() - start)

    thread = threading.Thread(target=second)
    thread.start()
    with write_lock.table_lock(location, table):
        entered.set()
        time.sleep(0.5)
    thread.join(10)
    return waited[0]


def test_a_local_lakes_writers_wait_for_each_other(tmp_path):
    location = make_settings(tmp_path).lake_location
    assert held_back(location, "keystrokes", location) >= 0.3
    assert "flock" in write_lock.describe(location)


@pytest.mark.postgres
def test_replicas_on_object_storage_take_a_postgresql_advisory_lock_per_table(
        s3_environment, postgres_url, tmp_path):
    lake_url = s3_environment.url(s3_prefix())
    one = make_settings(tmp_path / "one", lake_url=lake_url, database_url=postgres_url).lake_location
    two = make_settings(tmp_path / "two", lake_url=lake_url, database_url=postgres_url).lake_location
    assert "advisory" in write_lock.describe(one)
    assert held_back(one, "keystrokes", two) >= 0.3  # two replicas: two locations, one lock
    quick = threading.Event()  # another table of the same lake does not wait

    def other_table() -> None:
        with write_lock.table_lock(two, "mouse_activity"):
            quick.set()

    with write_lock.table_lock(one, "keystrokes"):
        thread = threading.Thread(target=other_table)
        thread.start()
        assert quick.wait(5)
    thread.join(5)


@pytest.mark.postgres
def test_an_append_from_one_replica_waits_for_an_erasure_from_another_and_both_land(
        s3_environment, postgres_url, tmp_path):
    lake_url = s3_environment.url(s3_prefix())
    first = TelemetryStore(make_settings(tmp_path / "one", lake_url=lake_url, database_url=postgres_url,
                                         telemetry_buckets=4))
    second = TelemetryStore(make_settings(tmp_path / "two", lake_url=lake_url, database_url=postgres_url,
                                          telemetry_buckets=4))
    first.append("keystrokes", keystroke_rows(["E00001", "E00002"], 50))
    errors: list[BaseException] = []

    def append() -> None:
        try:
            second.append("keystrokes", keystroke_rows(["E00003"], 40))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=append)
    thread.start()
    first.erase_subject("keystrokes", "E00001")
    thread.join(60)
    assert not errors
    assert [second.count("keystrokes", s) for s in ("E00001", "E00002", "E00003")] == [0, 50, 40]
    assert first.rows_on_disk("keystrokes", "E00001").rows == 0
