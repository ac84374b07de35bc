"""What a person sees of the reads of their data: every access event by someone else, flagged in words
(no registered purpose, a role the policy does not allow, an over-exposure week), summarised and filtered."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import catalog, db, exposure_policy, i18n
from portal.core.i18n import _, ngettext
from portal.identity import policy
from portal.identity.principal import Principal
from portal.core.plain_text import clean
from portal.identity.policy import PermissionDenied
from portal.core.times import as_utc, utc_naive
from portal.identity.pseudonyms import pseudonym_of
from portal.audit.access_events import PERSON, SUMMARY_DAYS


@dataclass(frozen=True)
class AccessEvent:
    """One read of the person's data as shown to them, flags in words."""

    event_id: str
    occurred_at: datetime
    actor_id: str
    actor: str  # as shown, following settings.actor_naming
    actor_kind: str
    actor_team: str
    actor_role: str
    category_key: str
    category: str
    action: str
    purpose_code: str | None
    purpose: str
    justification: str | None
    source_system: str
    record_count: int
    query_id: str | None
    flags: tuple[str, ...] = ()  # each a sentence
    flag_labels: tuple[str, ...] = ()  # the same flags as short labels, from FLAG_LABELS

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


NO_PURPOSE, ROLE_NOT_ALLOWED, OVER_EXPOSURE = "no purpose", "role not allowed", "over-exposure"
FLAG_LABELS = (NO_PURPOSE, ROLE_NOT_ALLOWED, OVER_EXPOSURE)
FLAG_LABEL_COLOURS = ("#d62728", "#e6550d", "#9c27b0")


def actor_label(kind: str, display_name: str, team: str, role: str, naming: str) -> str:
    """How an actor is named to the person whose data they read."""
    if kind == PERSON and naming == "team_role":
        return _("Someone in {team} ({role})").format(team=team, role=role)
    return display_name


def week_start(moment: datetime) -> datetime:
    day = utc_naive(moment).date()
    return datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time())


def own_subject(principal: Principal, action: str) -> str:
    subject = principal.employee_id
    if subject is None:
        raise PermissionDenied(_("Not allowed: the company holds no employee record for you."))
    policy.ensure(principal, action, subject)
    return subject


def events_about(engine: Engine, principal: Principal, *, naming: str = "names",
                 since: datetime | None = None, max_principals: Mapping[str, int] | None = None) -> list[AccessEvent]:
    """Every access by someone else to the principal's own data, newest first, with flags.

    ``max_principals`` is the company's own limits (setting ``PORTAL_MAX_PRINCIPALS``); categories not
    in it keep the catalog's.
    """
    subject = own_subject(principal, "access_log:read_own")
    with engine.connect() as conn:
        return events_for_subject(conn, subject, naming=naming, since=since, max_principals=max_principals)


def events_for_subject(conn: Connection, employee_id: str, *, naming: str = "names",
                       since: datetime | None = None,
                       max_principals: Mapping[str, int] | None = None,
                       memo: dict | None = None) -> list[AccessEvent]:
    """The events about one person, for callers that already checked policy.

    ``memo``: a dict kept across calls for many people in one pass over a log that does not change meanwhile
    (the notifier): how many people read a category in a week, and how many people a reader read, are the same
    for every person, so they are counted once.
    """
    pseudonym = pseudonym_of(conn, employee_id)
    if pseudonym is None:
        return []
    e, a = db.access_events.c, db.actors.c
    query = (sa.select(e.event_id, e.occurred_at, e.actor_id, e.category_key, e.action, e.purpose_code,
                       e.justification, e.source_system, e.record_count, e.query_id,
                       a.kind, a.display_name, a.team, a.role, a.pseudonym.label("actor_pseudonym"))
             .select_from(db.access_events.outerjoin(db.actors, e.actor_id == a.actor_id))
             .where(e.subject_pseudonym == pseudonym)
             .order_by(e.occurred_at.desc(), e.seq.desc()))
    if since is not None:
        query = query.where(e.occurred_at >= as_utc(since))
    rows = [r for r in conn.execute(query) if r.actor_pseudonym != pseudonym]  # own reads are not "someone else"
    limits = exposure_policy.limits(max_principals)
    people = [(r, week_start(r.occurred_at)) for r in rows if r.kind == PERSON and r.category_key in limits]
    counted = {(r.category_key, start) for r, start in people if limits[r.category_key].scoped_role(r.role) is None}
    scoped = {(r.category_key, start, r.actor_id) for r, start in people
              if limits[r.category_key].scoped_role(r.role) is not None}
    breadth = _Breadth(_weekly_readers(conn, counted, limits, memo),
                       *_scoped_breadth(conn, pseudonym, scoped, limits, memo),
                       line_manager=_line_manager(conn, employee_id))
    return [_event(r, breadth, limits, naming) for r in rows]


