"""How published works-council figures read: the command's JSON and CSV, the page's tables and labels.

Everything here formats a :class:`portal.council.releases.Release` that
:mod:`portal.council.figures` has already suppressed (and noised); nothing here
sees a person or an unpublished figure.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from functools import partial

import polars as pl

from portal.core import catalog, i18n
from portal.core.i18n import N_, _, ngettext
from portal.core.plain_text import neutralise_cell
from portal.council.releases import Release
from portal.council.figures import MEASURES, NO_DEPARTMENT, NO_PURPOSE

__all__ = ["rows", "to_json", "to_csv", "GROUPINGS", "hidden_label", "hidden_reason", "hidden_summary",
           "k_sentence", "noise_sentence", "label", "display_table", "chart_frame"]


def rows(release: Release, view: Sequence[str]) -> list[dict]:
    """The cells of one view as plain dicts: group keys (weeks as ISO dates), ``people`` and
    the measures, ``None`` where suppressed. This is exactly what the command prints."""
    frame = release.view(view)
    keep = [*view, "people", *MEASURES[release.name]]
    out = []
    for row in frame.select(keep).iter_rows(named=True):
        out.append({k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()})
    return out


def to_json(cells: list[dict]) -> str:
    return json.dumps(cells, indent=2, ensure_ascii=False)


def _csv_cell(value: object) -> object:
    """Hidden figures are empty; text a spreadsheet would run as a formula is neutralised, as in the
    person's copy. Numbers stay numbers: -3 is a figure, not a formula."""
    if value is None:
        return ""
    return neutralise_cell(value) if isinstance(value, str) else value


def to_csv(cells: list[dict], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: _csv_cell(row.get(c)) for c in columns} for row in cells)
    return buffer.getvalue()


GROUPINGS = {
    N_("Department × category"): ("department", "category"),
    N_("Department"): ("department",),
    N_("Category"): ("category",),
    N_("Category × week"): ("category", "week"),
    N_("Department × category × week"): ("department", "category", "week"),
}
_HEADINGS = {"department": N_("Department"), "category": N_("Category"), "week": N_("Week from"),
             "actor_kind": N_("Reader"), "purpose": N_("Purpose"), "kind": N_("Request"), "status": N_("Status"),
             "deadline": N_("Deadline"), "people": N_("People"), "records": N_("Records"), "events": N_("Reads"),
             "requests": N_("Requests")}
_READERS = {"person": N_("people"), "service": N_("services"), "unknown": N_("unknown readers")}
_REQUEST_KINDS = {"erasure": N_("erasure"), "objection": N_("objection"), "access": N_("copy of their data")}
# How a request's status and its deadline outcome read (the codes stay in the JSON and CSV).
_STATUSES = {"submitted": N_("submitted"), "in review": N_("in review"), "approved": N_("approved"),
             "executing": N_("executing"), "completed": N_("completed"), "rejected": N_("rejected"),
             "withdrawn": N_("withdrawn"), "met": N_("met"), "missed": N_("missed"), "not yet due": N_("not yet due")}


def hidden_label(k: int) -> str:
    """What a hidden cell reads, whichever of the reasons in :func:`hidden_reason` hid it."""
    return _("hidden")


def hidden_reason(k: int) -> str:
    return _("A cell is hidden when fewer than {k} people are behind it, or when showing it would let a group of "
             "fewer than {k} people be worked out by subtracting it from a total on this page. Both read "
             "“{hidden}”, so a hidden cell says nothing about how many people it holds.").format(
        k=k, hidden=hidden_label(k))


def hidden_summary(release: Release, view: Sequence[str], *, gaps: bool = False) -> str:
    """How many cells of one view are hidden, and why, in words a council member understands;
    with ``gaps``, for a chart that leaves hidden cells out."""
    frame = release.view(view)
    hidden = int(frame["suppressed"].sum()) if frame.height else 0
    if not hidden:
        return _("All {n} figures are shown.").format(n=i18n.number(frame.height))
    counted = ngettext("{n} of {total} figures are hidden.", "{n} of {total} figures are hidden.", hidden).format(
        n=i18n.number(hidden), total=i18n.number(frame.height))
    where = _("Gaps in the lines are hidden figures: {counted}").format(counted=counted) if gaps else counted
    return f"{where} {hidden_reason(release.k)}"


def k_sentence(k: int) -> str:
    return _("Every figure describes at least {k} people, and no figure about fewer people can be worked out by "
             "subtracting figures from each other. Numbers of people are rounded to the nearest multiple of {k} "
             "(records, reads and requests are exact), so that two figures never tell exactly how many people "
             "were away in a week or have no records of a kind.").format(k=k)


def noise_sentence(epsilon: float) -> str:
    return _("Counts carry random noise (differential privacy, ε = {epsilon} per table and count). Which cells "
             "are hidden is decided on the exact counts.").format(
        epsilon=f"{epsilon:g}" if i18n.language() == "en" else f"{epsilon:g}".replace(".", ","))


def label(dimension: str, value: object) -> str:
    """How a group key reads on the page (catalog and purpose names instead of codes)."""
    if dimension == "department" and value == NO_DEPARTMENT:
        return _(NO_DEPARTMENT)
    if dimension == "category":
        cat = catalog.CATEGORY_BY_KEY.get(str(value))
        return cat.name if cat else str(value)
    if dimension == "purpose":
        purpose = catalog.PURPOSE_BY_CODE.get(str(value))
        return purpose.name if purpose else _(NO_PURPOSE) if value == NO_PURPOSE else str(value)
    if dimension == "actor_kind":
        return _(_READERS[str(value)]) if str(value) in _READERS else str(value)
    if dimension == "kind":
        return _(_REQUEST_KINDS[str(value)]) if str(value) in _REQUEST_KINDS else str(value)
    if dimension in ("status", "deadline"):
        text = str(value).replace("_", " ")
        return _(_STATUSES[text]) if text in _STATUSES else text
    return str(value)


def display_table(release: Release, view: Sequence[str]) -> pl.DataFrame:
    """One view for ``st.dataframe``, in the reader's language: names for codes; hidden counts read "hidden"."""
    frame = release.view(view)
    hidden = hidden_label(release.k)
    columns = {}
    for d in view:
        values = frame[d].to_list()
        columns[_(_HEADINGS[d])] = values if d == "week" else [label(d, v) for v in values]
    for m in ("people", *MEASURES[release.name]):
        columns[_(_HEADINGS[m])] = [hidden if v is None else i18n.number(v) for v in frame[m].to_list()]
    return pl.DataFrame(columns, schema_overrides={_(_HEADINGS["week"]): pl.Date} if "week" in view else None)


def chart_frame(release: Release, view: Sequence[str]) -> pl.DataFrame:
    """One view with names for codes and the raw (nullable) counts, for the charts."""
    frame = release.view(view)
    return frame.with_columns(
        pl.col(d).map_elements(partial(label, d), return_dtype=pl.String) for d in view if d != "week")
