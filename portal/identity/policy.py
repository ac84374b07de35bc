"""Who may do what: one registry of named actions, deny by default.

Order of evaluation in :func:`allowed`:

1. An action that is not registered is a programming error (:class:`UnknownAction`),
   never a silent "no".
2. The principal must hold one of the roles the action names.
3. Actions on a person's own data (``scope="own"``) additionally require that the
   resource *is* the principal's own employee id. The subject always comes from
   the principal, but services check anyway, so a wrong call cannot widen access.

Service functions call :func:`ensure`; pages also guard themselves. Hiding a page
from the navigation is convenience, not enforcement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

# The roles live in core (the principal needs them too); the policy's callers read them here as well.
from portal.core.roles import ASSIGNABLE_ROLES as ASSIGNABLE_ROLES
from portal.core.roles import EMPLOYEE as EMPLOYEE
from portal.core.roles import PRIVACY_OFFICE as PRIVACY_OFFICE
from portal.core.roles import ROLE_LABELS as ROLE_LABELS
from portal.core.roles import ROLES as ROLES
from portal.core.roles import WORKS_COUNCIL as WORKS_COUNCIL

if TYPE_CHECKING:
    from portal.identity.principal import Principal



@dataclass(frozen=True)
class Action:
    name: str
    description: str
    roles: frozenset[str]
    scope: Literal["own", "any"] = "any"


_ACTIONS = [
    Action("rights:read_own", "See which portal actions your roles allow, and why.",
           frozenset({EMPLOYEE, WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("telemetry:read_own", "See the telemetry records held about yourself.", frozenset({EMPLOYEE}), "own"),
    Action("access_log:read_own", "See who read your data, when and why.", frozenset({EMPLOYEE}), "own"),
    Action("lineage:read_own", "See which datasets and models include your data.", frozenset({EMPLOYEE}), "own"),
    Action("export:own", "Download a copy of everything held about yourself.", frozenset({EMPLOYEE}), "own"),
    Action("requests:file_own", "Ask for erasure, object to a purpose, or ask for a copy.", frozenset({EMPLOYEE}), "own"),
    Action("notifications:read_own", "Read the notices the portal sent you about reads of your data and your "
           "requests.", frozenset({EMPLOYEE}), "own"),
    Action("settings:edit_own", "Choose how often you get the digest of reads, and your language.",
           frozenset({EMPLOYEE}), "own"),
    Action("aggregates:read", "Read k-anonymous aggregates; never a single person.", frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("exposure:read", "Compare who can read, who may read and who did read each category.",
           frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("audit:witness", "Download signed log checkpoints and check that the log extends them.",
           frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("requests:read_all", "See the queue of privacy requests.", frozenset({PRIVACY_OFFICE})),
    Action("requests:decide", "Approve, reject or extend a privacy request, with a reason.", frozenset({PRIVACY_OFFICE})),
    Action("requests:execute", "Run an approved erasure or objection.", frozenset({PRIVACY_OFFICE})),
    Action("subjects:lookup", "Open one person's records, with a recorded justification the person sees.",
           frozenset({PRIVACY_OFFICE})),
    Action("lineage:manage", "Register datasets, versions, members and models.", frozenset({PRIVACY_OFFICE})),
    Action("audit:verify", "Recompute and verify the whole access log.", frozenset({PRIVACY_OFFICE})),
    Action("collectors:read", "See the collector register: which systems collect what, why, for how long, and "
           "the works council's decisions.", frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("collectors:register", "Register a collector: the category it sends, its purposes, legal basis and "
           "retention.", frozenset({PRIVACY_OFFICE})),
    Action("collectors:decide", "Approve, suspend or resume a collector, with a reason employees read.",
           frozenset({WORKS_COUNCIL})),
]

ACTIONS: dict[str, Action] = {a.name: a for a in _ACTIONS}


class UnknownAction(KeyError):
    """An action name that is not in the registry."""

    def __str__(self) -> str:
        return f"unknown action {self.args[0]!r}; register it in portal.identity.policy"


class PermissionDenied(PermissionError):
    """The principal may not perform the action; the message says which and why."""


def action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise UnknownAction(name) from None


def _denial_reason(principal: Principal | None, name: str, resource: str | None) -> str | None:
    act = action(name)
    if principal is None:
        return "nobody is signed in"
    if not (principal.roles & act.roles):
        return f"{name} needs one of the roles {', '.join(sorted(act.roles))}"
    if act.scope == "own":
        own = principal.employee_id
        if own is None or resource is None or resource != own:
            return f"{name} only applies to your own data"
    return None


def allowed(principal: Principal | None, name: str, resource: str | None = None) -> bool:
    """True when ``principal`` may perform ``name`` on ``resource`` (an employee id for own-scope actions)."""
    return _denial_reason(principal, name, resource) is None


def ensure(principal: Principal | None, name: str, resource: str | None = None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`allowed`."""
    reason = _denial_reason(principal, name, resource)
    if reason is not None:
        raise PermissionDenied(f"Not allowed: {reason}.")
