"""The collector register: every system that sends telemetry, what it may send and why, and whether the
works council lets it.

The privacy office registers a collector (:func:`register`); the works council approves, suspends or
resumes it (:func:`decide`, lifecycle in :mod:`portal.collection.collector_states`). Each registration
and decision is a row of the append-only ``collector_decisions``, written in the same transaction as
the collector's new status, and an entry of the tamper-evident log (source ``collector``). Decisions
name people by pseudonym only, and a service by its id.

Telemetry intake asks :func:`require_active` before it takes a batch: only an approved collector, and
only for the category it is registered for, gets through (invariant 8 in docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.audit.merkle import MerkleError
from portal.audit.signed_log import AuditError, AuditLog
from portal.collection.collector_states import REGISTERED, Decision, Status, check_decision, status_words
from portal.collection.registration import CollectorError as CollectorError
from portal.collection.registration import Registration, checked_name, checked_registration, checked_text
from portal.core import db
from portal.core.i18n import N_, _
from portal.core.roles import PRIVACY_OFFICE, WORKS_COUNCIL
from portal.core.times import as_utc
from portal.identity.policy import ensure
from portal.identity.principal import Principal
from portal.identity.pseudonyms import pseudonym_of

MAX_REASON = 1000


class UnknownCollector(CollectorError):
    def __init__(self, name: str) -> None:
        super().__init__(_("collector {name} is not on the register").format(name=repr(name)))


class CollectorRefused(ValueError):
    """Telemetry from a collector the register does not let through; the message names it and why."""


@dataclass(frozen=True)
class Collector:
    name: str
    category_key: str
    purposes: tuple[str, ...]
    legal_basis: str
    retention_days: int
    agreement: str | None
    description: str | None
    status: str
    registered_at: datetime
    approved_at: datetime | None  # the first approval
    status_changed_at: datetime
    status_reason: str | None

    @property
    def refused(self) -> bool:
        """Suspended before it was ever approved: the works council refused it."""
        return self.status == Status.SUSPENDED and self.approved_at is None


@dataclass(frozen=True)
class CollectorDecision:
    """One line of a collector's history: its registration or a decision of the works council."""

    seq: int
    collector_name: str
    at: datetime
    event: str  # registered | approved | suspended | resumed
    actor_role: str
    actor_ref: str  # a pseudonym or a service id, never a name
    reason: str | None


def _collector(row: sa.Row) -> Collector:
    return Collector(
        name=row.name, category_key=row.category_key, purposes=tuple(p for p in row.purposes.split(",") if p),
        legal_basis=row.legal_basis, retention_days=int(row.retention_days), agreement=row.agreement,
        description=row.description, status=row.status, registered_at=as_utc(row.registered_at),
        approved_at=as_utc(row.approved_at) if row.approved_at is not None else None,
        status_changed_at=as_utc(row.status_changed_at), status_reason=row.status_reason,
    )


def _load(conn: Connection, name: str, *, lock: bool = False, share: bool = False) -> Collector | None:
    query = sa.select(db.collectors).where(db.collectors.c.name == name)
    if (lock or share) and conn.dialect.name == "postgresql":
        query = query.with_for_update(read=share and not lock)
    row = conn.execute(query).first()
    return None if row is None else _collector(row)


def collectors(conn: Connection, category_key: str | None = None) -> list[Collector]:
    """Every collector on the register (of one category), by category, then name."""
    query = sa.select(db.collectors).order_by(db.collectors.c.category_key, db.collectors.c.name)
    if category_key is not None:
        query = query.where(db.collectors.c.category_key == category_key)
    return [_collector(row) for row in conn.execute(query)]


def require_active(conn: Connection, name: str, category_key: str | None = None) -> Collector:
    """The collector ``name`` if the works council approved it (for ``category_key``, when given), else
    :class:`CollectorRefused` naming why.

    On PostgreSQL the row stays share-locked until the caller's transaction ends, so a suspension waits
    for a batch being taken in, and a batch started after the suspension is refused."""
    found = _load(conn, name, share=True)
    if found is None:
        raise CollectorRefused(_("collector {name} is not on the register").format(name=repr(name)))
    if category_key is not None and category_key != found.category_key:
        raise CollectorRefused(_("collector {name} is registered for {registered}, not {category}").format(
            name=repr(name), registered=found.category_key, category=category_key))
    if found.status == Status.PENDING:
        raise CollectorRefused(_("collector {name} is pending: the works council has not approved it").format(
            name=repr(name)))
    if found.status != Status.APPROVED:
        raise CollectorRefused(_("collector {name} is {status}: paused by the works council on {day}: {reason}").format(
            name=repr(name), status=status_words(found.status), day=found.status_changed_at.date().isoformat(),
            reason=found.status_reason or _("no reason")))
    return found


def _actor(conn: Connection, principal: Principal) -> str:
    """How the history refers to the actor: a pseudonym for a person, the id for a service."""
    if principal.employee_id is not None:
        return pseudonym_of(conn, principal.employee_id, create=True) or "unknown"
    return principal.subject


