"""The privacy office opens one person's records: only with a justification, always recorded.

Nothing is returned without a justification (a request id such as
``REQ-1A2B3C4D`` or a ticket reference). The read becomes an access event
through :func:`portal.audit.access_events.record_read` before the records are handed
back, so the person sees it on "Who accessed my data", with the justification.
A request id must name a request about that same person.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import cast

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.identity import directory
from portal.audit import access_events
from portal.core import catalog, db
from portal.core.i18n import _
from portal.identity.principal import Principal
from portal.identity.policy import ensure
from portal.lake.telemetry import TelemetryStore

PURPOSE = "legal.compliance"
MIN_JUSTIFICATION = 4
MAX_JUSTIFICATION = 500
REQUEST_ID = re.compile(r"REQ-[0-9A-F]{8}", re.IGNORECASE)


class SubjectLookupError(ValueError):
    """A lookup that may not or cannot happen; nothing was read and nothing shown."""


@dataclass(frozen=True)
class Lookup:
    employee_id: str
    display_name: str
    category_key: str
    category: str
    justification: str
    records: pl.DataFrame  # newest first
    total: int
    event_id: str | None  # None only when the office member looked themself up

    @property
    def person(self) -> str:
        return f"{self.display_name} ({self.employee_id})"


def check_justification(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise SubjectLookupError(_("a justification is required (a request id such as REQ-1A2B3C4D, or a ticket "
                                   "reference); the person will read it next to this access"))
    if len(value) < MIN_JUSTIFICATION:
        raise SubjectLookupError(_("the justification {text} is too short to tell the person why; name the request "
                                   "or ticket").format(text=repr(value)))
    if len(value) > MAX_JUSTIFICATION or "\x00" in value:
        raise SubjectLookupError(_("the justification must be at most {limit} characters of text").format(
            limit=MAX_JUSTIFICATION))
    return value


def open_records(engine: Engine, store: TelemetryStore, principal: Principal, subject: str, category_key: str,
                 justification: str | None, *, limit: int | None = None) -> Lookup:
    """One category of one person's records (newest first, up to ``limit``), recorded as an access event."""
    ensure(principal, "subjects:lookup")
    reason = check_justification(justification)
    try:
        cat = catalog.category(category_key)
    except catalog.UnknownCategory as exc:
        raise SubjectLookupError(str(exc)) from None
    if not (subject or "").strip():
        raise SubjectLookupError(_("name the person: an employee id, e-mail or OIDC subject"))
    with engine.connect() as conn:
        try:
            employee_id = directory.resolve_subject(conn, subject.strip())
        except directory.UnknownSubject as exc:
            raise SubjectLookupError(str(exc)) from None
        name = cast(str, conn.execute(sa.select(db.employees.c.display_name)  # the employee was just resolved
                                      .where(db.employees.c.employee_id == employee_id)).scalar())
        for request_id in REQUEST_ID.findall(reason):
            about = conn.execute(sa.select(db.privacy_requests.c.employee_id)
                                 .where(db.privacy_requests.c.request_id == request_id.upper())).scalar()
            if about is None:
                raise SubjectLookupError(_("there is no request {request_id}; name an existing request or a "
                                           "ticket").format(request_id=request_id.upper()))
            if about != employee_id:
                raise SubjectLookupError(_("request {request_id} is about someone else, not {employee_id}").format(
                    request_id=request_id.upper(), employee_id=employee_id))
    records, total = store.records(employee_id, cat.key, 0, limit)
    event_id = access_events.record_read(engine, principal, employee_id, cat.key, PURPOSE, reason, records.height,
                                      access_events.VIEW, query_id=f"lookup-{uuid.uuid4().hex[:12]}")
    return Lookup(employee_id, name, cat.key, cat.name, reason, records, total, event_id)


def categories() -> dict[str, str]:
    """Category name -> key, in catalog order, for a selection."""
    return {c.name: c.key for c in catalog.CATEGORIES}
