"""The telemetry catalog: categories, purposes, legal bases, retention; loaded from a TOML file.

The company declares what it records in a catalog file (``PORTAL_CATALOG``; the six demo categories are
the default, ``portal/core/catalog.toml``, read and validated by :mod:`portal.core.catalog_file`). Keys
follow fideslang's dotted style (``user.behavior.keystrokes``). Each category names the Delta table holding
it, that table's time column and its other columns; export, erasure, retention, summaries and the council's
figures iterate this catalog, so a declared category appears in every one of them with no code change.

A legal basis belongs to a category *and a purpose*: ``legal_basis`` is the category's default and
``legal_basis_by_purpose`` overrides it for single purposes. Whether a person may object to a use follows
from that use's basis (GDPR Art. 21: legitimate interests, Art. 6(1)(f), or a public task, Art. 6(1)(e);
consent, Art. 6(1)(a), can be withdrawn at any time, Art. 7(3), which the portal handles the same way).

The active catalog is process-wide: the file ``PORTAL_CATALOG`` names (read on first use), or the one
:func:`activate` installed. The module's upper-case names (``CATEGORIES``, ``CATEGORY_BY_KEY``,
``TABLE_SCHEMAS`` ...) always describe the active catalog; ``COLUMN_LABELS`` and ``COLUMN_MEANINGS`` are in the
language in use, as are the texts of purposes and categories (see :mod:`portal.core.catalog_model`).

Each category has one colour (``colour`` in the file, else one of a fixed accessible palette chosen from its
key): :func:`colours` gives them to every chart, so a category looks the same to everyone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from portal.core import catalog_file, db
from portal.core.catalog_model import (  # noqa: F401  (the catalog's public face)
    BASE_LABELS, BASE_MEANINGS, BASES, COLUMN_TYPES, DEFAULT_FILE, KINDS, PALETTE, PARTITION_COLUMN, SUBJECT_COLUMN,
    TIME_MEANING, UTC_TIMESTAMP, Catalog, Category, Column, Purpose, ScopedRole, basis_ground, english,
    objectionable_basis,
)

_lock = threading.RLock()
_active: Catalog | None = None
_ENV = "PORTAL_CATALOG"


def active() -> Catalog:
    """The catalog in force: the one :func:`activate` installed, else ``PORTAL_CATALOG``'s, else the default."""
    global _active
    current = _active
    if current is not None:
        return current
    with _lock:
        if _active is None:
            configured = os.environ.get(_ENV, "").strip()
            _active = catalog_file.load(Path(configured) if configured else DEFAULT_FILE)
        return _active


def activate(new: Catalog | None) -> None:
    """Put ``new`` in force for the whole process (None: read ``PORTAL_CATALOG`` again on next use)."""
    global _active
    with _lock:
        _active = new
    from portal.core import caches

    caches.forget()  # rollups, releases and stores were built for the catalog before


@contextmanager
def using(new: Catalog) -> Iterator[Catalog]:
    """``new`` in force for the duration of a ``with`` block, then the previous one again."""
    previous = _active
    activate(new)
    try:
        yield new
    finally:
        activate(previous)


NAMES = frozenset({"CATEGORIES", "PURPOSES", "CATEGORY_BY_KEY", "CATEGORY_BY_TABLE", "PURPOSE_BY_CODE",
                   "LONGEST_RETENTION_DAYS", "TABLE_SCHEMAS", "COLUMN_LABELS", "COLUMN_MEANINGS"})


def __getattr__(name: str) -> Any:
    if name not in NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "COLUMN_LABELS":
        return active().column_labels()
    if name == "COLUMN_MEANINGS":
        return active().column_meanings()
    return active().names[name]


def colours() -> dict[str, str]:
    """Category key -> its colour (``#rrggbb``) in the catalog in force: one colour per category, for everyone."""
    return active().colours()


def colours_by_name() -> dict[str, str]:
    """Category name, in the language in use, -> its colour: for charts whose frames name categories by name."""
    return {c.name: c.colour for c in active().categories}


class UnknownCategory(KeyError):
    def __str__(self) -> str:
        known = ", ".join(sorted(c.key for c in active().categories))
        return f"unknown telemetry category {self.args[0]!r}; known categories: {known}"


def category(key: str) -> Category:
    try:
        return active().names["CATEGORY_BY_KEY"][key]
    except KeyError:
        raise UnknownCategory(key) from None


def _upsert(conn: Connection, table: sa.Table, key_column: str, row: dict) -> None:
    key = table.c[key_column]
    found = conn.execute(sa.select(key).where(key == row[key_column])).first()
    if found:
        conn.execute(sa.update(table).where(key == row[key_column]).values(**row))
    else:
        conn.execute(sa.insert(table).values(**row))


def sync(conn: Connection) -> None:
    """Write the active catalog into the metadata DB (idempotent; rows are updated in place). A category
    the file no longer declares stays in the DB, where its access events and memberships point."""
    current = active()
    for p in current.purposes:
        _upsert(conn, db.purposes, "code", {"code": p.code, "name": english(p, "name"),
                                            "description": english(p, "description")})
    declared = [c.key for c in current.categories]
    conn.execute(sa.delete(db.category_purposes).where(db.category_purposes.c.category_key.in_(declared)))
    for c in current.categories:
        clash = conn.execute(sa.select(db.categories.c.key).where(
            db.categories.c.table_name == c.table_name, db.categories.c.key != c.key)).first()
        if clash is not None:  # an undeclared category held this table name: it gives it up
            conn.execute(sa.update(db.categories).where(db.categories.c.key == clash.key)
                         .values(table_name=f"{c.table_name}~{clash.key}"[:100]))
        _upsert(conn, db.categories, "key", {
            "key": c.key, "name": english(c, "name"), "description": english(c, "description"), "kind": c.kind,
            "table_name": c.table_name, "subject_column": c.subject_column, "time_column": c.time_column,
            "legal_basis": english(c, "legal_basis"), "retention_days": c.retention_days,
            "source_system": c.source_system, "objection_possible": c.objection_possible,
            "allowed_roles": ",".join(c.allowed_roles), "max_principals": c.max_principals,
        })
        for code in c.purposes:
            conn.execute(sa.insert(db.category_purposes).values(category_key=c.key, purpose_code=code))
