"""What there is to tell people: new reads (flagged ones and the privacy office's lookups), changes of their
requests, decisions on collectors of their data, and the digests of periods that ended.

Each append-only source (access events, request transitions, collector decisions) is read from where the
last run stopped (``notice_marks``, by ``seq``); a source never read before is read from
:data:`FIRST_LOOKBACK` ago, so a portal that turns notifications on does not send years of history.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from portal.audit.my_access import AccessEvent, events_for_subject
from portal.core import db
from portal.core.settings import Settings
from portal.core.times import as_utc
import portal.notify.notices as notices
import portal.notify.wording as wording
from portal.notify.notices import Draft
from portal.notify.preferences import DAILY, DEFAULT_DIGEST, OFF, WEEKLY
from portal.privacy import subject_lookup

FIRST_LOOKBACK = timedelta(days=7)
ACCESS, REQUESTS, COLLECTORS = "access_events", "request_transitions", "collector_decisions"
COLLECTOR_EVENTS = ("approved", "resumed", "suspended")
Words = Callable[[], tuple[str, str]]


@dataclass(frozen=True)
class Pending:
    """A notice to create once its recipient's language is known: ``words`` renders it in that language."""

    employee_id: str
    source_key: str
    kind: str
    words: Words

    def draft(self) -> Draft:
        subject, body = self.words()
        return Draft(self.employee_id, self.source_key, self.kind, subject, body)


def marks(conn: Connection) -> dict[str, int]:
    return {r.source: int(r.seq) for r in conn.execute(sa.select(db.notice_marks))}


def set_mark(conn: Connection, source: str, seq: int, known: dict[str, int]) -> None:
    if source in known:
        conn.execute(sa.update(db.notice_marks).where(db.notice_marks.c.source == source).values(seq=seq))
    else:
        conn.execute(sa.insert(db.notice_marks).values(source=source, seq=seq))


def _start(conn: Connection, table: sa.Table, time_column: str, known: dict[str, int], source: str,
           now: datetime) -> int:
    """The seq after which this run reads ``table``."""
    if source in known:
        return known[source]
    first = conn.execute(sa.select(sa.func.min(table.c.seq))
                         .where(table.c[time_column] >= as_utc(now - FIRST_LOOKBACK))).scalar()
    return int(first) - 1 if first is not None else int(conn.execute(sa.select(sa.func.max(table.c.seq))).scalar() or 0)


def _top(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.max(table.c.seq))).scalar() or 0)


def _is_lookup(e: AccessEvent) -> bool:
    return e.purpose_code == subject_lookup.PURPOSE and (e.query_id or "").startswith("lookup-")


def new_reads(conn: Connection, settings: Settings, known: dict[str, int], now: datetime
              ) -> tuple[list[Pending], int]:
    """Immediate notices: one per person for the flagged reads since the last run, one per lookup."""
    e, p = db.access_events.c, db.pseudonyms.c
    after, last = _start(conn, db.access_events, "ingested_at", known, ACCESS, now), _top(conn, db.access_events)
    rows = conn.execute(sa.select(e.seq, e.event_id, e.occurred_at, p.employee_id)
                        .select_from(db.access_events.join(db.pseudonyms, e.subject_pseudonym == p.pseudonym))
                        .where(e.seq > after, e.seq <= last)).all()
    fresh: dict[str, set[str]] = defaultdict(set)
    since: dict[str, datetime] = {}
    for r in rows:
        fresh[r.employee_id].add(r.event_id)
        since[r.employee_id] = min(since.get(r.employee_id, as_utc(r.occurred_at)), as_utc(r.occurred_at))
    base = settings.public_url
    pending: list[Pending] = []
    memo: dict = {}  # breadth counts shared by everyone's events in this run
    for employee_id in sorted(fresh):
        events = [ev for ev in events_for_subject(conn, employee_id, naming=settings.actor_naming,
                                                  since=since[employee_id], max_principals=settings.max_principals,
                                                  memo=memo)
                  if ev.event_id in fresh[employee_id]]
        events.sort(key=lambda ev: (ev.occurred_at, ev.event_id))
        flagged = [ev for ev in events if ev.flag_labels and not _is_lookup(ev)]
        if flagged:
            key = hashlib.sha256(",".join(ev.event_id for ev in flagged).encode()).hexdigest()[:24]
            pending.append(Pending(employee_id, f"flagged:{employee_id}:{key}", notices.FLAGGED_READS,
                                   partial(wording.flagged_reads, flagged, base)))
        lookups: dict[str, list[AccessEvent]] = defaultdict(list)
        for ev in events:
            if _is_lookup(ev):
                lookups[ev.query_id or ev.event_id].append(ev)
        for query_id, group in sorted(lookups.items()):
            pending.append(Pending(employee_id, f"lookup:{employee_id}:{query_id}", notices.LOOKUP,
                                   partial(wording.lookup, group, base)))
    return pending, max(after, last)