def _line_manager(conn: Connection, employee_id: str) -> str | None:
    """The pseudonym of the person's line manager as the company's directory names them ("" when the
    directory names a manager who has no pseudonym yet; None when it names none)."""
    e, p = db.employees.c, db.pseudonyms.c
    manager = conn.execute(sa.select(e.manager_id).where(e.employee_id == employee_id)).scalar()
    if manager is None:
        return None
    return conn.execute(sa.select(p.pseudonym).where(p.employee_id == manager)).scalar() or ""


@dataclass(frozen=True)
class _Breadth:
    """How broadly the weeks of one person's events were read, for the over-exposure flag."""

    readers: dict[tuple[str, datetime], int]  # (category, week) -> people counted against the limit
    people_read: dict[tuple[str, datetime, str], int]  # (category, week, scoped reader) -> people they read
    scoped_readers: dict[tuple[str, datetime], int]  # (category, week) -> scoped readers of this person
    line_manager: str | None = None  # the person's line manager's pseudonym, from the directory


def _someone_elses(e: Any, a: Any) -> sa.ColumnElement:
    return sa.or_(a.pseudonym.is_(None), a.pseudonym != e.subject_pseudonym)


def _in_week(e: Any, category: str, start: datetime) -> sa.ColumnElement:
    return sa.and_(e.category_key == category, e.occurred_at >= as_utc(start),
                   e.occurred_at < as_utc(start + timedelta(days=7)))


def _weekly_readers(conn: Connection, weeks: set[tuple[str, datetime]],
                    limits: dict[str, exposure_policy.Limit], memo: dict | None = None
                    ) -> dict[tuple[str, datetime], int]:
    """Distinct person-actors who read someone else's data, per (category, week); scoped roles not counted."""
    e, a = db.access_events.c, db.actors.c
    result = {}
    for category, start in weeks:
        if memo is not None and ("readers", category, start) in memo:
            result[(category, start)] = memo[("readers", category, start)]
            continue
        query = (sa.select(sa.func.count(sa.distinct(e.actor_id)))
                 .select_from(db.access_events.join(db.actors, e.actor_id == a.actor_id))
                 .where(_in_week(e, category, start), a.kind == PERSON, _someone_elses(e, a)))
        if limits[category].scoped:
            query = query.where(exposure_policy.role_sql(a.role).not_in(sorted(limits[category].scoped_roles)))
        result[(category, start)] = int(conn.execute(query).scalar() or 0)
        if memo is not None:
            memo[("readers", category, start)] = result[(category, start)]
    return result


def _scoped_breadth(conn: Connection, pseudonym: str, reads: set[tuple[str, datetime, str]],
                    limits: dict[str, exposure_policy.Limit], memo: dict | None = None) -> tuple[dict, dict]:
    """For reads by people in a scoped role: how many people each such reader read in the week, and how
    many readers in a scoped role read this person (``pseudonym``) in the week."""
    e, a = db.access_events.c, db.actors.c
    people_read, scoped_readers = {}, {}
    for category, start, actor in reads:
        if memo is not None and ("people_read", category, start, actor) in memo:
            people_read[(category, start, actor)] = memo[("people_read", category, start, actor)]
            continue
        query = (sa.select(sa.func.count(sa.distinct(e.subject_pseudonym)))
                 .select_from(db.access_events.join(db.actors, e.actor_id == a.actor_id))
                 .where(_in_week(e, category, start), e.actor_id == actor, _someone_elses(e, a)))
        people_read[(category, start, actor)] = int(conn.execute(query).scalar() or 0)
        if memo is not None:
            memo[("people_read", category, start, actor)] = people_read[(category, start, actor)]
    for category, start in {(c, s) for c, s, _actor in reads}:
        query = (sa.select(sa.func.count(sa.distinct(e.actor_id)))
                 .select_from(db.access_events.join(db.actors, e.actor_id == a.actor_id))
                 .where(_in_week(e, category, start), e.subject_pseudonym == pseudonym, a.kind == PERSON,
                        _someone_elses(e, a),
                        exposure_policy.role_sql(a.role).in_(sorted(limits[category].scoped_roles))))
        scoped_readers[(category, start)] = int(conn.execute(query).scalar() or 0)
    return people_read, scoped_readers


