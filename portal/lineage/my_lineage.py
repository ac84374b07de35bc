"""Where a person's data went: the training dataset versions that include them and the models trained on
those, as the person sees them. The lineage itself arrives through :mod:`portal.lineage.openlineage`.

This module does not import the OpenLineage client (most of a second to import): the page that shows a
person's lineage, and their copy, need only the stored rows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.audit.my_access import own_subject
from portal.core import catalog, db, i18n
from portal.core.i18n import N_, _, ngettext
from portal.core.times import as_utc
from portal.identity.principal import Principal
from portal.identity.pseudonyms import pseudonym_of

# Dataset statuses and how they are said to a member of the dataset (marked here, translated where said).
# A rebuild is for the people who asked for it: the member who asked is told that their data will be left out
# (STATUS_WORDS); a member who did not is told that the rebuild is for others and their data stays (OTHERS_WORDS).
STATUS_WORDS = {
    "active": N_("in use"),
    "building": N_("being built"),
    "rebuild_pending": N_("to be rebuilt without you after your opt-out"),
    "rebuild_required": N_("to be rebuilt before the next training run without the data you had erased"),
    "rebuilt": N_("rebuilt; the new version no longer includes the people who opted out"),
    "superseded": N_("superseded by a newer version"),
    "retired": N_("retired: no longer used for training"),
    "deleted": N_("deleted"),
}
OTHERS_WORDS = {
    "rebuild_pending": N_("in use; to be rebuilt without colleagues who opted out, and your data stays in it"),
    "rebuild_required": N_("in use; to be rebuilt before the next training run without the data colleagues had "
                           "erased, and your data stays in it"),
}


# ---- what a person sees ----------------------------------------------------------


@dataclass(frozen=True)
class DatasetUse:
    """One dataset version that includes the person."""

    dataset_id: str
    name: str
    version: str
    namespace: str  # where the dataset lives (s3://bucket, bigquery ...); "" when it was not recorded
    created_at: datetime
    purpose_code: str
    purpose: str
    owner: str
    status: str
    status_words: str
    records: tuple[tuple[str, int], ...]  # (category name, records of the person)
    models: tuple[str, ...]  # "name version" of models trained on it
    mine: bool = False  # whether the person's own objection or erasure is why it is rebuilt (then it is for them)
    # "name version", readable; with the namespace only when another of the person's datasets has the same name
    # and version, so that two datasets are never drawn as one.
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", f"{self.name} {self.version}")

    @property
    def stored_in(self) -> str:
        return self.namespace or _("not recorded")

    @property
    def total_records(self) -> int:
        return sum(n for _name, n in self.records)


@dataclass(frozen=True)
class ModelUse:
    model_id: str
    name: str
    version: str
    trained_at: datetime
    owner: str
    datasets: tuple[str, ...]  # labels of the person's datasets it was trained on

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class Lineage:
    datasets: tuple[DatasetUse, ...]
    models: tuple[ModelUse, ...]

    @property
    def empty(self) -> bool:
        return not self.datasets

    def sentence(self) -> str:
        if self.empty:
            return _("Your data is in no training dataset, and no model was trained on it.")
        n_d, n_m = len(self.datasets), len(self.models)
        names = len({(d.namespace, d.name) for d in self.datasets})
        versions = ngettext("{n} training dataset version", "{n} training dataset versions", n_d).format(
            n=i18n.number(n_d))
        if names != n_d:
            versions = _("{versions} ({datasets})").format(
                versions=versions, datasets=ngettext("{n} dataset", "{n} datasets", names).format(
                    n=i18n.number(names)))
        if n_m:
            head = ngettext("Your data is in {versions} and was used to train {n} model version.",
                            "Your data is in {versions} and was used to train {n} model versions.", n_m).format(
                versions=versions, n=i18n.number(n_m))
        else:
            head = _("Your data is in {versions}; no model has been trained on it yet.").format(versions=versions)
        pending = [d for d in self.datasets if d.status == "rebuild_pending" and d.mine]
        if pending:
            head += " " + ngettext("{n} of these dataset versions is to be rebuilt without you after your opt-out.",
                                   "{n} of these dataset versions are to be rebuilt without you after your opt-out.",
                                   len(pending)).format(n=i18n.number(len(pending)))
        return head


def status_words(status: str, *, asked_by_member: bool = True) -> str:
    """``status`` in words for a member, in the language in use; ``asked_by_member`` False when the rebuild is
    for others' objections or erasures, not the member's own."""
    if not asked_by_member and status in OTHERS_WORDS:
        return _(OTHERS_WORDS[status])
    if status in STATUS_WORDS:
        return _(STATUS_WORDS[status])
    return status.replace("_", " ")


def _objects_to(objections: Sequence[sa.Row], purpose_code: str, categories: set[str]) -> bool:
    """Whether one of the person's objections covers a dataset of this purpose holding these categories."""
    return any((o.purpose_code is None or o.purpose_code == purpose_code)
               and (o.category_key is None or o.category_key in categories) for o in objections)


def _erased_from(conn: Connection, employee_id: str) -> set[tuple[str, str]]:
    """(name, version) of the datasets the person's own erasures flagged for rebuilding."""
    s, r = db.erasure_steps.c, db.privacy_requests.c
    flagged: set[tuple[str, str]] = set()
    for detail in conn.execute(
            sa.select(s.detail).select_from(db.erasure_steps.join(db.privacy_requests, s.request_id == r.request_id))
            .where(r.employee_id == employee_id, r.kind == "erasure", s.target == "dataset_members",
                   s.detail.is_not(None))).scalars():
        try:
            datasets = json.loads(detail).get("datasets", [])
        except (ValueError, AttributeError):
            continue
        flagged |= {(str(d.get("dataset")), str(d.get("version"))) for d in datasets if isinstance(d, dict)}
    return flagged


