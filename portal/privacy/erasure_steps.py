"""The steps that carry out a privacy request, each recorded in ``erasure_steps``.

A step's row is written when it starts and marked done (``done_at``) in the same
transaction as its effect where the effect is in the metadata DB; a telemetry
step counts the rows first, then deletes, vacuums and cleans the Delta log
(idempotent), then marks itself done. A step that is done is never run again;
one that failed keeps its error for the queue until it succeeds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core.times import as_utc
from portal.core import cache_epoch, caches, catalog, db, i18n
from portal.core.i18n import _
from portal.privacy import optout
from portal.identity.pseudonyms import pseudonym_of
from portal.privacy.erasure_plan import (
    CACHE, EXPORT, METADATA, TELEMETRY, DatasetImpact, ModelImpact, datasets_touched, models_of,
)
from portal.identity.principal import Principal
from portal.privacy.privacy_requests import Request
from portal.privacy.request_states import Kind
from portal.lake.telemetry import TelemetryStore

Progress = Callable[[float, str], None]


# Set while a run is recorded at a moment other than the clock's (erasure.execute's ``now``).
_RECORDED_AT: ContextVar[datetime | None] = ContextVar("erasure_recorded_at", default=None)


def utc_now() -> datetime:
    """The time a run records: the clock's, or the moment the run is recorded at."""
    return _RECORDED_AT.get() or datetime.now(UTC)


@contextmanager
def recorded_at(moment: datetime | None) -> Iterator[None]:
    """Record every time of the run inside as ``moment`` (None: the clock's)."""
    if moment is None:
        yield
        return
    token = _RECORDED_AT.set(as_utc(moment))
    try:
        yield
    finally:
        _RECORDED_AT.reset(token)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = as_utc(moment)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Run:
    engine: Engine
    store: TelemetryStore
    principal: Principal
    request: Request
    report: Progress

    @property
    def data_dir(self) -> Path:
        return Path(self.store.settings.data_dir)


def step_where(request_id: str, store: str, target: str) -> sa.ColumnElement[bool]:
    s = db.erasure_steps.c
    return sa.and_(s.request_id == request_id, s.store == store, s.target == target)


def step_row(conn: Connection, request_id: str, store: str, target: str) -> sa.Row | None:
    return conn.execute(sa.select(db.erasure_steps).where(step_where(request_id, store, target))).first()


def open_step(conn: Connection, request_id: str, store: str, target: str) -> sa.Row:
    if step_row(conn, request_id, store, target) is None:
        conn.execute(sa.insert(db.erasure_steps).values(request_id=request_id, store=store, target=target,
                                                        started_at=utc_now()))
    row = step_row(conn, request_id, store, target)
    assert row is not None  # inserted above if it was missing
    return row


def finish_step(conn: Connection, request_id: str, store: str, target: str, **values: Any) -> None:
    if "detail" in values:
        values["detail"] = json.dumps(values["detail"], sort_keys=True)
    conn.execute(sa.update(db.erasure_steps).where(step_where(request_id, store, target))
                 .values(done_at=utc_now(), error=None, **values))


def fail_step(engine: Engine, request_id: str, store: str, target: str, message: str) -> None:
    with engine.begin() as conn:
        open_step(conn, request_id, store, target)
        conn.execute(sa.update(db.erasure_steps).where(step_where(request_id, store, target))
                     .values(error=message[:2000], done_at=None))


@dataclass(frozen=True)
class _Step:
    store: str
    target: str
    label: str
    run: Callable[[Run], None]


