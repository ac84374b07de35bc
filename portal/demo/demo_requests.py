"""The demo company's request history: objections, copies and erasures, worked as the privacy office would.

Nothing is written behind the lifecycle's back. Each request is filed with
:func:`portal.privacy.privacy_requests.file_request` (by the employee in the portal, or
by the privacy office for one that came by e-mail or letter), then reviewed,
approved, rejected, extended or withdrawn through :mod:`portal.privacy.privacy_requests`,
and carried out by the executor (:func:`portal.privacy.erasure.execute`): an objection is
recorded and the datasets holding the person are flagged; a copy is built, a read
the person sees; an erasure deletes and vacuums the person's telemetry and is
verified in every store before it counts as completed. Every step carries the
moment it happened, counted back from the demo's end date, and the steps of all
requests run in time order, so the signed log holds the history as it unfolded.

The mix (:data:`MIX`, for 300 employees): mostly objections to AI training, some
copies, a few erasures; most answered in time, some open and not yet due, a few
rejected with a reason, one erasure extended with a reason, and objections that
missed the one-month deadline, enough of each that the works council's figures
(k = 5) show objections per deadline outcome. Counts scale with the headcount,
rounded down (a company of a dozen has none yet), and are capped so that a
company of thousands still seeds in seconds: an erasure costs a rewrite of every
table, so at most three are carried out. The personas never file anything.

The mix holds while the demo is looked at. Whether an open request is overdue,
due within a week or not yet due depends on the day it is looked at, and the
history is signed (its transitions are leaves of the access log) and its erasures
receipted, so its dates are never shifted afterwards. Instead the history is
planned so that every open request keeps its standing for :data:`MIX_HOLDS`
after the end date: a request due soon falls due exactly a week after it, open
ones are due more than two weeks after it, overdue ones were due before it.
Data older than that is generated again for the day (``portal demo`` does so,
see :mod:`portal.demo.devserver`): the whole company moves with the clock, its
telemetry, reads and signed log with it, and nothing signed is rewritten.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import db
from portal.privacy import erasure, privacy_requests
from portal.bootstrap import employee_directory
from portal.privacy.deadlines import initial_deadline
from portal.privacy.request_views import AT_RISK_DAYS
from portal.identity.principal import Employee, Principal
from portal.demo.personas import PERSONA_BY_SUB, PERSONAS
from portal.identity.policy import EMPLOYEE, PRIVACY_OFFICE
from portal.lake.telemetry import TelemetryStore

#: How long after its end date the demo's open requests keep their standing (overdue, due within a week, not
#: yet due): the due-soon ones fall due on the last of these days.
MIX_HOLDS = timedelta(days=AT_RISK_DAYS)
HISTORY_DAYS = 90  # requests reach back at least this far, so deadlines can have passed even in a short demo
MIX_HEADCOUNT = 300 - len(PERSONAS)  # the people MIX is counted for
MIX = {  # kind -> outcome -> requests among MIX_HEADCOUNT people
    "objection": {"completed": 19, "late": 2, "overdue": 2, "overdue_unread": 1, "open": 2, "due_soon": 1,
                  "open_new": 2, "open_approved": 1, "rejected": 2, "withdrawn": 2},
    "access": {"completed": 3, "open_new": 2, "open_approved": 1, "rejected": 1, "withdrawn": 1},
    "erasure": {"erased": 3, "extended": 1, "open": 1, "rejected": 1},
}
KIND_CAP = {"objection": 60, "access": 12, "erasure": 8}
OUTCOME_CAP = {("erasure", "erased"): 3, ("access", "completed"): 3}  # the costly ones

Step = tuple[str, int, int]  # action, fewest and most days after the previous step
STORIES: dict[str, tuple[tuple[int, int | None], tuple[Step, ...]]] = {
    # outcome -> (received between so many days before the end date, None: the history's start), steps
    "completed": ((16, None), (("review", 0, 3), ("approve", 1, 4), ("execute", 0, 2))),
    "erased": ((10, 24), (("review", 0, 2), ("approve", 1, 3), ("execute_last", 0, 0))),
    "late": ((48, 80), (("review", 2, 6), ("approve_late", 1, 6), ("execute", 0, 1))),
    "overdue": ((36, 60), (("review", 1, 6),)),
    "overdue_unread": ((36, 60), ()),
    # Open ones are due more than a week after the last day MIX_HOLDS covers, whatever the months' lengths.
    "open": ((4, 13), (("review", 0, 2),)),
    "due_soon": ((24, 26), (("review", 1, 4),)),  # the window is replaced by _due_soon_day: due end + MIX_HOLDS
    "open_new": ((1, 9), ()),
    "open_approved": ((10, 13), (("review", 0, 2), ("approve", 1, 3))),
    "rejected": ((14, None), (("review", 0, 3), ("reject", 1, 6))),
    "withdrawn": ((6, None), (("withdraw", 1, 5),)),
    "extended": ((35, 56), (("review", 1, 3), ("extend", 12, 18))),
}
CHANNELS = {"objection": (0.80, 0.15, 0.05), "access": (0.60, 0.40, 0.0), "erasure": (0.70, 0.20, 0.10)}
OBJECTION_SCOPES: tuple[tuple[tuple[str | None, tuple[str, ...] | None], float], ...] = (
    (("train_ai_system", None), 0.8), (("analytics.reporting.productivity", None), 0.1),
    ((None, ("user.content.private.meeting_transcript",)), 0.1))
ERASURE_SCOPES = (None, ("user.content.private.chat", "user.content.private.meeting_transcript"),
                  ("user.behavior.keystrokes", "user.behavior.mouse_movement", "user.behavior.application_usage"))
DETAILS = {
    "objection": ("I do not want my typing, chats or meetings used to train AI models.",
                  "After the transcript incident I want my data kept out of any training set.", None, None),
    "access": ("Please send me everything you hold about me, including who looked at it.", None),
    "erasure": ("I am moving teams and want this history deleted.", None),
}
REASONS: dict[str, Any] = {  # a reason, or one per kind of request
    "review": "identity checked against the employee record",
    "approve": {"objection": "objection in scope; nothing overrides it", "access": "identity confirmed",
                "erasure": "identity confirmed; no legal hold covers these records"},
    "reject": {"objection": "Security monitoring protects everyone's accounts; compelling legitimate grounds "
                            "(GDPR Art. 21(1)) override the objection for this purpose.",
               "access": "We could not confirm that the e-mail came from you; please ask again in the portal.",
               "erasure": "Your records are held for an ongoing internal investigation (legal hold); we will erase "
                          "them when the hold ends and tell you."},
    "extend": "Copies are also held by two collectors' backup systems; finding and removing every one takes "
              "longer than a month.",
    "withdraw": {"objection": "I have read what the datasets are for and no longer object.",
                 "access": "I downloaded my copy on My copy myself.", "erasure": "I would rather keep my history."},
}
END_OF_DAY = time(18, 0)  # approved erasures are carried out in one run at the end of the demo's last day


@dataclass(frozen=True)
class Story:
    """One request's planned life: who asks for what, and each step with its moment."""

    employee_id: str
    kind: str
    outcome: str
    channel: str
    purpose: str | None
    categories: tuple[str, ...] | None
    details: str | None
    steps: tuple[tuple[datetime, str], ...]  # (moment, action); the first is "file"


