"""Privacy requests (erasure, objection, access copy): filing, deciding, history.

Every change of status goes through :func:`transition`, which checks policy and
the lifecycle table (:mod:`portal.privacy.request_states`), writes the new status and
appends the transition with actor, time and reason, in one transaction. The
history never names a person: actors appear by role and pseudonym (or service id).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core.times import as_utc
from portal.core import catalog, db
from portal.core.i18n import _
from portal.identity.pseudonyms import pseudonym_of
from portal.identity.directory import resolve_subject
from portal.privacy.deadlines import extended_deadline, initial_deadline
from portal.identity.principal import Principal
from portal.identity.policy import PRIVACY_OFFICE, PermissionDenied, ensure
from portal.privacy.request_states import EXECUTOR, OFFICE, SUBJECT, Kind, Status, TransitionError, check_transition

CHANNELS = ("portal", "email", "letter")
MAX_DETAILS = 4000


def retained() -> tuple[str, ...]:
    """Categories the catalog keeps outside erasure on request (``erasable = false``: performance records,
    kept under the employment contract while it lasts)."""
    return tuple(c.key for c in catalog.CATEGORIES if not c.erasable)


def erasable() -> tuple[str, ...]:
    return tuple(c.key for c in catalog.CATEGORIES if c.erasable)


def objectable_purposes() -> tuple[str, ...]:
    """Purposes an objection can name: those that at least one category pursues on a basis open to objection
    (legitimate interests or a public task, GDPR Art. 21; consent, withdrawn). Not a legal obligation."""
    return tuple(p.code for p in catalog.PURPOSES
                 if any(p.code in c.objectionable_purposes for c in catalog.CATEGORIES))


def __getattr__(name: str) -> tuple[str, ...]:
    """``ERASABLE``, ``RETAINED_UNDER_CONTRACT``, ``OBJECTABLE_PURPOSES``: of the catalog in force."""
    found = {"ERASABLE": erasable, "RETAINED_UNDER_CONTRACT": retained, "OBJECTABLE_PURPOSES": objectable_purposes}
    if name in found:
        return found[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RequestError(ValueError):
    """A request that cannot be filed or changed; the message says why."""


class RequestNotFound(LookupError):
    def __str__(self) -> str:
        return _("no privacy request with id {request_id}").format(request_id=repr(self.args[0]))


@dataclass(frozen=True)
class Request:
    request_id: str
    employee_id: str
    kind: Kind
    categories: tuple[str, ...] | None
    purpose_code: str | None
    channel: str
    details: str | None
    received_at: datetime
    deadline: date
    extended_deadline: date | None
    extension_reason: str | None
    status: Status
    decision_reason: str | None
    updated_at: datetime

    @property
    def due(self) -> date:
        """The deadline in force: the extended one if there was an extension."""
        return self.extended_deadline or self.deadline

    @property
    def category_keys(self) -> tuple[str, ...]:
        """The categories the request covers: for erasure "all" means every erasable category."""
        if self.kind == Kind.ERASURE:
            return self.categories or erasable()
        if self.kind == Kind.ACCESS:
            return tuple(c.key for c in catalog.CATEGORIES)
        return self.categories or ()

    @property
    def erases_everything(self) -> bool:
        return self.kind == Kind.ERASURE and set(self.category_keys) >= set(erasable())

    @property
    def scope(self) -> str:
        """The request's scope in words."""
        if self.kind == Kind.OBJECTION:
            parts = []
            if self.purpose_code:
                parts.append(_("purpose {purpose}").format(purpose=catalog.PURPOSE_BY_CODE[self.purpose_code].name))
            parts += [catalog.category(c).name for c in self.categories or ()]
            return ", ".join(parts)
        if self.kind == Kind.ACCESS:
            return _("a copy of all data")
        if self.categories is None:
            return _("all telemetry categories (performance records are kept)")
        return ", ".join(catalog.category(c).name for c in self.categories)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    from_status: Status | None
    to_status: Status
    event: str
    actor_role: str
    actor_ref: str
    reason: str | None



