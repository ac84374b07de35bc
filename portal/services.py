"""What the pages ask for, with the stores bound once: one calling convention for every screen.

:func:`portal.bootstrap.build` makes one :class:`Services` per process (the portal keeps it in
``st.cache_resource``). Every method a page calls takes the signed-in principal first; the stores,
the access log, the naming rule, the exposure limits and the page size are bound here, so a page
never builds a service or passes a setting. Results carry what the page shows: the reads of a
person's data with their status in the signed log, a page of records with the page count.

The contexts check the policy (``identity.policy.ensure``) in each call; nothing here decides
access. Methods are thin: what they compute belongs to the context they name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy.engine import Engine

from portal.audit import log_integrity, my_access
from portal.audit.signed_log import AuditLog, Consistency, VerifyReport
from portal.audit.signed_log import Progress as LogProgress
from portal.audit.my_access import AccessEvent, AccessSummary
from portal.collection import collector_views, register, retention
from portal.collection.register import Collector, CollectorDecision
from portal.council import exposure as exposure_report
from portal.council import figures
from portal.council.publishing import Batch
from portal.council.exposure_model import Exposure
from portal.identity.policy import ensure
from portal.identity.principal import Directory, Principal
from portal.lake import my_data
from portal.lineage import my_lineage
from portal import notify
from portal.privacy import erasure, export, prepared_copy, privacy_requests, receipts, request_views, subject_lookup
from portal.privacy import unlinking
from portal.privacy.erasure_plan import ErasurePlan
from portal.privacy.privacy_requests import HistoryEntry, Request
from portal.privacy.request_states import Status
from portal.core.settings import Settings
from portal.lake.telemetry import TelemetryStore

Progress = Callable[[float, str], None]
HOUSEKEEPING_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ReadsOfMyData:
    """Every read of one person's data by someone else, each with its status in the signed log."""

    events: list[AccessEvent]
    summary: AccessSummary
    unlinked: unlinking.Unlinking | None
    inclusion: log_integrity.Inclusion | None  # None when there are no reads to prove

    def table(self, shown: Iterable[AccessEvent]) -> pl.DataFrame:
        """The reads ``shown`` as the page's table, with the column saying whether each is in the signed log."""
        shown = list(shown)
        frame = my_access.events_frame(shown)
        if self.inclusion is None:
            return frame
        return log_integrity.with_log_status(frame, [e.event_id for e in shown], self.inclusion)


