"""When an erasure unlinked a person from the record of who read their data.

An erasure of everything deletes the link between the person and their pseudonym
(:mod:`portal.privacy.erasure_steps`, the ``pseudonyms`` step): the access events stay in
the signed log, unchanged and verifiable, but point to no one, and reads after
the erasure are recorded under a fresh pseudonym. So "Who accessed my data" shows
only reads since then, and must say why, rather than suggest nobody read the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import db, i18n
from portal.core.i18n import _
from portal.audit.my_access import own_subject
from portal.core.times import as_utc
from portal.privacy.erasure_plan import METADATA
from portal.identity.principal import Principal
from portal.privacy.request_states import Kind

PSEUDONYM_STEP = "pseudonyms"


@dataclass(frozen=True)
class Unlinking:
    request_id: str
    at: datetime  # UTC

    def sentence(self) -> str:
        return _("Your erasure (request {request_id}) on {day} removed the link between you and every read of your "
                 "data recorded before it: the pseudonym that tied those entries to you was deleted. The entries are "
                 "still in the signed log, unchanged, so the log stays verifiable, but they point to no one, and "
                 "nobody can show them as yours any more, not even to you. Reads after the erasure are linked to you "
                 "again and appear here.").format(request_id=self.request_id, day=i18n.day(self.at))


def latest(conn: Connection, employee_id: str) -> Unlinking | None:
    """The latest erasure that unlinked ``employee_id``, for callers that already checked policy."""
    s, r = db.erasure_steps.c, db.privacy_requests.c
    rows = conn.execute(
        sa.select(s.request_id, s.done_at, s.detail)
        .select_from(db.erasure_steps.join(db.privacy_requests, s.request_id == r.request_id))
        .where(r.employee_id == employee_id, r.kind == Kind.ERASURE.value, s.store == METADATA,
               s.target == PSEUDONYM_STEP, s.done_at.is_not(None))
        .order_by(s.done_at.desc()))
    for row in rows:
        if json.loads(row.detail or "{}").get("link_replaced"):  # a person with no reads yet had no link
            return Unlinking(row.request_id, as_utc(row.done_at))
    return None


def for_principal(engine: Engine, principal: Principal) -> Unlinking | None:
    """When the signed-in person's own reads were last unlinked by an erasure, if ever."""
    employee_id = own_subject(principal, "access_log:read_own")
    with engine.connect() as conn:
        return latest(conn, employee_id)