def _row_to_request(row: sa.Row) -> Request:
    return Request(
        request_id=row.request_id, employee_id=row.employee_id, kind=Kind(row.kind),
        categories=tuple(json.loads(row.categories)) if row.categories else None,
        purpose_code=row.purpose_code, channel=row.channel, details=row.details,
        received_at=as_utc(row.received_at), deadline=row.deadline, extended_deadline=row.extended_deadline,
        extension_reason=row.extension_reason, status=Status(row.status), decision_reason=row.decision_reason,
        updated_at=as_utc(row.updated_at),
    )


def _actor(conn: Connection, principal: Principal) -> str:
    """How the history refers to the actor: a pseudonym for a person, the id for a service."""
    if principal.employee_id is not None:
        return pseudonym_of(conn, principal.employee_id, create=True) or "unknown"
    return principal.subject


def _validate_scope(kind: Kind, categories: list[str] | None, purpose: str | None) -> tuple[str | None, str | None]:
    for key in categories or ():
        catalog.category(key)  # UnknownCategory names the known keys
    if purpose is not None and purpose not in catalog.PURPOSE_BY_CODE:
        known = ", ".join(sorted(catalog.PURPOSE_BY_CODE))
        raise RequestError(_("unknown purpose {purpose}; known purposes: {known}").format(
            purpose=repr(purpose), known=known))
    if kind == Kind.OBJECTION:
        if not purpose and not categories:
            raise RequestError(_("an objection names a purpose (e.g. train_ai_system) or categories"))
        if purpose and purpose not in objectable_purposes():
            raise RequestError(_("{purpose} is not open to objection (Art. 21): every use of it rests on the "
                                 "employment contract, a legal obligation or vital interests").format(
                purpose=catalog.PURPOSE_BY_CODE[purpose].name))
        for key in categories or ():
            cat = catalog.category(key)
            if purpose and purpose not in cat.objectionable_purposes:
                raise RequestError(_("{category} serves {purpose} under {basis}; an objection (Art. 21) does not "
                                     "apply").format(category=cat.name, purpose=catalog.PURPOSE_BY_CODE[purpose].name,
                                                     basis=cat.legal_basis_for(purpose)))
            if not cat.objection_possible:
                raise RequestError(_("{category} is processed under {basis}; an objection (Art. 21) does not "
                                     "apply").format(category=cat.name, basis=cat.legal_basis))
    elif purpose is not None:
        raise RequestError(_("a purpose only applies to objections, not to {kind} requests").format(kind=kind.value))
    if kind == Kind.ACCESS and categories:
        raise RequestError(_("an access request covers all data; it takes no categories"))
    if kind == Kind.ERASURE:
        kept = [catalog.category(k).name for k in categories or () if not catalog.category(k).erasable]
        if kept:
            raise RequestError(_("{categories} are kept under the employment contract while you work here; they "
                                 "cannot be erased on request").format(categories=", ".join(kept)))
    cats = json.dumps(sorted(set(categories))) if categories else None
    return cats, purpose


def file_request(
    engine: Engine, principal: Principal, subject: str, kind: str, *, categories: list[str] | None = None,
    purpose: str | None = None, channel: str = "portal", details: str | None = None, now: datetime | None = None,
) -> Request:
    """File a request about ``subject`` (employee id, e-mail or OIDC subject).

    An employee files for themself; the privacy office files requests that
    arrived by e-mail or letter on the person's behalf.
    """
    try:
        kind_ = Kind(kind)
    except ValueError:
        raise RequestError(_("unknown request kind {kind}; choose erasure, objection or access").format(
            kind=repr(kind))) from None
    if channel not in CHANNELS:
        raise RequestError(_("unknown channel {channel}; choose {known}").format(channel=repr(channel),
                                                                                 known=", ".join(CHANNELS)))
    if details is not None and len(details) > MAX_DETAILS:
        raise RequestError(_("details are limited to {limit} characters (got {n})").format(
            limit=MAX_DETAILS, n=len(details)))
    cats, purpose = _validate_scope(kind_, categories, purpose)
    now = as_utc(now or datetime.now(UTC))
    with engine.begin() as conn:
        employee_id = resolve_subject(conn, subject)
        if principal.employee_id == employee_id:
            ensure(principal, "requests:file_own", employee_id)
            role = SUBJECT
        else:
            ensure(principal, "requests:read_all")
            role = OFFICE
        request_id = "REQ-" + secrets.token_hex(4).upper()
        conn.execute(sa.insert(db.privacy_requests).values(
            request_id=request_id, employee_id=employee_id, kind=kind_.value, categories=cats,
            purpose_code=purpose, channel=channel, details=details, received_at=now,
            deadline=initial_deadline(now.date()), status=Status.SUBMITTED.value, updated_at=now,
        ))
        conn.execute(sa.insert(db.request_transitions).values(
            request_id=request_id, at=now, from_status=None, to_status=Status.SUBMITTED.value, event="filed",
            actor_role=role, actor_ref=_actor(conn, principal), reason=f"received by {channel}",
        ))
        return _load(conn, request_id)


