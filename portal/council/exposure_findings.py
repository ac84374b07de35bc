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

from portal.core import i18n
from portal.core.exposure_policy import norm_role
from portal.core.i18n import _, ngettext
from portal.core.plain_text import clean

from portal.council.exposure_model import CategoryExposure, GrantRow, Violation


def _day(value: date) -> str:
    """A day as the findings write it: 02 Mar 2026 in English, the language's own form otherwise."""
    return f"{value:%d %b %Y}" if i18n.language() == i18n.DEFAULT_LANGUAGE else i18n.day(value)


def _people(n: int) -> str:
    return ngettext("{n} person", "{n} people", n).format(n=n)


def days(weeks: list[date]) -> str:
    if len(weeks) == 1:
        return _("In the week of {day}").format(day=_day(weeks[0]))
    return _("In {n} weeks between {first} and {last}").format(n=len(weeks), first=_day(weeks[0]),
                                                                last=_day(weeks[-1]))


def violations(c: CategoryExposure, mine: pl.DataFrame, held: list[GrantRow], breadth: pl.DataFrame,
               subjects: str) -> tuple[Violation, ...]:
    """Everything wrong with category ``c``: ``mine`` is its weekly rows, ``held`` its grants, ``breadth``
    its scoped reads (:func:`portal.core.exposure_policy.scoped_breadth`), ``subjects`` the phrase saying whose
    data readers outside the allowed roles read."""
    out = []
    if c.outside_readers:
        weeks = mine.filter(pl.col("readers_outside") > 0)["week"].to_list()
        roles = ", ".join(_("{n} in the role {role}").format(n=n, role=r) for r, n in c.outside_readers.items())
        out.append(Violation(True, _("{when}, people whose role the catalog does not allow read other people's "
                                     "records in “{category}” ({roles}){subjects}.").format(
            when=days(weeks), category=c.name, roles=roles, subjects=subjects)))
    if c.weeks_over_max:
        worst = mine.sort("readers", descending=True).row(0, named=True)
        out.append(Violation(False, _("{when}, more people read other people's records in “{category}” than the "
                                      "maximum of {maximum} (at most {most}, in the week of {day}).").format(
            when=days(list(c.weeks_over_max)), category=c.name, maximum=c.max_principals, most=worst["readers"],
            day=_day(worst["week"]))))
    out += _scoped(c, breadth)
    for g in held:
        if not g.allowed:
            who = _("a service") if g.kind == "service" else _people(g.members)
            sentence = (_("A grant gave {holder} ({who}) read access from {start} until {end}, although the catalog "
                          "does not allow the role {role}.") if g.expires_at else
                        _("A grant gave {holder} ({who}) read access from {start} with no expiry, although the "
                          "catalog does not allow the role {role}."))
            out.append(Violation(True, sentence.format(holder=g.holder, who=who, start=_day(g.granted_at),
                                                       end=_day(g.expires_at) if g.expires_at else "", role=g.role)))
    if c.peak_can_read > c.max_principals:
        out.append(Violation(False, _("Grants let up to {n} principals read “{category}”, more than the maximum of "
                                      "{maximum}.").format(n=c.peak_can_read, category=c.name,
                                                           maximum=c.max_principals)))
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
            out.append(Violation(False, _("{when}, {readers} in the role {role} read records in “{category}” of "
                                          "more than {limit} people in a week (at most {most}), although the role "
                                          "may read only {relation}.").format(
                when=days(wide["week"].to_list()), readers=_people(readers), role=scope.role, category=c.name,
                limit=scope.people_per_reader, most=most_people, relation=scope.relation)))
        shared = mine.filter(pl.col("most_readers") > scope.readers_per_person).sort("week")
        if shared.height:
            most_readers = int(cast(int, shared["most_readers"].max()))
            out.append(Violation(False, _("{when}, some people's records in “{category}” were read by more than "
                                          "{limit} people in the role {role} in the same week (at most {most} for "
                                          "one person), although the role may read only {relation}.").format(
                when=days(shared["week"].to_list()), category=c.name, limit=scope.readers_per_person, role=scope.role,
                most=most_readers, relation=scope.relation)))
    return out
