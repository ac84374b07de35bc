"""The pages' one calling convention: stores bound once, the principal first, results that carry what a
page shows (the reads with their log status, a page of records with its page count)."""

from __future__ import annotations

import os
import time

import pytest

from portal import bootstrap
from portal.demo import seed as demo
from portal.demo.personas import PERSONA_BY_SUB
from portal.identity.policy import PermissionDenied
from portal.identity.principal import ClaimRules, principal_from_claims
from portal.privacy import export
from portal.privacy.request_views import utc_today
from tests.conftest import make_settings

KEYSTROKES = "user.behavior.keystrokes"


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("services"), page_size=50)
    demo.seed(settings, employees=12, days=5, seed=3)
    found = bootstrap.build(settings)
    yield found
    found.engine.dispose()


def who(services, sub):
    return principal_from_claims(PERSONA_BY_SUB[sub].claims(), services.directory, ClaimRules.from_settings(services.settings))


def test_a_page_of_records_carries_its_page_count_and_a_page_past_the_last_gives_the_last(services):
    alice = who(services, "alice")
    first = services.records_page(alice, KEYSTROKES)
    assert first.page == 1 and first.pages > 1 and first.frame.height == 50
    assert first.pages == -(-first.total // 50)
    beyond = services.records_page(alice, KEYSTROKES, first.pages + 7)
    assert beyond.page == beyond.pages == first.pages
    assert 0 < beyond.frame.height <= 50


def test_the_reads_of_my_data_carry_each_reads_status_in_the_signed_log(services):
    alice = who(services, "alice")
    reads = services.reads_of_my_data(alice)
    assert reads.events and reads.inclusion is not None
    table = reads.table(reads.events[:5])
    assert table.height == 5
    assert set(table["In the signed log"]) <= {"verified", "pending"}
    assert reads.summary.reads <= len(reads.events)


def test_every_service_checks_the_principal_it_is_given(services):
    alice = who(services, "alice")
    with pytest.raises(PermissionDenied):
        services.queue(alice, utc_today())
    with pytest.raises(PermissionDenied):
        services.council_overview(alice)
    with pytest.raises(PermissionDenied):
        services.verify_log(alice)


def test_housekeeping_deletes_own_copies_older_than_an_hour_at_most_once_a_minute(services):
    copies = export.copies_dir(services.settings.data_dir)
    copies.mkdir(exist_ok=True)
    old = copies / "copy-E00009-self-0123456789abcdef.zip"
    old.write_bytes(b"PK")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    fresh = copies / "copy-E00008-self-fedcba9876543210.zip"
    fresh.write_bytes(b"PK")

    assert services.housekeeping(now=1000.0) == 1
    assert not old.exists() and fresh.exists()
    old.write_bytes(b"PK")
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert services.housekeeping(now=1030.0) == 0  # within the minute: not again
    assert old.exists()
    assert services.housekeeping(now=1061.0) == 1
    assert not old.exists() and fresh.exists()
