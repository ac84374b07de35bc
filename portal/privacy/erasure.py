"""Carrying out approved privacy requests in every store, verifying, then issuing a signed receipt.

:func:`plan` says what a request will touch before anything happens: rows per
store and table, dataset versions to flag, models trained on them, and what is
kept. :func:`execute` carries it out:

* **erasure**: for each telemetry table in scope, ``delete`` the person's rows,
  ``vacuum`` with zero retention and replace the Delta log by a checkpoint of the
  current version, since older log entries name the person in file statistics
  and the delete predicate (:meth:`TelemetryStore.erase_subject`); then, in
  the metadata DB, flag every dataset version holding the person's erased data as
  :data:`REBUILD_REQUIRED` and delete those memberships; for an erasure of
  everything also rotate the pseudonym (the old link is deleted, so the
  append-only access events and request history stay intact but point to nobody;
  records kept under the contract move to a fresh pseudonym); leave a salted-hash
  tombstone (:mod:`portal.privacy.optout`); clear cached copies. What is kept: the
  request and its history, the employee record (HR master data, so the person can
  still sign in and read the receipt), the tombstone, active objections.
* **objection**: record active objections and flag the datasets that include the
  person for that purpose or category as :data:`REBUILD_PENDING`.
* **access**: build the person's copy (:mod:`portal.privacy.export`); the receipt states
  its SHA-256.

Each step is recorded in ``erasure_steps`` when it starts and when it is done,
so a run killed at any point finishes when started again; a done step is never
repeated. Every store is then *verified* (every Parquet file under each table
directory, referenced or not, every file of its Delta log, and the metadata
tables); only a passing
verification issues the receipt and completes the request, in one transaction.
A failing one leaves the request executing, re-opens the steps whose effect is
missing and raises :class:`VerificationFailed` naming the tables.

The plan lives in :mod:`portal.privacy.erasure_plan` and the steps in
:mod:`portal.privacy.erasure_steps`; this module runs them, verifies and issues the receipt.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import catalog, db, i18n
from portal.core.i18n import _
from portal.privacy import optout, privacy_requests, receipts
from portal.lake import volume_rollup
from portal.identity.pseudonyms import pseudonym_of
from portal.privacy.erasure_plan import (  # noqa: F401 - the plan is part of this module's interface
    CACHE, DATASET_STATUS_WORDS, EXPORT, KEPT, METADATA, REBUILD_PENDING, REBUILD_REQUIRED, TELEMETRY,
    UNTOUCHED_STATUSES, VERIFY, DatasetImpact, ErasurePlan, ModelImpact, TableImpact, plan, plan_kept,
)
from portal.privacy.erasure_steps import (  # noqa: F401 - copy_path and steps are part of this module's interface
    Progress, Run, copy_path, fail_step, finish_step, iso, open_step, recorded_at, sha256_of, step_where, steps,
    utc_now,
)
from portal.identity.principal import Principal
from portal.identity.policy import ensure
from portal.privacy.request_states import Kind, Status
from portal.lake.telemetry import TelemetryError, TelemetryStore


class ErasureError(RuntimeError):
    """A request that cannot be carried out now; the message says why."""


class VerificationFailed(ErasureError):
    """Verification found the person's data still held; the message names each table."""


# ---- verification ----------------------------------------------------------------------------


def _details(conn: Connection, request_id: str) -> dict[tuple[str, str], sa.Row]:
    rows = conn.execute(sa.select(db.erasure_steps).where(db.erasure_steps.c.request_id == request_id))
    return {(r.store, r.target): r for r in rows}


@dataclass
class _Findings:
    result: dict[str, Any] = field(default_factory=lambda: {"telemetry": {}, "metadata": {}})
    problems: list[str] = field(default_factory=list)
    reopen: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, text: str, step: tuple[str, str]) -> None:
        self.problems.append(text)
        self.reopen.append(step)


