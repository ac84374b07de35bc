"""From OIDC claims to a :class:`Principal`.

The employee record is found by the token's ``sub`` first, then by e-mail, but
only when the provider says the e-mail is verified: anyone can type an e-mail
address as a subject at a permissive provider, and an unverified claim must
never open someone else's record. Roles other than "employee" come from the
``groups`` claim through the configured mapping; groups that map to nothing are
kept so the page can say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portal.core.roles import EMPLOYEE


@dataclass(frozen=True)
class Employee:
    employee_id: str
    display_name: str
    email: str
    department: str
    team: str
    job_title: str
    oidc_sub: str | None = None


@dataclass(frozen=True)
class Principal:
    subject: str
    email: str | None
    name: str | None
    employee: Employee | None
    roles: frozenset[str]
    groups: tuple[str, ...] = ()
    unmapped_groups: tuple[str, ...] = ()
    authenticated_at: datetime | None = None

    @property
    def employee_id(self) -> str | None:
        return self.employee.employee_id if self.employee else None

    @property
    def display_name(self) -> str:
        if self.employee:
            return self.employee.display_name
        return self.name or self.email or self.subject

    def has_role(self, role: str) -> bool:
        return role in self.roles


class ClaimsError(ValueError):
    """The identity token lacks what the portal needs; the message says what."""


EmployeeFinder = Callable[[str], Employee | None]


@dataclass(frozen=True)
class Directory:
    """How to find an employee: by OIDC subject and by verified e-mail."""

    by_subject: EmployeeFinder
    by_email: EmployeeFinder


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _groups(claims: Mapping[str, object]) -> tuple[str, ...]:
    raw = claims.get("groups")
    if raw is None:
        return ()
    if isinstance(raw, str):
        return tuple(g.strip() for g in raw.split(",") if g.strip())
    if isinstance(raw, list | tuple):
        return tuple(str(g) for g in raw)
    raise ClaimsError(f"the groups claim must be a list of names, got {type(raw).__name__}")


def _authenticated_at(claims: Mapping[str, object]) -> datetime | None:
    for key in ("auth_time", "iat"):
        value = claims.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
    return None


def principal_from_claims(
    claims: Mapping[str, object], directory: Directory, role_groups: Mapping[str, str]
) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise ClaimsError("the identity token has no subject (sub claim)")
    raw_email = claims.get("email")
    email = raw_email if isinstance(raw_email, str) else None
    employee = directory.by_subject(sub)
    if employee is None and email and _truthy(claims.get("email_verified")):
        employee = directory.by_email(email.strip().lower())
    groups = _groups(claims)
    roles = {role_groups[g] for g in groups if g in role_groups}
    if employee is not None:
        roles.add(EMPLOYEE)
    raw_name = claims.get("name")
    name = raw_name if isinstance(raw_name, str) else None
    return Principal(
        subject=sub,
        email=email,
        name=name,
        employee=employee,
        roles=frozenset(roles),
        groups=groups,
        unmapped_groups=tuple(g for g in groups if g not in role_groups),
        authenticated_at=_authenticated_at(claims),
    )


def session_expired(principal: Principal, max_age: timedelta, now: datetime | None = None) -> bool:
    """True when the login is older than ``max_age`` (or its age is unknown).

    Streamlit keeps its identity cookie without looking at token expiry, so the
    portal bounds the session itself. A token without ``iat``/``auth_time`` is
    treated as expired: we cannot prove it is fresh.
    """
    if principal.authenticated_at is None:
        return True
    now = now or datetime.now(UTC)
    return now - principal.authenticated_at > max_age
