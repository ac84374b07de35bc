"""How broadly each telemetry category can be read, may be read, and is read.

Three things are compared per catalog category:

* **can read**: principals holding a grant (:mod:`portal.council.grants`) that is active
  in a week; a group counts with its member count, so the figure is an upper
  bound where groups overlap;
* **may read**: the policy, below;
* **did read**: distinct people (person-actors) who read *other* people's data
  of the category in a week (Monday 00:00 UTC to Monday), from ``access_events``.
  This is the same count :mod:`portal.audit.access_events` uses to flag over-exposure to
  the person whose data was read. Services are counted separately: they are
  not people browsing colleagues' data.

The policy model
----------------

Breadth is only meaningful against a limit that means the same thing in a
company of 300 and of 50,000. The policy has three parts:

1. **Roles.** ``allowed_roles`` (catalog) say who may read a category at all.
   A read, or a grant, in any other role is a *breach*, whatever the numbers:
   the demo's meeting-search rollout that opened transcripts to all of
   engineering, or an "all employees" group on performance records.
2. **A count, for data read by a small team.** Activity and content data are
   read by a few specialist teams (security operations, people analytics, the
   ML platform, compliance, the privacy office) and by services. Their size
   does not grow with the company, so the limit is a count of principals:
   ``max_principals`` (catalog), or the company's own figure per category from
   ``PORTAL_MAX_PRINCIPALS`` (:mod:`portal.core.exposure_policy`; the page says which
   applies). Both grants (can read, services included) and people who read in
   a week (did read) are held to it; more is *over the maximum*. A group whose
   membership grows with the company (an HR group everyone was added to) is
   caught here.
3. **Scoped roles, for data read along a relationship.** Line managers read
   their direct reports' performance records. There are as many line managers
   as teams, so no fixed count fits, and a limit derived from headcount would
   grow with exactly the breadth it should catch. What keeps this access narrow
   is its scope, enforced by the source system: each manager sees only their
   own reports. A catalog :class:`~portal.core.catalog.ScopedRole` therefore
   takes the role out of the count (its grants and readers are shown apart)
   and checks, from what was actually read, that reads look like that
   relationship: per person and week at most ``readers_per_person`` readers in
   the role, and per reader and week at most ``people_per_reader`` people (a
   span of control). A manager browsing other teams, or many managers reading
   one person, is *over the maximum*. Grants in a scoped role are shown with
   their member count but not held to a count: the scope, not the number of
   holders, bounds what each holder can read, and whether the scope holds is
   judged from the reads (the metadata DB does not hold reporting lines). A
   scoped role stays an allowed role only in its own category: line managers
   reading chat is a breach.

A grant's role is its group's name for a group grant and the actor's role for a
person or service grant; roles and group names are compared ignoring ``-``
versus ``_`` (group ``privacy-office`` is role ``privacy_office``).

What the page may show: readers are counted, never named, and a grant held by
one person is shown as "one person" with the role. The number of people whose
data was read is about data subjects, so it goes through
:func:`portal.council.aggregates.publish` like every works-council figure (k, and noise
when configured); reader counts are about the readers' own actions and are
shown exactly. Scoped findings say how many readers, never how many or which
people were read. The findings in words are in :mod:`portal.council.exposure_findings`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.council import aggregates, exposure_findings, grants
from portal.core import caches, catalog, db, exposure_policy, i18n
from portal.core.i18n import _
from portal.identity import policy
from portal.council.exposure_model import CategoryExposure, Exposure, GrantRow
from portal.identity.principal import Principal
from portal.core.settings import Settings

ALLOWED, NOT_ALLOWED = "allowed role", "role not allowed"
# Per-week and whole-period counts of people whose data was read, by reader class. Adding the
# per-category total makes the margins hide the episode's own weeks in small companies.
SUBJECT_VIEWS = [("category", "week", "reader"), ("category", "reader")]


_norm = exposure_policy.norm_role


def role_allowed(category_key: str, role: str | None) -> bool:
    return _norm(role) in {_norm(r) for r in catalog.category(category_key).allowed_roles}


# ---- reading the log -------------------------------------------------------------


def _day(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """The UTC calendar day of a stored timestamp, in SQL."""
    if dialect == "sqlite":
        return sa.func.date(column)
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def _reads(engine: Engine) -> pl.DataFrame:
    """Distinct (category, day, actor) of reads of someone else's data, with the actor's kind and role."""
    e, a = db.access_events.c, db.actors.c
    day = _day(e.occurred_at, engine.dialect.name).label("day")
    query = (sa.select(e.category_key, day, e.actor_id, sa.func.coalesce(a.kind, "unknown"),
                       sa.func.coalesce(a.role, "unknown"))
             .select_from(db.access_events.outerjoin(db.actors, e.actor_id == a.actor_id))
             .where(sa.or_(a.pseudonym.is_(None), a.pseudonym != e.subject_pseudonym))
             .group_by(e.category_key, day, e.actor_id, a.kind, a.role))
    with engine.connect() as conn:
        found = conn.execute(query).all()
    schema = {"category": pl.String, "day": pl.String, "actor": pl.String, "kind": pl.String, "role": pl.String}
    frame = pl.DataFrame([(r[0], str(r[1]), *r[2:]) for r in found], schema=schema, orient="row")
    return frame.with_columns(aggregates.week_start(pl.col("day").str.to_date()).alias("week")).drop("day")


def _scoped_reads(engine: Engine, limits: dict[str, exposure_policy.Limit]) -> pl.DataFrame:
    """Distinct (category, role, week, actor, subject) of reads of someone else's data by people in a scoped role."""
    schema = {"category": pl.String, "role": pl.String, "day": pl.String, "actor": pl.String, "subject": pl.String}
    e, a = db.access_events.c, db.actors.c
    scoped = exposure_policy.scoped_condition(limits, e.category_key, a.role)
    if scoped is None:
        found: Sequence[Any] = []
    else:
        day = _day(e.occurred_at, engine.dialect.name).label("day")
        query = (sa.select(e.category_key, a.role, day, e.actor_id, e.subject_pseudonym)
                 .select_from(db.access_events.join(db.actors, e.actor_id == a.actor_id))
                 .where(a.kind == "person", sa.or_(a.pseudonym.is_(None), a.pseudonym != e.subject_pseudonym), scoped)
                 .group_by(e.category_key, a.role, day, e.actor_id, e.subject_pseudonym))
        with engine.connect() as conn:
            found = conn.execute(query).all()
    frame = pl.DataFrame([(c, r, str(d), x, p) for c, r, d, x, p in found], schema=schema, orient="row")
    return frame.with_columns(aggregates.week_start(pl.col("day").str.to_date()).alias("week")).drop("day").unique()


