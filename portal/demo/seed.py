"""A synthetic, realistic demo company: employees, telemetry, and who read it.

:func:`seed` fills the metadata DB and the telemetry lake. Same seed and sizes
give identical rows: every random draw comes from numpy generators seeded with
``seed`` (per subject bucket for telemetry, so the result does not depend on how
the work is chunked), text comes from seeded corpora (:mod:`portal.demo.demo_text`),
and time is anchored at a fixed ``end_date``, never the wall clock.

Scale. Telemetry is generated and written a group of subject buckets at a time,
vectorised with numpy and Arrow, with one Delta append per table per group. That
bounds memory by the group size and leaves each bucket partition with one large
sorted file per table rather than thousands of small ones. About 55 activity
rows (keystrokes + mouse + application windows) per employee and calendar day
are produced, i.e. ~100M rows for 5000 employees over a year.

The story the data tells: most access is by services and by people whose role
the catalog allows. For two weeks (days -40..-27 before the end) a grant gave
the whole "all-engineering" group read access to meeting transcripts, and about
forty engineers opened hundreds of colleagues' transcripts, Alice's among them.
Alice's data also feeds several AI training datasets and the models built on them.
"""

from __future__ import annotations

import random
import shutil
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from portal.core import catalog, db, file_modes
from portal.lake import volume_rollup
from portal.demo import demo_text as text
from portal.audit.audit_log import AuditLog
from portal.demo.personas import PERSONAS
from portal.core.settings import Settings
from portal.lake.telemetry import TelemetryStore, bucket_for

DEFAULT_END_DATE = date(2026, 11, 27)
ACTIVITY_TABLES = ("keystrokes", "mouse_activity", "app_usage")
TABLES = tuple(c.table_name for c in catalog.CATEGORIES)
TABLE_INDEX = {t: i for i, t in enumerate(TABLES)}
CATEGORY_OF_TABLE = {c.table_name: c.key for c in catalog.CATEGORIES}
# Employee-days generated per Delta append: ~7M activity rows, about 1.3 GB at the peak.
EMPLOYEE_DAYS_PER_CHUNK = 120_000
WINDOW_US = 15 * 60 * 1_000_000
DAY_US = 86_400 * 1_000_000
INSERT_BATCH = 10_000

Progress = Callable[[int, int, str], None]

# Per-department behaviour, in demo_text.DEPARTMENTS order:
# Engineering, Sales, Operations, Legal, Finance, Marketing, Customer Support, People.
KEY_PRESENCE = np.array([0.90, 0.78, 0.82, 0.88, 0.88, 0.85, 0.90, 0.85])
MOUSE_PRESENCE = np.array([0.90, 0.86, 0.88, 0.88, 0.92, 0.92, 0.93, 0.90])
KEYS_PER_WINDOW = np.array([1500, 650, 800, 1300, 1000, 1000, 1400, 1000])
MOUSE_PX_PER_WINDOW = np.array([9000, 11000, 12000, 8000, 14000, 16000, 12000, 11000])
CLICKS_PER_WINDOW = np.array([45, 70, 80, 40, 95, 85, 110, 70])
SCROLLS_PER_WINDOW = np.array([60, 50, 45, 70, 55, 65, 50, 55])
CHATS_PER_DAY = np.array([7.0, 6.0, 4.0, 3.0, 3.0, 5.0, 8.0, 4.0])
AD_HOC_MEETINGS_PER_DAY = np.array([0.5, 1.4, 0.4, 0.6, 0.5, 0.7, 0.5, 0.8])
# Chance that an active window shows a second and a third application; tuned so that
# activity rows average ~55 per employee and calendar day.
SECOND_APP, THIRD_APP = 0.16, 0.04


class DemoError(ValueError):
    """Seeding cannot go ahead; the message says why and what to do."""