def _telemetry_step(key: str) -> _Step:
    cat = catalog.category(key)

    def run(r: Run) -> None:
        table, subject = cat.table_name, r.request.employee_id
        with r.engine.begin() as conn:
            row = open_step(conn, r.request.request_id, TELEMETRY, table)
            if row.rows_before is None:  # counted once, before anything is deleted
                conn.execute(sa.update(db.erasure_steps).where(step_where(r.request.request_id, TELEMETRY, table))
                             .values(rows_before=r.store.count(table, subject), version_before=r.store.version(table)))
            row = cast(sa.Row, step_row(conn, r.request.request_id, TELEMETRY, table))  # opened above
        erased = r.store.erase_subject(table, subject)
        left = r.store.count(table, subject)
        # A crash after the delete committed loses its count; rows_before minus what is left recovers it.
        # Rows appended meanwhile and removed by a re-opened step add to an earlier attempt's count.
        removed = max((row.rows_removed or 0) + erased.rows_removed, row.rows_before - left)
        with r.engine.begin() as conn:
            finish_step(conn, r.request.request_id, TELEMETRY, table, version_after=erased.version_after,
                        rows_removed=removed, detail={"files_vacuumed": erased.files_vacuumed,
                                                      "log_entries_removed": erased.log_entries_removed})

    return _Step(TELEMETRY, cat.table_name, _("Erasing {category}").format(
        category=cat.name.lower() if i18n.language() == "en" else cat.name), run)


def _flag_datasets(conn: Connection, impacts: list[DatasetImpact]) -> None:
    for impact in impacts:
        if impact.new_status != impact.status:
            conn.execute(sa.update(db.datasets).where(db.datasets.c.dataset_id == impact.dataset_id)
                         .values(status=impact.new_status))


def _impact_detail(row: sa.Row, impacts: list[DatasetImpact], models: list[ModelImpact]) -> dict[str, Any]:
    """This attempt's datasets and models joined to those an earlier, re-opened attempt recorded."""
    earlier = json.loads(row.detail) if row.detail else {"datasets": [], "models": []}
    found = {(d["dataset"], d["version"]): d for d in earlier["datasets"] + [i.as_dict() for i in impacts]}
    trained = {(m["model"], m["version"]): m for m in earlier["models"] + [m.as_dict() for m in models]}
    return {"datasets": [found[k] for k in sorted(found)], "models": [trained[k] for k in sorted(trained)]}


def _members_step(r: Run) -> None:
    with r.engine.begin() as conn:
        row = open_step(conn, r.request.request_id, METADATA, "dataset_members")
        pseudonym = pseudonym_of(conn, r.request.employee_id)
        impacts = datasets_touched(conn, pseudonym, r.request)
        models = models_of(conn, impacts)
        _flag_datasets(conn, impacts)
        removed = 0
        if pseudonym is not None:
            m = db.dataset_members.c
            removed = conn.execute(sa.delete(db.dataset_members).where(
                m.subject_pseudonym == pseudonym, m.category_key.in_(r.request.category_keys))).rowcount
        finish_step(conn, r.request.request_id, METADATA, "dataset_members",
                    rows_removed=(row.rows_removed or 0) + removed,
                detail=_impact_detail(row, impacts, models))


def _pseudonym_step(r: Run) -> None:
    """Delete the link; records kept under the contract move to a fresh pseudonym."""
    with r.engine.begin() as conn:
        open_step(conn, r.request.request_id, METADATA, "pseudonyms")
        old = pseudonym_of(conn, r.request.employee_id)
        moved = 0
        if old is not None:
            fresh = secrets.token_hex(16)
            conn.execute(sa.delete(db.pseudonyms).where(db.pseudonyms.c.employee_id == r.request.employee_id))
            conn.execute(sa.insert(db.pseudonyms).values(pseudonym=fresh, employee_id=r.request.employee_id))
            moved = conn.execute(sa.update(db.dataset_members).where(db.dataset_members.c.subject_pseudonym == old)
                                 .values(subject_pseudonym=fresh)).rowcount
        # The person's notices name who read their data and when: they go with the link to those reads.
        notices = conn.execute(sa.delete(db.notices).where(db.notices.c.employee_id == r.request.employee_id)).rowcount
        finish_step(conn, r.request.request_id, METADATA, "pseudonyms", rows_removed=int(old is not None),
                detail={"link_replaced": old is not None, "kept_memberships_moved": moved,
                        "notices_deleted": notices})


