"""What the works council sees: collection volume, access counts and request statistics.

Every figure goes through :func:`portal.council.aggregates.publish`, so every shown cell
describes at least ``settings.k_anonymity`` distinct people, no figure about
1..k-1 people can be recovered by subtracting shown figures over nested
populations, and numbers of people are rounded to a multiple of k (invariant 2;
the model and its reasons are in ``docs/council-privacy.md``). A *release*
is one family of views published in one call; the page, its download and the
``portal aggregates`` command all read the same release, so they show exactly
the same figures.

Releases:

* ``collection``: telemetry records per person x department x category x week,
  from the Delta tables joined to the employees' departments. The family is
  (), (department,), (category,), (department, category), (category, week)
  and (department, category, week): every grouping the page or the command
  offers, protected together. Weekly totals per department (over all
  categories) are not offered: the page has no use for them, and every view
  added to the family is one more set of margins to protect.
* ``access``: access events by actor kind x purpose x category; the person is the
  subject pseudonym the event describes. A person's reads of their own data are
  not counted (they are not an access by someone else).
* ``requests``: objections and requests by kind x status x deadline outcome,
  from a pluggable source (:data:`RequestSource`; by default the request
  register, :func:`default_request_source`); with no requests the release is
  empty and says "No requests recorded yet".

Noise. With ``settings.dp_epsilon`` set, every count column of every view gets
Laplace noise from :func:`portal.council.aggregates.add_noise` with epsilon spent once
per view and column (basic composition). The sensitivity is the most one person
can change the column over the whole view: for ``people`` the number of cells a
person can fall in (one department a week, so as many departments as the most
departments anyone was in over the period; every category and week could be
another cell), for a summed measure that number times a per-person,
per-cell cap the measure is clipped to before summing (:data:`CAPS`; only with
noise on). Which cells are suppressed is decided on the exact counts and is not
itself differentially private.

Caches, and why they are safe:

* Per-file rollups (:mod:`portal.lake.volume_rollup`): records per subject and week
  for each Delta data file, in process memory and in ``data_dir/rollups``. That
  is a copy of personal data; rows of a data file are kept only while the file
  exists, erasure calls :func:`forget_cached_copies` after vacuuming (which
  prunes the stored rollups) and verifies that no stored rollup names the person.
* Published releases (:mod:`portal.council.releases`), in memory and in the release
  store (``data_dir/releases/<name>.parquet`` beside a local lake,
  ``<lake>/_portal/releases`` beside one on object storage): suppressed (and noised) figures only,
  keyed by what they were computed from (Delta table versions, the department
  of every employee, access log position, family, k, epsilon). Persisting them
  is what keeps noise meaningful and the command's figures equal to the page's.
  Differences between two successive releases (say before and after one
  person's erasure) are not protected; see the limits in :mod:`portal.council.aggregates`.

Where the work runs. Every release function takes an optional ``batch``
(:class:`portal.council.publishing.Batch`): the rollups of data files no stored rollup covers
and the publishing of each family run there. ``None`` is this process (polars, as always);
:mod:`portal.engines` supplies a Ray engine too. The figures do not depend on it: a release's key
says nothing about the engine, and both give the same figures (with noise off; with noise on no two
computations draw alike, see :mod:`portal.council.publishing`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.council import publishing, releases
from portal.council.publishing import Batch, PublishJob, Views
from portal.core import caches, catalog, db
from portal.core.i18n import N_, _
from portal.identity import policy
from portal.lake import volume_rollup
from portal.identity.principal import Principal
from portal.council.releases import Release
from portal.core.lake_location import LakeLocation
from portal.core.settings import Settings
from portal.lake.telemetry import TelemetryStore

# Part of every release key: a stored release of an older format is recomputed, never shown.
# 2: people rounded to a multiple of k, no people-difference suppression (docs/council-privacy.md).
RELEASE_FORMAT = 2
COLLECTION, ACCESS, REQUESTS = "collection", "access", "requests"
COLLECTION_DIMENSIONS = ("department", "category", "week")
ACCESS_DIMENSIONS = ("actor_kind", "purpose", "category")
REQUEST_DIMENSIONS = ("kind", "status", "deadline")
MEASURES = {COLLECTION: ("records",), ACCESS: ("events",), REQUESTS: ("requests",)}
# Per-person, per-finest-cell caps on summed measures, applied only when noise is on:
# three application segments in every 15-minute window of a week; a daily access; ten requests.
CAPS = {"records": 3 * 4 * 24 * 7, "events": 7, "requests": 10}
BY_CHOICES = ("department", "category")
PERIODS = {"week": True, "none": False, "all": False}
# Stored in the releases as they are; marked so that the tables can show them translated.
NO_DEPARTMENT = N_("(no department on record)")
NO_PURPOSE = N_("(no registered purpose)")
MET, MISSED, NOT_DUE = "met", "missed", "not yet due"
REQUEST_COLUMNS = {"person": pl.String, "kind": pl.String, "status": pl.String, "met_deadline": pl.Boolean}
NO_REQUESTS = ("No requests recorded yet. Objection and request figures appear here once the "
               "request register holds some.")


class WorksCouncilError(ValueError):
    """A figure cannot be produced as asked; the message says what is wrong and what is valid."""


# Every grouping the page or the command offers, in one family (see the module docstring).
COLLECTION_VIEWS = [(), ("department",), ("category",), ("department", "category"), ("category", "week"),
                    ("department", "category", "week")]
# Not the full lattice: services read nearly everyone, so nested access cells often differ by a
# handful of people and the margins would cascade until nothing is shown. The finest view with
# per-category and overall totals survives.
ACCESS_VIEWS = [ACCESS_DIMENSIONS, ("category",), ()]
REQUEST_VIEWS = [("kind",), ("kind", "status"), ("kind", "deadline"), ()]


@dataclass(frozen=True)
class Overview:
    """Everything the council overview page shows, from three releases."""

    k: int
    epsilon: float | None
    collection: Release
    access: Release
    requests: Release


def _key(name: str, fingerprint: object, k: int, epsilon: float | None) -> str:
    family = {COLLECTION: COLLECTION_VIEWS, ACCESS: ACCESS_VIEWS, REQUESTS: REQUEST_VIEWS}[name]
    return releases.key([RELEASE_FORMAT, name, family, CAPS, fingerprint, k, epsilon])


def release_store(settings: Settings) -> LakeLocation:
    """Where the releases are stored: a derived store of the lake, shared by every replica."""
    return settings.lake_location.derived("releases")


def _cached(settings: Settings, name: str, key: str, dims: Sequence[str],
            compute: Callable[[], Views]) -> Release:
    return releases.cached(release_store(settings), name, key, dims, compute, settings.k_anonymity,
                           settings.dp_epsilon)


def _publisher(batch: Batch | None) -> publishing.Publisher:
    return publishing.IN_PROCESS if batch is None else batch


def forget_cached_copies(settings: Settings | None = None) -> None:
    """Drop the in-memory rollups and releases; with ``settings``, also the stored releases of its
    lake's release store, and prune its stored rollups to the data files that still exist. Erasure does
    this (through :mod:`portal.core.caches`) after vacuuming, so that no copy of an erased person's
    data outlives it."""
    if settings is None:
        volume_rollup.forget()
    else:
        volume_rollup.forget(settings.lake_location)
    _forget_releases(settings)


def _forget_releases(settings: Settings | None) -> None:
    releases.forget(release_store(settings) if settings is not None else None, (COLLECTION, ACCESS, REQUESTS))


caches.register("releases", "the works council's releases (in memory and stored)", _forget_releases)


# ---- publishing ---------------------------------------------------------------


def collection_job(facts: pl.DataFrame, k: int, epsilon: float | None = None) -> PublishJob:
    """The collection family from facts ``person, department, category, week, records``, as a job."""
    # A person is in one department a week; one who moved can fall in as many departments as they were in.
    most = facts.group_by("person").agg(pl.col("department").n_unique())["department"].max()
    moves = most if isinstance(most, int) and most > 0 else 1
    sizes = {"category": len(catalog.CATEGORIES), "week": facts["week"].n_unique(), "department": moves}
    return _job(COLLECTION, facts, COLLECTION_DIMENSIONS, COLLECTION_VIEWS, k, epsilon, sizes)


def access_job(facts: pl.DataFrame, k: int, epsilon: float | None = None) -> PublishJob:
    """The access family from facts ``person, actor_kind, purpose, category, events``, as a job."""
    sizes = {"actor_kind": 2, "purpose": len(catalog.PURPOSES) + 1, "category": len(catalog.CATEGORIES)}
    return _job(ACCESS, facts, ACCESS_DIMENSIONS, ACCESS_VIEWS, k, epsilon, sizes)


def requests_job(facts: pl.DataFrame, k: int, epsilon: float | None = None) -> PublishJob:
    """The request family from :func:`request_facts` output, as a job."""
    sizes = {"kind": 3, "status": 7, "deadline": 3}
    return _job(REQUESTS, facts, REQUEST_DIMENSIONS, REQUEST_VIEWS, k, epsilon, sizes)


def _job(name: str, facts: pl.DataFrame, dims: Sequence[str], views: Sequence[tuple[str, ...]], k: int,
         epsilon: float | None, sizes: dict[str, int]) -> PublishJob:
    return PublishJob(name, facts, tuple(dims), tuple(tuple(v) for v in views), MEASURES[name], k, epsilon,
                      sizes, {m: CAPS[m] for m in MEASURES[name]})


def publish_collection(facts: pl.DataFrame, k: int, epsilon: float | None = None) -> Views:
    """The collection family from facts ``person, department, category, week, records`` (pure)."""
    return publishing.run(collection_job(facts, k, epsilon))


def publish_access(facts: pl.DataFrame, k: int, epsilon: float | None = None) -> Views:
    """The access family from facts ``person, actor_kind, purpose, category, events`` (pure)."""
    return publishing.run(access_job(facts, k, epsilon))


def publish_requests(facts: pl.DataFrame, k: int, epsilon: float | None = None) -> Views:
    """The request family from :func:`request_facts` output (pure)."""
    return publishing.run(requests_job(facts, k, epsilon))


def _settings_k(settings: Settings) -> int:
    k = settings.k_anonymity
    if not isinstance(k, int) or k < 2:
        raise WorksCouncilError(f"PORTAL_K_ANONYMITY must be at least 2 (got {k!r}); nothing is shown")
    eps = settings.dp_epsilon
    if eps is not None and not (isinstance(eps, int | float) and math.isfinite(eps) and eps > 0):
        raise WorksCouncilError(f"PORTAL_DP_EPSILON must be a positive number (got {eps!r}); nothing is shown")
    return k


# ---- collection volume -------------------------------------------------------


_DEPARTMENT_SCHEMA = {"subject_id": pl.String, "department": pl.String, "valid_from": pl.Date, "valid_to": pl.Date}


def _departments(engine: Engine) -> pl.DataFrame:
    """``subject_id, department, valid_from, valid_to``: each person's department over time (the directory's
    dated changes); a person with no dated row is in their current department throughout."""
    e, h = db.employees.c, db.employee_departments.c
    with engine.connect() as conn:
        dated = conn.execute(sa.select(h.employee_id, h.department, h.valid_from, h.valid_to)
                             .order_by(h.employee_id, h.valid_from.is_not(None), h.valid_from)).all()
        undated = conn.execute(sa.select(e.employee_id, e.department, sa.null(), sa.null())
                               .where(~sa.exists().where(h.employee_id == e.employee_id))
                               .order_by(e.employee_id)).all()
    frame = pl.DataFrame([*dated, *undated], schema=_DEPARTMENT_SCHEMA, orient="row")
    return frame.sort("subject_id", pl.col("valid_from").is_not_null(), "valid_from")


def collection_facts(store: TelemetryStore, departments: pl.DataFrame,
                     rollups: volume_rollup.FileRollups | None = None) -> pl.DataFrame:
    """One row per person x category x week: ``person, department, category, week, records``; the
    department is the one the person was in that week (a week belongs to the department they were in on
    its Monday). Data files no stored rollup covers are rolled up by ``rollups`` (this process when None)."""
    volume = volume_rollup.weekly_records(store) if rollups is None else volume_rollup.weekly_records(store, rollups)
    if "valid_from" not in departments.columns:  # one department per person, undated
        departments = departments.with_columns(pl.lit(None, pl.Date).alias("valid_from"),
                                               pl.lit(None, pl.Date).alias("valid_to"))
    # An integer code per person is much faster to publish; a person keeps one code across departments.
    people = departments.select("subject_id").unique(maintain_order=True).with_row_index("person")
    within = ((pl.col("valid_from").is_null() | (pl.col("week") >= pl.col("valid_from")))
              & (pl.col("valid_to").is_null() | (pl.col("week") < pl.col("valid_to"))))
    placed = (volume.join(departments, on="subject_id", how="inner").filter(within)
              .unique(["subject_id", "category", "week"], keep="first", maintain_order=True)
              .drop("valid_from", "valid_to"))
    rest = volume.join(placed.select("subject_id", "category", "week"), on=["subject_id", "category", "week"],
                       how="anti").with_columns(pl.lit(None, pl.String).alias("department"))
    facts = pl.concat([placed, rest.select(placed.columns)]).join(people, on="subject_id", how="left")
    if facts["person"].null_count():  # telemetry of subjects without an employee record get codes of their own
        strangers = facts.filter(pl.col("person").is_null())["subject_id"].unique().sort()
        codes = pl.DataFrame({"subject_id": strangers,
                              "stranger": pl.int_range(people.height, people.height + len(strangers), eager=True)})
        facts = (facts.join(codes, on="subject_id", how="left")
                 .with_columns(pl.coalesce(pl.col("person").cast(pl.Int64), "stranger").alias("person")))
    return facts.select(pl.col("person").cast(pl.Int64), pl.col("department").fill_null(NO_DEPARTMENT),
                        "category", "week", "records")


@dataclass(frozen=True)
class _Plan:
    """A release to look up by its key, or to compute: ``job()`` reads its facts and returns the family."""

    name: str
    key: str
    dims: tuple[str, ...]
    job: Callable[[], PublishJob]


def _release(settings: Settings, plan: _Plan, batch: Batch | None) -> Release:
    return _cached(settings, plan.name, plan.key, plan.dims, lambda: _publisher(batch).publish([plan.job()])[0])


def _collection_plan(settings: Settings, engine: Engine, store: TelemetryStore, batch: Batch | None) -> _Plan:
    k = _settings_k(settings)
    departments = _departments(engine)
    digest = hashlib.sha256(departments.write_csv().encode()).hexdigest()
    key = _key(COLLECTION, [volume_rollup.versions(store), digest], k, settings.dp_epsilon)

    def job() -> PublishJob:
        facts = collection_facts(store, departments, None if batch is None else batch.rollups)
        if facts.is_empty():
            raise WorksCouncilError(_("the telemetry lake holds no records yet, so there is nothing to count"))
        return collection_job(facts, k, settings.dp_epsilon)

    return _Plan(COLLECTION, key, COLLECTION_DIMENSIONS, job)


def collection_release(settings: Settings, engine: Engine, store: TelemetryStore,
                       batch: Batch | None = None) -> Release:
    """The collection-volume release, for callers that hold the stores (the command line); its heavy work
    runs on ``batch`` (this process when None).

    Pages go through :func:`collection_volume`, which checks policy first.
    """
    return _release(settings, _collection_plan(settings, engine, store, batch), batch)


def collection_view(by: str | Sequence[str], period: str) -> tuple[str, ...]:
    """The view for ``--by`` (comma-separated or a list) and ``--period``, or a clear error."""
    parts = [p.strip() for p in by.split(",")] if isinstance(by, str) else [str(p).strip() for p in by]
    parts = [p for p in parts if p]
    unknown = [p for p in parts if p not in BY_CHOICES]
    if unknown or not parts:
        what = (_("unknown grouping {names}").format(names=", ".join(repr(p) for p in unknown)) if unknown
                else _("no grouping given"))
        raise WorksCouncilError(_("{what}; group by one or both of: {choices} (e.g. department,category)").format(
            what=what, choices=", ".join(BY_CHOICES)))
    if len(set(parts)) != len(parts):
        raise WorksCouncilError(_("grouping {grouping} names a dimension twice").format(grouping=",".join(parts)))
    if period not in PERIODS:
        raise WorksCouncilError(_("unknown period {period}; valid periods: {periods}").format(
            period=repr(period), periods=", ".join(PERIODS)))
    view = tuple(d for d in BY_CHOICES if d in parts)
    view = (*view, "week") if PERIODS[period] else view
    if view not in COLLECTION_VIEWS:
        raise WorksCouncilError(_(
            "--by {grouping} --period {period} is not offered: the published figures have no weekly totals per "
            "department over all categories. Offered: {offered}").format(
                grouping=",".join(parts), period=period,
                offered="; ".join(_describe(v) for v in COLLECTION_VIEWS if v)))
    return view


def _describe(view: tuple[str, ...]) -> str:
    dims = [d for d in view if d != "week"]
    return f"--by {','.join(dims)} --period {'week' if 'week' in view else 'all'}"


# ---- access counts -------------------------------------------------------------


def _access_state(engine: Engine) -> list:
    e = db.access_events.c
    with engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count(), sa.func.max(e.seq))).one()
        actors = conn.execute(sa.select(sa.func.count()).select_from(db.actors)).scalar_one()
    return [int(events[0]), events[1], int(actors)]


def access_facts(engine: Engine) -> pl.DataFrame:
    """One row per subject x actor kind x purpose x category with the number of ``events``."""
    e, a = db.access_events.c, db.actors.c
    kind = sa.func.coalesce(a.kind, "unknown")
    purpose = sa.func.coalesce(e.purpose_code, NO_PURPOSE)
    query = (sa.select(e.subject_pseudonym, kind, purpose, e.category_key, sa.func.count())
             .select_from(db.access_events.outerjoin(db.actors, e.actor_id == a.actor_id))
             .where(sa.or_(a.pseudonym.is_(None), a.pseudonym != e.subject_pseudonym))
             .group_by(e.subject_pseudonym, kind, purpose, e.category_key))
    with engine.connect() as conn:
        found = conn.execute(query).all()
    schema = {"person": pl.String, "actor_kind": pl.String, "purpose": pl.String, "category": pl.String,
              "events": pl.Int64}
    return pl.DataFrame(found, schema=schema, orient="row")


def _access_plan(settings: Settings, engine: Engine) -> _Plan:
    k = _settings_k(settings)
    key = _key(ACCESS, _access_state(engine), k, settings.dp_epsilon)
    return _Plan(ACCESS, key, ACCESS_DIMENSIONS, lambda: access_job(access_facts(engine), k, settings.dp_epsilon))


def access_release(settings: Settings, engine: Engine, batch: Batch | None = None) -> Release:
    return _release(settings, _access_plan(settings, engine), batch)


# ---- requests and objections ---------------------------------------------------

RequestSource = Callable[[Engine], "pl.DataFrame | None"]
"""Returns one row per request: ``person`` (any stable id of the requester, e.g. a pseudonym),
``kind`` (erasure, objection, access), ``status`` (submitted ... completed, rejected,
withdrawn) and ``met_deadline`` (True: answered in time; False: the deadline passed
without an answer or the answer came late; null: open and not yet due). None or an
empty frame means no requests are recorded."""




def default_request_source(engine: Engine, today: date | None = None) -> pl.DataFrame | None:
    """Requests from the request register (``db.privacy_requests``), None when it holds none.

    Whether a deadline was met is decided by :func:`portal.privacy.request_views.register_frame`:
    a closed request by the time of its closing transition against the deadline in
    force (the extended one if any); an open one has missed it once it has passed.
    """
    from portal.privacy.request_views import register_frame

    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(db.privacy_requests.name):
            return None
    frame = register_frame(engine, today)
    return None if frame.is_empty() else frame


def request_facts(frame: pl.DataFrame) -> pl.DataFrame:
    """Validate the documented input frame and add the ``deadline`` outcome and a ``requests`` count."""
    missing = [c for c in REQUEST_COLUMNS if c not in frame.columns]
    if missing:
        raise WorksCouncilError(_("request source lacks column(s) {columns}; expected {expected}").format(
            columns=", ".join(missing), expected=", ".join(REQUEST_COLUMNS)))
    try:
        frame = frame.select(pl.col(c).cast(t, strict=True) for c, t in REQUEST_COLUMNS.items())
    except pl.exceptions.PolarsError as exc:
        raise WorksCouncilError(_("request source has values of the wrong type: {why}").format(
            why=str(exc).splitlines()[0])) from None
    nulls = [c for c in ("person", "kind", "status") if frame[c].null_count()]
    if nulls:
        raise WorksCouncilError(_("request source has empty {columns}; every request needs them").format(
            columns=", ".join(nulls)))
    deadline = (pl.when(pl.col("met_deadline").is_null()).then(pl.lit(NOT_DUE))
                .when(pl.col("met_deadline")).then(pl.lit(MET)).otherwise(pl.lit(MISSED)))
    return frame.select("person", "kind", "status", deadline.alias("deadline"), pl.lit(1).alias("requests"))


def _request_plan(settings: Settings, engine: Engine, source: RequestSource | None) -> _Plan | None:
    """None when no request is recorded (the release is then empty and says so)."""
    k = _settings_k(settings)
    raw = (source or default_request_source)(engine)
    if raw is None or raw.is_empty():
        return None
    facts = request_facts(raw)
    digest = hashlib.sha256(facts.sort(facts.columns).write_csv().encode()).hexdigest()
    key = _key(REQUESTS, digest, k, settings.dp_epsilon)
    return _Plan(REQUESTS, key, REQUEST_DIMENSIONS, lambda: requests_job(facts, k, settings.dp_epsilon))


def request_release(settings: Settings, engine: Engine, source: RequestSource | None = None,
                    batch: Batch | None = None) -> Release:
    plan = _request_plan(settings, engine, source)
    if plan is None:
        empty = pl.DataFrame(schema={"person": pl.String, **{d: pl.String for d in REQUEST_DIMENSIONS}})
        views = {v: publishing.empty_view(empty, v, MEASURES[REQUESTS]) for v in REQUEST_VIEWS}
        return Release(REQUESTS, views, settings.k_anonymity, settings.dp_epsilon, "empty", datetime.now(UTC),
                       NO_REQUESTS)
    return _release(settings, plan, batch)


def publish_all(settings: Settings, engine: Engine, store: TelemetryStore, batch: Batch | None = None) -> None:
    """Compute and store the three releases now (after seeding or an ingest), so that the next reader,
    in any process, gets stored figures. An empty lake leaves the collection release for later. The
    families not stored yet are published together on ``batch`` (side by side on an engine that can)."""
    plans = [_collection_plan(settings, engine, store, batch), _access_plan(settings, engine)]
    plans += [p for p in [_request_plan(settings, engine, None)] if p is not None]
    where = release_store(settings)
    todo: list[tuple[_Plan, PublishJob]] = []
    for plan in plans:
        if releases.lookup(where, plan.name, plan.key, plan.dims) is not None:
            continue
        with suppress(WorksCouncilError):  # nothing collected yet: the page says so when it is opened
            todo.append((plan, plan.job()))
    published = _publisher(batch).publish([job for _plan, job in todo])
    for (plan, _job), views in zip(todo, published, strict=True):
        releases.keep(where, Release(plan.name, views, settings.k_anonymity, settings.dp_epsilon, plan.key,
                                     datetime.now(UTC)), plan.dims)


# ---- for a signed-in principal -------------------------------------------------


def overview(principal: Principal, settings: Settings, engine: Engine, store: TelemetryStore,
             request_source: RequestSource | None = None, batch: Batch | None = None) -> Overview:
    """The three releases for the council overview page; needs ``aggregates:read``."""
    policy.ensure(principal, "aggregates:read")
    return Overview(settings.k_anonymity, settings.dp_epsilon, collection_release(settings, engine, store, batch),
                    access_release(settings, engine, batch), request_release(settings, engine, request_source, batch))


def collection_volume(principal: Principal, settings: Settings, engine: Engine,
                      store: TelemetryStore, batch: Batch | None = None) -> Release:
    policy.ensure(principal, "aggregates:read")
    return collection_release(settings, engine, store, batch)