@dataclass
class SeedReport:
    employees: int
    days: int
    seed: int
    start_date: date
    end_date: date
    buckets: int
    lake_dir: Path
    database: str
    lake_rows: dict[str, int] = field(default_factory=dict)
    db_rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    lake_bytes: int = 0

    @property
    def activity_rows(self) -> int:
        return sum(self.lake_rows.get(t, 0) for t in ACTIVITY_TABLES)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())

    def describe(self) -> str:
        total = sum(self.lake_rows.values())
        rate = total / self.timings["telemetry"] if self.timings.get("telemetry") else 0.0
        lines = [
            f"Seeded a demo company of {self.employees:,} employees over {self.days} days "
            f"({self.start_date} to {self.end_date}, seed {self.seed}) in {self.seconds:.1f} s.",
            f"Telemetry lake {self.lake_dir} ({self.buckets} buckets, {self.lake_bytes / 1e6:,.1f} MB on disk):",
        ]
        lines += [f"  {name:<22}{rows:>14,} rows" for name, rows in self.lake_rows.items()]
        lines.append(f"  {'activity rows':<22}{self.activity_rows:>14,} "
                     f"({self.activity_rows / max(1, self.employees * self.days):.1f} per employee-day)")
        lines.append(f"  written at {rate:,.0f} rows/s")
        lines.append(f"Metadata DB {self.database}:")
        lines += [f"  {name:<22}{rows:>14,} rows" for name, rows in self.db_rows.items()]
        lines.append("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        lines.append("Personas: " + ", ".join(f"{p.sub} ({p.department})" for p in PERSONAS))
        return "\n".join(lines)


def print_progress(done: int, total: int, label: str) -> None:
    """One self-overwriting progress line on stderr; a newline when done."""
    width = len(str(total))
    line = f"[{done:>{width}}/{total}] {label}"
    print("\r" + line[:110].ljust(110), end="\n" if done >= total else "", file=sys.stderr, flush=True)


# ---- calendar ---------------------------------------------------------------


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


def _calendar(end_date: date, days: int) -> Calendar:
    dates = tuple(end_date - timedelta(days=days - 1 - i) for i in range(days))
    holidays = _holidays({d.year for d in dates})
    epoch = date(1970, 1, 1)
    return Calendar(
        dates=dates,
        day_us=np.array([(d - epoch).days for d in dates], dtype=np.int64) * DAY_US,
        weekday=np.array([d.weekday() for d in dates], dtype=np.int8),
        holiday=np.array([d in holidays for d in dates]),
    )


# ---- the company ------------------------------------------------------------


@dataclass
class Company:
    ids: list[str]
    names: list[str]
    emails: list[str]
    subs: list[str]
    titles: list[str]
    hired_on: list[date]
    dept: np.ndarray
    team: np.ndarray
    teams: list[str]
    team_dept: np.ndarray
    manager: np.ndarray  # employee index of the line manager, -1 for none
    is_manager: np.ndarray
    schedule: np.ndarray  # 0 full time, 1 four-day week, 2 short days
    start_slot: np.ndarray  # usual first 15-minute slot of the day (UTC)
    activity: np.ndarray
    chattiness: np.ndarray
    devices: list[str]
    pseudonyms: list[str]

    @property
    def n(self) -> int:
        return len(self.ids)


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _names(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """Distinct (first, last) pairs while the name lists allow it."""
    pairs = len(text.FIRST_NAMES) * len(text.LAST_NAMES)
    picks = rng.choice(pairs, size=count, replace=count > pairs)
    return [(text.FIRST_NAMES[p // len(text.LAST_NAMES)], text.LAST_NAMES[p % len(text.LAST_NAMES)]) for p in picks]


def _assign_teams(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    teams = [t for d in text.DEPARTMENTS for t in d.teams]
    team_dept = np.array([i for i, d in enumerate(text.DEPARTMENTS) for _ in d.teams])
    index = {t: i for i, t in enumerate(teams)}
    team = np.empty(n, dtype=np.int64)
    for i, p in enumerate(PERSONAS):
        team[i] = index[p.team]
    # Every reader team is staffed even in a small company, so each kind of reader appears.
    staffing = [t for t, k in (("Security Operations", 2), ("ML Platform", 3), ("People Analytics", 2),
                               ("HR Business Partners", 2), ("Compliance", 2), ("Privacy Office", 1)) for _ in range(k)]
    fixed = min(n, len(PERSONAS) + len(staffing))
    team[len(PERSONAS):fixed] = [index[t] for t in staffing[: fixed - len(PERSONAS)]]
    dept_weights = np.array([d.weight for d in text.DEPARTMENTS])
    dept = rng.choice(len(text.DEPARTMENTS), size=n - fixed, p=dept_weights / dept_weights.sum())
    # Reader teams are small specialist teams; other teams share a department evenly.
    team_weight = np.array([0.25 if t in text.READER_TEAMS else 1.0 for t in teams])
    for d in range(len(text.DEPARTMENTS)):
        members = np.nonzero(dept == d)[0]
        options = np.nonzero(team_dept == d)[0]
        w = team_weight[options] / team_weight[options].sum()
        team[fixed + members] = rng.choice(options, size=len(members), p=w)
    return team, teams, team_dept


def _line_managers(team: np.ndarray, n_personas: int) -> tuple[np.ndarray, np.ndarray]:
    """Groups of eight within a team; the first non-persona member of each group manages it."""
    manager = np.full(len(team), -1, dtype=np.int64)
    is_manager = np.zeros(len(team), dtype=bool)
    for t in np.unique(team):
        members = np.nonzero(team == t)[0]
        others = members[members >= n_personas]
        personas = members[members < n_personas]
        for g in range(0, len(others), 8):
            group = others[g:g + 8]
            is_manager[group[0]] = True
            manager[group[1:]] = group[0]
            if g == 0:
                manager[personas] = group[0]
    return manager, is_manager


def _company(seed: int, n: int, end_date: date) -> Company:
    rng = np.random.default_rng([seed, 1])
    team, teams, team_dept = _assign_teams(rng, n)
    dept = team_dept[team]
    manager, is_manager = _line_managers(team, len(PERSONAS))
    names, emails, subs, titles = [], [], [], []
    taken: set[str] = set()
    generated = _names(rng, n - len(PERSONAS))
    for i in range(n):
        if i < len(PERSONAS):
            p = PERSONAS[i]
            names.append(p.display_name)
            emails.append(p.email)
            subs.append(p.sub)
            titles.append(p.job_title)
            continue
        first, last = generated[i - len(PERSONAS)]
        local = f"{_ascii(first)}.{_ascii(last)}"
        candidate, k = local, 1
        while candidate in taken:
            k += 1
            candidate = f"{local}{k}"
        taken.add(candidate)
        names.append(f"{first} {last}")
        emails.append(f"{candidate}@example.com")
        subs.append(candidate)
        department = text.DEPARTMENTS[dept[i]]
        if is_manager[i]:
            titles.append(department.manager_title)
        elif teams[team[i]] in text.READER_TEAM_TITLES:
            titles.append(str(rng.choice(text.READER_TEAM_TITLES[teams[team[i]]])))
        else:
            titles.append(str(rng.choice(department.titles)))
    u = rng.random(n)
    schedule = np.where(u < 0.06, 1, np.where(u < 0.12, 2, 0))
    schedule[: len(PERSONAS)] = 0
    slot_weights = np.array([1, 2, 3, 5, 7, 9, 10, 8, 6, 4, 3, 2, 1], dtype=float)
    start_slot = 28 + rng.choice(len(slot_weights), size=n, p=slot_weights / slot_weights.sum())
    hired = rng.integers(45, 12 * 365, size=n)
    devices = [f"LT-{x:05d}" for x in rng.integers(10000, 99999, size=n)]
    activity = rng.lognormal(0.0, 0.25, size=n)
    chattiness = rng.lognormal(0.0, 0.4, size=n)
    pseudonyms = [np.random.default_rng([seed, 2, i]).bytes(16).hex() for i in range(n)]
    return Company(
        ids=[f"E{i + 1:05d}" for i in range(n)], names=names, emails=emails, subs=subs, titles=titles,
        hired_on=[end_date - timedelta(days=int(h)) for h in hired], dept=dept, team=team, teams=teams,
        team_dept=team_dept, manager=manager, is_manager=is_manager, schedule=schedule, start_slot=start_slot,
        activity=activity, chattiness=chattiness, devices=devices, pseudonyms=pseudonyms,
    )


# ---- corpora shared by all buckets -----------------------------------------


def _vocabulary(values: list[str]) -> pa.Array:
    return pa.array(values, type=pa.string())


@dataclass(frozen=True)
class Corpora:
    titles: pa.Array  # window titles, grouped by application
    title_start: np.ndarray
    title_count: np.ndarray
    chat: pa.Array
    chat_start: np.ndarray
    chat_count: np.ndarray
    channels: pa.Array  # fixed channels, then one per team
    channel_of_kind: np.ndarray  # index into channels, -1: the sender's team channel
    utterances: pa.Array
    utterance_start: np.ndarray
    utterance_count: np.ndarray
    meeting_titles: pa.Array
    recurring: list[list[tuple[int, tuple[int, ...], float, int, int]]]  # per dept: title offset, days, hour, min, kind
    ad_hoc: list[tuple[int, np.ndarray]]  # per dept: (first title index, utterance kind per title)
    notes: pa.Array
    team_slugs: pa.Array
    day_labels: pa.Array


def _grouped(groups: dict[str, list[str]]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    counts = np.array([len(v) for v in groups.values()])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return _vocabulary([s for v in groups.values() for s in v]), starts, counts


def _corpora(seed: int, company: Company, cal: Calendar) -> Corpora:
    rnd = random.Random(seed)
    titles, t_start, t_count = _grouped(text.window_titles(rnd))
    chat, c_start, c_count = _grouped(text.chat_corpus(rnd))
    utter = text.utterance_corpus(rnd)
    utterances, u_start, u_count = _grouped(utter)
    kinds = list(utter)
    fixed = sorted({c for c in text.CHAT_CHANNELS.values() if "{team}" not in c})
    slugs = ["-".join(_ascii(w) for w in t.replace("&", " ").split() if _ascii(w)) for t in company.teams]
    channel_of_kind = np.array([-1 if "{team}" in text.CHAT_CHANNELS[k] else fixed.index(text.CHAT_CHANNELS[k])
                                for k in text.CHAT_KINDS])
    meeting_titles: list[str] = []
    recurring: list[list] = []
    ad_hoc = []
    for d in text.DEPARTMENTS:
        defs = []
        for title, days, hour, minutes, kind in text.RECURRING_MEETINGS[d.name]:
            defs.append((len(meeting_titles), days, hour, minutes, kinds.index(kind)))
            meeting_titles += [title.format(team=t) for t in company.teams]  # indexed by team
        recurring.append(defs)
        pairs = text.ad_hoc_meetings(rnd, d.name)
        ad_hoc.append((len(meeting_titles), np.array([kinds.index(k) for _, k in pairs])))
        meeting_titles += [title for title, _ in pairs]
    return Corpora(
        titles=titles, title_start=t_start, title_count=t_count, chat=chat, chat_start=c_start, chat_count=c_count,
        channels=_vocabulary(fixed + [f"#{s}" for s in slugs]), channel_of_kind=channel_of_kind,
        utterances=utterances, utterance_start=u_start, utterance_count=u_count,
        meeting_titles=_vocabulary(meeting_titles), recurring=recurring, ad_hoc=ad_hoc,
        notes=_vocabulary(text.manager_notes(rnd)), team_slugs=_vocabulary(slugs),
        day_labels=_vocabulary([d.strftime("%Y%m%d") for d in cal.dates]),
    )


@dataclass(frozen=True)
class World:
    seed: int
    end_date: date
    cal: Calendar
    company: Company
    corpora: Corpora
    ids: pa.Array
    devices: pa.Array


def _world(seed: int, employees: int, days: int, end_date: date) -> World:
    cal = _calendar(end_date, days)
    company = _company(seed, employees, end_date)
    return World(seed, end_date, cal, company, _corpora(seed, company, cal),
                 _vocabulary(company.ids), _vocabulary(company.devices))


# ---- telemetry of one bucket ------------------------------------------------


def _choose(rng: np.random.Generator, weights: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Draw an option per row from the weight row of that row's group."""
    out = np.zeros(len(group), dtype=np.int64)
    cumulative = np.cumsum(weights, axis=1)
    for g in np.unique(group):
        rows = np.nonzero(group == g)[0]
        u = rng.random(len(rows)) * cumulative[g, -1]
        out[rows] = np.searchsorted(cumulative[g], u, side="right")
    return out


@dataclass(frozen=True)
class _Days:
    """One row per worked employee-day of a bucket, employee-major, days ascending."""

    emp: np.ndarray  # index into the bucket's employees
    day: np.ndarray
    start: np.ndarray
    length: np.ndarray  # 15-minute windows
    lunch: np.ndarray  # window offset of the lunch break (-100: none)
    lunch_len: np.ndarray
    intensity: np.ndarray  # <1 on training days, offsites and the like


def _worked_days(rng: np.random.Generator, company: Company, emps: np.ndarray, cal: Calendar) -> _Days:
    n_e, n_d = len(emps), cal.n
    blocks = max(1, round(4 * n_d / 365))  # four holidays a year, three to twelve days each
    starts = rng.integers(-10, n_d, size=(n_e, blocks))
    ends = starts + rng.integers(3, 13, size=(n_e, blocks))
    marks = np.zeros((n_e, n_d + 1), dtype=np.int32)
    rows = np.repeat(np.arange(n_e), blocks)
    np.add.at(marks, (rows, np.clip(starts, 0, n_d).ravel()), 1)
    np.add.at(marks, (rows, np.clip(ends, 0, n_d).ravel()), -1)
    vacation = marks.cumsum(axis=1)[:, :n_d] > 0
    sick = rng.random((n_e, n_d)) < 0.025
    weekday = cal.weekday[None, :]
    four_day_off = (company.schedule[emps][:, None] == 1) & (weekday == 4)
    weekend_catch_up = (weekday >= 5) & (rng.random((n_e, n_d)) < 0.012)
    worked = (cal.workday[None, :] & ~vacation & ~sick & ~four_day_off) | weekend_catch_up
    e, d = np.nonzero(worked)
    n = len(e)
    weekend = cal.weekday[d] >= 5
    regular = np.where(company.schedule[emps[e]] == 2, rng.integers(18, 23, n), rng.integers(32, 39, n))
    length = np.where(weekend, rng.integers(6, 14, n), regular)
    return _Days(
        emp=e, day=d, start=company.start_slot[emps[e]] + rng.integers(-2, 3, n), length=length,
        lunch=np.where(length >= 30, rng.integers(14, 19, n), -100), lunch_len=rng.integers(2, 5, n),
        intensity=np.where(rng.random(n) < 0.05, 0.3, 1.0),
    )


def _subject_column(world: World, emps: np.ndarray, local: np.ndarray) -> pa.Array:
    return world.ids.take(pa.array(emps[local]))


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64), type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _activity(rng: np.random.Generator, world: World, emps: np.ndarray, days: _Days) -> dict[str, tuple]:
    company = world.company
    n_w = int(days.length.sum())
    row = np.repeat(np.arange(len(days.emp)), days.length)
    offset = np.arange(n_w) - np.repeat(np.cumsum(days.length) - days.length, days.length)
    in_lunch = (offset >= days.lunch[row]) & (offset < days.lunch[row] + days.lunch_len[row])
    local = days.emp[row]
    emp = emps[local]
    dep = company.dept[emp]
    presence = days.intensity[row] * np.where(in_lunch, 0.1, 1.0)
    ts = world.cal.day_us[days.day[row]] + (days.start[row] + offset) * WINDOW_US
    typed = rng.random(n_w) < presence * KEY_PRESENCE[dep]
    moved = rng.random(n_w) < presence * MOUSE_PRESENCE[dep]
    out = {}
    k = np.nonzero(typed)[0]
    keys = np.clip(np.round(KEYS_PER_WINDOW[dep[k]] * company.activity[emp[k]] * rng.lognormal(0, 0.45, len(k))), 1, 12000)
    out["keystrokes"] = (local[k], days.day[row[k]], {
        "ts": _ts(ts[k]), "window_minutes": pa.array(np.full(len(k), 15, dtype=np.int16)),
        "key_count": pa.array(keys.astype(np.int32)),
        "active_seconds": pa.array(np.clip(np.round(keys * 0.3 + rng.normal(90, 60, len(k))), 5, 900).astype(np.int32)),
        "device": world.devices.take(pa.array(emp[k])),
    })
    m = np.nonzero(moved)[0]
    scale = company.activity[emp[m]]
    out["mouse_activity"] = (local[m], days.day[row[m]], {
        "ts": _ts(ts[m]), "window_minutes": pa.array(np.full(len(m), 15, dtype=np.int16)),
        "distance_px": pa.array(np.round(MOUSE_PX_PER_WINDOW[dep[m]] * scale * rng.lognormal(0, 0.5, len(m))).astype(np.int32)),
        "clicks": pa.array(rng.poisson(CLICKS_PER_WINDOW[dep[m]] * scale).astype(np.int32)),
        "scrolls": pa.array(rng.poisson(SCROLLS_PER_WINDOW[dep[m]] * scale).astype(np.int32)),
    })
    out["app_usage"] = _app_usage(rng, world, np.nonzero(typed | moved)[0], ts, dep, local, days.day[row])
    return out


def _app_usage(rng: np.random.Generator, world: World, windows: np.ndarray, ts: np.ndarray, dep: np.ndarray,
               local: np.ndarray, day: np.ndarray) -> tuple:
    """One to three foreground applications per active window, in time order."""
    n = len(windows)
    k = 1 + (rng.random(n) < SECOND_APP) + (rng.random(n) < THIRD_APP)
    second = rng.integers(120, 600, n)
    third = rng.integers(610, 840, n)
    end = 900 - rng.integers(0, 120, n)
    seg = np.repeat(np.arange(n), k)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(k) - k, k)
    starts = np.where(j == 0, 0, np.where(j == 1, second[seg], third[seg]))
    nexts = np.where(j == k[seg] - 1, end[seg], np.where(j == 0, second[seg], third[seg]))
    w = windows[seg]
    weights = np.array([text.APP_WEIGHTS[d.name] for d in text.DEPARTMENTS], dtype=float)
    app = _choose(rng, weights, dep[w])
    corpora = world.corpora
    title = corpora.title_start[app] + (rng.random(len(seg)) * corpora.title_count[app]).astype(np.int64)
    return (local[w], day[w], {
        "ts": _ts(ts[w] + starts * 1_000_000),
        "application": _vocabulary(list(text.APPLICATIONS)).take(pa.array(app)),
        "window_title": corpora.titles.take(pa.array(title)),
        "seconds": pa.array((nexts - starts).astype(np.int32)),
    })


def _chat(rng: np.random.Generator, world: World, emps: np.ndarray, days: _Days, bucket: int) -> tuple:
    company, corpora = world.company, world.corpora
    emp = emps[days.emp]
    count = rng.poisson(CHATS_PER_DAY[company.dept[emp]] * company.chattiness[emp] * days.intensity)
    row = np.repeat(np.arange(len(days.emp)), count)
    u = rng.random(len(row))
    u = u[np.lexsort((u, row))]  # time order within each day; rows are already grouped
    ts = world.cal.day_us[days.day[row]] + ((days.start[row] + u * days.length[row]) * WINDOW_US).astype(np.int64)
    ts -= ts % 1000
    weights = np.array([text.CHAT_WEIGHTS[d.name] for d in text.DEPARTMENTS], dtype=float)
    kind = _choose(rng, weights, company.dept[emp[row]])
    message = corpora.chat_start[kind] + (rng.random(len(row)) * corpora.chat_count[kind]).astype(np.int64)
    fixed = corpora.channel_of_kind[kind]
    n_fixed = len(corpora.channels) - len(company.teams)
    channel = np.where(fixed >= 0, fixed, n_fixed + company.team[emp[row]])
    ids = pc.binary_join_element_wise("msg", str(bucket), pc.cast(pa.array(np.arange(len(row))), pa.string()), "-")
    return (days.emp[row], days.day[row], {
        "ts": _ts(ts), "message_id": ids, "channel": corpora.channels.take(pa.array(channel)),
        "text": corpora.chat.take(pa.array(message)),
    })


def _meetings(rng: np.random.Generator, world: World, emps: np.ndarray, days: _Days, bucket: int) -> tuple:
    """Attendances (day row, start µs, minutes, title index, utterance kind, meeting id)."""
    company, corpora, cal = world.company, world.corpora, world.cal
    emp = emps[days.emp]
    dep = company.dept[emp]
    parts: list[tuple] = []
    for d, defs in enumerate(corpora.recurring):
        for r, (title_at, weekdays, hour, minutes, recurring_kind) in enumerate(defs):
            hit = np.nonzero((dep == d) & np.isin(cal.weekday[days.day], weekdays) & (rng.random(len(dep)) < 0.85))[0]
            team = company.team[emp[hit]]
            ids = pc.binary_join_element_wise("mtg", corpora.team_slugs.take(pa.array(team)),
                                              corpora.day_labels.take(pa.array(days.day[hit])), str(r), "-")
            parts.append((hit, np.full(len(hit), int(hour * 3600e6)), np.full(len(hit), minutes),
                          title_at + team, np.full(len(hit), recurring_kind), ids))
    count = rng.poisson(AD_HOC_MEETINGS_PER_DAY[dep] * days.intensity)
    hit = np.repeat(np.arange(len(dep)), count)
    first, kinds = np.array([a[0] for a in corpora.ad_hoc]), [a[1] for a in corpora.ad_hoc]
    pick = (rng.random(len(hit)) * np.array([len(k) for k in kinds])[dep[hit]]).astype(np.int64)
    slot = days.start[hit] + (rng.random(len(hit)) * np.maximum(1, days.length[hit] - 4)).astype(np.int64)
    kind = np.array([kinds[d][p] for d, p in zip(dep[hit], pick, strict=True)], dtype=np.int64)
    ids = pc.binary_join_element_wise("mtg", f"b{bucket}", pc.cast(pa.array(np.arange(len(hit))), pa.string()), "-")
    parts.append((hit, slot * WINDOW_US, rng.choice([30, 45, 60], size=len(hit)), first[dep[hit]] + pick, kind, ids))
    cat = [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(5)]
    return (*cat, pa.concat_arrays([p[5] for p in parts]))


def _transcripts(rng: np.random.Generator, world: World, emps: np.ndarray, days: _Days, bucket: int) -> tuple:
    corpora = world.corpora
    row, start, minutes, title, kind, meeting_ids = _meetings(rng, world, emps, days, bucket)
    segments = 1 + rng.poisson(1.6, len(row))
    att = np.repeat(np.arange(len(row)), segments)
    ts = world.cal.day_us[days.day[row[att]]] + start[att] + (rng.random(len(att)) * minutes[att] * 60e6).astype(np.int64)
    ts -= ts % 1000
    order = np.lexsort((ts, days.emp[row[att]]))
    att, ts = att[order], ts[order]
    general = list(text.UTTERANCE_TEMPLATES).index("general")
    k = np.where(rng.random(len(att)) < 0.3, general, kind[att])
    utterance = corpora.utterance_start[k] + (rng.random(len(att)) * corpora.utterance_count[k]).astype(np.int64)
    return (days.emp[row[att]], days.day[row[att]], {
        "ts": _ts(ts), "meeting_id": meeting_ids.take(pa.array(att)),
        "meeting_title": corpora.meeting_titles.take(pa.array(title[att])),
        "duration_seconds": pa.array(rng.integers(4, 80, len(att)).astype(np.int32)),
        "text": corpora.utterances.take(pa.array(utterance)),
    })


def _months(cal: Calendar, end_date: date) -> list[tuple[str, int]]:
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


def _performance(rng: np.random.Generator, world: World, emps: np.ndarray) -> tuple:
    """Monthly metrics per employee (month-to-date for the current month) with occasional notes."""
    company, cal = world.company, world.cal
    months = _months(cal, world.end_date)
    local, day, ts, metric, value, period, note = [], [], [], [], [], [], []
    for i, e in enumerate(emps):
        metrics = text.PERFORMANCE_METRICS[text.DEPARTMENTS[company.dept[e]].name]
        scale = company.activity[e] * (0.6 if company.schedule[e] else 1.0)
        for label, d in months:
            noted = rng.random() < 0.35
            for j, (name, target) in enumerate(metrics):
                local.append(i)
                day.append(d)
                ts.append(cal.day_us[d] + 17 * 3600 * 1_000_000 + j * 60 * 1_000_000)
                metric.append(name)
                raw = target * scale * rng.lognormal(0, 0.25)
                value.append(round(raw, 1) if target < 10 else float(round(raw)))
                period.append(label)
                note.append(int(rng.integers(len(world.corpora.notes))) if noted and j == 0 else -1)
    note_idx = np.array(note, dtype=np.int64)
    notes = world.corpora.notes.take(pa.array(np.where(note_idx < 0, 0, note_idx), mask=note_idx < 0))
    return (np.array(local, dtype=np.int64), np.array(day, dtype=np.int64), {
        "ts": _ts(np.array(ts, dtype=np.int64)), "metric": pa.array(metric, pa.string()),
        "value": pa.array(value, pa.float64()), "period": pa.array(period, pa.string()), "note": notes,
    })


def _bucket_tables(world: World, bucket: int, emps: np.ndarray, counts: np.ndarray) -> dict[str, pa.Table]:
    """All six tables for one bucket's employees, sorted by subject and time; updates ``counts``."""
    rng = np.random.default_rng([world.seed, 7, bucket])
    days = _worked_days(rng, world.company, emps, world.cal)
    parts = _activity(rng, world, emps, days)
    parts["chat_messages"] = _chat(rng, world, emps, days, bucket)
    parts["transcript_segments"] = _transcripts(rng, world, emps, days, bucket)
    parts["performance_records"] = _performance(rng, world, emps)
    n_d = world.cal.n
    out = {}
    for table in TABLES:
        local, day, columns = parts[table]
        per_day = np.bincount(local * n_d + day, minlength=len(emps) * n_d).reshape(len(emps), n_d)
        counts[TABLE_INDEX[table], emps] += per_day.astype(np.int32)
        out[table] = pa.table({"subject_id": _subject_column(world, emps, local), **columns})
    return out


def _write_telemetry(store: TelemetryStore, world: World, progress: Progress | None) -> tuple[dict[str, int], np.ndarray]:
    """Generate and append telemetry a group of buckets at a time; return rows per table and daily counts."""
    company, buckets = world.company, store.buckets
    of_bucket = np.array([bucket_for(s, buckets) for s in company.ids])
    members = [np.nonzero(of_bucket == b)[0] for b in range(buckets)]  # ids ascend with the index
    per_chunk = max(1, int(EMPLOYEE_DAYS_PER_CHUNK // max(1.0, company.n / buckets * world.cal.n)))
    chunks = [range(b, min(b + per_chunk, buckets)) for b in range(0, buckets, per_chunk)]
    counts = np.zeros((len(TABLES), company.n, world.cal.n), dtype=np.int32)
    rows = dict.fromkeys(TABLES, 0)
    for i, chunk in enumerate(chunks):
        pieces: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
        for b in chunk:
            if len(members[b]):
                for table, data in _bucket_tables(world, b, members[b], counts).items():
                    pieces[table].append(data)
        for table in TABLES:
            if pieces[table]:
                rows[table] += store.append(table, pa.concat_tables(pieces[table]))
        if progress:
            progress(i + 1, len(chunks), f"telemetry buckets {chunk.start}-{chunk.stop - 1}: "
                     f"{sum(rows.values()):,} rows so far")
    return rows, counts


# ---- who reads the data: actors and grants ---------------------------------

SERVICE_ACTORS = (  # actor id, display name, team, role
    ("svc:endpoint-analytics", "Endpoint analytics pipeline", "People Analytics", "people-analytics"),
    ("svc:security-siem", "Security SIEM", "Security Operations", "security-operations"),
    ("svc:ml-feature-store", "ML feature store", "ML Platform", "ml-platform"),
    ("svc:ml-training", "ML training pipeline", "ML Platform", "ml-platform"),
    ("svc:meet-assist", "MeetAssist summaries", "ML Platform", "ml-platform"),
    ("svc:chat-compliance-archive", "Chat compliance archive", "Compliance", "compliance"),
    ("svc:hr-reporting", "HR reporting", "HR Business Partners", "hr-business-partners"),
)
SERVICE_JOBS = (  # actor, table, runs every n weeks, purpose
    ("svc:endpoint-analytics", "keystrokes", 1, "analytics.reporting.productivity"),
    ("svc:endpoint-analytics", "mouse_activity", 1, "analytics.reporting.productivity"),
    ("svc:security-siem", "app_usage", 1, "essential.service.security"),
    ("svc:security-siem", "keystrokes", 2, "essential.service.security"),
    ("svc:meet-assist", "transcript_segments", 1, "essential.service.collaboration"),
    ("svc:chat-compliance-archive", "chat_messages", 4, "legal.compliance"),
    ("svc:hr-reporting", "performance_records", 4, "employment.performance_management"),
)
_ACTIVITY = ("keystrokes", "mouse_activity", "app_usage")
GROUP_GRANTS = (  # group, tables
    ("security-operations", ("keystrokes", "app_usage")),
    ("people-analytics", _ACTIVITY),
    ("ml-platform", (*_ACTIVITY, "chat_messages", "transcript_segments")),
    ("hr-business-partners", ("performance_records",)),
    ("line-managers", ("performance_records",)),
    ("compliance", ("chat_messages",)),
    ("privacy-office", TABLES),
)
# Standing access groups hold a fixed number of people, whatever the company's size: hiring more
# salespeople does not give more analysts raw telemetry. A reader team may be larger; only its access
# group reads. Line managers are not capped: each reads only their direct reports (a scoped role).
ACCESS_GROUP_SIZE = {"security-operations": 6, "people-analytics": 4, "ml-platform": 3,
                     "hr-business-partners": 8, "compliance": 2, "privacy_office": 2}
EXPOSED_GROUP = "all-engineering"
EXPOSED_ROLE = "engineer"  # not among the transcript category's allowed roles
EXPOSED_TABLE = "transcript_segments"
EXPOSED_READERS = 40


def _episode_days(n_days: int) -> tuple[int, int]:
    """First and last day index of the over-exposure: days -40..-27, or the first two weeks of a short range."""
    if n_days >= 41:
        return n_days - 41, n_days - 28
    return 0, min(n_days, 14) - 1


@dataclass
class Actors:
    rows: list[dict]
    by_role: dict[str, list[tuple[str, int]]]  # role -> (actor id, employee index)
    exposed: list[str]


def _actors(world: World) -> Actors:
    company = world.company
    rng = np.random.default_rng([world.seed, 3])
    rows = [{"actor_id": a, "kind": "service", "display_name": name, "team": team, "role": role, "pseudonym": None}
            for a, name, team, role in SERVICE_ACTORS]
    by_role: dict[str, list[tuple[str, int]]] = {}

    def person(e: int, role: str) -> str:
        actor_id = "usr-" + rng.bytes(5).hex()
        rows.append({"actor_id": actor_id, "kind": "person", "display_name": company.names[e],
                     "team": company.teams[company.team[e]], "role": role, "pseudonym": company.pseudonyms[e]})
        by_role.setdefault(role, []).append((actor_id, e))
        return actor_id

    for e in range(company.n):
        role = text.READER_TEAMS.get(company.teams[company.team[e]])
        if role:
            person(e, role)
        if company.is_manager[e]:
            person(e, "line-managers")
    engineering = text.DEPARTMENT_NAMES.index("Engineering")
    candidates = [e for e in range(len(PERSONAS), company.n) if company.dept[e] == engineering
                  and not company.is_manager[e] and company.teams[company.team[e]] not in text.READER_TEAMS]
    chosen = sorted(rng.choice(candidates, size=min(EXPOSED_READERS, len(candidates)), replace=False)) if candidates else []
    exposed = [person(int(e), EXPOSED_ROLE) for e in chosen]
    return Actors(rows, by_role, exposed)


def _at(world: World, day: int | np.ndarray, seconds: float | np.ndarray = 0) -> datetime | np.ndarray:
    us = world.cal.day_us[day] + (np.asarray(seconds) * 1_000_000).astype(np.int64)
    if np.ndim(us) == 0:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))
    return us


def _access_group(actors: Actors, role: str) -> list[tuple[str, int]]:
    """The people of ``role`` in its standing access group: those who hold its grants and read."""
    people = actors.by_role.get(role, [])
    size = ACCESS_GROUP_SIZE.get(role)
    return people if size is None else people[:size]


def _grants(world: World, actors: Actors) -> list[dict]:
    company = world.company
    since = _at(world, 0) - timedelta(days=400)
    rows = []

    def grant(gid: str, principal: str, kind: str, group: str | None, members: int, table: str,
              at: datetime | np.ndarray = since, expires: datetime | np.ndarray | None = None,
              by: str = "iam-automation") -> None:
        rows.append({"grant_id": gid, "principal": principal, "kind": kind, "group_name": group,
                     "member_count": members, "category_key": CATEGORY_OF_TABLE[table], "granted_by": by,
                     "granted_at": at, "expires_at": expires})

    for actor, table, _, _ in SERVICE_JOBS:
        grant(f"g-{actor[4:]}-{table}", actor, "service", None, 1, table)
    for table in (*_ACTIVITY, "chat_messages", "transcript_segments"):
        grant(f"g-ml-feature-store-{table}", "svc:ml-feature-store", "service", None, 1, table)
        grant(f"g-ml-training-{table}", "svc:ml-training", "service", None, 1, table)
    role_of_group = {"privacy-office": "privacy_office"}
    for group, tables in GROUP_GRANTS:
        members = max(1, len(_access_group(actors, role_of_group.get(group, group))))
        for table in tables:
            grant(f"g-{group}-{table}", f"group:{group}", "group", group, members, table)
    # Personal grants with an expiry, on top of the group (counted twice: "can read" is an upper bound).
    for role, table in (("ml-platform", "transcript_segments"), ("security-operations", "app_usage")):
        if actors.by_role.get(role):
            actor_id = actors.by_role[role][0][0]
            grant(f"g-{actor_id}-{table}", actor_id, "person", None, 1, table,
                  expires=_at(world, world.cal.n - 1) + timedelta(days=60))
    first, last = _episode_days(world.cal.n)
    engineers = int(np.sum(company.dept == text.DEPARTMENT_NAMES.index("Engineering")))
    grant(f"g-{EXPOSED_GROUP}-{EXPOSED_TABLE}", f"group:{EXPOSED_GROUP}", "group", EXPOSED_GROUP, engineers,
          EXPOSED_TABLE, at=_at(world, first, 8 * 3600 + 12 * 60), expires=_at(world, last, 86399),
          by="iam-automation (change IAM-2231: meeting search rollout)")
    return rows


# ---- access events ----------------------------------------------------------


class _EventLog:
    """Columns of access events, appended in blocks; turned into rows at the end."""

    NAMES = ("at", "actor", "subject", "table", "action", "purpose", "justification", "records", "query", "keep_purpose")

    def __init__(self) -> None:
        self.blocks: dict[str, list[np.ndarray]] = {k: [] for k in self.NAMES}

    def add(self, at: datetime | np.ndarray, actor: np.ndarray | str, subject: np.ndarray, table: np.ndarray | str,
            action: np.ndarray | str, purpose: np.ndarray | str | None, records: np.ndarray,
            justification: np.ndarray | str | None = None, query: np.ndarray | str | None = None,
            keep_purpose: bool = False) -> None:
        n = len(subject)
        if n == 0:
            return
        values = dict(at=at, actor=actor, subject=subject, table=table, action=action, purpose=purpose,
                      justification=justification, records=records, query=query, keep_purpose=keep_purpose)
        for name, value in values.items():
            if isinstance(value, np.ndarray):
                column = value
            else:
                column = np.empty(n, dtype=object) if not isinstance(value, bool) else np.empty(n, dtype=bool)
                column[:] = value
            self.blocks[name].append(column)

    def column(self, name: str) -> np.ndarray:
        return np.concatenate(self.blocks[name]) if self.blocks[name] else np.array([])


def _pick(rng: np.random.Generator, options: list[str] | tuple, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [options[i] for i in rng.integers(0, len(options), n)]
    return out


def _service_events(log: _EventLog, world: World, counts: np.ndarray, rng: np.random.Generator) -> None:
    n_d = world.cal.n
    week_starts = np.arange(0, n_d, 7)
    for actor, table, every, purpose in SERVICE_JOBS:
        weekly = np.add.reduceat(counts[TABLE_INDEX[table]], week_starts, axis=1).astype(np.int64)
        cumulative = np.concatenate([np.zeros((weekly.shape[0], 1), np.int64), weekly.cumsum(axis=1)], axis=1)
        for w in range(len(week_starts) - 1, -1, -every)[::-1]:
            records = cumulative[:, w + 1] - cumulative[:, max(0, w + 1 - every)]
            subjects = np.nonzero(records > 0)[0]
            day = min(week_starts[w] + 6, n_d - 1)
            at = _at(world, np.full(len(subjects), day), 23 * 3600 + rng.integers(0, 3000, len(subjects)))
            query = f"q-{actor[4:]}-{world.cal.dates[day]:%Y%m%d}"
            log.add(at, actor, subjects, table, "query", purpose, records[subjects], query=query)


def _working_time(world: World, rng: np.random.Generator, n: int, days: np.ndarray | None = None) -> tuple:
    if days is None:
        workdays = np.nonzero(world.cal.workday)[0]
        workdays = workdays if len(workdays) else np.arange(world.cal.n)
        days = workdays[rng.integers(0, len(workdays), n)]
    return days, _at(world, days, rng.integers(8 * 3600, 18 * 3600, n))


def _records(cumulative: np.ndarray, table: str, subjects: np.ndarray, days: np.ndarray) -> np.ndarray:
    return cumulative[TABLE_INDEX[table], subjects, days]


def _people_events(log: _EventLog, world: World, actors: Actors, cumulative: np.ndarray,
                   rng: np.random.Generator) -> None:
    company, n_d = world.company, world.cal.n
    managers = {e: a for a, e in actors.by_role.get("line-managers", [])}
    reports = np.array([e for e in range(company.n) if company.manager[e] in managers], dtype=np.int64)
    for _, day in _months(world.cal, world.end_date):
        chosen = reports[rng.random(len(reports)) < 0.7]
        days = np.minimum(day + rng.integers(0, 4, len(chosen)), n_d - 1)
        _, at = _working_time(world, rng, len(chosen), days)
        actor = np.array([managers[company.manager[e]] for e in chosen], dtype=object)
        log.add(at, actor, chosen, "performance_records", "view", "employment.performance_management",
                _records(cumulative, "performance_records", chosen, days),
                justification=_pick(rng, ("Monthly check-in", "Preparing the quarterly review", "Goal follow-up", None), len(chosen)))
    workdays = max(1, int(world.cal.workday.sum()))
    plans = (  # role, tables, reads per workday, action, purpose, justifications
        ("hr-business-partners", ("performance_records",), 3.0, "view", "employment.performance_management",
         ("Compensation review 2026", "Promotion calibration", "Employee relations case ER-{n}")),
        ("security-operations", ("keystrokes", "app_usage"), 0.15, "query", "essential.service.security",
         ("SIEM alert SEC-{n}: unusual download volume", "SIEM alert SEC-{n}: login from new country",
          "Insider-risk review IR-{n}")),
        ("people-analytics", _ACTIVITY, 1.0, "query", "analytics.reporting.productivity",
         ("Hybrid work report", "Tool adoption dashboard", None)),
        ("ml-platform", ("transcript_segments", "chat_messages"), 0.6, "query", "train_ai_system",
         ("Labelling sample for meeting-summarizer", "Data quality check", "Exploratory analysis", None)),
        ("compliance", ("chat_messages",), 0.4, "view", "legal.compliance", ("Legal hold LH-{n}", "Regulatory inquiry RI-{n}")),
        ("privacy_office", TABLES, 0.2, "view", "legal.compliance",
         ("Access request AR-2026-{n}: preparing the copy", "Erasure verification ER-2026-{n}")),
    )
    for role, tables, per_day, action, purpose, reasons in plans:
        for actor_id, _ in _access_group(actors, role):
            n = rng.poisson(per_day * workdays)
            days, at = _working_time(world, rng, n)
            subjects = rng.integers(0, company.n, n)
            table = _pick(rng, tables, n)
            records = cumulative[np.array([TABLE_INDEX[t] for t in table], dtype=np.int64), subjects, days]
            keep = records > 0
            why = np.array([r.format(n=rng.integers(100, 999)) if r else None for r in _pick(rng, reasons, n)], dtype=object)
            log.add(at[keep], actor_id, subjects[keep], table[keep], action, purpose, records[keep], justification=why[keep])


def _exposure_events(log: _EventLog, world: World, actors: Actors, counts: np.ndarray,
                     rng: np.random.Generator) -> None:
    """The over-exposure: the all-engineering group browsing colleagues' meeting transcripts."""
    if not actors.exposed:
        return
    first, last = _episode_days(world.cal.n)
    span = np.arange(first, last + 1)
    days = span[world.cal.workday[span]] if world.cal.workday[span].any() else span
    has_transcripts = np.nonzero(counts[TABLE_INDEX[EXPOSED_TABLE]].sum(axis=1) > 0)[0]
    if not len(has_transcripts):
        return
    reads = rng.integers(1, 5, size=(len(actors.exposed), len(days)))
    actor = np.repeat(np.array(actors.exposed, dtype=object), reads.sum(axis=1))
    day = np.concatenate([np.repeat(days, r) for r in reads])
    subjects = has_transcripts[rng.integers(0, len(has_transcripts), len(actor))]
    # Alice is among those read, by several people on several days.
    alice = min(6, len(actors.exposed))
    actor = np.concatenate([actor, np.array(actors.exposed[:alice], dtype=object)])
    day = np.concatenate([day, days[np.arange(alice) % len(days)]])
    subjects = np.concatenate([subjects, np.zeros(alice, dtype=np.int64)])
    n = len(actor)
    _, at = _working_time(world, rng, n, day)
    no_purpose = cast(Any, None)  # numpy's stubs take no None here
    purpose = np.where(rng.random(n) < 0.5, "essential.service.collaboration", no_purpose).astype(object)
    log.add(at, actor, subjects, EXPOSED_TABLE, "view", purpose, rng.integers(1, 25, n), keep_purpose=True)


# ---- lineage: training datasets and models ---------------------------------

DATASETS = (  # name, version, share of the period before it was built, tables, status
    ("keystroke-dynamics", "v1", 0.15, ("keystrokes", "mouse_activity"), "superseded"),
    ("keystroke-dynamics", "v2", 0.45, ("keystrokes", "mouse_activity"), "superseded"),
    ("keystroke-dynamics", "v3", 0.80, ("keystrokes", "mouse_activity", "app_usage"), "active"),
    ("meeting-assistant-corpus", "v1", 0.30, ("transcript_segments",), "superseded"),
    ("meeting-assistant-corpus", "v2", 0.70, ("transcript_segments", "chat_messages"), "active"),
    ("chat-intent", "v1", 0.55, ("chat_messages",), "active"),
)
MODELS = (  # name, version, datasets
    ("typing-fatigue-detector", "1.0", ("keystroke-dynamics-v2",)),
    ("typing-fatigue-detector", "1.1", ("keystroke-dynamics-v3",)),
    ("meeting-summarizer", "2.0", ("meeting-assistant-corpus-v1", "meeting-assistant-corpus-v2")),
    ("chat-intent-router", "0.9", ("chat-intent-v1",)),
)


@dataclass
class Lineage:
    datasets: list[dict]
    members: list[dict]
    models: list[dict]
    model_datasets: list[dict]


def _lineage(world: World, cumulative: np.ndarray, log: _EventLog, rng: np.random.Generator) -> Lineage:
    """Datasets built from members' data before their build day, and models trained on them.

    Building a dataset reads each member's records (an ``export`` event) and
    training a model reads them again (``train``); both are logged.
    """
    n_d, company = world.cal.n, world.company
    datasets, members, built = [], [], {}
    for name, version, share, tables, status in DATASETS:
        dataset_id = f"{name}-{version}"
        day = min(n_d - 1, max(1, int(share * n_d)))
        counts = np.stack([cumulative[TABLE_INDEX[t], :, day - 1] for t in tables])  # before the build day
        chosen = (counts.sum(axis=0) > 0) & (rng.random(company.n) < 0.7)
        chosen[0] = counts[:, 0].sum() > 0  # Alice's data is in every dataset it can be in
        rows = []
        for t, table in enumerate(tables):
            for e in np.nonzero(chosen & (counts[t] > 0))[0]:
                rows.append((int(e), table, int(counts[t, e])))
        datasets.append({"dataset_id": dataset_id, "name": name, "version": version,
                         "created_at": _at(world, day, 3 * 3600), "purpose_code": "train_ai_system",
                         "owner": "ML Platform", "status": status})
        members += [{"dataset_id": dataset_id, "subject_pseudonym": company.pseudonyms[e],
                     "category_key": CATEGORY_OF_TABLE[t], "record_count": c} for e, t, c in rows]
        built[dataset_id] = (day, rows)
        _lineage_reads(log, world, rows, day, "svc:ml-feature-store", "export", f"build-{dataset_id}", rng)
    models, links = [], []
    for name, version, sources in MODELS:
        model_id = f"{name}-{version}"
        day = min(n_d - 1, max(built[s][0] for s in sources) + 3)
        models.append({"model_id": model_id, "name": name, "version": version,
                       "trained_at": _at(world, day, 14 * 3600), "owner": "ML Platform"})
        for source in sources:
            links.append({"model_id": model_id, "dataset_id": source})
            _lineage_reads(log, world, built[source][1], day, "svc:ml-training", "train", f"train-{model_id}", rng)
    return Lineage(datasets, members, models, links)


def _lineage_reads(log: _EventLog, world: World, rows: list[tuple[int, str, int]], day: int, actor: str,
                   action: str, query: str, rng: np.random.Generator) -> None:
    for table in sorted({t for _, t, _ in rows}):
        picked = [(e, c) for e, t, c in rows if t == table]
        subjects = np.array([e for e, _ in picked], dtype=np.int64)
        at = _at(world, np.full(len(subjects), day), 2 * 3600 + rng.integers(0, 7200, len(subjects)))
        log.add(at, actor, subjects, table, action, "train_ai_system",
                np.array([c for _, c in picked], dtype=np.int64), query=query)


def _event_batches(log: _EventLog, world: World, rng: np.random.Generator) -> Iterator[list[dict]]:
    """Access event rows in log order (time, then id), subjects as pseudonyms only.

    Rows are built a batch at a time: a million dicts with datetimes would cost
    more memory than the whole telemetry generation.
    """
    at = log.column("at").astype(np.int64)
    n = len(at)
    purpose = log.column("purpose")
    # Some reads name no registered purpose (the exposure view must show them as such): about
    # 7.5% overall, counting the over-exposure's own, whatever the company's size.
    open_ = ~log.column("keep_purpose").astype(bool)
    missing = int(np.sum(purpose[~open_] == None))  # noqa: E711 - elementwise on an object array
    share = max(0.0, (0.075 * n - missing) / max(1, int(open_.sum())))
    purpose[(rng.random(n) < share) & open_] = None
    raw = rng.bytes(12 * n)
    event_ids = np.array(["ev-" + raw[12 * i:12 * i + 12].hex() for i in range(n)], dtype=object)
    if len(set(event_ids)) != n:  # pragma: no cover - 96 random bits
        raise DemoError("duplicate access event ids; choose another seed")
    order = np.lexsort((event_ids, at))
    ingested = at + rng.integers(5, 900, n) * 1_000_000
    category = {t: CATEGORY_OF_TABLE[t] for t in TABLES}
    source = {t: catalog.CATEGORY_BY_TABLE[t].source_system for t in TABLES}
    pseudonyms = np.array(world.company.pseudonyms, dtype=object)
    columns = {
        "event_id": event_ids, "occurred_at": at, "actor_id": log.column("actor"),
        "subject_pseudonym": log.column("subject").astype(np.int64), "category_key": log.column("table"),
        "action": log.column("action"), "purpose_code": purpose, "justification": log.column("justification"),
        "source_system": log.column("table"), "record_count": log.column("records").astype(np.int64),
        "query_id": log.column("query"), "ingested_at": ingested,
    }
    keys = list(columns)
    for i in range(0, n, INSERT_BATCH):
        part = order[i:i + INSERT_BATCH]
        batch: dict[str, Any] = {k: v[part] for k, v in columns.items()}
        batch["occurred_at"] = _datetimes(batch["occurred_at"])
        batch["ingested_at"] = _datetimes(batch["ingested_at"])
        batch["subject_pseudonym"] = pseudonyms[batch["subject_pseudonym"]]
        batch["category_key"] = [category[t] for t in batch["category_key"]]
        batch["source_system"] = [source[t] for t in batch["source_system"]]
        batch["record_count"] = batch["record_count"].tolist()
        yield [dict(zip(keys, values, strict=True)) for values in zip(*batch.values(), strict=True)]


def _datetimes(us: np.ndarray) -> list[datetime]:
    return [d.replace(tzinfo=UTC) for d in us.astype("datetime64[us]").tolist()]


# ---- writing the metadata DB ------------------------------------------------


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict] | Iterator[list[dict]]) -> int:
    """Executemany in batches; ``rows`` is a list or an iterator of batches."""
    batches = (rows[i:i + INSERT_BATCH] for i in range(0, len(rows), INSERT_BATCH)) if isinstance(rows, list) else rows
    written = 0
    for batch in batches:
        if batch:
            conn.execute(table.insert(), batch)
            written += len(batch)
    return written


def _employee_rows(company: Company) -> tuple[list[dict], list[dict]]:
    employees = [{"employee_id": company.ids[i], "oidc_sub": company.subs[i], "email": company.emails[i],
                  "display_name": company.names[i], "department": text.DEPARTMENT_NAMES[company.dept[i]],
                  "team": company.teams[company.team[i]], "job_title": company.titles[i],
                  "hired_on": company.hired_on[i]} for i in range(company.n)]
    pseudonyms = [{"pseudonym": company.pseudonyms[i], "employee_id": company.ids[i]} for i in range(company.n)]
    return employees, pseudonyms


def _write_metadata(conn: sa.Connection, world: World, counts: np.ndarray) -> dict[str, int]:
    rng = np.random.default_rng([world.seed, 4])
    cumulative = counts.cumsum(axis=2, dtype=np.int32)
    actors = _actors(world)
    log = _EventLog()
    _service_events(log, world, counts, rng)
    _people_events(log, world, actors, cumulative, rng)
    _exposure_events(log, world, actors, counts, rng)
    lineage = _lineage(world, cumulative, log, rng)
    written = {
        "actors": _insert(conn, db.actors, actors.rows),
        "grants": _insert(conn, db.grants, _grants(world, actors)),
        "datasets": _insert(conn, db.datasets, lineage.datasets),
        "dataset_members": _insert(conn, db.dataset_members, lineage.members),
        "models": _insert(conn, db.models, lineage.models),
        "model_datasets": _insert(conn, db.model_datasets, lineage.model_datasets),
    }
    if conn.dialect.name == "sqlite":
        # The event indexes grow in random key order; a bigger page cache saves re-reading them.
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
    written["access_events"] = _insert(conn, db.access_events, _event_batches(log, world, rng))
    return written


# ---- entry points -----------------------------------------------------------


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return None if path in ("", ":memory:") else Path(path)
    return None


def data_present(settings: Settings) -> bool:
    """True when the data directory holds a lake or the metadata DB holds employees."""
    lake = Path(settings.lake_dir)
    if lake.is_dir() and any(lake.iterdir()):
        return True
    url = settings.resolved_database_url
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        return False  # do not create an empty DB file just by looking
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("employees"):
                return False
            return conn.execute(sa.select(sa.func.count()).select_from(db.employees)).scalar_one() > 0
    except sa.exc.OperationalError as exc:
        raise db.DatabaseError(f"Cannot reach the metadata DB: {exc.orig}. Check PORTAL_DATABASE_URL.") from None
    finally:
        engine.dispose()


def _clear(settings: Settings) -> None:
    """Remove the lake and take the metadata DB back to an empty schema; the database itself stays.

    The access log refuses DELETE and TRUNCATE (migration 0002), as it must, so
    replacing demo data goes down through the migrations to the empty base
    (dropping the tables and their triggers) and seeding migrates up again: an
    explicit schema reset, never a quiet rewrite of rows.
    """
    from alembic import command
    from alembic.config import Config

    data_dir = Path(settings.data_dir)
    # The old company's lake, log, and every copy made of its people's data: prepared copies,
    # published council releases and stored rollups.
    for directory in (Path(settings.lake_dir), data_dir / "audit", data_dir / "copies", data_dir / "releases",
                      data_dir / "rollups"):
        if directory.exists():
            shutil.rmtree(directory)
    engine = db.make_engine(settings.resolved_database_url)
    try:
        with engine.begin() as conn:
            if sa.inspect(conn).has_table("alembic_version"):
                config = Config()
                config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
                config.attributes["connection"] = conn
                command.downgrade(config, "base")
    finally:
        engine.dispose()


# Owner-only whatever the caller's umask: seeding writes a whole company's personal data.
@file_modes.owner_only()
def seed(settings: Settings, employees: int = 300, days: int = 90, seed: int = 42,
         progress: Progress | None = None, replace: bool = False,
         end_date: date = DEFAULT_END_DATE) -> SeedReport:
    """Create the metadata DB and the telemetry lake and fill them with a synthetic company.

    The personas are always employees E00001-E00004. ``replace`` removes an existing
    lake and empties the metadata tables first; without it, existing data is an error.
    """
    if employees < len(PERSONAS):
        raise DemoError(f"the demo company needs at least {len(PERSONAS)} employees (the personas), got {employees}")
    if days < 1:
        raise DemoError(f"days must be at least 1, got {days}")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    file_modes.private_dir(settings.data_dir)
    if data_present(settings):
        if not replace:
            raise DemoError(f"{settings.data_dir} already holds portal data; seed with replace=True "
                            "(`portal seed --force`) to replace it.")
        _clear(settings)
    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.migrate(engine)
        with engine.begin() as conn:
            catalog.sync(conn)
        timings["schema"] = time.perf_counter() - started
        mark = time.perf_counter()
        world = _world(seed, employees, days, end_date)
        employee_rows, pseudonym_rows = _employee_rows(world.company)
        with engine.begin() as conn:
            db_rows = {"employees": _insert(conn, db.employees, employee_rows),
                       "pseudonyms": _insert(conn, db.pseudonyms, pseudonym_rows)}
        timings["company"] = time.perf_counter() - mark
        store = TelemetryStore(settings)
        store.create()
        mark = time.perf_counter()
        lake_rows, counts = _write_telemetry(store, world, progress)
        store.checkpoint()
        timings["telemetry"] = time.perf_counter() - mark
        mark = time.perf_counter()
        with engine.begin() as conn:
            db_rows |= _write_metadata(conn, world, counts)
        timings["metadata"] = time.perf_counter() - mark
        if progress:
            progress(1, 1, f"metadata: {sum(db_rows.values()):,} rows")
        mark = time.perf_counter()
        from portal.demo import demo_requests

        # Filed and worked before the checkpoint below, so the signed log covers every request transition.
        history = demo_requests.seed_requests(engine, store, seed=seed, end_date=end_date, days=days)
        db_rows |= {table: db_rows.get(table, 0) + rows for table, rows in history.rows_added.items()}
        lake_rows = {table: rows - history.rows_erased.get(table, 0) for table, rows in lake_rows.items()}
        timings["requests"] = time.perf_counter() - mark
        if progress:
            progress(1, 1, f"requests: {history.rows_added['privacy_requests']:,} filed and worked")
        mark = time.perf_counter()
        # The demo log starts with a signed checkpoint, as a real deployment's would after an ingest.
        AuditLog(settings, engine).checkpoint()
        timings["access log"] = time.perf_counter() - mark
        mark = time.perf_counter()
        # Read every data file once now, and publish the council's releases, so that the Council
        # overview's first load reads stored figures instead of counting 100M rows and 1M reads.
        from portal.council import works_council

        volume_rollup.weekly_records(store)
        works_council.publish_all(settings, engine, store)
        timings["council figures"] = time.perf_counter() - mark
        database = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    lake_dir = Path(settings.lake_dir)
    return SeedReport(
        employees=employees, days=days, seed=seed, start_date=world.cal.dates[0], end_date=end_date,
        buckets=store.buckets, lake_dir=lake_dir, database=database, lake_rows=lake_rows, db_rows=db_rows,
        timings=timings, lake_bytes=sum(p.stat().st_size for p in lake_dir.rglob("*") if p.is_file()),
    )