def _verify_lake(r: Run, found: _Findings) -> None:
    """Every Parquet file under each erased table, referenced or not: no row of the person; and no file of
    its Delta log (commits, checkpoints) naming the person."""
    for key in r.request.category_keys:
        table = catalog.category(key).table_name
        try:
            on_disk = r.store.rows_on_disk(table, r.request.employee_id)
            in_log = r.store.log_mentions(table, r.request.employee_id)
        except TelemetryError as exc:
            found.problem(str(exc), (TELEMETRY, table))
            continue
        found.result["telemetry"][table] = {"files_scanned": on_disk.files_scanned, "rows_found": on_disk.rows,
                                            "log_files_scanned": in_log.files_scanned,
                                            "log_files_naming_person": len(in_log.files_naming)}
        if on_disk.rows:
            found.problem(f"{table}: {on_disk.rows} row(s) of the person in {len(on_disk.files_with_rows)} "
                          f"file(s) on disk ({', '.join(on_disk.files_with_rows[:3])})", (TELEMETRY, table))
        if in_log.files_naming:
            found.problem(f"{table}: the Delta log still names the person in {len(in_log.files_naming)} "
                          f"file(s) ({', '.join(in_log.files_naming[:3])})", (TELEMETRY, table))


def _verify_erasure_metadata(r: Run, conn: Connection, done: dict, found: _Findings) -> None:
    q, metadata = r.request, found.result["metadata"]
    pseudonym = pseudonym_of(conn, q.employee_id)
    m, e = db.dataset_members.c, db.access_events.c
    left = 0 if pseudonym is None else conn.execute(sa.select(sa.func.count()).where(
        m.subject_pseudonym == pseudonym, m.category_key.in_(q.category_keys))).scalar()
    metadata["dataset_members"] = {"rows_found": left}
    if left:
        found.problem(f"dataset_members: {left} membership row(s) of the person remain", (METADATA, "dataset_members"))
    if q.erases_everything:  # the current link must be newer than every access event recorded before
        rotated = done[(METADATA, "pseudonyms")].done_at
        linked = 0 if pseudonym is None else conn.execute(sa.select(sa.func.count()).where(
            e.subject_pseudonym == pseudonym, e.ingested_at <= rotated)).scalar()
        metadata["access_events"] = {"entries_still_linked": linked}
        if linked:
            found.problem(f"pseudonyms: {linked} earlier access event(s) still point to the person",
                          (METADATA, "pseudonyms"))
        n = db.notices.c
        notices = conn.execute(sa.select(sa.func.count()).where(n.employee_id == q.employee_id,
                                                                n.created_at <= rotated)).scalar()
        metadata["notices"] = {"rows_found": notices}
        if notices:
            found.problem(f"notices: {notices} notice(s) about reads before the erasure remain",
                          (METADATA, "pseudonyms"))
    present = optout.tombstone(conn, optout.salt(r.data_dir), q.employee_id) is not False
    metadata["erasure_tombstones"] = {"present": present}
    if not present:
        found.problem("erasure_tombstones: no tombstone for the person", (METADATA, "erasure_tombstones"))
    copies = sorted(p.name for p in copy_path(r.data_dir, q).parent.glob(f"copy-{q.employee_id}-*"))
    tables = [catalog.CATEGORY_BY_KEY[key].table_name for key in q.category_keys]
    rollup_rows = volume_rollup.subject_rows(r.store.location, q.employee_id, tables)
    found.result["caches"] = {"prepared_copies_found": len(copies), "stored_rollup_rows_found": rollup_rows}
    if copies:
        found.problem(f"caches: {len(copies)} prepared copy file(s) of the person remain", (CACHE, "caches"))
    if rollup_rows:
        found.problem(f"caches: {rollup_rows} stored works council rollup row(s) still name the person",
                      (CACHE, "caches"))


def _verify_objection(r: Run, conn: Connection, done: dict, found: _Findings) -> None:
    held = {o.objection_id for o in optout.objections(conn, r.request.employee_id)}
    wanted = set(json.loads(done[(METADATA, "objections")].detail)["objections"])
    found.result["metadata"]["objections"] = {"active": len(wanted & held)}
    if wanted - held:
        found.problem(f"objections: {len(wanted - held)} objection(s) of the request are not recorded",
                      (METADATA, "objections"))


