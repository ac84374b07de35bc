"""The demo company: employees, names, teams, line managers, and the seeded text corpora they produce.

:func:`make_world` builds the :class:`World` that every other part of the seed reads: the working
calendar, the :class:`Company` (personas first, then generated employees), and the :class:`Corpora`
of window titles, chat messages, utterances and meeting titles shared by all subject buckets.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from portal.demo import demo_text as text
from portal.demo.personas import PERSONAS
from portal.demo.working_calendar import Calendar, working_calendar


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


def vocabulary(values: list[str]) -> pa.Array:
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
    return vocabulary([s for v in groups.values() for s in v]), starts, counts


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
        channels=vocabulary(fixed + [f"#{s}" for s in slugs]), channel_of_kind=channel_of_kind,
        utterances=utterances, utterance_start=u_start, utterance_count=u_count,
        meeting_titles=vocabulary(meeting_titles), recurring=recurring, ad_hoc=ad_hoc,
        notes=vocabulary(text.manager_notes(rnd)), team_slugs=vocabulary(slugs),
        day_labels=vocabulary([d.strftime("%Y%m%d") for d in cal.dates]),
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


def make_world(seed: int, employees: int, days: int, end_date: date) -> World:
    cal = working_calendar(end_date, days)
    company = _company(seed, employees, end_date)
    return World(seed, end_date, cal, company, _corpora(seed, company, cal),
                 vocabulary(company.ids), vocabulary(company.devices))
