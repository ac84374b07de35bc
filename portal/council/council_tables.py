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

from portal.core import catalog
from portal.core.plain_text import neutralise_cell
from portal.council.releases import Release
from portal.council.figures import MEASURES

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
    "Department × category": ("department", "category"),
    "Department": ("department",),
    "Category": ("category",),
    "Category × week": ("category", "week"),
    "Department × category × week": ("department", "category", "week"),
}
_HEADINGS = {"department": "Department", "category": "Category", "week": "Week from", "actor_kind": "Reader",
             "purpose": "Purpose", "kind": "Request", "status": "Status", "deadline": "Deadline",
             "people": "People", "records": "Records", "events": "Reads", "requests": "Requests"}
_READERS = {"person": "people", "service": "services", "unknown": "unknown readers"}
_REQUEST_KINDS = {"erasure": "erasure", "objection": "objection", "access": "copy of their data"}


def hidden_label(k: int) -> str:
    """What a hidden cell reads, whichever of the reasons in :func:`hidden_reason` hid it."""
    return "hidden"


def hidden_reason(k: int) -> str:
    return (f"A cell is hidden when fewer than {k} people are behind it, or when showing it would let a group of "
            f"fewer than {k} people be worked out by subtracting it from a total on this page. Both read "
            "“hidden”, so a hidden cell says nothing about how many people it holds.")


def hidden_summary(release: Release, view: Sequence[str], *, gaps: bool = False) -> str:
    """How many cells of one view are hidden, and why, in words a council member understands;
    with ``gaps``, for a chart that leaves hidden cells out."""
    frame = release.view(view)
    hidden = int(frame["suppressed"].sum()) if frame.height else 0
    if not hidden:
        return f"All {frame.height:,} figures are shown."
    where = "Gaps in the lines are hidden figures: " if gaps else ""
    return f"{where}{hidden:,} of {frame.height:,} figures are hidden. {hidden_reason(release.k)}"


def k_sentence(k: int) -> str:
    return (f"Every figure describes at least {k} people, and no figure about fewer people can be worked out by "
            f"subtracting figures from each other. Numbers of people are rounded to the nearest multiple of {k} "
            "(records, reads and requests are exact), so that two figures never tell exactly how many people "
            "were away in a week or have no records of a kind.")


def noise_sentence(epsilon: float) -> str:
    return (f"Counts carry random noise (differential privacy, ε = {epsilon:g} per table and count). Which cells "
            "are hidden is decided on the exact counts.")


def label(dimension: str, value: object) -> str:
    """How a group key reads on the page (catalog and purpose names instead of codes)."""
    if dimension == "category":
        cat = catalog.CATEGORY_BY_KEY.get(str(value))
        return cat.name if cat else str(value)
    if dimension == "purpose":
        purpose = catalog.PURPOSE_BY_CODE.get(str(value))
        return purpose.name if purpose else str(value)
    if dimension == "actor_kind":
        return _READERS.get(str(value), str(value))
    if dimension == "kind":
        return _REQUEST_KINDS.get(str(value), str(value))
    if dimension == "status":
        return str(value).replace("_", " ")
    return str(value)


def display_table(release: Release, view: Sequence[str]) -> pl.DataFrame:
    """One view for ``st.dataframe``: names for codes; hidden counts read "hidden"."""
    frame = release.view(view)
    hidden = hidden_label(release.k)
    columns = {}
    for d in view:
        values = frame[d].to_list()
        columns[_HEADINGS[d]] = values if d == "week" else [label(d, v) for v in values]
    for m in ("people", *MEASURES[release.name]):
        columns[_HEADINGS[m]] = [hidden if v is None else f"{v:,}" for v in frame[m].to_list()]
    return pl.DataFrame(columns, schema_overrides={"Week from": pl.Date} if "week" in view else None)


def chart_frame(release: Release, view: Sequence[str]) -> pl.DataFrame:
    """One view with names for codes and the raw (nullable) counts, for the charts."""
    frame = release.view(view)
    return frame.with_columns(
        pl.col(d).map_elements(partial(label, d), return_dtype=pl.String) for d in view if d != "week")