def _subject_facts(engine: Engine) -> pl.DataFrame:
    """One row per subject x category x week x reader class, for reads by people of someone else's data."""
    e, a = db.access_events.c, db.actors.c
    day = _day(e.occurred_at, engine.dialect.name).label("day")
    query = (sa.select(e.subject_pseudonym, e.category_key, day, a.role, sa.func.count())
             .select_from(db.access_events.join(db.actors, e.actor_id == a.actor_id))
             .where(a.kind == "person", sa.or_(a.pseudonym.is_(None), a.pseudonym != e.subject_pseudonym))
             .group_by(e.subject_pseudonym, e.category_key, day, a.role))
    with engine.connect() as conn:
        found = conn.execute(query).all()
    rows = [(s, c, str(d), ALLOWED if role_allowed(c, r) else NOT_ALLOWED, n) for s, c, d, r, n in found]
    schema = {"person": pl.String, "category": pl.String, "day": pl.String, "reader": pl.String, "events": pl.Int64}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return (frame.with_columns(aggregates.week_start(pl.col("day").str.to_date()).alias("week"))
            .group_by("person", "category", "week", "reader").agg(pl.col("events").sum()))


# ---- grants against policy -----------------------------------------------------------


def _grant_rows(engine: Engine, now: datetime, limits: dict[str, exposure_policy.Limit]) -> tuple[GrantRow, ...]:
    with engine.connect() as conn:
        actor_roles = dict(conn.execute(sa.select(db.actors.c.actor_id, db.actors.c.role)).all())
    moment = now.replace(tzinfo=None)
    out = []
    for g in grants.stored_grants(engine):
        if g.kind == "group":
            role = g.group_name or g.principal
            holder = _("group {name}").format(name=role)
        else:
            role = actor_roles.get(g.principal, "unknown role")
            holder = (_("service {name}").format(name=g.principal) if g.kind == "service"
                      else _("one person ({role})").format(role=role))
        if g.category_key not in catalog.CATEGORY_BY_KEY:
            continue
        active = g.granted_at <= moment and (g.expires_at is None or g.expires_at > moment)
        # Only people hold a scoped role: a service is never limited to "its own" people.
        scoped = g.kind != "service" and limits[g.category_key].scoped_role(role) is not None
        out.append(GrantRow(g.category_key, holder, g.kind, role, g.member_count, role_allowed(g.category_key, role),
                            g.granted_at.replace(tzinfo=UTC),
                            g.expires_at.replace(tzinfo=UTC) if g.expires_at else None, active, scoped))
    return tuple(out)