def _in_sentence(name: str) -> str:
    """A category's name inside a sentence: lower-cased in English, as it is in German (nouns keep their capital)."""
    return name.lower() if i18n.language() == "en" else name


def _week(start: datetime) -> str:
    """The first day of a week as the flags name it: "02 Nov 2026", "02.11.2026"."""
    return f"{start:%d %b %Y}" if i18n.language() == "en" else i18n.day(start)


def _breadth_flags(r: Any, cat: catalog.Category, role: str, breadth: _Breadth,
                   limit: exposure_policy.Limit) -> list[str]:
    """The over-exposure flag of a person's read, in words (empty when the read's week was within limits)."""
    start = week_start(r.occurred_at)
    scope = limit.scoped_role(role)
    if scope is None:
        count = breadth.readers.get((r.category_key, start), 0)
        if count <= limit.max_principals:
            return []
        return [_("Part of an over-exposure episode: {count} different people read other people's {category} in "
                  "the week of {week}, more than the {limit} the policy allows.").format(
            count=i18n.number(count), category=_in_sentence(cat.name), week=_week(start),
            limit=i18n.number(limit.max_principals))]
    flags = []
    if (scope.directory_manager and breadth.line_manager is not None and r.actor_pseudonym is not None
            and r.actor_pseudonym != breadth.line_manager):
        flags.append(_("The reader, in the role {role}, may read only {relation}, but the company's directory names "
                       "someone else as your line manager.").format(role=role, relation=scope.relation))
    read = breadth.people_read.get((r.category_key, start, r.actor_id), 0)
    if read > scope.people_per_reader:
        flags.append(_("Part of an over-exposure episode: this reader, in the role {role}, read the {category} of "
                       "{count} different people in the week of {week}; the role may read only {relation}, at most "
                       "{limit} people a week.").format(
            role=role, category=_in_sentence(cat.name), count=i18n.number(read), week=_week(start),
            relation=scope.relation, limit=i18n.number(scope.people_per_reader)))
    readers = breadth.scoped_readers.get((r.category_key, start), 0)
    if readers > scope.readers_per_person:
        flags.append(_("Part of an over-exposure episode: {count} different people in the role {role} read your "
                       "{category} in the week of {week}, more than the {limit} the policy allows; the role may "
                       "read only {relation}.").format(
            count=i18n.number(readers), role=role, category=_in_sentence(cat.name), week=_week(start),
            limit=i18n.number(scope.readers_per_person), relation=scope.relation))
    return flags


def _event(r: Any, breadth: _Breadth, limits: dict[str, exposure_policy.Limit], naming: str) -> AccessEvent:
    cat = catalog.CATEGORY_BY_KEY.get(r.category_key)
    kind = r.kind or "unknown"
    display, team, role = r.display_name or r.actor_id, r.team or _("unknown team"), r.role or _("unknown role")
    purpose = catalog.PURPOSE_BY_CODE.get(r.purpose_code) if r.purpose_code else None
    flags, labels = [], []
    if purpose is None:
        flags.append(_("No registered purpose was given for this read."))
        labels.append(NO_PURPOSE)
    if cat is not None and role not in cat.allowed_roles:
        flags.append(_("The reader's role ({role}) is not one the policy allows to read {category}.").format(
            role=role, category=_in_sentence(cat.name)))
        labels.append(ROLE_NOT_ALLOWED)
    if cat is not None and kind == PERSON:
        breadth_flags = _breadth_flags(r, cat, role, breadth, limits[cat.key])
        if breadth_flags:
            flags += breadth_flags
            labels.append(OVER_EXPOSURE)
    return AccessEvent(
        event_id=r.event_id, occurred_at=as_utc(r.occurred_at), actor_id=r.actor_id,
        actor=clean(actor_label(kind, display, team, role, naming)), actor_kind=kind, actor_team=team, actor_role=role,
        category_key=r.category_key, category=cat.name if cat else r.category_key, action=r.action,
        purpose_code=r.purpose_code, purpose=purpose.name if purpose else _("none given"),
        justification=r.justification, source_system=r.source_system, record_count=int(r.record_count),
        query_id=r.query_id, flags=tuple(clean(f) for f in flags),  # a role's bidi control cannot turn a flag around
        flag_labels=tuple(labels),
    )