def _verify_copy(r: Run, done: dict, found: _Findings) -> None:
    path = copy_path(r.data_dir, r.request)
    ok = path.exists() and sha256_of(path) == json.loads(done[(EXPORT, "copy")].detail)["sha256"]
    found.result["copy"] = {"sha256_matches": ok}
    if not ok:
        found.problem(f"copy: {path.name} is missing or changed since it was built", (EXPORT, "copy"))


def _verify(r: Run) -> dict[str, Any]:
    """Check every store for the request's effect; re-open the steps whose effect is missing."""
    q, found = r.request, _Findings()
    if q.kind == Kind.ERASURE:
        _verify_lake(r, found)
    with r.engine.connect() as conn:
        done = _details(conn, q.request_id)
        if q.kind == Kind.ERASURE:
            _verify_erasure_metadata(r, conn, done, found)
        elif q.kind == Kind.OBJECTION:
            _verify_objection(r, conn, done, found)
    if q.kind == Kind.ACCESS:
        _verify_copy(r, done, found)
    if found.problems:
        message = "verification found the request's effect incomplete: " + "; ".join(found.problems)
        with r.engine.begin() as conn:
            for store_name, target in found.reopen:
                conn.execute(sa.update(db.erasure_steps).where(step_where(q.request_id, store_name, target))
                             .values(done_at=None, error=message[:2000]))
        fail_step(r.engine, q.request_id, VERIFY, "all", message)
        raise VerificationFailed(f"request {q.request_id} stays {Status.EXECUTING.value}; {message}. "
                                 "Run it again to finish.")
    return {**found.result, "result": "passed", "checked_at": iso(utc_now())}


# ---- the receipt ---------------------------------------------------------------------------------


def _receipt_body(r: Run, verification: dict[str, Any]) -> dict[str, Any]:
    q = r.request
    with r.engine.connect() as conn:
        done = _details(conn, q.request_id)
    telemetry, metadata, extra = {}, {}, {}
    datasets, models = [], []
    for (store_name, target), row in sorted(done.items()):
        detail = json.loads(row.detail) if row.detail else {}
        if store_name == TELEMETRY:
            telemetry[target] = {"category": catalog.CATEGORY_BY_TABLE[target].key, "rows_before": row.rows_before,
                                 "rows_removed": row.rows_removed,
                                 "rows_after": verification["telemetry"][target]["rows_found"],
                                 "version_before": row.version_before, "version_after": row.version_after}
        elif store_name == METADATA:
            metadata[target] = ({"rows_added": 1} if target == "erasure_tombstones" else
                                {"rows_added": len(detail["objections"])} if target == "objections" else
                                {"rows_changed": len(detail["datasets"])} if target == "datasets" else
                                {"rows_removed": row.rows_removed})
            datasets += detail.get("datasets", [])
            models += detail.get("models", [])
        elif store_name == CACHE:
            extra["caches"] = detail
        elif store_name == EXPORT:
            extra["copy"] = detail
    if q.kind == Kind.ERASURE and q.erases_everything:
        metadata["access_events"] = {"rows_removed": 0, "note": "kept intact; no longer linked to the person"}
    started = min((row.started_at for row in done.values() if row.started_at is not None), default=None)
    stores: dict[str, Any] = {"telemetry": telemetry, "metadata": metadata, **extra}
    with i18n.in_language(i18n.DEFAULT_LANGUAGE):  # a signed receipt reads the same whoever's language made it
        words = q.scope
    return {
        "format": receipts.FORMAT, "issuer": receipts.ISSUER, "request_id": q.request_id, "kind": q.kind.value,
        "scope": {"words": words, "categories": list(q.category_keys), "purpose": q.purpose_code},
        "stores": stores, "verification": verification, "datasets_flagged": datasets, "models_affected": models,
        "kept": list(plan_kept(q)),
        "times": {"received_at": iso(q.received_at), "started_at": iso(started),
                  "verified_at": verification["checked_at"], "issued_at": iso(utc_now())},
    }


# ---- running -------------------------------------------------------------------------------------


@contextmanager
def _exclusive(data_dir: Path, request_id: str) -> Iterator[None]:
    locks = data_dir / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"request-{request_id}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ErasureError(_("request {request_id} is being carried out by another run right now").format(
                request_id=request_id)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        have = {c["name"] for c in sa.inspect(conn).get_columns("erasure_steps")}
    missing = sorted(c.name for c in db.erasure_steps.columns if c.name not in have)
    if missing:
        raise ErasureError(f"the metadata DB lacks erasure_steps column(s) {', '.join(missing)}; "
                           "run `portal migrate` to bring it up to date")