def counts(eligible: int) -> dict[tuple[str, str], int]:
    """Requests per (kind, outcome) among ``eligible`` people: MIX scaled down, rounded, capped."""
    scale = eligible / MIX_HEADCOUNT
    found: dict[tuple[str, str], int] = {}
    for kind, outcomes in MIX.items():
        whole = sum(outcomes.values())
        total = min(KIND_CAP[kind], math.floor(whole * scale))
        exact = {o: n * total / whole for o, n in outcomes.items()}
        got = {o: math.floor(x) for o, x in exact.items()}
        for o in sorted(exact, key=lambda o: got[o] - exact[o])[:total - sum(got.values())]:
            got[o] += 1  # largest remainders first; ties in MIX order
        found |= {(kind, o): min(n, OUTCOME_CAP.get((kind, o), n)) for o, n in got.items() if n}
    return found


def _at(day: date, rng: np.random.Generator, office: bool) -> datetime:
    """A moment on ``day``: office hours on a working day (weekends move to Monday), or any waking hour."""
    if office and day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    first, last = (9, 17) if office else (7, 22)
    return datetime.combine(day, time(first), UTC) + timedelta(minutes=int(rng.integers(0, (last - first) * 60)))


def _moments(outcome: str, received: datetime, end: date, rng: np.random.Generator, order: int) -> list[datetime]:
    """The moment of each step of ``outcome`` after ``received``, in order, none after the end date."""
    found, previous = [], received
    for action, fewest, most in STORIES[outcome][1]:
        if action == "execute_last":
            moment = datetime.combine(end, END_OF_DAY, UTC) + timedelta(minutes=7 * order)
        else:
            start = initial_deadline(received.date()) if action == "approve_late" else previous.date()
            moment = _at(start + timedelta(days=int(rng.integers(fewest, most + 1))), rng, action != "withdraw")
            moment = max(moment, previous + timedelta(minutes=int(rng.integers(20, 90))))
        if moment.date() > end:
            raise ValueError(f"the {outcome} story does not fit before {end}")  # the windows leave room
        found.append(moment)
        previous = moment
    return found


