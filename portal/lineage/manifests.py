"""Membership manifests: who is in one training dataset version, per category and with how many records.

A manifest is a CSV or Parquet file named on the command line as ``NAME@VERSION=PATH``. Its rows are checked
like any ingest's lines (every problem named by file, line or row, and field); people are stored only by
their pseudonym. A manifest may arrive with the run events that register its dataset or after them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from portal.core import catalog, db, i18n
from portal.core.i18n import _
from portal.core.input_files import InputFileError, open_input, regular_size
from portal.core.line_input import Problems, quoted
from portal.identity.directory import SubjectIndex

MANIFEST_FORMAT = """\
Membership manifest (CSV with a header line, or Parquet), one row per person and category:
  subject       employee id, e-mail or OIDC subject (column may also be called subject_id)
  category      optional catalog category key; without it the dataset must draw on exactly one
                category, known from the inputs of the run that built it (in the same ingest)
  record_count  optional number of records; without it each row counts as one record
A dataset is named by name and version; when the same name and version is registered in more than one
namespace, --namespace says which.
"""

Rows = dict[tuple[str, str], tuple[int, int]]  # (pseudonym, category) -> (records, first line or row)


@dataclass(frozen=True)
class Manifest:
    """A membership file for one dataset version; ``namespace`` None: whichever namespace holds it."""

    dataset: str
    version: str
    path: Path
    namespace: str | None = None

    @classmethod
    def parse(cls, spec: str, namespace: str | None = None) -> Manifest:
        """``NAME@VERSION=PATH``, the command line's spelling."""
        target, sep, path = spec.partition("=")
        name, at, version = target.rpartition("@")
        if not sep or not at or not name or not version or not path:
            raise ValueError(f"{spec!r} is not of the form NAME@VERSION=PATH")
        return cls(name, version, Path(path), namespace or None)

    @property
    def unit(self) -> str:
        return "row" if self.path.suffix.lower() == ".parquet" else "line"

    def describe(self) -> str:
        if self.namespace is None:
            return _("dataset {name} version {version}").format(name=self.dataset, version=self.version)
        return _("dataset {name} version {version} in {namespace}").format(name=self.dataset, version=self.version,
                                                                            namespace=self.namespace)


def _read(manifest: Manifest, problems: Problems, max_bytes: int) -> pl.DataFrame | None:
    path, name = manifest.path, str(manifest.path)
    try:
        with open_input(path, "the manifest") as handle:
            size = regular_size(handle)
            # A pipe or device has no size to check first: read it, but only up to just past the limit.
            data = None if size is not None else handle.read(max_bytes + 1)
    except InputFileError as exc:
        problems.add(0, None, str(exc), file=name)
        return None
    except OSError as exc:
        problems.add(0, None, _("cannot read the manifest: {problem}").format(problem=exc.strerror or exc), file=name)
        return None
    if size is not None and size > max_bytes:
        problems.add(0, None, _("the manifest is {n} bytes, more than the limit of {limit} bytes").format(
            n=i18n.number(size), limit=i18n.number(max_bytes)), file=name)
        return None
    if data is not None and len(data) > max_bytes:
        problems.add(0, None, _("the manifest holds more than the limit of {limit} bytes").format(
            limit=i18n.number(max_bytes)), file=name)
        return None
    source = path if data is None else io.BytesIO(data)
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(source)
        if path.suffix.lower() == ".csv":
            return pl.read_csv(source, infer_schema=False, encoding="utf8")
        problems.add(0, None, _("a manifest must be a .csv or .parquet file"), file=name)
        return None
    except Exception as exc:  # noqa: BLE001 - polars raises several types for unreadable files
        problems.add(0, None, _("is not a readable {format} file ({problem})").format(
            format=path.suffix.lstrip(".").upper(), problem=str(exc).splitlines()[0][:200]), file=name)
        return None


