"""The portal actions a principal may perform, as shown to them."""

from __future__ import annotations

import polars as pl

from portal.identity import policy
from portal.identity.principal import Principal


def rights_frame(principal: Principal) -> pl.DataFrame:
    """Every registered action with whether this principal may do it and which roles may."""
    policy.ensure(principal, "rights:read_own")
    rows = []
    for act in policy.ACTIONS.values():
        may = policy.allowed(principal, act.name, principal.employee_id)
        rows.append({
            "Action": act.description,
            "You may": "yes" if may else "no",
            "Scope": "your own data only" if act.scope == "own" else "—",
            "Roles allowed": ", ".join(policy.ROLE_LABELS[r] for r in sorted(act.roles)),
            "Name": act.name,
        })
    return pl.DataFrame(rows).sort("You may", descending=True, maintain_order=True)
