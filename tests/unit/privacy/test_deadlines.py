from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.privacy.deadlines import DeadlineError, add_months, days_left, extended_deadline, initial_deadline


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (date(2026, 3, 15), date(2026, 4, 15)),
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),
        (date(2026, 12, 10), date(2027, 1, 10)),
        (date(2026, 8, 31), date(2026, 9, 30)),
    ],
)
def test_the_deadline_is_one_calendar_month_after_receipt(received, deadline):
    assert initial_deadline(received) == deadline


@pytest.mark.parametrize(("months", "deadline"), [(1, date(2026, 3, 31)), (2, date(2026, 4, 30))])
def test_one_extension_adds_one_or_two_further_months(months, deadline):
    assert extended_deadline(date(2026, 1, 31), months, False, "many requests at once") == deadline


def test_a_second_extension_is_refused():
    with pytest.raises(DeadlineError, match="already extended"):
        extended_deadline(date(2026, 1, 1), 1, True, "again")


@pytest.mark.parametrize("months", [0, 3, -1])
def test_an_extension_beyond_two_months_is_refused(months):
    with pytest.raises(DeadlineError, match="1 or 2"):
        extended_deadline(date(2026, 1, 1), months, False, "reason")


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_extension_without_a_reason_is_refused(reason):
    with pytest.raises(DeadlineError, match="reason"):
        extended_deadline(date(2026, 1, 1), 2, False, reason)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_deadlines_fall_between_28_and_31_days_and_never_before_receipt(received):
    deadline = initial_deadline(received)
    assert timedelta(days=28) <= deadline - received <= timedelta(days=31)
    longest = extended_deadline(received, 2, False, "complex request")
    assert deadline < longest <= add_months(received, 3)


def test_days_left_is_negative_when_overdue():
    assert days_left(date(2026, 1, 10), date(2026, 1, 12)) == -2
