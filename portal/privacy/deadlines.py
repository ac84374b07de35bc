"""GDPR Art. 12(3) deadlines: one month from receipt, extendable once by up to two months.

A period "of one month" ends on the same day of the next month; when that month
is shorter (received 31 January), it ends on that month's last day. This is the
rule of Regulation (EEC, Euratom) No 1182/71, Art. 3(2)(c), which governs
periods in EU law.
"""

from __future__ import annotations

import calendar
from datetime import date

from portal.core.i18n import _


class DeadlineError(ValueError):
    """An extension that the law does not allow; the message says why."""


def add_months(start: date, months: int) -> date:
    if months < 0:
        raise ValueError("months must not be negative")
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def initial_deadline(received: date) -> date:
    return add_months(received, 1)


def extended_deadline(received: date, months: int, already_extended: bool, reason: str) -> date:
    """The deadline after the one allowed extension of 1 or 2 further months, with a reason."""
    if already_extended:
        raise DeadlineError(_("the deadline was already extended once; GDPR Art. 12(3) allows one extension"))
    if months not in (1, 2):
        raise DeadlineError(_("an extension is 1 or 2 further months (got {months})").format(months=months))
    if not reason or not reason.strip():
        raise DeadlineError(_("an extension needs a reason; the employee is shown it"))
    return add_months(received, 1 + months)


def days_left(deadline: date, today: date) -> int:
    return (deadline - today).days