def _load(conn: Connection, request_id: str, *, lock: bool = False) -> Request:
    query = sa.select(db.privacy_requests).where(db.privacy_requests.c.request_id == request_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise RequestNotFound(request_id)
    return _row_to_request(row)


def _role_of(principal: Principal, request: Request) -> str:
    if PRIVACY_OFFICE in principal.roles and principal.employee_id != request.employee_id:
        return OFFICE
    if principal.employee_id == request.employee_id:
        return SUBJECT
    raise PermissionDenied(_("Not allowed: this request is about someone else."))


EXECUTOR_REF = "svc:request-executor"


def _apply(conn: Connection, principal: Principal | None, request: Request, target: Status, reason: str | None,
           now: datetime, **changes: object) -> Request:
    # principal None: the executor itself, reachable only through executor_transition().
    role = EXECUTOR if principal is None else _role_of(principal, request)
    if role == OFFICE:
        ensure(principal, "requests:execute" if target == Status.EXECUTING else "requests:decide")
    check_transition(request.status, target, role, reason)
    done = conn.execute(
        sa.update(db.privacy_requests)
        .where(db.privacy_requests.c.request_id == request.request_id,
               db.privacy_requests.c.status == request.status.value)
        .values(status=target.value, updated_at=now, **changes)
    )
    if done.rowcount != 1:  # someone else moved it first; nothing is written
        raise TransitionError(_("request {request_id} changed meanwhile; reload and try again").format(
            request_id=request.request_id))
    conn.execute(sa.insert(db.request_transitions).values(
        request_id=request.request_id, at=now, from_status=request.status.value, to_status=target.value,
        event="transition", actor_role=role,
        actor_ref=EXECUTOR_REF if principal is None else _actor(conn, principal), reason=reason,
    ))
    return _load(conn, request.request_id)


def executor_transition(conn: Connection, request_id: str, target: Status, reason: str,
                        now: datetime | None = None) -> Request:
    """A transition made by the executor (e.g. executing -> completed after verification).

    Only the erasure/objection executor calls this, inside its own transaction;
    no page or command offers it, and the lifecycle table allows the executor
    nothing but starting and completing execution.
    """
    request = _load(conn, request_id, lock=True)
    return _apply(conn, None, request, target, reason, as_utc(now or datetime.now(UTC)))


def transition(engine: Engine, principal: Principal, request_id: str, target: str | Status,
               reason: str | None = None, now: datetime | None = None) -> Request:
    """Move a request to ``target`` status, recording who, when and why."""
    now = as_utc(now or datetime.now(UTC))
    target = Status(target)
    with engine.begin() as conn:
        request = _load(conn, request_id, lock=True)
        changes = {"decision_reason": reason} if target == Status.REJECTED else {}
        return _apply(conn, principal, request, target, reason, now, **changes)


def approve(engine: Engine, principal: Principal, request_id: str, reason: str | None = None,
            now: datetime | None = None) -> Request:
    """Approve, taking a submitted request through review first (both steps are recorded)."""
    now = as_utc(now or datetime.now(UTC))
    with engine.begin() as conn:
        request = _load(conn, request_id, lock=True)
        if request.status == Status.SUBMITTED:
            request = _apply(conn, principal, request, Status.IN_REVIEW, reason, now)
        return _apply(conn, principal, request, Status.APPROVED, reason, now, decision_reason=reason)


def extend(engine: Engine, principal: Principal, request_id: str, months: int, reason: str,
           now: datetime | None = None) -> Request:
    """The one extension GDPR Art. 12(3) allows, by 1 or 2 months, with a reason the employee sees."""
    now = as_utc(now or datetime.now(UTC))
    with engine.begin() as conn:
        request = _load(conn, request_id, lock=True)
        ensure(principal, "requests:decide")
        if request.status in (Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN):
            raise TransitionError(_("the request is already {status}; there is nothing to extend").format(
                status=request.status.value))
        new_deadline = extended_deadline(request.received_at.date(), months, request.extended_deadline is not None,
                                         reason)
        conn.execute(sa.update(db.privacy_requests)
                     .where(db.privacy_requests.c.request_id == request_id)
                     .values(extended_deadline=new_deadline, extension_reason=reason, updated_at=now))
        conn.execute(sa.insert(db.request_transitions).values(
            request_id=request_id, at=now, from_status=request.status.value, to_status=request.status.value,
            event="extended", actor_role=OFFICE, actor_ref=_actor(conn, principal),
            reason=f"deadline extended to {new_deadline.isoformat()}: {reason}",
        ))
        return _load(conn, request_id)


def get(engine: Engine, principal: Principal, request_id: str) -> Request:
    with engine.connect() as conn:
        request = _load(conn, request_id)
    if principal.employee_id != request.employee_id:
        ensure(principal, "requests:read_all")
    return request


def list_requests(engine: Engine, principal: Principal, status: str | None = None) -> list[Request]:
    """All requests, soonest deadline first (privacy office)."""
    ensure(principal, "requests:read_all")
    query = sa.select(db.privacy_requests)
    if status is not None:
        try:
            query = query.where(db.privacy_requests.c.status == Status(status).value)
        except ValueError:
            raise RequestError(_("unknown status {status}; choose {known}").format(
                status=repr(status), known=", ".join(s.value for s in Status))) from None
    with engine.connect() as conn:
        requests = [_row_to_request(r) for r in conn.execute(query)]
    return sorted(requests, key=lambda r: (r.due, r.received_at))


def my_requests(engine: Engine, principal: Principal) -> list[Request]:
    """The signed-in employee's own requests, newest first."""
    employee_id = principal.employee_id
    ensure(principal, "requests:file_own", employee_id)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.privacy_requests)
                            .where(db.privacy_requests.c.employee_id == employee_id)).all()
    return sorted((_row_to_request(r) for r in rows), key=lambda r: r.received_at, reverse=True)


