"""What a collector's registration must hold, checked before anything is written.

The name is an identifier the collector sends with every batch (letters, digits, ``.``, ``-``, ``_``);
the category is one of the catalog's; the purposes are purposes of that category; the retention is at
most the catalog's for that category. Every problem is named with what was given and what is allowed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from portal.core import catalog, i18n
from portal.core.i18n import N_, _

MAX_NAME = 100
MAX_LEGAL_BASIS = 200
MAX_AGREEMENT = 200
MAX_DESCRIPTION = 4000
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class CollectorError(ValueError):
    """A registration or a decision that cannot be made; the message says why."""


@dataclass(frozen=True)
class Registration:
    name: str
    category_key: str
    purposes: tuple[str, ...]
    legal_basis: str
    retention_days: int
    agreement: str | None
    description: str | None


def checked_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise CollectorError(_("a collector needs a name"))
    if len(name) > MAX_NAME:
        raise CollectorError(_("a collector's name is at most {most} characters (got {n})").format(most=MAX_NAME, n=len(name)))
    if not NAME_PATTERN.fullmatch(name):
        raise CollectorError(_("collector name {name} may hold only letters, digits, '.', '-' and '_', and starts "
                               "with a letter or digit").format(name=repr(name)))
    return name


def checked_text(value: object, what: str, limit: int, *, required: bool = False, lines: bool = False,
                 missing: str | None = None) -> str | None:
    """``value`` stripped, or None when empty and not ``required``; control characters are refused
    (line breaks and tabs only where ``lines``). ``what`` is English marked with ``N_``; it is translated here."""
    what = _(what)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CollectorError(_("{what} must be text").format(what=what))
    text = value.strip()
    if not text:
        if required:
            raise CollectorError(missing or _("{what} is required").format(what=what))
        return None
    if len(text) > limit:
        raise CollectorError(_("{what} is limited to {limit} characters (got {n})").format(
            what=what, limit=i18n.number(limit), n=i18n.number(len(text))))
    allowed = "\n\t" if lines else ""
    bad = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in allowed})
    if bad:
        raise CollectorError(_("{what} holds a control character ({characters})").format(
            what=what, characters=", ".join(f"U+{ord(c):04X}" for c in bad)))
    return text


def checked_purposes(category: catalog.Category, purposes: Sequence[str] | str) -> tuple[str, ...]:
    codes = purposes.split(",") if isinstance(purposes, str) else list(purposes)
    chosen: list[str] = []
    for code in (c.strip() if isinstance(c, str) else c for c in codes):
        if not isinstance(code, str) or not code:
            continue
        if code not in catalog.PURPOSE_BY_CODE:
            known = ", ".join(sorted(catalog.PURPOSE_BY_CODE))
            raise CollectorError(_("unknown purpose {code}; known purposes: {known}").format(code=repr(code), known=known))
        if code not in category.purposes:
            raise CollectorError(_("{code} is not a purpose of {category} ({key}); its purposes are: {purposes}").format(
                code=code, category=category.name, key=category.key, purposes=", ".join(category.purposes)))
        if code not in chosen:
            chosen.append(code)
    if not chosen:
        raise CollectorError(_("a collector names at least one purpose; {category} ({key}) serves: {purposes}").format(
            category=category.name, key=category.key, purposes=", ".join(category.purposes)))
    return tuple(chosen)


def checked_retention(category: catalog.Category, retention_days: object) -> int:
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise CollectorError(_("retention is a whole number of days (got {value})").format(value=repr(retention_days)))
    if retention_days < 1:
        raise CollectorError(_("retention must be at least 1 day (got {value})").format(value=retention_days))
    if retention_days > category.retention_days:
        raise CollectorError(_("retention of {days} days is above the {most} days the catalog allows for {category} "
                               "({key})").format(days=i18n.number(retention_days),
                                                 most=i18n.number(category.retention_days),
                                                 category=category.name, key=category.key))
    return retention_days


def checked_registration(name: object, category_key: str, purposes: Sequence[str] | str, legal_basis: object,
                         retention_days: object, agreement: object, description: object) -> Registration:
    """The registration with every field checked (:class:`CollectorError` or ``catalog.UnknownCategory``)."""
    name = checked_name(name)
    category = catalog.category(category_key)  # UnknownCategory names the known keys
    basis = checked_text(legal_basis, N_("the legal basis"), MAX_LEGAL_BASIS, required=True,
                         missing=_("a collector needs a legal basis, e.g. GDPR Art. 6(1)(f) legitimate interests"))
    assert basis is not None  # required
    return Registration(
        name=name, category_key=category.key, purposes=checked_purposes(category, purposes), legal_basis=basis,
        retention_days=checked_retention(category, retention_days),
        agreement=checked_text(agreement, N_("the agreement"), MAX_AGREEMENT),
        description=checked_text(description, N_("the description"), MAX_DESCRIPTION, lines=True),
    )
