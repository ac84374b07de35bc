"""The synthetic telemetry: every lake table's rows for one subject bucket, and writing them all.

Each bucket draws from its own generator (seeded with the seed and the bucket), so the rows do not depend
on how buckets are grouped into Delta appends. :func:`write_telemetry` generates a group of buckets at a
time and returns, besides the rows per table, the per employee-day counts that the access events and
the training datasets are drawn from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from portal.core import i18n
from portal.core.i18n import _
from portal.demo import demo_text as text
from portal.demo.company import Company, World, vocabulary
from portal.demo.working_calendar import Calendar, months_of
from portal.lake.telemetry import TelemetryStore, bucket_for

ACTIVITY_TABLES = ("keystrokes", "mouse_activity", "app_usage")
# The demo company records the default catalog's six categories (portal/core/catalog.toml); a catalog file
# of the company's own may declare more, which the demo leaves empty.
CATEGORY_OF_TABLE = {
    "keystrokes": "user.behavior.keystrokes", "mouse_activity": "user.behavior.mouse_movement",
    "app_usage": "user.behavior.application_usage", "chat_messages": "user.content.private.chat",
    "transcript_segments": "user.content.private.meeting_transcript",
    "performance_records": "user.workplace.performance",
}
TABLES = tuple(CATEGORY_OF_TABLE)
TABLE_INDEX = {t: i for i, t in enumerate(TABLES)}
# Employee-days generated per Delta append: ~7M activity rows, about 1.3 GB at the peak.
EMPLOYEE_DAYS_PER_CHUNK = 120_000
WINDOW_US = 15 * 60 * 1_000_000

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
        "application": vocabulary(list(text.APPLICATIONS)).take(pa.array(app)),
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


def _performance(rng: np.random.Generator, world: World, emps: np.ndarray) -> tuple:
    """Monthly metrics per employee (month-to-date for the current month) with occasional notes."""
    company, cal = world.company, world.cal
    months = months_of(cal, world.end_date)
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


def write_telemetry(store: TelemetryStore, world: World, progress: Progress | None) -> tuple[dict[str, int], np.ndarray]:
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
            progress(i + 1, len(chunks), _("telemetry buckets {first}-{last}: {rows} rows so far").format(
                first=chunk.start, last=chunk.stop - 1, rows=i18n.number(sum(rows.values()))))
    return rows, counts
