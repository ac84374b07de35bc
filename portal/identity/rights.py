"""The portal actions a principal may perform, as shown to them."""

from __future__ import annotations

import polars as pl

from portal.core.i18n import _
from portal.identity import policy
from portal.identity.principal import Principal


def rights_frame(principal: Principal) -> pl.DataFrame:
    """Every registered action with whether this principal may do it and which roles may, in the reader's language
    (the headings too: the frame is for reading, not a file); the actions allowed come first."""
    policy.ensure(principal, "rights:read_own")
    rows = []
    for act in policy.ACTIONS.values():
        may = policy.allowed(principal, act.name, principal.employee_id)
        rows.append((may, {
            _("Action"): _(act.description),
            _("You may"): _("yes") if may else _("no"),
            _("Scope"): _("your own data only") if act.scope == "own" else "—",
            _("Roles allowed"): ", ".join(_(policy.ROLE_LABELS[r]) for r in sorted(act.roles)),
            _("Name"): act.name,
        }))
    rows.sort(key=lambda row: not row[0])  # stable: the registry's order within "yes" and within "no"
    return pl.DataFrame([row for _may, row in rows])
