"""From OIDC claims to a :class:`Principal`, by the rules the settings give (:class:`ClaimRules`).

Who the person is. The employee record is found by the claim ``PORTAL_SUBJECT_CLAIM`` names (``sub``;
``oid`` for Microsoft Entra ID, whose ``sub`` differs per application), matched against the directory's
subject (``employees.oidc_sub``). The token must carry that claim. Only when it matches nobody is the
e-mail tried, and only when the provider says the e-mail is verified (``email_verified`` true, as a boolean
or the text "true"): anyone can type an e-mail address as a subject at a permissive provider, and an
unverified claim must never open someone else's record. A provider that does not send ``email_verified``
(Entra ID) never has its e-mail used.

Roles. Every person the directory knows is an employee. The works council and the privacy office come
from the values of the claims ``PORTAL_ROLE_CLAIMS`` names (``groups`` and ``roles``; ``cognito:groups``,
``realm_access.roles`` ...), through ``PORTAL_ROLE_GROUPS``. A claim name with dots is a path into nested
claims (``resource_access.telemetry-portal.roles``) when no claim has that exact name; at each level the
longest key that matches is taken, so a client id with dots in it works. A value that is a path
(Keycloak's "full group path", ``/org/works-council``) matches the mapping by itself first, then by its
last segment (``works-council``). Values that grant nothing are kept, at most
:data:`MAX_SHOWN_GROUPS` of them with their total count, so the page can say so without listing a
hundred group ids.

A staff role is given only to a person the directory knows. Someone whose groups map to a role but
who matches no employee gets no role at all and sees the "We have no record of you" screen: roles are
for people of the company, and a guest account in a mapped group must not read the council's figures.
The roles such a person's groups would have given are kept (``withheld_roles``) so that screen can say why.

A token that says its groups did not fit (Entra ID's group overage: ``_claim_names`` naming a role
claim, or ``hasgroups``) is refused with what to configure, never read as "no groups".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from portal.core.i18n import _
from portal.core.roles import ASSIGNABLE_ROLES, EMPLOYEE
from portal.core.settings import DEFAULT_ROLE_CLAIMS, DEFAULT_ROLE_GROUPS, Settings

# Role-claim values granting nothing that a principal carries for the page to show; the rest are counted.
MAX_SHOWN_GROUPS = 10


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
    # Values of the role claims that grant this person no role, at most MAX_SHOWN_GROUPS; the count is of all.
    unmapped_groups: tuple[str, ...] = ()
    authenticated_at: datetime | None = None
    unmapped_group_count: int = 0
    # Staff roles the groups would give, withheld because the directory does not know the person.
    withheld_roles: frozenset[str] = frozenset()

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


@dataclass(frozen=True)
class ClaimRules:
    """How the identity token is read: which claim identifies the person, which claims carry roles, and how
    their values map to portal roles. Build it with :meth:`from_settings`; the defaults are the settings'."""

    subject_claim: str = "sub"
    role_claims: tuple[str, ...] = DEFAULT_ROLE_CLAIMS
    role_groups: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_ROLE_GROUPS)))

    def __post_init__(self) -> None:
        if isinstance(self.role_claims, str):
            raise TypeError("ClaimRules.role_claims is a sequence of claim names, not one string")
        if not self.subject_claim or not self.role_claims or not all(self.role_claims):
            raise ValueError("ClaimRules needs a subject claim and at least one role claim, all named")
        unknown = {r for r in self.role_groups.values() if r and r not in ASSIGNABLE_ROLES}
        if unknown:
            raise ValueError(f"ClaimRules maps groups to unknown roles {sorted(unknown)}")
        object.__setattr__(self, "role_claims", tuple(self.role_claims))
        object.__setattr__(self, "role_groups", MappingProxyType(dict(self.role_groups)))

    @classmethod
    def from_settings(cls, settings: Settings) -> ClaimRules:
        return cls(subject_claim=settings.subject_claim, role_claims=tuple(settings.role_claims),
                   role_groups=settings.role_groups)

    def role_of(self, value: str) -> str:
        """The role a claim value maps to ("" for none): the value itself first, then a path's last segment."""
        if value in self.role_groups:
            return self.role_groups[value]
        if "/" in value:
            return self.role_groups.get(value.rstrip("/").rsplit("/", 1)[-1], "")
        return ""


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _subject(claims: Mapping[str, object], name: str) -> str:
    value = claims.get(name)
    where = _("its {claim} claim, which PORTAL_SUBJECT_CLAIM names as the one identifying a person").format(
        claim=repr(name))
    if value is None:
        raise ClaimsError(_("the identity token has no subject: {where}, is missing").format(where=where))
    if not isinstance(value, str):
        raise ClaimsError(_("the identity token's subject is not text: {where}, holds {kind}").format(
            where=where, kind=_kind(value)))
    if not value.strip():
        raise ClaimsError(_("the identity token's subject is empty: {where}, holds no text").format(where=where))
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return _("an object")
    if isinstance(value, list | tuple):
        return _("a list")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _("a number")
    return f"a {type(value).__name__}"