def manifest_rows(manifest: Manifest, problems: Problems, subjects: SubjectIndex, categories: set[str] | None,
                  max_bytes: int) -> Rows | None:
    """{(pseudonym, category): (records, first row number)}, or None when the file is unusable.

    ``categories``: those the dataset draws on, known from the run that built it in this ingest (None: not
    known), which give a manifest without a category column its category."""
    frame = _read(manifest, problems, max_bytes)
    if frame is None:
        return None
    name, unit = str(manifest.path), manifest.unit
    columns = set(frame.columns)
    subject_col = "subject" if "subject" in columns else "subject_id" if "subject_id" in columns else None
    unknown = columns - {"subject", "subject_id", "category", "record_count"}
    if subject_col is None or unknown:
        what = ([_("no subject column")] if subject_col is None else []) + (
            [_("unknown column(s) {columns}").format(columns=", ".join(sorted(unknown)))] if unknown else [])
        problems.add(0, None, _("has {what}; expected subject, optional category and record_count").format(
            what=_(" and ").join(what)), file=name)
        return None
    default_category = None
    if "category" not in columns:
        if not categories or len(categories) != 1:
            seen = ", ".join(sorted(categories)) if categories else _("none known")
            problems.add(0, None, _("has no category column, and {dataset} version {version} does not draw on exactly "
                                    "one category ({seen}); add a category column").format(
                dataset=manifest.dataset, version=manifest.version, seen=seen), file=name)
            return None
        default_category = next(iter(categories))
    first = 2 if unit == "line" else 1  # CSV line 1 is the header
    strings = frame.select(pl.all().cast(pl.String))
    rows: Rows = {}
    for i, row in enumerate(strings.iter_rows(named=True)):
        if problems.full:
            problems.truncated = True
            break
        number = first + i
        add = lambda fld, msg: problems.add(number, fld, msg, file=name, unit=unit)  # noqa: E731
        subject = (row[subject_col] or "").strip()
        employee = subjects.employee_id(subject) if subject else None
        if employee is None:
            add(subject_col, _("{subject} is not anyone the company employs").format(subject=quoted(subject))
                if subject else _("is empty"))
        category = row.get("category", default_category) or ""
        if category not in catalog.CATEGORY_BY_KEY:
            add("category", _("{category} is not a catalog category").format(category=quoted(category)))
        count = 1
        if "record_count" in columns:
            text = (row["record_count"] or "").strip()
            if text.endswith(".0"):
                text = text[:-2]
            if not text.isdigit() or int(text) > 2**31 - 1:
                add("record_count", _("{text} is not a whole number of 0 or more").format(text=quoted(text)))
                continue
            count = int(text)
        if employee is None or category not in catalog.CATEGORY_BY_KEY:
            continue
        key = (subjects.pseudonym(employee), category)
        if key in rows:
            if "record_count" in columns:
                add(subject_col, _("{subject} appears again for {category} (first on {where})").format(
                    subject=subject, category=category,
                    where=(_("line {n}") if unit == "line" else _("row {n}")).format(n=rows[key][1])))
                continue
            count += rows[key][0]
            number = rows[key][1]
        rows[key] = (count, number)
    return rows


def write_members(conn: Connection, manifest: Manifest, dataset_id: str, rows: Rows,
                  problems: Problems) -> tuple[int, int]:
    """Insert the memberships not yet stored; a stored one with another count is a problem. (added, present)"""
    m = db.dataset_members.c
    stored = {(r.subject_pseudonym, r.category_key): r.record_count
              for r in conn.execute(sa.select(m.subject_pseudonym, m.category_key, m.record_count)
                                    .where(m.dataset_id == dataset_id))}
    fresh, present = [], 0
    for (pseudonym, category), (count, number) in rows.items():
        old = stored.get((pseudonym, category))
        if old is None:
            fresh.append({"dataset_id": dataset_id, "subject_pseudonym": pseudonym, "category_key": category,
                          "record_count": count})
        elif old != count:
            problems.add(number, "record_count", f"this person's {category} membership is already recorded with "
                                                 f"{old} records, not {count}", file=str(manifest.path),
                         unit=manifest.unit)
        else:
            present += 1
    if fresh and not problems:
        conn.execute(sa.insert(db.dataset_members), fresh)
    return len(fresh), present