# ---- summary, filters and tables ------------------------------------------


def _reads(n: int) -> str:
    return ngettext("{n} read", "{n} reads", n).format(n=i18n.number(n))


@dataclass(frozen=True)
class AccessSummary:
    days: int
    services: int
    people: int
    reads: int
    no_purpose: int
    role_not_allowed: int
    over_exposure: int
    unlinked_on: date | None = None  # an erasure within the period unlinked the reads before this day

    def sentence(self) -> str:
        """One plain sentence (two when something is flagged) for the top of the page."""
        period = ngettext("In the last {n} day", "In the last {n} days", self.days).format(n=i18n.number(self.days))
        if self.unlinked_on is not None:
            day = i18n.day(self.unlinked_on)
            if self.reads == 0:
                # Not "nobody read it": the reads before the erasure are in the log, only no longer linked to you.
                return _("The record of who read your data was unlinked from you by your erasure on {day}; "
                         "no one else has read your data since.").format(day=day)
            period = _("Since your erasure on {day}").format(day=day)
        if self.reads == 0:
            return _("{period}, nobody but you read your data.").format(period=period)
        who = []
        if self.services:
            who.append(ngettext("{n} service", "{n} services", self.services).format(n=i18n.number(self.services)))
        if self.people:
            who.append(ngettext("{n} person", "{n} people", self.people).format(n=i18n.number(self.people)))
        head = _("{period}, {who} read your data ({reads})").format(period=period, who=_(" and ").join(who),
                                                                    reads=_reads(self.reads))
        if self.no_purpose:
            head += ngettext("; {n} read had no registered purpose", "; {n} reads had no registered purpose",
                             self.no_purpose).format(n=i18n.number(self.no_purpose))
        head += "."
        more = []
        if self.role_not_allowed:
            more.append(ngettext("{n} read came from a role the policy does not allow",
                                 "{n} reads came from a role the policy does not allow",
                                 self.role_not_allowed).format(n=i18n.number(self.role_not_allowed)))
        if self.over_exposure:
            more.append(ngettext("{n} read was part of an over-exposure episode",
                                 "{n} reads were part of an over-exposure episode",
                                 self.over_exposure).format(n=i18n.number(self.over_exposure)))
        if more:
            joined = _(" and ").join(more)
            head += " " + joined[:1].upper() + joined[1:] + "."
        return head


def summarize(events: list[AccessEvent], *, days: int = SUMMARY_DAYS, now: datetime | None = None,
              unlinked_at: datetime | None = None) -> AccessSummary:
    """``unlinked_at``: when an erasure unlinked the person's earlier reads (:mod:`portal.privacy.unlinking`)."""
    since = as_utc(now or datetime.now(UTC)) - timedelta(days=days)
    unlinked_on = None
    if unlinked_at is not None and as_utc(unlinked_at) > since:
        since, unlinked_on = as_utc(unlinked_at), as_utc(unlinked_at).date()
    recent = [e for e in events if e.occurred_at >= since]
    return AccessSummary(
        days=days,
        services=len({e.actor_id for e in recent if e.actor_kind != PERSON}),
        people=len({e.actor_id for e in recent if e.actor_kind == PERSON}),
        reads=len(recent),
        no_purpose=sum(1 for e in recent if e.purpose_code is None),
        role_not_allowed=sum(1 for e in recent if ROLE_NOT_ALLOWED in e.flag_labels),
        over_exposure=sum(1 for e in recent if OVER_EXPOSURE in e.flag_labels),
        unlinked_on=unlinked_on,
    )