def _scope(kind: str, outcome: str, rng: np.random.Generator, order: int) -> tuple[str | None, tuple[str, ...] | None]:
    if kind == "access":
        return None, None
    if kind == "erasure":
        return None, ERASURE_SCOPES[order % len(ERASURE_SCOPES)]  # the first erasure carried out is of everything
    if outcome == "rejected":
        return "essential.service.security", None  # the objection the office may turn down (Art. 21(1))
    scopes, weights = zip(*OBJECTION_SCOPES, strict=True)
    return scopes[rng.choice(len(scopes), p=weights)]


def _due_soon_day(end: date) -> date:
    """The day a request is received that falls due :data:`MIX_HOLDS` after ``end``: at risk (due within a week)
    on every day from ``end`` to then. When no day of the month before maps there (a 31st after a February),
    the latest day that falls due earlier."""
    due = end + MIX_HOLDS
    days = [due - timedelta(days=n) for n in range(27, 32)]
    exact = [d for d in days if initial_deadline(d) == due]
    return exact[0] if exact else max(d for d in days if initial_deadline(d) < due)


def _story(employee_id: str, kind: str, outcome: str, order: int, span: int, end: date,
           rng: np.random.Generator) -> Story:
    fewest, most = STORIES[outcome][0]
    channel = "portal" if outcome == "withdrawn" else str(rng.choice(("portal", "email", "letter"), p=CHANNELS[kind]))
    day = end - timedelta(days=int(rng.integers(fewest, max(fewest, most or span) + 1)))
    if outcome == "due_soon":  # filed in the portal, any day of the week, so that its deadline is exact
        channel, day = "portal", _due_soon_day(end)
    received = _at(day, rng, office=channel != "portal")
    if received.date() > end:  # an office filing that moved past the end date to a Monday
        received -= timedelta(days=3)
    purpose, categories = _scope(kind, outcome, rng, order)
    details = DETAILS[kind][int(rng.integers(0, len(DETAILS[kind])))]
    moments = _moments(outcome, received, end, rng, order)
    steps = ((received, "file"), *zip(moments, (s[0] for s in STORIES[outcome][1]), strict=True))
    return Story(employee_id, kind, outcome, channel, purpose, categories, details, tuple(steps))


def plan(employee_ids: list[str], seed: int, end: date, days: int) -> list[Story]:
    """Every request of the demo history, from the seed alone (same seed, same plan)."""
    rng = np.random.default_rng([seed, 21])
    personas = {p.employee_id for p in PERSONAS}
    eligible = sorted(e for e in employee_ids if e not in personas)
    wanted = [(kind, outcome) for (kind, outcome), n in counts(len(eligible)).items() for _ in range(n)]
    people = [eligible[i] for i in rng.permutation(len(eligible))[:len(wanted)]]
    span = max(days, HISTORY_DAYS)
    seen: dict[tuple[str, str], int] = {}
    stories = []
    for person, (kind, outcome) in zip(people, wanted, strict=True):
        order = seen[(kind, outcome)] = seen.get((kind, outcome), -1) + 1
        stories.append(_story(person, kind, outcome, order, span, end, rng))
    return stories


