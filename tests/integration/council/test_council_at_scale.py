"""The works council's figures of a 1,000-person company, with the demo's request history (erasures and
objections included), stay useful: almost every weekly cell of a large department is shown."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from portal import bootstrap
from portal.core import db
from portal.demo import seed as demo
from portal.council import figures
from tests.conftest import make_settings

K = 5


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("council-at-scale"))
    demo.seed(settings, employees=1000, days=60, seed=42)
    services = bootstrap.build(settings)
    yield services
    services.engine.dispose()


def headcounts(services) -> dict[str, int]:
    with services.engine.connect() as conn:
        rows = conn.execute(sa.select(db.employees.c.department, sa.func.count())
                            .group_by(db.employees.c.department)).all()
    return dict(rows)


def test_the_company_carries_the_demo_request_history_with_erasures_and_objections(company):
    with company.engine.connect() as conn:
        kinds = dict(conn.execute(sa.select(db.privacy_requests.c.kind, sa.func.count())
                                  .group_by(db.privacy_requests.c.kind)).all())
        erased = conn.execute(sa.select(sa.func.count()).select_from(db.privacy_requests).where(
            db.privacy_requests.c.kind == "erasure", db.privacy_requests.c.status == "completed")).scalar_one()
    assert kinds["objection"] >= 20 and kinds["erasure"] >= 3 and erased >= 1


def test_at_least_95_percent_of_weekly_cells_of_departments_of_4k_or_more_people_are_shown(company):
    release = figures.collection_release(company.settings, company.engine, company.store)
    large = [d for d, n in headcounts(company).items() if n >= 4 * K]
    assert len(large) >= 6
    weekly = release.view(("department", "category", "week")).filter(pl.col("department").is_in(large))
    shown = weekly.height - int(weekly["suppressed"].sum())
    assert weekly.height >= 6 * 6 * 8
    assert shown >= 0.95 * weekly.height, f"{shown} of {weekly.height} weekly cells shown"


def test_every_department_and_category_total_of_the_period_is_shown(company):
    release = figures.collection_release(company.settings, company.engine, company.store)
    for view in [(), ("department",), ("category",), ("department", "category")]:
        frame = release.view(view)
        assert not frame["suppressed"].any(), view
