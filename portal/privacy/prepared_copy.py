"""A copy the My copy page prepared: can it still be downloaded, and if not, why, in words.

A prepared copy waits in the copies directory (:func:`portal.privacy.export.copies_dir`)
for an hour. An erasure deletes every prepared copy of the person at once,
possibly while their page still offers it; the page asks here instead of
offering a download that would fail without a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.audit import my_access
from portal.core import times
from portal.core import catalog, db, i18n
from portal.core.i18n import _, ngettext
from portal.privacy.erasure_plan import CACHE
from portal.identity.principal import Principal
from portal.privacy.request_states import Kind
from portal.lake.telemetry import TelemetryStore


@dataclass(frozen=True)
class OfferedCopy:
    """Whether a copy prepared earlier can still be downloaded and, if not, why, in words."""

    available: bool
    erasure_request: str | None = None  # the erasure that removed it
    erased_at: datetime | None = None
    still_held: tuple[tuple[str, int], ...] = ()  # (category name, records) kept after the erasure

    def sentence(self) -> str:
        if self.available:
            return _("Your copy is ready.")
        if self.erased_at is None:
            return _("Your copy is no longer on the server: copies are deleted within an hour, and when you prepare "
                     "a new one. Prepare a new copy to download one.")
        head = _("Your copy was removed from the server because your data was erased on {day} (request {request}), "
                 "so it can no longer be downloaded.").format(day=i18n.day(self.erased_at),
                                                              request=self.erasure_request)
        if not self.still_held:
            return head + " " + _("No telemetry about you is left to copy: a new copy would hold only your employee "
                                  "record and your privacy requests.")
        kept = ", ".join(ngettext("{name} ({n} record)", "{name} ({n} records)", n).format(name=name, n=i18n.number(n))
                         for name, n in self.still_held)
        return head + " " + _("What is still kept about you can go in a new copy: {kept}, with your employee record "
                              "and your privacy requests. Prepare a new copy to download it.").format(kept=kept)


def offered(engine: Engine, store: TelemetryStore, principal: Principal, path: Path,
            prepared_at: datetime) -> OfferedCopy:
    """What the signed-in person can do with their own copy at ``path``, prepared at ``prepared_at``."""
    employee_id = my_access.own_subject(principal, "export:own")
    path = Path(path)
    if path.name.startswith(f"copy-{employee_id}-self-") and path.is_file():
        return OfferedCopy(True)
    s, r = db.erasure_steps.c, db.privacy_requests.c
    with engine.connect() as conn:
        # The caches step is the one that deletes the person's prepared copies.
        erased = conn.execute(
            sa.select(s.request_id, s.done_at)
            .select_from(db.erasure_steps.join(db.privacy_requests, s.request_id == r.request_id))
            .where(r.employee_id == employee_id, r.kind == Kind.ERASURE.value, s.store == CACHE,
                   s.target == "caches", s.done_at >= times.as_utc(prepared_at))
            .order_by(s.done_at.desc()).limit(1)).first()
    if erased is None:
        return OfferedCopy(False)
    held = tuple((catalog.CATEGORY_BY_KEY[row["category"]].name if row["category"] in catalog.CATEGORY_BY_KEY
                  else row["category"], int(row["records"]))
                 for row in store.summary(employee_id).iter_rows(named=True) if int(row["records"]))
    return OfferedCopy(False, erased.request_id, times.as_utc(erased.done_at), held)
