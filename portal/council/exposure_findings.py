"""The ways a category breaks the exposure policy, in words (:mod:`portal.council.exposure` explains the policy).

Serious findings are breaches of the allowed roles: someone outside them read, or
a grant let them read. The others are about breadth: more principals than the
limit could read or did, or readers in a scoped role read beyond their scope.
Readers are counted, never named; no finding says how many or which people a
scoped reader read. Roles and grant holders come from feeds: a bidi control in one
could turn the rest of its sentence around, so each sentence is passed through
:func:`portal.core.plain_text.clean`.
"""

from __future__ import annotations

from datetime import date
from typing import cast

import polars as pl

from portal.core.exposure_policy import norm_role
from portal.core.plain_text import clean

from portal.council.exposure_model import CategoryExposure, GrantRow, Violation


def days(weeks: list[date]) -> str:
    if len(weeks) == 1:
        return f"In the week of {weeks[0]:%d %b %Y}"
    return f"In {len(weeks)} weeks between {weeks[0]:%d %b %Y} and {weeks[-1]:%d %b %Y}"


def violations(c: CategoryExposure, mine: pl.DataFrame, held: list[GrantRow], breadth: pl.DataFrame,
               subjects: str) -> tuple[Violation, ...]:
    """Everything wrong with category ``c``: ``mine`` is its weekly rows, ``held`` its grants, ``breadth``
    its scoped reads (:func:`portal.core.exposure_policy.scoped_breadth`), ``subjects`` the phrase saying whose
    data readers outside the allowed roles read."""
    out = []
    if c.outside_readers:
        weeks = mine.filter(pl.col("readers_outside") > 0)["week"].to_list()
        roles = ", ".join(f"{n} in the role {r}" for r, n in c.outside_readers.items())
        out.append(Violation(True, f"{days(weeks)}, people whose role the catalog does not allow read other "
                                   f"people's records in “{c.name}” ({roles}){subjects}."))
    if c.weeks_over_max:
        worst = mine.sort("readers", descending=True).row(0, named=True)
        out.append(Violation(False, f"{days(list(c.weeks_over_max))}, more people read other people's records in "
                                    f"“{c.name}” than the maximum of {c.max_principals} (at most {worst['readers']}, "
                                    f"in the week of {worst['week']:%d %b %Y})."))
    out += _scoped(c, breadth)
    for g in held:
        if not g.allowed:
            until = f" until {g.expires_at:%d %b %Y}" if g.expires_at else " with no expiry"
            who = "a service" if g.kind == "service" else f"{g.members} {'person' if g.members == 1 else 'people'}"
            out.append(Violation(True, f"A grant gave {g.holder} ({who}) read access from {g.granted_at:%d %b %Y}"
                                       f"{until}, although the catalog does not allow the role {g.role}."))
    if c.peak_can_read > c.max_principals:
        out.append(Violation(False, f"Grants let up to {c.peak_can_read} principals read “{c.name}”, more than the "
                                    f"maximum of {c.max_principals}."))
    return tuple(Violation(v.serious, clean(v.text)) for v in out)


def _scoped(c: CategoryExposure, breadth: pl.DataFrame) -> list[Violation]:
    """Reads in a scoped role that reach further than the relationship it is scoped to."""
    out = []
    for scope in c.scoped_roles:
        mine = breadth.filter(pl.col("role") == norm_role(scope.role))
        wide = mine.filter(pl.col("readers_over") > 0).sort("week")
        if wide.height:
            readers = int(cast(int, wide["readers_over"].max()))
            most_people = int(cast(int, wide["most_people"].max()))
            out.append(Violation(False, f"{days(wide['week'].to_list())}, {readers} "
                                        f"{'person' if readers == 1 else 'people'} in the role {scope.role} read "
                                        f"records in “{c.name}” of more than {scope.people_per_reader} people in a "
                                        f"week (at most {most_people}), although the role may "
                                        f"read only {scope.relation}."))
        shared = mine.filter(pl.col("most_readers") > scope.readers_per_person).sort("week")
        if shared.height:
            most_readers = int(cast(int, shared["most_readers"].max()))
            out.append(Violation(False, f"{days(shared['week'].to_list())}, some people's records in “{c.name}” "
                                        f"were read by more than {scope.readers_per_person} people in the role "
                                        f"{scope.role} in the same week (at most {most_readers} "
                                        f"for one person), although the role may read only {scope.relation}."))
    return out