def _can_read(rows: tuple[GrantRow, ...], category: str, week: date) -> int:
    """Principals counted against the maximum who held a grant at some time in the week."""
    start = datetime.combine(week, datetime.min.time(), UTC)
    end = start + timedelta(days=7)
    return sum(g.members for g in rows if g.category_key == category and not g.scoped and g.granted_at < end
               and (g.expires_at is None or g.expires_at > start))


# ---- putting it together ---------------------------------------------------------------


def _with_allowed(frame: pl.DataFrame, limits: dict[str, exposure_policy.Limit]) -> pl.DataFrame:
    """Add ``allowed`` (the row's ``role`` is among its ``category``'s allowed roles) and ``scoped`` (it is
    one of the category's scoped roles, counted apart from the maximum)."""
    pairs = pl.DataFrame([(c.key, _norm(r), limits[c.key].scoped_role(r) is not None)
                          for c in catalog.CATEGORIES for r in c.allowed_roles],
                         schema={"category": pl.String, "__role": pl.String, "scoped": pl.Boolean}, orient="row")
    normalised = pl.col("role").fill_null("").str.strip_chars().str.to_lowercase().str.replace_all("_", "-")
    return (frame.with_columns(normalised.alias("__role"))
            .join(pairs.with_columns(pl.lit(True).alias("allowed")), on=["category", "__role"], how="left")
            .with_columns(pl.col("allowed").fill_null(False), pl.col("scoped").fill_null(False)).drop("__role"))


def _weekly(reads: pl.DataFrame, rows: tuple[GrantRow, ...], limits: dict[str, exposure_policy.Limit]) -> pl.DataFrame:
    people = _with_allowed(reads.filter(pl.col("kind") == "person"), limits)
    counted_allowed = pl.col("allowed") & ~pl.col("scoped")
    counted = (people.group_by("category", "week")
               .agg(pl.col("actor").filter(counted_allowed).n_unique().alias("readers_allowed"),
                    pl.col("actor").filter(~pl.col("allowed")).n_unique().alias("readers_outside"),
                    pl.col("actor").filter(~pl.col("scoped")).n_unique().alias("readers"),
                    pl.col("actor").filter(pl.col("scoped")).n_unique().alias("readers_scoped")))
    services = (reads.filter(pl.col("kind") != "person").group_by("category", "week")
                .agg(pl.col("actor").n_unique().alias("services")))
    if reads.is_empty():
        weeks: list[date] = []
    else:
        first, last = cast(date, reads["week"].min()), cast(date, reads["week"].max())
        weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    grid = pl.DataFrame([(c.key, c.name, w, limits[c.key].max_principals, _can_read(rows, c.key, w))
                         for c in catalog.CATEGORIES for w in weeks],
                        schema={"category": pl.String, "name": pl.String, "week": pl.Date, "max": pl.Int64,
                                "can_read": pl.Int64}, orient="row")
    out = grid.join(counted, on=["category", "week"], how="left").join(services, on=["category", "week"], how="left")
    counts = ["readers_allowed", "readers_outside", "readers", "readers_scoped", "services"]
    return (out.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
            .select("category", "name", "week", *counts, "can_read", "max").sort("category", "week"))


def _category(cat: catalog.Category, limits: dict[str, exposure_policy.Limit], weekly: pl.DataFrame,
              reads: pl.DataFrame, rows: tuple[GrantRow, ...], scoped: pl.DataFrame,
              subjects: dict[tuple[str, ...], pl.DataFrame], k: int) -> CategoryExposure:
    limit = limits[cat.key]
    mine = weekly.filter(pl.col("category") == cat.key)
    peak = mine.sort("readers", "week", descending=[True, False]).head(1)
    outside = (_with_allowed(reads.filter(pl.col("category") == cat.key, pl.col("kind") == "person"), limits)
               .filter(~pl.col("allowed")).group_by("role").agg(pl.col("actor").n_unique()).sort("role"))
    held = [g for g in rows if g.category_key == cat.key]
    counted_now = sum(g.members for g in held if g.active_now and not g.scoped)
    breadth = scoped.filter(pl.col("category") == cat.key)
    beyond = breadth.filter((pl.col("readers_over") > 0) | (pl.col("most_readers") > pl.col("readers_per_person")))
    result = CategoryExposure(
        key=cat.key, name=cat.name, allowed_roles=cat.allowed_roles, max_principals=limit.max_principals,
        limit_set_by=limit.set_by, can_read_now=counted_now,
        peak_can_read=int(cast("int | None", mine["can_read"].max()) or 0) if mine.height else counted_now,
        peak_readers=int(peak["readers"][0]) if peak.height else 0, peak_week=peak["week"][0] if peak.height else None,
        weeks_over_max=tuple(mine.filter(pl.col("readers") > limit.max_principals)["week"].to_list()),
        outside_readers=dict(outside.iter_rows()), violations=(), scoped_roles=limit.scoped,
        scoped_can_read_now=sum(g.members for g in held if g.active_now and g.scoped),
        peak_scoped_readers=int(cast("int | None", mine["readers_scoped"].max()) or 0) if mine.height else 0,
        scoped_weeks_over=tuple(sorted(set(beyond["week"].to_list()))))
    found = exposure_findings.violations(result, mine, held, breadth, _subjects_phrase(subjects, cat.key, k))
    return dataclasses.replace(result, violations=found)


