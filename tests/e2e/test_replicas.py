"""Two portal replicas on different ports, sharing one PostgreSQL and one lake on object storage (a real
SeaweedFS server): what one shows after an erasure, the other shows at once."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from portal.core.settings import Settings
from portal.demo import devserver
from portal.demo import seed as demo
from portal.privacy.request_states import Status
from tests.conftest import s3_prefix
from tests.e2e.conftest import shot
from tests.e2e.test_login import sign_in
from tests.integration.privacy.test_erasure import open_company

pytestmark = pytest.mark.postgres


def expect_categories_held(page, url, count: str) -> None:
    """Open My data afresh and wait until its "Categories held" figure reads ``count``."""
    page.goto(url)
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    metric = page.get_by_test_id("stMetric").filter(has_text="Categories held").get_by_test_id("stMetricValue")
    expect(metric).to_have_text(count)


def test_two_replicas_sharing_postgresql_and_object_storage_agree_after_an_erasure(
        browser, tmp_path, s3_environment, fresh_postgres_url):
    lake_url = s3_environment.url(s3_prefix())
    # The small volume every replica mounts (signing keys, the opt-out salt, prepared copies): no telemetry.
    data_dir = tmp_path / "shared"
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=fresh_postgres_url,  # type: ignore[call-arg]
                        lake_url=lake_url)
    demo.seed(settings, employees=30, days=10, seed=11)
    assert not (data_dir / "lake").exists() and not (data_dir / "portal.db").exists()
    first_port, second_port, provider_port = devserver.free_ports(3)
    ports = [(first_port, None), (second_port, None)]
    provider = devserver.start_provider(provider_port, tmp_path / "provider.log")
    replicas = []
    try:
        for port, _ in ports:
            secrets_file = tmp_path / f"secrets-{port}.toml"
            secrets_file.write_text(devserver.secrets_toml(port, provider_port))
            env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "PORTAL_DATABASE_URL": fresh_postgres_url,
                   "PORTAL_LAKE_URL": lake_url, **s3_environment.environment()}
            replicas.append(devserver.start_portal(port, tmp_path / f"portal-{port}.log", env=env,
                                                   secrets_file=secrets_file))
        urls = [f"http://localhost:{port}" for port, _ in ports]
        pages = []
        for url in urls:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(30_000)
            sign_in(page, url, "alice")
            pages.append(page)
        for page, url in zip(pages, urls, strict=True):
            expect_categories_held(page, url, "6")

        company = open_company(settings)  # the privacy office, working from a third process
        request_id = company.approved()
        from portal.privacy import erasure

        erasure.execute(company.engine, company.store, company.priya, request_id)
        assert company.status(request_id) == Status.COMPLETED
        company.engine.dispose()

        # Only performance records stay (kept under the employment contract), on both replicas at once.
        for page, url in zip(pages, urls, strict=True):
            expect_categories_held(page, url, "1")
        shot(pages[1], "replica-2-after-erasure")
    finally:
        devserver.stop(*replicas, provider)
