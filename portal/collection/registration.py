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

from portal.core import catalog

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
        raise CollectorError("a collector needs a name")
    if len(name) > MAX_NAME:
        raise CollectorError(f"a collector's name is at most {MAX_NAME} characters (got {len(name)})")
    if not NAME_PATTERN.fullmatch(name):
        raise CollectorError(f"collector name {name!r} may hold only letters, digits, '.', '-' and '_', "
                             "and starts with a letter or digit")
    return name


def checked_text(value: object, what: str, limit: int, *, required: bool = False, lines: bool = False,
                 missing: str | None = None) -> str | None:
    """``value`` stripped, or None when empty and not ``required``; control characters are refused
    (line breaks and tabs only where ``lines``)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CollectorError(f"{what} must be text")
    text = value.strip()
    if not text:
        if required:
            raise CollectorError(missing or f"{what} is required")
        return None
    if len(text) > limit:
        raise CollectorError(f"{what} is limited to {limit:,} characters (got {len(text):,})")
    allowed = "\n\t" if lines else ""
    bad = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in allowed})
    if bad:
        raise CollectorError(f"{what} holds a control character ({', '.join(f'U+{ord(c):04X}' for c in bad)})")
    return text


def checked_purposes(category: catalog.Category, purposes: Sequence[str] | str) -> tuple[str, ...]:
    codes = purposes.split(",") if isinstance(purposes, str) else list(purposes)
    chosen: list[str] = []
    for code in (c.strip() if isinstance(c, str) else c for c in codes):
        if not isinstance(code, str) or not code:
            continue
        if code not in catalog.PURPOSE_BY_CODE:
            known = ", ".join(sorted(catalog.PURPOSE_BY_CODE))
            raise CollectorError(f"unknown purpose {code!r}; known purposes: {known}")
        if code not in category.purposes:
            raise CollectorError(f"{code} is not a purpose of {category.name} ({category.key}); its purposes are: "
                                 f"{', '.join(category.purposes)}")
        if code not in chosen:
            chosen.append(code)
    if not chosen:
        raise CollectorError(f"a collector names at least one purpose; {category.name} ({category.key}) serves: "
                             f"{', '.join(category.purposes)}")
    return tuple(chosen)


def checked_retention(category: catalog.Category, retention_days: object) -> int:
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise CollectorError(f"retention is a whole number of days (got {retention_days!r})")
    if retention_days < 1:
        raise CollectorError(f"retention must be at least 1 day (got {retention_days})")
    if retention_days > category.retention_days:
        raise CollectorError(f"retention of {retention_days:,} days is above the {category.retention_days:,} days "
                             f"the catalog allows for {category.name} ({category.key})")
    return retention_days


def checked_registration(name: object, category_key: str, purposes: Sequence[str] | str, legal_basis: object,
                         retention_days: object, agreement: object, description: object) -> Registration:
    """The registration with every field checked (:class:`CollectorError` or ``catalog.UnknownCategory``)."""
    name = checked_name(name)
    category = catalog.category(category_key)  # UnknownCategory names the known keys
    basis = checked_text(legal_basis, "the legal basis", MAX_LEGAL_BASIS, required=True,
                         missing="a collector needs a legal basis, e.g. GDPR Art. 6(1)(f) legitimate interests")
    assert basis is not None  # required
    return Registration(
        name=name, category_key=category.key, purposes=checked_purposes(category, purposes), legal_basis=basis,
        retention_days=checked_retention(category, retention_days),
        agreement=checked_text(agreement, "the agreement", MAX_AGREEMENT),
        description=checked_text(description, "the description", MAX_DESCRIPTION, lines=True),
    )