def _claim(claims: Mapping[str, object], name: str) -> object:
    """The claim called ``name``, or, when there is none, the value at the dotted path ``name``.

    At each level the longest key matching the start of the rest of the path is followed, so
    ``resource_access.portal.example.com.roles`` reaches the client ``portal.example.com``.
    """
    if name in claims:
        return claims[name]
    node: object = claims
    parts = name.split(".")
    while parts:
        if not isinstance(node, Mapping):
            return None
        for i in range(len(parts), 0, -1):
            key = ".".join(parts[:i])
            if key in node:
                node, parts = node[key], parts[i:]
                break
        else:
            return None
    return node


def _values(claims: Mapping[str, object], name: str) -> list[str]:
    raw = _claim(claims, name)
    if raw is None:
        return []
    if isinstance(raw, str):
        items: list[object] = list(raw.split(","))
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        hint = (_("; name a path to the list inside it, e.g. {claim}.roles").format(claim=name)
                if isinstance(raw, Mapping) else "")
        raise ClaimsError(_("the {claim} claim (a role claim, see PORTAL_ROLE_CLAIMS) must be a list of names or a "
                            "comma-separated text, but it holds {kind}{hint}").format(
            claim=repr(name), kind=_kind(raw), hint=hint))
    strange = next((item for item in items if not isinstance(item, str)), None)
    if strange is not None:
        raise ClaimsError(_("the {claim} claim (a role claim, see PORTAL_ROLE_CLAIMS) must be a list of names, but "
                            "it holds {kind} among them").format(claim=repr(name), kind=_kind(strange)))
    return [text for item in items if (text := str(item).strip())]


def _refuse_overage(claims: Mapping[str, object], rules: ClaimRules) -> None:
    """Entra ID's sign that the groups did not fit the token: refused, since "no groups" would be a lie."""
    pointers = claims.get("_claim_names")
    named = [c for c in rules.role_claims if isinstance(pointers, Mapping) and c in pointers]
    if "groups" in rules.role_claims and _truthy(claims.get("hasgroups")):
        named.append("groups")
    if named:
        raise ClaimsError(_(
            "the identity provider left the {claim} claim out of the token because you are in too many groups to "
            "fit (Microsoft Entra ID's group overage), so the portal cannot tell your roles. An administrator can "
            "fix it: in Entra ID, under the app registration's Token configuration, emit only \"Groups assigned to "
            "the application\", or give the portal app roles and set PORTAL_ROLE_CLAIMS=roles").format(
                claim=repr(named[0])))


def _authenticated_at(claims: Mapping[str, object]) -> datetime | None:
    for key in ("auth_time", "iat"):
        value = claims.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
    return None


def principal_from_claims(claims: Mapping[str, object], directory: Directory, rules: ClaimRules) -> Principal:
    """The principal the identity token describes, read by ``rules``; :class:`ClaimsError` says what is missing."""
    subject = _subject(claims, rules.subject_claim)
    _refuse_overage(claims, rules)
    raw_email = claims.get("email")
    email = raw_email if isinstance(raw_email, str) else None
    employee = directory.by_subject(subject)
    if employee is None and email and _truthy(claims.get("email_verified")):
        employee = directory.by_email(email.strip().lower())
    groups = tuple(dict.fromkeys(v for name in rules.role_claims for v in _values(claims, name)))
    granted = {g: rules.role_of(g) for g in groups}
    staff_roles = {role for role in granted.values() if role}
    if employee is not None:
        roles, withheld = frozenset({EMPLOYEE, *staff_roles}), frozenset[str]()
    else:  # staff roles are for people of the company: see the module's docstring
        roles, withheld = frozenset[str](), frozenset(staff_roles)
    unmapped = [g for g, role in granted.items() if not role]
    raw_name = claims.get("name")
    name = raw_name if isinstance(raw_name, str) else None
    return Principal(
        subject=subject,
        email=email,
        name=name,
        employee=employee,
        roles=roles,
        groups=groups,
        unmapped_groups=tuple(unmapped[:MAX_SHOWN_GROUPS]),
        unmapped_group_count=len(unmapped),
        withheld_roles=withheld,
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
