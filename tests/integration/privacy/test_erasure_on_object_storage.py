"""A company whose lake is on S3-compatible object storage (a real SeaweedFS server) and whose metadata DB is
PostgreSQL: seeded, its figures computed, a person's copy made, and an erasure carried out and verified
file by file on the object store."""

from __future__ import annotations

import zipfile

import pytest

from portal.core import catalog
from portal.demo import seed as demo
from portal.lake import volume_rollup
from portal.privacy import erasure, export, privacy_requests, receipts
from portal.privacy.request_states import Status
from tests.conftest import make_settings, s3_prefix
from tests.integration.privacy.test_erasure import ALICE_ID, open_company

ERASED = [catalog.category(k).table_name for k in privacy_requests.ERASABLE]

pytestmark = pytest.mark.postgres


def test_a_company_on_object_storage_and_postgresql_is_seeded_copied_erased_and_verified(
        s3_environment, fresh_postgres_url, tmp_path):
    settings = make_settings(tmp_path / "data", lake_url=s3_environment.url(s3_prefix()),
                             database_url=fresh_postgres_url)
    report = demo.seed(settings, employees=12, days=5, seed=3)
    assert report.lake_dir.startswith("s3://") and report.lake_rows and not (tmp_path / "data" / "lake").exists()
    company = open_company(settings)
    try:
        store = company.store
        store.check()
        assert set(store.summary(ALICE_ID)["category"]) == set(catalog.CATEGORY_BY_KEY)
        assert volume_rollup.subject_rows(store.location, ALICE_ID, ERASED) > 0  # stored beside the lake
        copy = export.build_my_copy(company.engine, store, company.alice, export.copies_dir(settings.data_dir))
        with zipfile.ZipFile(copy.path) as archive:
            assert any(n.endswith("keystrokes.csv") for n in archive.namelist())

        request_id = company.approved()
        receipt = erasure.execute(company.engine, store, company.priya, request_id)

        assert company.status(request_id) == Status.COMPLETED
        for table in ERASED:
            assert store.rows_on_disk(table, ALICE_ID).rows == 0, table
            assert store.log_mentions(table, ALICE_ID).files_naming == (), table
            found = receipt.document["verification"]["telemetry"][table]
            assert found["rows_found"] == 0 and found["files_scanned"] > 0
        assert volume_rollup.subject_rows(store.location, ALICE_ID, ERASED) == 0
        assert store.summary(ALICE_ID)["category"].to_list() == ["user.workplace.performance"]
        assert receipts.verify(receipt.text, receipts.verifier_key(settings.data_dir))
    finally:
        company.engine.dispose()