def _subjects_phrase(subjects: dict[tuple[str, ...], pl.DataFrame], key: str, k: int) -> str:
    cell = subjects.get(("category", "reader"))
    if cell is None:
        return ""
    found = cell.filter(pl.col("category") == key, pl.col("reader") == NOT_ALLOWED)
    if not found.height:
        return ""
    people = found["people"][0]
    if people is None:
        return _("; how many people's data they read is not shown, as it could single out fewer than {k} people"
                 ).format(k=k)
    return _("; they read the data of {n} people").format(n=people)


def _publish_subjects(engine: Engine, k: int, epsilon: float | None) -> dict[tuple[str, ...], pl.DataFrame]:
    facts = _subject_facts(engine)
    if facts.is_empty():
        return {}
    out = aggregates.publish(facts, ["category", "week", "reader"], SUBJECT_VIEWS, ["events"], k)
    if epsilon is not None:
        weeks = max(1, facts["week"].n_unique())
        for view, frame in out.items():
            cells = len(catalog.CATEGORIES) * 2 * (weeks if "week" in view else 1)
            out[view] = aggregates.add_noise(frame, epsilon, ["people"], sensitivity={"people": cells})
    return {v: f.drop("events") for v, f in out.items()}


_lock = threading.Lock()
_cache: dict[str, tuple[str, Exposure]] = {}


def _forget(settings: Settings | None) -> None:
    with _lock:
        _cache.clear()


caches.register("exposure", "the exposure report (counts of readers and of people read)", _forget)


def _state(engine: Engine, settings: Settings) -> str:
    e = db.access_events.c
    with engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count(), sa.func.max(e.seq))).one()
        actors = conn.execute(sa.select(sa.func.count()).select_from(db.actors)).scalar_one()
    granted = [(g.grant_id, g.member_count, str(g.expires_at)) for g in grants.stored_grants(engine)]
    text = json.dumps([list(events), actors, granted, settings.k_anonymity, settings.dp_epsilon,
                       sorted(settings.max_principals.items()), date.today().isoformat()], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def exposure_report(settings: Settings, engine: Engine, now: datetime | None = None) -> Exposure:
    """The exposure of every category, for callers that hold the stores; pages use :func:`exposure`.

    Computed once per state of the access log and the grants (and per day, for
    "now"), then kept in memory: it holds counts only.
    """
    k = settings.k_anonymity
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"PORTAL_K_ANONYMITY must be at least 2 (got {k!r}); nothing is shown")
    slot = f"{engine.url}|{i18n.language()}"  # the findings are sentences in the reader's language
    state = _state(engine, settings) if now is None else None
    with _lock:
        cached = _cache.get(slot)
    if state is not None and cached is not None and cached[0] == state:
        return cached[1]
    moment = now or datetime.now(UTC)
    limits = exposure_policy.limits(settings.max_principals)
    reads = _reads(engine)
    rows = _grant_rows(engine, moment, limits)
    weekly = _weekly(reads, rows, limits)
    scoped = exposure_policy.scoped_breadth(_scoped_reads(engine, limits), limits)
    subjects = _publish_subjects(engine, k, settings.dp_epsilon)
    cats = tuple(_category(c, limits, weekly, reads, rows, scoped, subjects, k) for c in catalog.CATEGORIES)
    cats = tuple(sorted(cats, key=lambda c: (not c.serious, c.ok)))
    rank = {c.key: i for i, c in enumerate(cats)}
    weekly = weekly.sort(pl.col("category").replace_strict(rank, return_dtype=pl.Int32), "week")
    rows = tuple(sorted(rows, key=lambda g: (g.allowed, rank[g.category_key], g.granted_at)))
    result = Exposure(cats, weekly, subjects, rows, k, settings.dp_epsilon, moment)
    if state is not None:
        with _lock:
            _cache[slot] = (state, result)
    return result


