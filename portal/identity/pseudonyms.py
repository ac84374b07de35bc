"""Pseudonyms: how append-only records refer to a person. The link from pseudonym to employee lives in one
table; erasure deletes it, and the records stay verifiable while pointing to no one."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from portal.core import db


def new_pseudonym(conn: Connection, employee_id: str) -> str:
    """Link a fresh random pseudonym to ``employee_id`` (the caller checked it has none)."""
    pseudonym = secrets.token_hex(16)
    conn.execute(sa.insert(db.pseudonyms).values(pseudonym=pseudonym, employee_id=employee_id))
    return pseudonym


def pseudonym_of(conn: Connection, employee_id: str, *, create: bool = False) -> str | None:
    found = conn.execute(sa.select(db.pseudonyms.c.pseudonym)
                         .where(db.pseudonyms.c.employee_id == employee_id)).scalar()
    if found is None and create:
        found = new_pseudonym(conn, employee_id)
    return found