def _start(engine: Engine, principal: Principal, request_id: str) -> privacy_requests.Request | receipts.Receipt:
    """The request to carry out (now executing), or the receipt when it is already completed."""
    request = privacy_requests.get(engine, principal, request_id)
    if request.status == Status.COMPLETED:
        with engine.connect() as conn:
            found = receipts.load(conn, request_id)
        if found is not None:
            return found
    if request.status == Status.APPROVED:
        return privacy_requests.transition(engine, principal, request_id, Status.EXECUTING, "carrying out the request",
                                           now=utc_now())
    if request.status != Status.EXECUTING:
        raise ErasureError(_("request {request_id} is {status}; only approved requests are carried out").format(
            request_id=request_id, status=request.status.value))
    return request


def _run_steps(run: Run, report: Progress) -> None:
    """Every step not yet done, in order; a failure is recorded with its step and re-raised."""
    todo = steps(run.request)
    with run.engine.connect() as conn:
        done = {k for k, row in _details(conn, run.request.request_id).items() if row.done_at is not None}
    for i, step in enumerate(todo):
        if (step.store, step.target) in done:
            continue
        report(i / (len(todo) + 1), f"{step.label} ...")
        try:
            step.run(run)
        except ErasureError:
            raise
        except Exception as exc:
            fail_step(run.engine, run.request.request_id, step.store, step.target, f"{type(exc).__name__}: {exc}")
            raise
    report(len(todo) / (len(todo) + 1), "Verifying every store ...")


def _complete(run: Run, verification: dict[str, Any]) -> receipts.Receipt:
    """Sign the receipt, keep it and complete the request, all in one transaction."""
    request_id = run.request.request_id
    receipt = receipts.sign(_receipt_body(run, verification), receipts.signer(run.data_dir))
    with run.engine.begin() as conn:
        open_step(conn, request_id, VERIFY, "all")
        finish_step(conn, request_id, VERIFY, "all", rows_removed=0, detail=verification)
        receipts.store(conn, receipt, utc_now())
        privacy_requests.executor_transition(conn, request_id, Status.COMPLETED,
                                             "verified in every store; signed receipt issued", now=utc_now())
    return receipt


def execute(engine: Engine, store: TelemetryStore, principal: Principal, request_id: str,
            progress: Progress | None = None, now: datetime | None = None) -> receipts.Receipt:
    """Carry out an approved (or interrupted) request, verify it and return its signed receipt.

    Idempotent: a completed request returns its stored receipt; an executing one
    resumes after its last finished step. ``progress(fraction, message)`` is
    called before each step. ``now`` records the run as happening at that moment
    (a history replayed after the fact, such as the demo company's); by default
    every time recorded is the clock's.
    """
    ensure(principal, "requests:execute")
    _check_schema(engine)
    report = progress or (lambda _f, _m: None)
    with _exclusive(Path(store.settings.data_dir), request_id), recorded_at(now):
        started = _start(engine, principal, request_id)
        if isinstance(started, receipts.Receipt):
            return started
        run = Run(engine, store, principal, started, report)
        _run_steps(run, report)
        receipt = _complete(run, _verify(run))
        report(1.0, "Done: verified in every store, receipt issued.")
        return receipt


def last_error(engine: Engine, principal: Principal, request_id: str) -> str | None:
    """The last failure of an unfinished step of the request, for the queue; None when there is none."""
    ensure(principal, "requests:read_all")
    s = db.erasure_steps.c
    with engine.connect() as conn:
        return conn.execute(sa.select(s.error).where(s.request_id == request_id, s.error.is_not(None),
                                                     s.done_at.is_(None)).order_by(s.started_at.desc())).scalar()


def runnable(engine: Engine, principal: Principal) -> list[str]:
    """Requests ready to be carried out (approved) or interrupted (executing), soonest deadline first."""
    return [r.request_id for r in privacy_requests.list_requests(engine, principal)
            if r.status in (Status.APPROVED, Status.EXECUTING)]