def request_changes(conn: Connection, settings: Settings, known: dict[str, int], now: datetime
                    ) -> tuple[list[Pending], int]:
    t, r = db.request_transitions.c, db.privacy_requests.c
    after, last = _start(conn, db.request_transitions, "at", known, REQUESTS, now), _top(conn, db.request_transitions)
    rows = conn.execute(sa.select(t.seq, t.request_id, t.event, t.to_status, t.reason, r.employee_id, r.kind,
                                  r.deadline, r.extended_deadline, r.extension_reason)
                        .select_from(db.request_transitions.join(db.privacy_requests, t.request_id == r.request_id))
                        .where(t.seq > after, t.seq <= last).order_by(t.seq)).all()
    base = settings.public_url
    pending = [Pending(row.employee_id, f"request:{row.seq}", notices.REQUEST,
                       partial(wording.request_change,
                               request_id=row.request_id, kind=row.kind, event=row.event, to_status=row.to_status,
                               deadline=row.extended_deadline or row.deadline,
                               reason=row.extension_reason if row.event == "extended" else row.reason, base_url=base))
               for row in rows]
    return pending, max(after, last)


def collector_changes(conn: Connection, settings: Settings, known: dict[str, int], now: datetime,
                      holders: Callable[[str], Iterable[str]]) -> tuple[list[Pending], int]:
    """A notice to everyone with data in a collector's category when the works council approves, resumes or
    suspends it. ``holders(category_key)`` names the people the lake holds data of in that category."""
    from portal.core import catalog

    d, c = db.collector_decisions.c, db.collectors.c
    after, last = _start(conn, db.collector_decisions, "at", known, COLLECTORS, now), _top(conn, db.collector_decisions)
    rows = conn.execute(sa.select(d.seq, d.collector_name, d.event, d.reason, c.category_key)
                        .select_from(db.collector_decisions.join(db.collectors, d.collector_name == c.name))
                        .where(d.seq > after, d.seq <= last, d.event.in_(COLLECTOR_EVENTS)).order_by(d.seq)).all()
    base = settings.public_url
    pending: list[Pending] = []
    for row in rows:
        category = catalog.CATEGORY_BY_KEY.get(row.category_key)
        name = category.name if category else row.category_key
        for employee_id in sorted(set(holders(row.category_key))):
            pending.append(Pending(employee_id, f"collector:{row.seq}:{employee_id}", notices.COLLECTOR,
                                   partial(wording.collector_change,
                                           name=row.collector_name, category=name, event=row.event,
                                           reason=row.reason, base_url=base)))
    return pending, max(after, last)


def digest_period(frequency: str, now: datetime) -> tuple[date, date]:
    """The last whole period before ``now`` (UTC): yesterday, or last week from Monday to Sunday."""
    today = as_utc(now).date()
    if frequency == DAILY:
        return today - timedelta(days=1), today - timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def digests(conn: Connection, settings: Settings, now: datetime) -> Iterator[Pending]:
    """The digest of the last whole period for everyone read by someone else in it, unless sent already."""
    chosen = {r.employee_id: r.digest for r in conn.execute(
        sa.select(db.notice_settings.c.employee_id, db.notice_settings.c.digest))}
    e, p, a = db.access_events.c, db.pseudonyms.c, db.actors.c
    base = settings.public_url
    memo: dict = {}  # breadth counts shared by everyone's events in this run
    for frequency in (DAILY, WEEKLY):
        first, last = digest_period(frequency, now)
        start = datetime.combine(first, datetime.min.time()).replace(tzinfo=as_utc(now).tzinfo)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time()).replace(tzinfo=as_utc(now).tzinfo)
        read = conn.execute(sa.select(p.employee_id).distinct()
                            .select_from(db.access_events.join(db.pseudonyms, e.subject_pseudonym == p.pseudonym)
                                         .outerjoin(db.actors, e.actor_id == a.actor_id))
                            .where(e.occurred_at >= start, e.occurred_at < end,
                                   sa.or_(a.pseudonym.is_(None), a.pseudonym != e.subject_pseudonym))).scalars()
        people = [emp for emp in read if chosen.get(emp, DEFAULT_DIGEST) == frequency]
        keys = {emp: f"digest:{emp}:{frequency}:{first.isoformat()}" for emp in people}
        done = notices.existing_keys(conn, keys.values())
        for employee_id in sorted(people):
            if keys[employee_id] in done:
                continue
            events = [ev for ev in events_for_subject(conn, employee_id, naming=settings.actor_naming, since=start,
                                                      max_principals=settings.max_principals, memo=memo)
                      if ev.occurred_at < end]
            if not events:
                continue
            events.sort(key=lambda ev: (ev.occurred_at, ev.event_id))
            yield Pending(employee_id, keys[employee_id], notices.DIGEST,
                          partial(wording.digest, events, frequency=frequency, start=first, end=last,
                                  base_url=base))


__all__ = ["ACCESS", "COLLECTORS", "OFF", "REQUESTS", "WEEKLY", "Pending", "collector_changes", "digest_period",
           "digests", "marks", "new_reads", "request_changes", "set_mark"]
