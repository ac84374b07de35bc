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

from portal.core.i18n import N_, _
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
    """A named action; ``description`` is English, marked for the catalogs: show it as ``_(action.description)``."""

    name: str
    description: str
    roles: frozenset[str]
    scope: Literal["own", "any"] = "any"


_ACTIONS = [
    Action("rights:read_own", N_("See which portal actions your roles allow, and why."),
           frozenset({EMPLOYEE, WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("telemetry:read_own", N_("See the telemetry records held about yourself."), frozenset({EMPLOYEE}), "own"),
    Action("access_log:read_own", N_("See who read your data, when and why."), frozenset({EMPLOYEE}), "own"),
    Action("lineage:read_own", N_("See which datasets and models include your data."), frozenset({EMPLOYEE}), "own"),
    Action("export:own", N_("Download a copy of everything held about yourself."), frozenset({EMPLOYEE}), "own"),
    Action("requests:file_own", N_("Ask for erasure, object to a purpose, or ask for a copy."), frozenset({EMPLOYEE}), "own"),
    Action("notifications:read_own", N_("Read the notices the portal sent you about reads of your data and your "
           "requests."), frozenset({EMPLOYEE}), "own"),
    Action("settings:edit_own", N_("Choose how often you get the digest of reads, and your language."),
           frozenset({EMPLOYEE}), "own"),
    Action("aggregates:read", N_("Read k-anonymous aggregates; never a single person."), frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("exposure:read", N_("Compare who can read, who may read and who did read each category."),
           frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("audit:witness", N_("Download signed log checkpoints and check that the log extends them."),
           frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("requests:read_all", N_("See the queue of privacy requests."), frozenset({PRIVACY_OFFICE})),
    Action("requests:decide", N_("Approve, reject or extend a privacy request, with a reason."), frozenset({PRIVACY_OFFICE})),
    Action("requests:execute", N_("Run an approved erasure or objection."), frozenset({PRIVACY_OFFICE})),
    Action("subjects:lookup", N_("Open one person's records, with a recorded justification the person sees."),
           frozenset({PRIVACY_OFFICE})),
    Action("lineage:manage", N_("Register datasets, versions, members and models."), frozenset({PRIVACY_OFFICE})),
    Action("audit:verify", N_("Recompute and verify the whole access log."), frozenset({PRIVACY_OFFICE})),
    Action("collectors:read", N_("See the collector register: which systems collect what, why, for how long, and "
           "the works council's decisions."), frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})),
    Action("collectors:register", N_("Register a collector: the category it sends, its purposes, legal basis and "
           "retention."), frozenset({PRIVACY_OFFICE})),
    Action("collectors:decide", N_("Approve, suspend or resume a collector, with a reason employees read."),
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
        return _("nobody is signed in")
    if not (principal.roles & act.roles):
        return _("{action} needs one of the roles {roles}").format(
            action=name, roles=", ".join(sorted(act.roles)))
    if act.scope == "own":
        own = principal.employee_id
        if own is None or resource is None or resource != own:
            return _("{action} only applies to your own data").format(action=name)
    return None


def allowed(principal: Principal | None, name: str, resource: str | None = None) -> bool:
    """True when ``principal`` may perform ``name`` on ``resource`` (an employee id for own-scope actions)."""
    return _denial_reason(principal, name, resource) is None


def ensure(principal: Principal | None, name: str, resource: str | None = None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`allowed`."""
    reason = _denial_reason(principal, name, resource)
    if reason is not None:
        raise PermissionDenied(_("Not allowed: {reason}.").format(reason=reason))
