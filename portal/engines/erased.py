"""Verifying the whole lake against every completed erasure: is any erased person's data held again?

Each erasure verified its own tables when it ran (:mod:`portal.privacy.erasure`). Afterwards data can
come back: a file restored from a backup, a collector sending an old batch again, an outside engine
writing a table directly. This check reads every Parquet data file of every table an erasure covered,
referenced by the Delta log or not, on the batch engine chosen.

What counts as a leftover: a row of the person in a table the erasure covered, whose time is at or
before the moment the erasure removed that table's rows (the ``telemetry`` step of ``erasure_steps``,
else the request's completion). Rows recorded after it are new collection about someone who still works
here, not a leftover. The person is found by the request's ``employee_id``: erasure keeps the request
and the employee record (so the person can read their receipt), and that id is what the lake's
subject column holds; only the pseudonym link of access events is removed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import catalog, db
from portal.core.lake_location import LakeLocation
from portal.core.times import as_utc
from portal.engines.engine import BatchEngine
from portal.engines.lake_rows import LakeRows, Probe
from portal.privacy import privacy_requests
from portal.privacy.erasure_plan import TELEMETRY
from portal.privacy.request_states import Kind, Status


@dataclass(frozen=True)
class Erasure:
    """A completed erasure: whose, which tables, and when each table's rows were removed."""

    request_id: str
    subject_id: str
    erased_at: dict[str, datetime]  # table name -> when its rows were removed

    def probes(self) -> list[Probe]:
        return [Probe(table, self.subject_id, at) for table, at in sorted(self.erased_at.items())]


@dataclass(frozen=True)
class Verification:
    """The lake's count for the probes, and the erasures they came from (none for ``--subject`` checks)."""

    engine: str
    erasures: tuple[Erasure, ...]
    rows: LakeRows

    @property
    def clean(self) -> bool:
        return self.rows.clean

    def requests_of(self, table_name: str, subject_id: str) -> list[Erasure]:
        return [e for e in self.erasures if e.subject_id == subject_id and table_name in e.erased_at]


def completed_erasures(engine: Engine) -> list[Erasure]:
    """Every completed erasure request, oldest first."""
    r, s = db.privacy_requests.c, db.erasure_steps.c
    with engine.connect() as conn:
        requests = conn.execute(sa.select(r.request_id, r.employee_id, r.categories, r.updated_at)
                                .where(r.kind == Kind.ERASURE.value, r.status == Status.COMPLETED.value)
                                .order_by(r.updated_at, r.request_id)).all()
        steps = conn.execute(sa.select(s.request_id, s.target, s.done_at)
                             .where(s.store == TELEMETRY, s.done_at.is_not(None))).all()
    done = {(step.request_id, step.target): as_utc(step.done_at) for step in steps}
    erasures = []
    for request in requests:
        keys = tuple(json.loads(request.categories)) if request.categories else privacy_requests.erasable()
        tables = [catalog.category(key).table_name for key in keys if key in catalog.CATEGORY_BY_KEY]
        completed = as_utc(request.updated_at)
        erasures.append(Erasure(request.request_id, request.employee_id,
                                {t: done.get((request.request_id, t), completed) for t in tables}))
    return erasures


def verify_erasures(batch: BatchEngine, location: LakeLocation, erasures: Sequence[Erasure]) -> Verification:
    """Count every erased person's rows up to their erasure in every data file of the tables it covered."""
    probes = [p for e in erasures for p in e.probes()]
    return Verification(batch.name, tuple(erasures), batch.count_rows(location, probes))


def verify_subjects(batch: BatchEngine, location: LakeLocation, subjects: Sequence[str]) -> Verification:
    """Count every row of ``subjects`` in every data file of every catalog table, whenever recorded."""
    probes = [Probe(c.table_name, s) for s in subjects for c in catalog.CATEGORIES]
    return Verification(batch.name, (), batch.count_rows(location, probes))