def exposure(principal: Principal, settings: Settings, engine: Engine) -> Exposure:
    """:func:`exposure_report` for a signed-in principal; needs ``exposure:read``."""
    policy.ensure(principal, "exposure:read")
    return exposure_report(settings, engine)


def summary_frame(report: Exposure) -> pl.DataFrame:
    """One row per category: can read, may read, did read, and the verdict in words. Readers in a scoped
    role (line managers) are in their own column, not in the counts held to the maximum. Headings and
    words are in the reader's language (the frame is for reading)."""
    return pl.DataFrame({
        _("Category"): [c.name for c in report.categories],
        _("Allowed roles"): [", ".join(c.allowed_roles) for c in report.categories],
        _("At most"): [c.max_principals for c in report.categories],
        _("Limit set by"): [set_by_words(c.limit_set_by) for c in report.categories],
        _("Can read now"): [c.can_read_now for c in report.categories],
        _("Could read at peak"): [c.peak_can_read for c in report.categories],
        _("Most readers in a week"): [c.peak_readers for c in report.categories],
        _("Weeks over the maximum"): [len(c.weeks_over_max) for c in report.categories],
        _("Readers outside allowed roles"): [sum(c.outside_readers.values()) for c in report.categories],
        _("Scoped readers"): [scoped_phrase(c) for c in report.categories],
        _("Verdict"): [_(c.verdict) for c in report.categories],
    })


def set_by_words(set_by: str) -> str:
    """:attr:`portal.core.exposure_policy.Limit.set_by` ("catalog", "company (catalog: 30)") in words."""
    company = re.fullmatch(r"company \(catalog: (\d+)\)", set_by)
    if company:
        return _("company (catalog: {limit})").format(limit=company.group(1))
    return _("catalog") if set_by == "catalog" else set_by


def scoped_phrase(c: CategoryExposure) -> str:
    """The scoped readers of a category in words, e.g. "line-managers, only their direct reports: 53 can
    read now, at most 45 read in a week"; empty when the category has no scoped role."""
    if not c.scoped_roles:
        return ""
    roles = "; ".join(_("{role}, only {relation}").format(role=s.role, relation=s.relation) for s in c.scoped_roles)
    return _("{roles}: {now} can read now, at most {most} read in a week").format(
        roles=roles, now=c.scoped_can_read_now, most=c.peak_scoped_readers)


def grants_frame(report: Exposure) -> pl.DataFrame:
    names = {c.key: c.name for c in catalog.CATEGORIES}
    return pl.DataFrame({
        _("Category"): [names[g.category_key] for g in report.grants],
        _("Held by"): [g.holder for g in report.grants],
        _("People"): [g.members for g in report.grants],
        _("Role allowed"): [_("yes") if g.allowed else _("NO") for g in report.grants],
        _("Scope"): [_grant_scope(g) for g in report.grants],
        _("Granted"): [g.granted_at for g in report.grants],
        _("Expires"): [g.expires_at for g in report.grants],
        _("Active now"): [_("yes") if g.active_now else _("no") for g in report.grants],
    }, schema_overrides={_("Granted"): pl.Datetime("us", "UTC"), _("Expires"): pl.Datetime("us", "UTC")})


def _grant_scope(g: GrantRow) -> str:
    if not g.scoped:
        return _("every person's records")
    scope = next(s for s in catalog.category(g.category_key).scoped_roles if _norm(s.role) == _norm(g.role))
    return _("only {relation}").format(relation=scope.relation)


def outside_subjects_frame(report: Exposure) -> pl.DataFrame:
    """Per category and week with reads from outside the allowed roles: how many people's data was
    read (published with k: people rounded to a multiple of k, hidden cells read "hidden")."""
    weekly = report.subjects.get(("category", "week", "reader"))
    heading = {"category": _("Category"), "week": _("Week from"), "people": _("People whose data was read")}
    schema = {heading["category"]: pl.String, heading["week"]: pl.Date, heading["people"]: pl.String}
    if weekly is None:
        return pl.DataFrame(schema=schema)
    rows = weekly.filter(pl.col("reader") == NOT_ALLOWED).sort("category", "week")
    names = {c.key: c.name for c in catalog.CATEGORIES}
    hidden = _("hidden")
    return pl.DataFrame({
        heading["category"]: [names.get(c, c) for c in rows["category"].to_list()],
        heading["week"]: rows["week"].to_list(),
        heading["people"]: [hidden if p is None else i18n.number(p) for p in rows["people"].to_list()],
    }, schema=schema)
