"""Who reads the demo company's data: the actors, their grants, and the access events they leave.

Services read on schedules, people of the reader teams read within their standing access groups, line
managers read their reports' performance records, and for two weeks the "all-engineering" group was
granted meeting transcripts and browsed colleagues' (the over-exposure, :func:`episode_days`).
Events are collected in an :class:`EventLog`; the seed turns it into access-log rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np

from portal.demo import demo_text as text
from portal.demo.company import World
from portal.demo.personas import PERSONAS
from portal.demo.synthetic_telemetry import CATEGORY_OF_TABLE, TABLE_INDEX, TABLES
from portal.demo.working_calendar import months_of

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


def episode_days(n_days: int) -> tuple[int, int]:
    """First and last day index of the over-exposure: days -40..-27, or the first two weeks of a short range."""
    if n_days >= 41:
        return n_days - 41, n_days - 28
    return 0, min(n_days, 14) - 1


@dataclass
class Actors:
    rows: list[dict]
    by_role: dict[str, list[tuple[str, int]]]  # role -> (actor id, employee index)
    exposed: list[str]


def make_actors(world: World) -> Actors:
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


def at_time(world: World, day: int | np.ndarray, seconds: float | np.ndarray = 0) -> datetime | np.ndarray:
    us = world.cal.day_us[day] + (np.asarray(seconds) * 1_000_000).astype(np.int64)
    if np.ndim(us) == 0:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))
    return us


def _access_group(actors: Actors, role: str) -> list[tuple[str, int]]:
    """The people of ``role`` in its standing access group: those who hold its grants and read."""
    people = actors.by_role.get(role, [])
    size = ACCESS_GROUP_SIZE.get(role)
    return people if size is None else people[:size]


def make_grants(world: World, actors: Actors) -> list[dict]:
    company = world.company
    since = at_time(world, 0) - timedelta(days=400)
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
                  expires=at_time(world, world.cal.n - 1) + timedelta(days=60))
    first, last = episode_days(world.cal.n)
    engineers = int(np.sum(company.dept == text.DEPARTMENT_NAMES.index("Engineering")))
    grant(f"g-{EXPOSED_GROUP}-{EXPOSED_TABLE}", f"group:{EXPOSED_GROUP}", "group", EXPOSED_GROUP, engineers,
          EXPOSED_TABLE, at=at_time(world, first, 8 * 3600 + 12 * 60), expires=at_time(world, last, 86399),
          by="iam-automation (change IAM-2231: meeting search rollout)")
    return rows


# ---- access events ----------------------------------------------------------


class EventLog:
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


def service_events(log: EventLog, world: World, counts: np.ndarray, rng: np.random.Generator) -> None:
    n_d = world.cal.n
    week_starts = np.arange(0, n_d, 7)
    for actor, table, every, purpose in SERVICE_JOBS:
        weekly = np.add.reduceat(counts[TABLE_INDEX[table]], week_starts, axis=1).astype(np.int64)
        cumulative = np.concatenate([np.zeros((weekly.shape[0], 1), np.int64), weekly.cumsum(axis=1)], axis=1)
        for w in range(len(week_starts) - 1, -1, -every)[::-1]:
            records = cumulative[:, w + 1] - cumulative[:, max(0, w + 1 - every)]
            subjects = np.nonzero(records > 0)[0]
            day = min(week_starts[w] + 6, n_d - 1)
            at = at_time(world, np.full(len(subjects), day), 23 * 3600 + rng.integers(0, 3000, len(subjects)))
            query = f"q-{actor[4:]}-{world.cal.dates[day]:%Y%m%d}"
            log.add(at, actor, subjects, table, "query", purpose, records[subjects], query=query)


def _working_time(world: World, rng: np.random.Generator, n: int, days: np.ndarray | None = None) -> tuple:
    if days is None:
        workdays = np.nonzero(world.cal.workday)[0]
        workdays = workdays if len(workdays) else np.arange(world.cal.n)
        days = workdays[rng.integers(0, len(workdays), n)]
    return days, at_time(world, days, rng.integers(8 * 3600, 18 * 3600, n))


def _records(cumulative: np.ndarray, table: str, subjects: np.ndarray, days: np.ndarray) -> np.ndarray:
    return cumulative[TABLE_INDEX[table], subjects, days]


def people_events(log: EventLog, world: World, actors: Actors, cumulative: np.ndarray,
                   rng: np.random.Generator) -> None:
    company, n_d = world.company, world.cal.n
    managers = {e: a for a, e in actors.by_role.get("line-managers", [])}
    reports = np.array([e for e in range(company.n) if company.manager[e] in managers], dtype=np.int64)
    for _, day in months_of(world.cal, world.end_date):
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


def exposure_events(log: EventLog, world: World, actors: Actors, counts: np.ndarray,
                     rng: np.random.Generator) -> None:
    """The over-exposure: the all-engineering group browsing colleagues' meeting transcripts."""
    if not actors.exposed:
        return
    first, last = episode_days(world.cal.n)
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
