"""What carrying out a privacy request will touch, read before anything changes.

Per store and table the rows concerned; the training dataset versions that hold
the person's data in scope, with the status they will get (an erasure:
:data:`REBUILD_REQUIRED`, "must be rebuilt before the next training run"; an
objection: :data:`REBUILD_PENDING`, "to be rebuilt without you after your
opt-out"); the models trained on them; and what is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import catalog, db
from portal.core.i18n import N_
from portal.identity.pseudonyms import pseudonym_of
from portal.privacy.privacy_requests import Request
from portal.privacy.request_states import Kind
from portal.lake.telemetry import TelemetryStore

TELEMETRY, METADATA, CACHE, EXPORT, VERIFY = "telemetry", "metadata", "cache", "export", "verify"

REBUILD_REQUIRED = "rebuild_required"
REBUILD_PENDING = "rebuild_pending"
# The words a receipt records beside the status: signed, so always these English words; a page translates
# them where it shows them (_(DATASET_STATUS_WORDS[status])).
DATASET_STATUS_WORDS = {
    REBUILD_REQUIRED: N_("must be rebuilt before the next training run"),
    REBUILD_PENDING: N_("to be rebuilt without you after your opt-out"),
}
UNTOUCHED_STATUSES = frozenset({"retired", "deleted"})  # no longer used: nothing to rebuild

KEPT = (
    "the request and its history (the history names nobody: it shows roles and pseudonyms)",
    "the employee record (HR master data), so the person can still sign in and read the receipt",
    "a salted hash of the subject id, so training-set builds can still refuse the person's data",
    "the access log entries, intact and verifiable, but no longer linked to the person",
    "performance records, kept under the employment contract",
)


@dataclass(frozen=True)
class TableImpact:
    store: str
    table: str
    what: str
    rows: int
    version: int | None = None


@dataclass(frozen=True)
class DatasetImpact:
    dataset_id: str
    name: str
    version: str
    purpose: str
    status: str
    new_status: str
    records: int

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.name, "version": self.version, "purpose": self.purpose,
                "status_before": self.status, "status": self.new_status,
                "status_words": DATASET_STATUS_WORDS.get(self.new_status, self.new_status.replace("_", " ")),
                "records_of_the_person": self.records}


@dataclass(frozen=True)
class ModelImpact:
    model_id: str
    name: str
    version: str
    datasets: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.name, "version": self.version, "trained_on": list(self.datasets)}


@dataclass(frozen=True)
class ErasurePlan:
    request_id: str
    kind: Kind
    scope: str
    tables: tuple[TableImpact, ...]
    datasets: tuple[DatasetImpact, ...]
    models: tuple[ModelImpact, ...]
    kept: tuple[str, ...] = field(default=())

    @property
    def telemetry_rows(self) -> int:
        return sum(t.rows for t in self.tables if t.store == TELEMETRY)


def plan(engine: Engine, store: TelemetryStore, request: Request) -> ErasurePlan:
    """What carrying out ``request`` will touch, read before anything changes.

    The caller obtained ``request`` through :func:`privacy_requests.get`, which checks policy.
    """
    employee_id, cats = request.employee_id, request.category_keys
    tables = []
    for key in cats:
        cat = catalog.category(key)
        verb = {Kind.ERASURE: "rows to delete", Kind.ACCESS: "rows to copy"}.get(request.kind, "rows (kept)")
        tables.append(TableImpact(TELEMETRY, cat.table_name, f"{cat.name}: {verb}",
                                  store.count(cat.table_name, employee_id), store.version(cat.table_name)))
    with engine.connect() as conn:
        pseudonym = pseudonym_of(conn, employee_id)
        datasets = datasets_touched(conn, pseudonym, request)
        models = models_of(conn, datasets)
        if request.kind == Kind.ERASURE:
            m = db.dataset_members.c
            members = 0 if pseudonym is None else conn.execute(
                sa.select(sa.func.count()).where(m.subject_pseudonym == pseudonym, m.category_key.in_(cats))
            ).scalar_one()
            tables.append(TableImpact(METADATA, "dataset_members", "dataset memberships to delete", members))
            if request.erases_everything:
                events = 0 if pseudonym is None else conn.execute(
                    sa.select(sa.func.count()).select_from(db.access_events)
                    .where(db.access_events.c.subject_pseudonym == pseudonym)).scalar_one()
                tables.append(TableImpact(METADATA, "pseudonyms", "link to the person to delete (a fresh one "
                                          "is made for the future)", int(pseudonym is not None)))
                tables.append(TableImpact(METADATA, "access_events", "entries kept, no longer linked", events))
            tables.append(TableImpact(METADATA, "erasure_tombstones", "salted hash to add", 1))
        elif request.kind == Kind.OBJECTION:
            count = int(bool(request.purpose_code)) + len(request.categories or ())
            tables.append(TableImpact(METADATA, "objections", "active objections to record", count))
    return ErasurePlan(request.request_id, request.kind, request.scope, tuple(tables), tuple(datasets),
                       tuple(models), plan_kept(request))


def datasets_touched(conn: Connection, pseudonym: str | None, request: Request) -> list[DatasetImpact]:
    if pseudonym is None or request.kind == Kind.ACCESS:
        return []
    m, d = db.dataset_members.c, db.datasets.c
    query = (sa.select(d.dataset_id, d.name, d.version, d.purpose_code, d.status,
                       sa.func.sum(m.record_count).label("records"))
             .join(db.datasets, d.dataset_id == m.dataset_id).where(m.subject_pseudonym == pseudonym)
             .group_by(d.dataset_id, d.name, d.version, d.purpose_code, d.status).order_by(d.name, d.version))
    if request.kind == Kind.ERASURE:
        query = query.where(m.category_key.in_(request.category_keys))
        target = REBUILD_REQUIRED
    else:
        conditions = []
        if request.purpose_code:
            conditions.append(d.purpose_code == request.purpose_code)
        if request.categories:
            conditions.append(m.category_key.in_(request.categories))
        query = query.where(sa.or_(*conditions))
        target = REBUILD_PENDING
    impacts = []
    for r in conn.execute(query):
        new = r.status if r.status in UNTOUCHED_STATUSES or r.status == REBUILD_REQUIRED else target
        purpose = catalog.PURPOSE_BY_CODE.get(r.purpose_code)
        impacts.append(DatasetImpact(r.dataset_id, r.name, r.version, purpose.name if purpose else r.purpose_code,
                                     r.status, new, int(r.records or 0)))
    return impacts


def models_of(conn: Connection, datasets: list[DatasetImpact]) -> list[ModelImpact]:
    if not datasets:
        return []
    labels = {d.dataset_id: f"{d.name} {d.version}" for d in datasets}
    md, mo = db.model_datasets.c, db.models.c
    trained: dict[str, tuple[Any, list[str]]] = {}
    for r in conn.execute(sa.select(mo.model_id, mo.name, mo.version, md.dataset_id)
                          .join(db.models, mo.model_id == md.model_id).where(md.dataset_id.in_(labels))):
        trained.setdefault(r.model_id, (r, []))[1].append(labels[r.dataset_id])
    return [ModelImpact(r.model_id, r.name, r.version, tuple(sorted(ds)))
            for r, ds in sorted(trained.values(), key=lambda x: (x[0].name, x[0].version))]



def plan_kept(request: Request) -> tuple[str, ...]:
    if request.kind != Kind.ERASURE:
        return ()
    return KEPT if request.erases_everything else KEPT[:3] + (
        "the person's other categories and the link of the access log to them",)