@dataclass(frozen=True)
class FilterOptions:
    categories: tuple[str, ...]
    kinds: tuple[str, ...]
    purposes: tuple[str, ...]
    first_day: date | None
    last_day: date | None


def filter_options(events: list[AccessEvent]) -> FilterOptions:
    order = {c.name: i for i, c in enumerate(catalog.CATEGORIES)}
    days = [e.occurred_at.date() for e in events]
    return FilterOptions(
        categories=tuple(sorted({e.category for e in events}, key=lambda n: (order.get(n, 99), n))),
        kinds=tuple(sorted({e.actor_kind for e in events})),
        purposes=tuple(sorted({e.purpose for e in events})),
        first_day=min(days) if days else None,
        last_day=max(days) if days else None,
    )


def filter_events(events: list[AccessEvent], *, categories: Iterable[str] = (), kinds: Iterable[str] = (),
                  purposes: Iterable[str] = (), period: date | Iterable[date] | None = None,
                  flagged_only: bool = False) -> list[AccessEvent]:
    """Events matching every given filter; an empty selection means "any".

    ``period`` is a day or (first, last) days inclusive, as a date-range picker
    returns it: while a range is being picked it holds only the first day.
    """
    days = [] if period is None else [period] if isinstance(period, date) else list(period)
    first_day, last_day = (days[0], days[-1]) if days else (None, None)
    cats, kinds_, purps = set(categories), set(kinds), set(purposes)
    keep: Callable[[AccessEvent], bool] = lambda e: (  # noqa: E731
        (not cats or e.category in cats) and (not kinds_ or e.actor_kind in kinds_)
        and (not purps or e.purpose in purps)
        and (first_day is None or e.occurred_at.date() >= first_day)
        and (last_day is None or e.occurred_at.date() <= last_day)
        and (not flagged_only or e.flagged))
    return [e for e in events if keep(e)]


# The reason a read was flagged comes right after what was read, so nobody has to scroll sideways for it.
EVENT_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "When": pl.Datetime("us", "UTC"), "Flags": pl.List(pl.String), "Who": pl.String, "Category": pl.String,
    "Purpose": pl.String, "Flagged because": pl.String, "Records": pl.Int64, "Action": pl.String, "Justification": pl.String,
    "Kind": pl.String, "Team and role": pl.String, "Source system": pl.String, "Query or run id": pl.String,
}


def events_frame(events: list[AccessEvent]) -> pl.DataFrame:
    """The events as a table for display and export, one row per event."""
    return pl.DataFrame(
        [{"When": e.occurred_at, "Flags": list(e.flag_labels), "Who": e.actor, "Category": e.category,
          "Purpose": e.purpose,
          "Flagged because": " ".join(e.flags), "Records": e.record_count, "Action": e.action,
          "Justification": e.justification or "", "Kind": e.actor_kind,
          "Team and role": f"{e.actor_team} · {e.actor_role}", "Source system": e.source_system,
          "Query or run id": e.query_id or ""} for e in events],
        schema=EVENT_COLUMNS,
    )


def timeline_frame(events: list[AccessEvent]) -> pl.DataFrame:
    """Columns for the timeline chart: when, category, who, records, purpose, flag (word).

    Rows come in catalog order of their category, which the chart keeps top to bottom.
    """
    order = {c.key: i for i, c in enumerate(catalog.CATEGORIES)}
    events = sorted(events, key=lambda e: (order.get(e.category_key, len(order)), e.occurred_at))
    return pl.DataFrame(
        [{"when": e.occurred_at, "category": e.category, "who": e.actor, "kind": e.actor_kind,
          "records": e.record_count, "purpose": e.purpose, "action": e.action,
          "flag": "flagged" if e.flagged else "not flagged",
          "reason": " ".join(e.flags) or "—"} for e in events],
        schema={"when": pl.Datetime("us", "UTC"), "category": pl.String, "who": pl.String, "kind": pl.String,
                "records": pl.Int64, "purpose": pl.String, "action": pl.String, "flag": pl.String,
                "reason": pl.String},
    )

