"""What the signed-in employee sees about themself: holdings per category, volume, records.

The subject is always the principal's own employee id; nothing here takes a
subject from a caller, so no widget or URL can point it at someone else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from portal.core import catalog, i18n
from portal.core.i18n import _, ngettext
from portal.identity.principal import Principal
from portal.identity.policy import PermissionDenied, ensure
from portal.lake.telemetry import TelemetryStore


@dataclass(frozen=True)
class Holding:
    """One telemetry category held about a person, with what the catalog says about it."""

    key: str
    name: str
    description: str
    kind: str
    records: int
    first_record: datetime
    last_record: datetime
    purposes: tuple[str, ...]
    legal_basis: str
    retention_days: int
    source_system: str
    objection_possible: bool
    # (purpose name, its legal basis, whether you may object to it), in the catalog's order
    uses: tuple[tuple[str, str, bool], ...] = ()


@dataclass(frozen=True)
class RecordsPage:
    frame: pl.DataFrame
    total: int
    page: int
    pages: int


def _own_subject(principal: Principal) -> str:
    subject = principal.employee_id
    if subject is None:
        raise PermissionDenied(_("Not allowed: the company holds no employee record for you."))
    ensure(principal, "telemetry:read_own", subject)
    return subject


def holdings(principal: Principal, store: TelemetryStore) -> list[Holding]:
    subject = _own_subject(principal)
    summary = store.summary(subject)
    result = []
    for row in summary.iter_rows(named=True):
        cat = catalog.category(row["category"])
        result.append(
            Holding(
                key=cat.key, name=cat.name, description=cat.description, kind=cat.kind,
                records=int(row["records"]), first_record=row["first_ts"], last_record=row["last_ts"],
                purposes=tuple(catalog.PURPOSE_BY_CODE[p].name for p in cat.purposes),
                legal_basis=cat.legal_basis, retention_days=cat.retention_days,
                source_system=cat.source_system, objection_possible=cat.objection_possible,
                uses=tuple((catalog.PURPOSE_BY_CODE[p].name, cat.legal_basis_for(p), p in cat.objectionable_purposes)
                           for p in cat.purposes),
            )
        )
    order = {c.key: i for i, c in enumerate(catalog.CATEGORIES)}
    return sorted(result, key=lambda h: order[h.key])


def holdings_frame(items: list[Holding]) -> pl.DataFrame:
    """The holdings as a table for display, one row per category, headings in the reader's language."""
    return pl.DataFrame(
        {
            _("Category"): [h.name for h in items],
            _("Records"): [h.records for h in items],
            _("First record"): [h.first_record for h in items],
            _("Last record"): [h.last_record for h in items],
            _("Purposes"): [", ".join(h.purposes) for h in items],
            # A legal basis belongs to a use: each purpose with its own.
            _("Legal basis"): [_bases(h) for h in items],
            _("Kept for"): [ngettext("{n} day", "{n} days", h.retention_days).format(n=i18n.number(h.retention_days))
                            for h in items],
            _("Source system"): [h.source_system for h in items],
            _("You can object to"): [", ".join(name for name, _basis, open_ in h.uses if open_) or _("no use")
                                     for h in items],
        },
        schema_overrides={_("Records"): pl.Int64},
    )


def _bases(h: Holding) -> str:
    """The legal basis, or each purpose's where they differ."""
    if len({basis for _name, basis, _open in h.uses}) <= 1:
        return h.uses[0][1] if h.uses else h.legal_basis
    return "; ".join(f"{name}: {basis}" for name, basis, _open in h.uses)


def daily_volume(principal: Principal, store: TelemetryStore) -> pl.DataFrame:
    """Records per day and category name, for the chart."""
    subject = _own_subject(principal)
    frame = store.daily_volume(subject)
    names = {c.key: c.name for c in catalog.CATEGORIES}
    return frame.with_columns(pl.col("category").replace_strict(names, default=pl.col("category")))


def records_page(
    principal: Principal, store: TelemetryStore, category_key: str, page: int, page_size: int
) -> RecordsPage:
    """One page of the principal's records in one category, newest first (page counts from 1), with the
    page count; a page past the last gives the last (the records may have shrunk since it was chosen)."""
    subject = _own_subject(principal)
    catalog.category(category_key)  # raises UnknownCategory with the known keys
    if page < 1:
        raise ValueError(_("page must be 1 or more (got {page})").format(page=page))
    frame, total = store.records(subject, category_key, offset=(page - 1) * page_size, limit=page_size)
    pages = max(1, math.ceil(total / page_size))
    if page > pages:
        page = pages
        frame, total = store.records(subject, category_key, offset=(page - 1) * page_size, limit=page_size)
    visible = frame.drop([c for c in ("subject_id", "bucket") if c in frame.columns])
    visible = visible.rename({c: catalog.COLUMN_LABELS.get(c, c) for c in visible.columns})
    return RecordsPage(frame=visible, total=total, page=page, pages=pages)
