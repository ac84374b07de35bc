"""A category the company declares in its catalog file appears everywhere with no code change: it flows from a
registered, approved collector through intake to the person's My data and copy, is erased and verified, shows in
the council's figures and the exposure report, and retention deletes it when it is due."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from portal.collection import intake, retention
from portal.core import catalog, catalog_file
from portal.demo import seed as demo
from portal.demo.personas import PERSONA_BY_SUB
from portal.identity.principal import ClaimRules, principal_from_claims
from portal.privacy.request_states import Status
from tests.catalogs import BADGE_KEY, extended_catalog
from tests.conftest import make_settings
from tests.integration.privacy.test_erasure import rows_in_every_file

ALICE_ID = "E00001"
PEOPLE = 12


@pytest.fixture(scope="module")
def declared(tmp_path_factory) -> catalog.Catalog:
    return catalog_file.load(extended_catalog(tmp_path_factory.mktemp("catalog")))


@pytest.fixture(autouse=True)
def badge_catalog(declared):
    with catalog.using(declared):
        yield


@pytest.fixture(scope="module")
def company(declared, tmp_path_factory):
    from portal import bootstrap

    with catalog.using(declared):
        data_dir = tmp_path_factory.mktemp("declared") / "data"
        settings = make_settings(data_dir)
        demo.seed(settings, employees=PEOPLE, days=5, seed=3)
        services = bootstrap.build(settings)
        who = {sub: principal_from_claims(PERSONA_BY_SUB[sub].claims(), services.directory,
                                          ClaimRules.from_settings(settings))
               for sub in ("alice", "priya", "wanda")}
        yield services, who
        services.engine.dispose()


def badge_batch(path: Path, now: datetime) -> Path:
    """Two swipes a day for every person over the last three days, as a collector would send them (CSV)."""
    rows = []
    for n in range(1, PEOPLE + 1):
        for day in range(3):
            for hour in (8, 17):
                at = (now - timedelta(days=day + 1)).replace(hour=hour, minute=n, second=0, microsecond=0)
                rows.append({"subject_id": f"E{n:05d}", "swiped_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "door": "Main entrance" if hour == 8 else "Garage", "granted": "true",
                             "attempts": 1})
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.fixture(scope="module")
def taken_in(company, declared, tmp_path_factory):
    services, who = company
    now = datetime.now(UTC)
    with catalog.using(declared):
        services.register_collector(who["priya"], name="doorguard", category_key=BADGE_KEY,
                                    purposes=["essential.service.physical_security"],
                                    legal_basis="GDPR Art. 6(1)(c) legal obligation", retention_days=90,
                                    agreement="Works agreement 2026/07 on access control")
        services.decide_collector(who["wanda"], "doorguard", "approve", "Access control as agreed in 2026/07")
        batch = badge_batch(tmp_path_factory.mktemp("batch") / "swipes.csv", now)
        report = intake.take_in(services.engine, services.store, "doorguard", batch)
    return report


def test_intake_stores_the_declared_categorys_rows_from_an_approved_collector(taken_in):
    assert taken_in.category_key == BADGE_KEY
    assert taken_in.rows == PEOPLE * 6


def test_my_data_lists_the_declared_category_with_its_own_column_labels(company, taken_in):
    services, who = company
    held = {h.key: h for h in services.holdings(who["alice"])}
    assert held[BADGE_KEY].name == "Badge swipes" and held[BADGE_KEY].records == 6
    page = services.records_page(who["alice"], BADGE_KEY)
    assert {"Door", "Opened", "Attempts", "When (UTC)"} <= set(page.frame.columns)
    performance = held["user.workplace.performance"]
    assert [use for use in performance.uses if use[2]] == [
        ("Training AI systems", "GDPR Art. 6(1)(f) legitimate interests", True)]
    mine = {c.key: c for c in services.collectors_of_my_categories(who["alice"])}
    assert [line.name for line in mine[BADGE_KEY].lines] == ["doorguard"]


def test_the_copy_holds_the_declared_categorys_records_and_describes_its_columns(company, taken_in):
    services, who = company
    report = services.prepare_my_copy(who["alice"])
    assert report.records[BADGE_KEY] == 6
    with zipfile.ZipFile(report.path) as copy:
        names = copy.namelist()
        assert any(n.startswith("telemetry/badge_swipes.") for n in names)
        summary = json.loads(copy.read("manifest.json"))
    badge = next(c for c in summary["categories"] if c["key"] == BADGE_KEY)
    assert badge["records"] == 6
    assert {p["code"]: p["you_can_object"] for p in badge["purposes"]} == {
        "essential.service.physical_security": False, "train_ai_system": True}


def test_the_council_figures_and_the_exposure_report_cover_the_declared_category(company, taken_in):
    services, who = company
    overview = services.council_overview(who["wanda"])
    by_category = overview.collection.view(("category",))
    assert "Badge swipes" in by_category["category"].to_list() or BADGE_KEY in by_category["category"].to_list()
    exposure = services.exposure(who["wanda"])
    assert BADGE_KEY in {c.key for c in exposure.categories}


def test_erasure_covers_the_declared_category_and_verifies_it_on_disk(company, taken_in):
    services, who = company
    request = services.file_my_request(who["alice"], "erasure", categories=[BADGE_KEY])
    services.approve(who["priya"], request.request_id, "identity confirmed")
    services.carry_out(who["priya"], request.request_id)
    assert services.request(who["priya"], request.request_id).status == Status.COMPLETED
    table = services.settings.lake_dir / "badge_swipes"
    left = rows_in_every_file(table)
    assert left.filter(pl.col("subject_id") == ALICE_ID).height == 0
    assert left.height == (PEOPLE - 1) * 6


def test_retention_deletes_the_declared_categorys_records_once_they_are_due(company, taken_in):
    services, _ = company
    runs = retention.run_retention(services.engine, services.store, now=datetime.now(UTC) + timedelta(days=95))
    badge = next(r for r in runs if r.category_key == BADGE_KEY)
    assert badge.rows_deleted == (PEOPLE - 1) * 6
    assert rows_in_every_file(services.settings.lake_dir / "badge_swipes").height == 0
