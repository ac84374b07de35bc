"""The demo's dates move with its clock: its open requests keep their standing (overdue, due within a week,
not yet due) for as long as `portal demo` keeps the data, and data made weeks ago is generated again for the
day, so it shows the same mix then as on the day it was made, with its signed log whole."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from portal import bootstrap
from portal.audit.signed_log import AuditLog
from portal.demo import demo_requests, devserver
from portal.demo import seed as demo
from portal.demo.personas import PERSONA_BY_SUB
from portal.identity.principal import ClaimRules, principal_from_claims
from portal.privacy import privacy_requests, request_views
from portal.privacy.request_states import TERMINAL
from tests.conftest import make_settings

TODAY = date(2027, 1, 15)  # the clock the tests inject
SEEDED = TODAY - timedelta(days=40)  # the last day of a demo made 40 days before
EMPLOYEES = 200  # the smallest company with an overdue, a due-soon and a not-yet-due objection


def standing(settings, today: date) -> Counter:
    """How many requests are closed, overdue, at risk (due within a week) and not yet due on ``today``."""
    services = bootstrap.build(settings)
    try:
        office = principal_from_claims(PERSONA_BY_SUB["priya"].claims(), services.directory,
                                       ClaimRules.from_settings(services.settings))
        found = privacy_requests.list_requests(services.engine, office)
    finally:
        services.engine.dispose()
    return Counter("closed" if r.status in TERMINAL else request_views.urgency(r, today) or "not yet due"
                   for r in found)


@pytest.fixture(scope="module")
def made_weeks_ago(tmp_path_factory):
    """A demo whose history ends 40 days before TODAY, and how it stood on each day of the week after."""
    settings = make_settings(tmp_path_factory.mktemp("demo-dates"))
    demo.seed(settings, employees=EMPLOYEES, days=14, seed=42, end_date=SEEDED)
    week = {k: standing(settings, SEEDED + timedelta(days=k)) for k in range(demo_requests.MIX_HOLDS.days + 1)}
    return settings, week


def test_the_open_requests_keep_their_standing_every_day_of_the_week_after_the_last_day(made_weeks_ago):
    _, week = made_weeks_ago
    first = week[0]
    assert first["overdue"] >= 1 and first["at risk"] >= 1 and first["not yet due"] >= 2 and first["closed"] > 10
    assert all(week[k] == first for k in week), week


def test_portal_demo_generates_data_again_before_its_mix_could_change():
    assert devserver.STALE_AFTER <= demo_requests.MIX_HOLDS


def test_a_demo_made_40_days_ago_made_again_for_today_shows_the_mix_it_showed_on_its_own_day(made_weeks_ago):
    settings, week = made_weeks_ago
    stale = standing(settings, TODAY)
    assert stale["overdue"] > week[0]["overdue"] and stale["not yet due"] == 0  # deadlines missed, if kept
    assert TODAY - SEEDED > devserver.STALE_AFTER  # so `portal demo` makes it again, for its today:
    demo.seed(settings, employees=EMPLOYEES, days=14, seed=42, end_date=TODAY, replace=True)
    assert standing(settings, TODAY) == week[0]
    services = bootstrap.build(settings)
    try:
        log = AuditLog(services.settings, services.engine)
        assert log.latest_checkpoint().size > 0
    finally:
        services.engine.dispose()
