"""What the exposure report is made of: grants, each category's can/may/did read, and violations in words.

Plain frozen data, shared by :mod:`portal.council.exposure` (which computes it) and
:mod:`portal.council.exposure_findings` (which words the violations), so neither imports the other's types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from portal.core import catalog
from portal.core.i18n import N_


@dataclass(frozen=True)
class Violation:
    """One way a category breaks its policy, in words. Serious: someone outside the allowed roles
    read or could read; otherwise more principals than the maximum could read or did, or readers in a
    scoped role read beyond what their relationship to the people explains."""

    serious: bool
    text: str


@dataclass(frozen=True)
class GrantRow:
    """A grant as the exposure page shows it: no person is named."""

    category_key: str
    holder: str
    kind: str
    role: str
    members: int
    allowed: bool
    granted_at: datetime
    expires_at: datetime | None
    active_now: bool
    scoped: bool  # a scoped role (line managers): counted apart from the category's maximum


@dataclass(frozen=True)
class CategoryExposure:
    key: str
    name: str
    allowed_roles: tuple[str, ...]
    max_principals: int  # the limit in force: the catalog's or the company's (PORTAL_MAX_PRINCIPALS)
    limit_set_by: str  # "catalog" or "company (catalog: N)"
    can_read_now: int  # counted principals: scoped roles are apart
    peak_can_read: int
    peak_readers: int
    peak_week: date | None
    weeks_over_max: tuple[date, ...]
    outside_readers: dict[str, int]  # role not allowed -> distinct people who read in it
    violations: tuple[Violation, ...]
    scoped_roles: tuple[catalog.ScopedRole, ...] = ()
    scoped_can_read_now: int = 0  # people in scoped roles holding a grant now
    peak_scoped_readers: int = 0  # most people in scoped roles reading in one week
    scoped_weeks_over: tuple[date, ...] = ()  # weeks in which scoped reads went beyond their scope

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def serious(self) -> bool:
        return any(v.serious for v in self.violations)

    @property
    def verdict(self) -> str:
        """In English, as the exposure command's JSON writes it; shown translated: ``_(c.verdict)``."""
        if self.serious:
            return N_("breach: role not allowed")
        return N_("over the maximum") if self.violations else N_("within policy")


@dataclass(frozen=True)
class Exposure:
    categories: tuple[CategoryExposure, ...]
    # category, name, week, readers_allowed, readers_outside, readers, readers_scoped, services, can_read, max;
    # readers = readers_allowed + readers_outside, the people held to max; readers_scoped are apart.
    weekly: pl.DataFrame
    subjects: dict[tuple[str, ...], pl.DataFrame]  # published: people whose data people read
    grants: tuple[GrantRow, ...]
    k: int
    epsilon: float | None
    as_of: datetime

    @property
    def breached(self) -> list[CategoryExposure]:
        """Categories that someone outside the allowed roles read or could read."""
        return [c for c in self.categories if c.serious]

    @property
    def over_maximum(self) -> list[CategoryExposure]:
        """Categories within their roles but read, or readable, by more principals than allowed, or read
        beyond their scope by a scoped role."""
        return [c for c in self.categories if c.violations and not c.serious]

    @property
    def within_policy(self) -> list[CategoryExposure]:
        return [c for c in self.categories if c.ok]
