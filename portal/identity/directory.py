"""Who is this person: an employee id, OIDC subject or e-mail resolved to an employee id."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from portal.core import db
from portal.core.i18n import _
from portal.identity.pseudonyms import new_pseudonym


class UnknownSubject(LookupError):
    def __str__(self) -> str:
        return _("no employee has the id, e-mail or OIDC subject {subject}").format(subject=repr(self.args[0]))


class SubjectIndex:
    """Resolves an employee id, OIDC subject or e-mail (in that order) to an employee id,
    and an employee id to their pseudonym, creating one on first use.

    Loaded once per ingest: at company scale the directory is a few thousand rows,
    and per-line queries would cost more than the whole ingest budget.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._ids: dict[str, str] = {}
        self._subs: dict[str, str] = {}
        self._emails: dict[str, str] = {}
        for emp, sub, email in conn.execute(
                sa.select(db.employees.c.employee_id, db.employees.c.oidc_sub, db.employees.c.email)):
            self._ids[emp] = emp
            if sub:
                self._subs[sub] = emp
            self._emails[email.lower()] = emp
        self._pseudonyms = dict(conn.execute(sa.select(db.pseudonyms.c.employee_id, db.pseudonyms.c.pseudonym)).all())

    def employee_id(self, text: str) -> str | None:
        return self._ids.get(text) or self._subs.get(text) or self._emails.get(text.strip().lower())

    def pseudonym(self, employee_id: str) -> str:
        found = self._pseudonyms.get(employee_id)
        if found is None:
            found = new_pseudonym(self._conn, employee_id)
            self._pseudonyms[employee_id] = found
        return found


def resolve_subject(conn: Connection, text: str) -> str:
    """The employee id for an employee id, OIDC subject or e-mail; :class:`UnknownSubject` otherwise."""
    e = db.employees.c
    for condition in (e.employee_id == text, e.oidc_sub == text, sa.func.lower(e.email) == text.strip().lower()):
        found = conn.execute(sa.select(e.employee_id).where(condition)).scalar()
        if found is not None:
            return found
    raise UnknownSubject(text)