def _record(conn: Connection, name: str, at: datetime, event: str, role: str, principal: Principal,
            reason: str | None) -> None:
    conn.execute(sa.insert(db.collector_decisions).values(
        collector_name=name, at=at, event=event, actor_role=role, actor_ref=_actor(conn, principal), reason=reason))


def register(engine: Engine, principal: Principal, *, name: str, category_key: str, purposes: Sequence[str] | str,
             legal_basis: str, retention_days: int, agreement: str | None = None, description: str | None = None,
             now: datetime | None = None) -> Collector:
    """Put a collector on the register, pending the works council's decision (privacy office).

    The registration's entry in the log records what was registered (category, purposes, legal basis,
    retention, agreement), so the scope the council decides on cannot be changed unnoticed."""
    ensure(principal, "collectors:register")
    checked = checked_registration(name, category_key, purposes, legal_basis, retention_days, agreement,
                                   description)
    now = as_utc(now or datetime.now(UTC))
    try:
        with engine.begin() as conn:
            existing = _load(conn, checked.name)
            if existing is not None:
                raise CollectorError(_("collector {name} is already on the register ({status})").format(
                    name=repr(checked.name), status=status_words(existing.status)))
            conn.execute(sa.insert(db.collectors).values(
                name=checked.name, category_key=checked.category_key, purposes=",".join(checked.purposes),
                legal_basis=checked.legal_basis, retention_days=checked.retention_days, agreement=checked.agreement,
                description=checked.description, status=Status.PENDING.value, registered_at=now, approved_at=None,
                status_changed_at=now, status_reason=None))
            _record(conn, checked.name, now, REGISTERED, PRIVACY_OFFICE, principal, scope_words(checked))
            found = _load(conn, checked.name)
    except sa.exc.IntegrityError:  # registered by someone else at the same moment
        raise CollectorError(_("collector {name} is already on the register").format(name=repr(checked.name))) from None
    assert found is not None  # inserted above
    return found


def scope_words(registration: Registration) -> str:
    """What was registered, as the registration's entry records it."""
    words = (f"category {registration.category_key}; purposes {', '.join(registration.purposes)}; "
             f"legal basis {registration.legal_basis}; retention {registration.retention_days} days")
    return words + (f"; agreement {registration.agreement}" if registration.agreement else "")


def decide(engine: Engine, principal: Principal, name: str, decision: str | Decision, reason: str,
           now: datetime | None = None) -> Collector:
    """Approve, suspend or resume a collector (works council), with a reason employees read."""
    ensure(principal, "collectors:decide")
    try:
        decision = Decision(decision)
    except ValueError:
        raise CollectorError(_("unknown decision {decision}; choose {choices}").format(
            decision=repr(decision), choices=", ".join(d.value for d in Decision))) from None
    reason_text = checked_text(reason, N_("the reason"), MAX_REASON, required=True, lines=True,
                               missing=_("a reason is required: employees read it next to the decision"))
    assert reason_text is not None  # required
    name = checked_name(name)
    now = as_utc(now or datetime.now(UTC))
    with engine.begin() as conn:
        current = _load(conn, name, lock=True)
        if current is None:
            raise UnknownCollector(name)
        rule = check_decision(name, Status(current.status), decision)
        changes: dict[str, object] = {"status": rule.target.value, "status_changed_at": now,
                                      "status_reason": reason_text}
        if rule.target == Status.APPROVED and current.approved_at is None:
            changes["approved_at"] = now
        done = conn.execute(sa.update(db.collectors)
                            .where(db.collectors.c.name == name, db.collectors.c.status == current.status)
                            .values(**changes))
        if done.rowcount != 1:  # someone else decided first; nothing is written
            raise CollectorError(_("collector {name} changed meanwhile; reload and decide again").format(name=repr(name)))
        _record(conn, name, now, rule.event, WORKS_COUNCIL, principal, reason_text)
        found = _load(conn, name)
    assert found is not None  # updated above
    return found


def listed(engine: Engine, principal: Principal, category_key: str | None = None) -> list[Collector]:
    """The register as the works council and the privacy office read it."""
    ensure(principal, "collectors:read")
    with engine.connect() as conn:
        return collectors(conn, category_key)


def history(engine: Engine, principal: Principal, name: str) -> list[CollectorDecision]:
    """A collector's registration and every decision since, oldest first."""
    ensure(principal, "collectors:read")
    d = db.collector_decisions.c
    with engine.connect() as conn:
        if _load(conn, name) is None:
            raise UnknownCollector(name)
        rows = conn.execute(sa.select(db.collector_decisions).where(d.collector_name == name).order_by(d.seq))
        return [CollectorDecision(seq=r.seq, collector_name=r.collector_name, at=as_utc(r.at), event=r.event,
                                  actor_role=r.actor_role, actor_ref=r.actor_ref, reason=r.reason) for r in rows]


def sign_decisions(log: AuditLog) -> str | None:
    """Put new registrations and decisions into the tamper-evident log and sign a checkpoint. Returns None,
    or what stopped it: the decision stands, and the next `portal audit checkpoint` logs it."""
    try:
        log.checkpoint()
    except (AuditError, MerkleError, OSError) as exc:
        return _("the decision is recorded but not yet in the signed log ({why}); `portal audit checkpoint` adds "
                 "it").format(why=exc)
    return None