def _tombstone_step(r: Run) -> None:
    salt = optout.salt(r.data_dir)
    with r.engine.begin() as conn:
        open_step(conn, r.request.request_id, METADATA, "erasure_tombstones")
        cats = None if r.request.erases_everything else r.request.category_keys
        optout.record_tombstone(conn, salt, r.request.employee_id, r.request.request_id, cats, utc_now())
        finish_step(conn, r.request.request_id, METADATA, "erasure_tombstones", rows_removed=0)


def _cache_step(r: Run) -> None:
    from portal.privacy import export

    cleared = caches.forget(r.store.settings)
    cache_epoch.bump(r.engine)  # every process sharing the DB (replicas, a running portal) drops theirs too
    copies = export.purge_copies(export.copies_dir(r.data_dir), employee_id=r.request.employee_id)
    with r.engine.begin() as conn:
        open_step(conn, r.request.request_id, CACHE, "caches")
        finish_step(conn, r.request.request_id, CACHE, "caches", rows_removed=copies, detail={"cleared": [
            *cleared, f"prepared copies of the person's data ({copies} file(s))"]})


def _objections_step(r: Run) -> None:
    q = r.request
    with r.engine.begin() as conn:
        open_step(conn, q.request_id, METADATA, "objections")
        ids = optout.record_objections(conn, q.employee_id, q.request_id, q.purpose_code, q.categories or (), utc_now())
        finish_step(conn, q.request_id, METADATA, "objections", rows_removed=0, detail={"objections": ids})


def _datasets_step(r: Run) -> None:
    with r.engine.begin() as conn:
        row = open_step(conn, r.request.request_id, METADATA, "datasets")
        impacts = datasets_touched(conn, pseudonym_of(conn, r.request.employee_id), r.request)
        models = models_of(conn, impacts)
        _flag_datasets(conn, impacts)
        finish_step(conn, r.request.request_id, METADATA, "datasets", rows_removed=0,
                detail=_impact_detail(row, impacts, models))


def copy_path(data_dir: str | Path, request: Request) -> Path:
    from portal.privacy import export

    return export.copies_dir(Path(data_dir)) / f"copy-{request.employee_id}-{request.request_id}.zip"


def _copy_step(r: Run) -> None:
    from portal.privacy import export

    q = r.request
    with r.engine.begin() as conn:
        open_step(conn, q.request_id, EXPORT, "copy")
    report = export.build_copy_for_subject(
        r.engine, r.store, r.principal, q.employee_id, copy_path(r.data_dir, q), f"access request {q.request_id}",
        naming=r.store.settings.actor_naming, overwrite=True, now=utc_now())
    with r.engine.begin() as conn:
        finish_step(conn, q.request_id, EXPORT, "copy", rows_removed=0, detail={
            "sha256": sha256_of(report.path), "bytes": report.bytes, "file": report.path.name,
            "records": dict(sorted(report.records.items()))})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def steps(request: Request) -> list[_Step]:
    """The steps of a request, in order."""
    if request.kind == Kind.ERASURE:
        found = [_telemetry_step(k) for k in request.category_keys]
        found.append(_Step(METADATA, "dataset_members", _("Removing dataset memberships"), _members_step))
        if request.erases_everything:
            found.append(_Step(METADATA, "pseudonyms", _("Unlinking the access log"), _pseudonym_step))
        found.append(_Step(METADATA, "erasure_tombstones", _("Leaving a salted-hash tombstone"), _tombstone_step))
        found.append(_Step(CACHE, "caches", _("Clearing cached copies"), _cache_step))
        return found
    if request.kind == Kind.OBJECTION:
        return [_Step(METADATA, "objections", _("Recording the objection"), _objections_step),
                _Step(METADATA, "datasets", _("Flagging datasets for rebuilding"), _datasets_step)]
    return [_Step(EXPORT, "copy", _("Building the copy"), _copy_step)]