# ---- working the plan ------------------------------------------------------------------------


def _principal(employee: Employee, roles: frozenset[str]) -> Principal:
    return Principal(subject=employee.oidc_sub or employee.employee_id, email=employee.email,
                     name=employee.display_name, employee=employee, roles=roles)


def _office(engine: Engine) -> Principal:
    """The privacy office persona, whatever groups the identity provider is configured to map."""
    found = employee_directory(engine).by_subject(PERSONA_BY_SUB["priya"].sub)
    if found is None:
        raise ValueError("the privacy office persona (priya) is not among the employees; seed the company first")
    return _principal(found, frozenset({EMPLOYEE, PRIVACY_OFFICE}))


def _step(engine: Engine, store: TelemetryStore, office: Principal, story: Story, request_id: str | None,
          action: str, moment: datetime, employee: Callable[[str], Principal]) -> str:
    """Carry out one step; returns the request id (new after filing)."""
    kind = story.kind
    if action == "file":
        by = employee(story.employee_id) if story.channel == "portal" else office
        return privacy_requests.file_request(
            engine, by, story.employee_id, kind, categories=list(story.categories) if story.categories else None,
            purpose=story.purpose, channel=story.channel, details=story.details, now=moment).request_id
    assert request_id is not None, "every other step follows the filing"
    if action == "review":
        privacy_requests.transition(engine, office, request_id, "in_review", REASONS["review"], now=moment)
    elif action in ("approve", "approve_late"):
        privacy_requests.approve(engine, office, request_id, REASONS["approve"][kind], now=moment)
    elif action == "reject":
        privacy_requests.transition(engine, office, request_id, "rejected", REASONS["reject"][kind], now=moment)
    elif action == "extend":
        privacy_requests.extend(engine, office, request_id, 2, REASONS["extend"], now=moment)
    elif action == "withdraw":
        privacy_requests.transition(engine, employee(story.employee_id), request_id, "withdrawn",
                                    REASONS["withdraw"][kind], now=moment)
    else:  # execute, execute_last: verified in every store before it is completed
        erasure.execute(engine, store, office, request_id, now=moment)
    return request_id


@dataclass(frozen=True)
class History:
    """What working the history changed: rows added per metadata table, rows erased per telemetry table."""

    rows_added: dict[str, int]
    rows_erased: dict[str, int]


def _rows(engine: Engine) -> dict[str, int]:
    tables = (db.privacy_requests, db.request_transitions, db.objections, db.receipts, db.access_events)
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables}


def _erased(engine: Engine, request_ids: list[str]) -> dict[str, int]:
    s = db.erasure_steps.c
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(s.target, sa.func.sum(s.rows_removed))
                                 .where(s.store == erasure.TELEMETRY, s.request_id.in_(request_ids))
                                 .group_by(s.target)).all())


def seed_requests(engine: Engine, store: TelemetryStore, *, seed: int, end_date: date, days: int) -> History:
    """File and work the demo's request history in time order; returns what it changed."""
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(db.employees.c.employee_id)).scalars())
    stories = plan(ids, seed, end_date, days)
    before = _rows(engine)
    office, directory, people = _office(engine), employee_directory(engine), {}

    def employee(employee_id: str) -> Principal:
        if employee_id not in people:
            with engine.connect() as conn:
                sub = conn.execute(sa.select(db.employees.c.oidc_sub)
                                   .where(db.employees.c.employee_id == employee_id)).scalar_one()
            found = directory.by_subject(sub)
            assert found is not None, "the id was read from the employees table"
            people[employee_id] = _principal(found, frozenset({EMPLOYEE}))
        return people[employee_id]

    timeline = sorted((moment, i, n) for i, s in enumerate(stories) for n, (moment, _) in enumerate(s.steps))
    request_ids: dict[int, str] = {}
    for moment, i, n in timeline:
        story = stories[i]
        request_ids[i] = _step(engine, store, office, story, request_ids.get(i), story.steps[n][1], moment, employee)
    after = _rows(engine)
    return History({name: after[name] - before[name] for name in after}, _erased(engine, list(request_ids.values())))
