"""The demo company's working calendar: the days of the seeded range, weekends and public holidays.

Holidays are Germany's nationwide public holidays plus Christmas Eve and New Year's Eve, the Easter-dependent
ones computed per year, so the calendar follows whatever ``end_date`` and range the seed is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

DAY_US = 86_400 * 1_000_000


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _holidays(years: set[int]) -> set[date]:
    days = set()
    for y in years:
        days |= {date(y, m, d) for m, d in ((1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31))}
        easter = _easter(y)
        days |= {easter + timedelta(days=n) for n in (-2, 1, 39, 50)}
    return days


@dataclass(frozen=True)
class Calendar:
    dates: tuple[date, ...]
    day_us: np.ndarray  # microseconds since the epoch at 00:00 UTC of each day
    weekday: np.ndarray
    holiday: np.ndarray

    @property
    def n(self) -> int:
        return len(self.dates)

    @property
    def workday(self) -> np.ndarray:
        return (self.weekday < 5) & ~self.holiday


def working_calendar(end_date: date, days: int) -> Calendar:
    dates = tuple(end_date - timedelta(days=days - 1 - i) for i in range(days))
    holidays = _holidays({d.year for d in dates})
    epoch = date(1970, 1, 1)
    return Calendar(
        dates=dates,
        day_us=np.array([(d - epoch).days for d in dates], dtype=np.int64) * DAY_US,
        weekday=np.array([d.weekday() for d in dates], dtype=np.int8),
        holiday=np.array([d in holidays for d in dates]),
    )


def months_of(cal: Calendar, end_date: date) -> list[tuple[str, int]]:
    """(period label, day index of the record) for every month the range touches."""
    out, seen = [], set()
    for i, d in enumerate(cal.dates):
        label = f"{d.year}-{d.month:02d}"
        if label in seen:
            continue
        seen.add(label)
        following = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        record_day = min(following - timedelta(days=1), end_date)
        out.append((label, i + (record_day - d).days))
    return out