def where_my_data_went(engine: Engine, principal: Principal) -> Lineage:
    """The datasets and models that include the signed-in person's data."""
    subject = own_subject(principal, "lineage:read_own")
    with engine.connect() as conn:
        return lineage_for_subject(conn, subject)


def lineage_for_subject(conn: Connection, employee_id: str) -> Lineage:
    """Lineage of one person, for callers that already checked policy."""
    pseudonym = pseudonym_of(conn, employee_id)
    if pseudonym is None:
        return Lineage((), ())
    d, m, md, mo = db.datasets.c, db.dataset_members.c, db.model_datasets.c, db.models.c
    records: dict[str, list[tuple[str, int]]] = defaultdict(list)
    keys: dict[str, set[str]] = defaultdict(set)
    for row in conn.execute(sa.select(m.dataset_id, m.category_key, m.record_count)
                            .where(m.subject_pseudonym == pseudonym)):
        cat = catalog.CATEGORY_BY_KEY.get(row.category_key)
        records[row.dataset_id].append((cat.name if cat else row.category_key, int(row.record_count)))
        keys[row.dataset_id].add(row.category_key)
    objections = conn.execute(sa.select(db.objections.c.purpose_code, db.objections.c.category_key)
                              .where(db.objections.c.employee_id == employee_id)).all()
    if not records:
        return Lineage((), ())
    erased = _erased_from(conn, employee_id)
    ids = sorted(records)
    datasets = {r.dataset_id: r for r in conn.execute(sa.select(db.datasets).where(d.dataset_id.in_(ids)))}
    trained: dict[str, list] = defaultdict(list)
    model_rows = {}
    for row in conn.execute(sa.select(md.dataset_id, db.models).join(db.models, md.model_id == mo.model_id)
                            .where(md.dataset_id.in_(ids))):
        trained[row.dataset_id].append(row)
        model_rows[row.model_id] = row
    order = {c.name: i for i, c in enumerate(catalog.CATEGORIES)}
    uses = []
    for dataset_id in ids:
        ds = datasets[dataset_id]
        purpose = catalog.PURPOSE_BY_CODE.get(ds.purpose_code)
        models = sorted(trained.get(dataset_id, []), key=lambda r: (r.name, r.version))
        mine = (_objects_to(objections, ds.purpose_code, keys[dataset_id])
                or (ds.status == "rebuild_required" and (ds.name, ds.version) in erased))
        uses.append(DatasetUse(
            dataset_id=dataset_id, name=ds.name, version=ds.version, namespace=ds.namespace,
            created_at=as_utc(ds.created_at),
            purpose_code=ds.purpose_code, purpose=purpose.name if purpose else ds.purpose_code, owner=ds.owner,
            status=ds.status, mine=mine, status_words=status_words(ds.status, asked_by_member=mine),
            records=tuple(sorted(records[dataset_id], key=lambda r: order.get(r[0], 99))),
            models=tuple(f"{r.name} {r.version}" for r in models)))
    uses = _labelled(uses)
    uses.sort(key=lambda u: (u.name, u.created_at, u.namespace))
    labels = {u.dataset_id: u.label for u in uses}
    model_uses = []
    for model_id, row in model_rows.items():
        mine = sorted(labels[r.dataset_id] for rs in trained.values() for r in rs if r.model_id == model_id)
        model_uses.append(ModelUse(model_id, row.name, row.version, as_utc(row.trained_at), row.owner, tuple(mine)))
    model_uses.sort(key=lambda u: (u.name, u.trained_at))
    return Lineage(tuple(uses), tuple(model_uses))


def _labelled(uses: list[DatasetUse]) -> list[DatasetUse]:
    short = Counter((u.name, u.version) for u in uses)
    return [u if short[(u.name, u.version)] == 1 else replace(u, label=f"{u.name} {u.version} ({u.stored_in})")
            for u in uses]


def datasets_frame(lineage: Lineage) -> pl.DataFrame:
    return pl.DataFrame(
        [{"Dataset": u.name, "Version": u.version, "Stored in": u.stored_in, "Created": u.created_at,
          "Purpose": u.purpose, "Owner": u.owner, "Status": u.status_words,
          "Your records in it": ", ".join(f"{name}: {i18n.number(n)}" for name, n in u.records),
          "Models trained on it": ", ".join(u.models) or _("none yet")} for u in lineage.datasets],
        schema={"Dataset": pl.String, "Version": pl.String, "Stored in": pl.String,
                "Created": pl.Datetime("us", "UTC"), "Purpose": pl.String, "Owner": pl.String, "Status": pl.String,
                "Your records in it": pl.String, "Models trained on it": pl.String},
    )


def models_frame(lineage: Lineage) -> pl.DataFrame:
    return pl.DataFrame(
        [{"Model": u.name, "Version": u.version, "Trained": u.trained_at, "Owner": u.owner,
          "Trained on (your datasets)": ", ".join(u.datasets)} for u in lineage.models],
        schema={"Model": pl.String, "Version": pl.String, "Trained": pl.Datetime("us", "UTC"), "Owner": pl.String,
                "Trained on (your datasets)": pl.String},
    )


def flows(lineage: Lineage) -> pl.DataFrame:
    """Links for the Sankey: category -> dataset version -> model, weighted by the person's records."""
    rows = []
    for u in lineage.datasets:
        rows += [{"source": name, "target": u.label, "records": n, "stage": "category"} for name, n in u.records]
        rows += [{"source": u.label, "target": model, "records": u.total_records, "stage": "dataset"}
                 for model in u.models]
    return pl.DataFrame(rows, schema={"source": pl.String, "target": pl.String, "records": pl.Int64,
                                      "stage": pl.String})

