"""Stored notices: each created once (unique by what it is about), listed for its recipient, read or unread."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from portal.core import db
from portal.core.i18n import _
from portal.core.times import as_utc
from portal.identity import policy
from portal.identity.principal import Principal

FLAGGED_READS, LOOKUP, REQUEST, COLLECTOR, DIGEST = "flagged_read", "lookup", "request", "collector", "digest"
PENDING, SENDING, SENT, FAILED, OFF = "pending", "sending", "sent", "failed", "off"
MAX_LISTED = 200


@dataclass(frozen=True)
class Draft:
    """A notice to create: for whom, what makes it unique, and its words in the recipient's language."""

    employee_id: str
    source_key: str
    kind: str
    subject: str
    body: str


@dataclass(frozen=True)
class Notice:
    notice_id: str
    kind: str
    created_at: datetime
    subject: str
    body: str
    read_at: datetime | None
    email_status: str
    email_sent_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


def notice_id(source_key: str) -> str:
    """The same source, the same id: an e-mail re-sent after a crash carries the same Message-ID."""
    return hashlib.sha256(source_key.encode()).hexdigest()[:32]


def add(conn: Connection, draft: Draft, *, language: str, email: bool, now: datetime) -> bool:
    """Stores ``draft`` unless a notice about the same source exists; True if it was new."""
    values = {"notice_id": notice_id(draft.source_key), "employee_id": draft.employee_id,
              "source_key": draft.source_key, "kind": draft.kind, "created_at": now, "language": language,
              "subject": draft.subject[:300], "body": draft.body, "email_status": PENDING if email else OFF}
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(db.notices)
    # Two runs at once insert the same source once: the second one's row is skipped, not an error.
    result = conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["source_key"]))
    return bool(result.rowcount)


def existing_keys(conn: Connection, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found |= set(conn.execute(sa.select(db.notices.c.source_key)
                                  .where(db.notices.c.source_key.in_(wanted[start:start + 500]))).scalars())
    return found


def _own(principal: Principal) -> str:
    subject = principal.employee_id
    if subject is None:
        raise policy.PermissionDenied(_("Not allowed: the company holds no employee record for you."))
    policy.ensure(principal, "notifications:read_own", subject)
    return subject


def for_principal(engine: Engine, principal: Principal, *, limit: int = MAX_LISTED) -> list[Notice]:
    """The principal's own notices, newest first."""
    subject = _own(principal)
    n = db.notices.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(n.notice_id, n.kind, n.created_at, n.subject, n.body, n.read_at, n.email_status,
                                      n.email_sent_at)
                            .where(n.employee_id == subject).order_by(n.created_at.desc(), n.notice_id)
                            .limit(limit)).all()
    return [Notice(r.notice_id, r.kind, as_utc(r.created_at), r.subject, r.body,
                   as_utc(r.read_at) if r.read_at else None, r.email_status,
                   as_utc(r.email_sent_at) if r.email_sent_at else None) for r in rows]


def unread_count(engine: Engine, employee_id: str | None) -> int:
    if employee_id is None:
        return 0
    n = db.notices.c
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(n.employee_id == employee_id,
                                                                  n.read_at.is_(None))).scalar() or 0)


def mark_read(engine: Engine, principal: Principal, notice_ids: Iterable[str] | None = None,
              now: datetime | None = None) -> int:
    """Marks the principal's own notices read (all of them when ``notice_ids`` is None); returns how many."""
    subject = _own(principal)
    n = db.notices.c
    where = [n.employee_id == subject, n.read_at.is_(None)]
    if notice_ids is not None:
        where.append(n.notice_id.in_(list(notice_ids)))
    with engine.begin() as conn:
        return int(conn.execute(sa.update(db.notices).where(*where).values(read_at=now or datetime.now(UTC)))
                   .rowcount)
