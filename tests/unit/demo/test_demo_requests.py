"""The demo's request plan: sized to the company, deterministic, personas left alone, every step in time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from portal.demo import demo_requests
from portal.privacy.deadlines import add_months, initial_deadline
from portal.demo.personas import PERSONAS

END = date(2026, 11, 27)
PERSONA_IDS = {p.employee_id for p in PERSONAS}


def employees(n: int) -> list[str]:
    return [f"E{i:05d}" for i in range(1, n + 1)]


def test_the_mix_is_the_one_described_for_300_employees_and_shrinks_to_nothing_for_a_dozen():
    assert demo_requests.counts(296) == {(k, o): n for k, outcomes in demo_requests.MIX.items()
                                         for o, n in outcomes.items()}
    assert demo_requests.counts(8) == {}
    assert demo_requests.counts(16) == {("objection", "completed"): 1}


def test_a_company_of_thousands_is_capped_and_carries_out_at_most_three_erasures():
    found = demo_requests.counts(4996)
    for kind, cap in demo_requests.KIND_CAP.items():
        assert 0 < sum(n for (k, _), n in found.items() if k == kind) <= cap
    assert found[("erasure", "erased")] == 3 and found[("access", "completed")] == 3
    assert found[("objection", "late")] + found[("objection", "overdue")] >= 5


def test_the_same_seed_plans_the_same_history_and_another_seed_does_not():
    people = employees(300)
    assert demo_requests.plan(people, 42, END, 90) == demo_requests.plan(people, 42, END, 90)
    assert demo_requests.plan(people, 42, END, 90) != demo_requests.plan(people, 43, END, 90)


@pytest.mark.parametrize("size", [20, 60, 300, 5000])
def test_no_persona_ever_files_a_request_and_nobody_files_two(size):
    planned = demo_requests.plan(employees(size), 7, END, 90)
    assert not {s.employee_id for s in planned} & PERSONA_IDS
    assert len({s.employee_id for s in planned}) == len(planned)


@pytest.mark.parametrize(("days", "end"), [(7, END), (90, END), (365, END), (10, date(2025, 1, 11)),
                                           (90, date(2026, 3, 1))], ids=["week", "quarter", "year", "saturday",
                                                                       "sunday"])
def test_every_step_follows_the_previous_one_and_none_falls_after_the_end_date(days, end):
    for seed in range(5):
        for story in demo_requests.plan(employees(300), seed, end, days):
            moments = [m for m, _ in story.steps]
            assert story.steps[0][1] == "file" and moments == sorted(moments)
            assert moments[-1] <= datetime.combine(end, time(23, 59), moments[-1].tzinfo)
            assert moments[0].date() >= end - timedelta(days=max(days, demo_requests.HISTORY_DAYS))


def test_late_objections_are_answered_after_the_deadline_and_overdue_ones_are_past_it_at_the_end():
    planned = demo_requests.plan(employees(300), 42, END, 90)
    for story in planned:
        received, last = story.steps[0][0], story.steps[-1][0]
        due = initial_deadline(received.date())
        if story.outcome == "late":
            assert last.date() > due
        elif story.outcome in ("completed", "erased", "rejected"):
            assert last.date() <= due
        elif story.outcome.startswith("overdue"):
            assert due < END
        elif story.outcome.startswith("open"):
            assert due > END + timedelta(days=7)
        elif story.outcome == "due_soon":  # at risk in the queue the day after the end date
            assert END < due <= END + timedelta(days=8)
        elif story.outcome == "extended":  # past the first deadline, within the extended one
            assert due < END < add_months(received.date(), 3)