def history(engine: Engine, principal: Principal, request_id: str) -> list[HistoryEntry]:
    get(engine, principal, request_id)  # the same access rule as the request itself
    t = db.request_transitions.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.request_transitions).where(t.request_id == request_id).order_by(t.seq))
        return [
            HistoryEntry(at=as_utc(r.at), from_status=Status(r.from_status) if r.from_status else None,
                         to_status=Status(r.to_status), event=r.event, actor_role=r.actor_role,
                         actor_ref=r.actor_ref, reason=r.reason)
            for r in rows
        ]


def requests_with_history(conn: Connection, employee_id: str) -> list[tuple[Request, list[HistoryEntry]]]:
    """One person's requests, oldest first, each with its history; for callers that already checked policy."""
    requests = sorted((_row_to_request(r) for r in conn.execute(
        sa.select(db.privacy_requests).where(db.privacy_requests.c.employee_id == employee_id))),
        key=lambda r: (r.received_at, r.request_id))
    t = db.request_transitions.c
    entries: dict[str, list[HistoryEntry]] = {r.request_id: [] for r in requests}
    if entries:
        for r in conn.execute(sa.select(db.request_transitions).where(t.request_id.in_(list(entries)))
                              .order_by(t.seq)):
            entries[r.request_id].append(HistoryEntry(
                at=as_utc(r.at), from_status=Status(r.from_status) if r.from_status else None,
                to_status=Status(r.to_status), event=r.event, actor_role=r.actor_role, actor_ref=r.actor_ref,
                reason=r.reason))
    return [(r, entries[r.request_id]) for r in requests]