@dataclass(frozen=True)
class Recorded:
    """A collector after a registration or decision, and what stopped it reaching the signed log, if anything
    (the change stands either way)."""

    collector: Collector
    log_problem: str | None


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    store: TelemetryStore
    directory: Directory
    log: AuditLog
    # Where the council's releases are computed when nothing stored is current (PORTAL_ENGINE); None: here.
    batch: Batch | None = None
    _housekept: list[float] = field(default_factory=lambda: [0.0], repr=False, compare=False)
    _housekeeping_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # ---- the process ------------------------------------------------------

    def housekeeping(self, now: float | None = None) -> int:
        """Delete people's own copies older than an hour (at most once a minute); the portal calls this
        whenever a page opens the stores. Returns how many copies were deleted."""
        now = time.monotonic() if now is None else now
        with self._housekeeping_lock:
            if now - self._housekept[0] < HOUSEKEEPING_EVERY.total_seconds() and self._housekept[0]:
                return 0
            self._housekept[0] = now
        return export.purge_copies(export.copies_dir(self.settings.data_dir))

    # ---- the employee's own data -----------------------------------------

    def holdings(self, principal: Principal) -> list[my_data.Holding]:
        return my_data.holdings(principal, self.store)

    def daily_volume(self, principal: Principal) -> pl.DataFrame:
        return my_data.daily_volume(principal, self.store)

    def records_page(self, principal: Principal, category_key: str, page: int = 1) -> my_data.RecordsPage:
        """One page of the person's records in a category, with the page count; a page past the last
        gives the last."""
        return my_data.records_page(principal, self.store, category_key, page, self.settings.page_size)

    def reads_of_my_data(self, principal: Principal) -> ReadsOfMyData:
        events = my_access.events_about(self.engine, principal, naming=self.settings.actor_naming,
                                        max_principals=self.settings.max_principals)
        unlinked = unlinking.for_principal(self.engine, principal)
        summary = my_access.summarize(events, unlinked_at=unlinked.at if unlinked else None)
        inclusion = log_integrity.inclusion_for(principal, self.log, [e.event_id for e in events]) if events else None
        return ReadsOfMyData(events, summary, unlinked, inclusion)

    def my_proof_bundle(self, principal: Principal) -> bytes:
        return log_integrity.my_proof_bundle(principal, self.log)

    def log_public_key(self, principal: Principal) -> str:
        return log_integrity.public_key(principal, self.log)

    def where_my_data_went(self, principal: Principal) -> my_lineage.Lineage:
        return my_lineage.where_my_data_went(self.engine, principal)

    def prepare_my_copy(self, principal: Principal, progress: Progress | None = None) -> export.CopyReport:
        return export.build_my_copy(self.engine, self.store, principal, export.copies_dir(self.settings.data_dir),
                                    naming=self.settings.actor_naming, progress=progress)

    def offered_copy(self, principal: Principal, path: Path, prepared_at: datetime) -> prepared_copy.OfferedCopy:
        return prepared_copy.offered(self.engine, self.store, principal, path, prepared_at)

    # ---- notices and settings --------------------------------------------

    def my_notices(self, principal: Principal) -> list[notify.Notice]:
        return notify.for_principal(self.engine, principal)

    def unread_notices(self, principal: Principal) -> int:
        return notify.unread_count(self.engine, principal.employee_id)

    def mark_notices_read(self, principal: Principal, notice_ids: Iterable[str] | None = None) -> int:
        return notify.mark_read(self.engine, principal, notice_ids)

    def my_settings(self, principal: Principal) -> notify.NoticeSettings:
        return notify.my_settings(self.engine, principal)

    def save_my_settings(self, principal: Principal, *, digest: str, language: str | None) -> notify.NoticeSettings:
        return notify.save(self.engine, principal, digest=digest, language=language)

    def chosen_language(self, principal: Principal) -> str | None:
        """The language the person chose on their Settings page; None to follow the browser."""
        return notify.stored_language(self.engine, principal.employee_id)

    # ---- requests ---------------------------------------------------------

    def my_requests(self, principal: Principal) -> list[Request]:
        return privacy_requests.my_requests(self.engine, principal)

    def file_my_request(self, principal: Principal, kind: str, *, categories: list[str] | None = None,
                        purpose: str | None = None, details: str | None = None) -> Request:
        return privacy_requests.file_request(self.engine, principal, principal.employee_id or "", kind,
                                             categories=categories, purpose=purpose, details=details)

    def request(self, principal: Principal, request_id: str) -> Request:
        return privacy_requests.get(self.engine, principal, request_id)

    def request_history(self, principal: Principal, request_id: str) -> list[HistoryEntry]:
        return privacy_requests.history(self.engine, principal, request_id)

    def withdraw(self, principal: Principal, request_id: str) -> Request:
        return privacy_requests.transition(self.engine, principal, request_id, Status.WITHDRAWN,
                                           "withdrawn by the employee")

    def receipt(self, principal: Principal, request_id: str) -> receipts.Receipt | None:
        return receipts.for_request(self.engine, principal, request_id)

    # ---- the privacy office ----------------------------------------------

    def queue(self, principal: Principal, today: date, *, include_closed: bool = False,
              keep: str | None = None) -> list[request_views.QueueItem]:
        return request_views.queue(self.engine, principal, today, include_closed=include_closed, keep=keep)

    def subject_name(self, principal: Principal, request_id: str) -> str:
        return request_views.subject_name(self.engine, principal, request_id)

    def last_error(self, principal: Principal, request_id: str) -> str | None:
        return erasure.last_error(self.engine, principal, request_id)

    def erasure_plan(self, principal: Principal, request_id: str) -> ErasurePlan:
        """What carrying out the request will touch; nothing changes."""
        ensure(principal, "requests:read_all")
        return erasure.plan(self.engine, self.store, self.request(principal, request_id))

    def approve(self, principal: Principal, request_id: str, reason: str | None) -> Request:
        return privacy_requests.approve(self.engine, principal, request_id, reason)

    def reject(self, principal: Principal, request_id: str, reason: str) -> Request:
        return privacy_requests.transition(self.engine, principal, request_id, Status.REJECTED, reason)

    def extend(self, principal: Principal, request_id: str, months: int, reason: str) -> Request:
        return privacy_requests.extend(self.engine, principal, request_id, months, reason)

    def carry_out(self, principal: Principal, request_id: str, progress: Progress | None = None) -> receipts.Receipt:
        return erasure.execute(self.engine, self.store, principal, request_id, progress=progress)

    def open_records(self, principal: Principal, subject: str, category_key: str,
                     justification: str | None) -> subject_lookup.Lookup:
        return subject_lookup.open_records(self.engine, self.store, principal, subject, category_key, justification,
                                           limit=self.settings.page_size)

    # ---- the works council -----------------------------------------------

    def council_overview(self, principal: Principal) -> figures.Overview:
        return figures.overview(principal, self.settings, self.engine, self.store, batch=self.batch)

    def exposure(self, principal: Principal) -> Exposure:
        return exposure_report.exposure(principal, self.settings, self.engine)

    # ---- the collector register --------------------------------------------

    def collector_register(self, principal: Principal) -> list[Collector]:
        return register.listed(self.engine, principal)

    def collector_history(self, principal: Principal, name: str) -> list[CollectorDecision]:
        return register.history(self.engine, principal, name)

    def register_collector(self, principal: Principal, *, name: str, category_key: str, purposes: list[str],
                           legal_basis: str, retention_days: int, agreement: str | None = None,
                           description: str | None = None) -> Recorded:
        found = register.register(self.engine, principal, name=name, category_key=category_key, purposes=purposes,
                                  legal_basis=legal_basis, retention_days=retention_days, agreement=agreement,
                                  description=description)
        return Recorded(found, register.sign_decisions(self.log))

    def decide_collector(self, principal: Principal, name: str, decision: str, reason: str) -> Recorded:
        """The works council's decision, then signed into the tamper-evident log at once."""
        found = register.decide(self.engine, principal, name, decision, reason)
        return Recorded(found, register.sign_decisions(self.log))

    def retention_last_runs(self, principal: Principal) -> list[retention.RetentionRun]:
        """The latest retention run of each category (none when retention never ran)."""
        ensure(principal, "collectors:read")
        with self.engine.connect() as conn:
            return retention.last_runs(conn)

    def collectors_of_my_categories(self, principal: Principal) -> list[collector_views.CategoryCollectors]:
        """Per category, which systems collect it: the register, not anyone's data."""
        return collector_views.by_category(self.engine, principal)

    # ---- the access log ---------------------------------------------------

    def published_log(self, principal: Principal) -> log_integrity.Published:
        return log_integrity.published(principal, self.log)

    def check_stored_checkpoint(self, principal: Principal, data: bytes,
                                progress: LogProgress | None = None) -> Consistency:
        return log_integrity.check_stored_checkpoint(principal, self.log, data, progress=progress)

    def verify_log(self, principal: Principal, progress: LogProgress | None = None) -> VerifyReport:
        return log_integrity.verify_everything(principal, self.log, progress=progress)
