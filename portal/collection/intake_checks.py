"""Checking a telemetry batch against its catalog table, column by column and all at once (no Python loop
per row), and converting it exactly to the table's types.

What a batch must be (docs/telemetry-intake.md): every column of the table but ``bucket`` (computed by the
lake; a ``bucket`` the file carries is ignored), no other column; values convertible without loss: a whole
number that fits the column (an int32 column refuses 3000000000 and 1.5, and accepts 3.0), a finite number,
true/false, text; a time as an ISO 8601 string with a UTC offset or ``Z`` (2026-03-02T09:30:00Z,
2026-03-02T10:30:00.25+01:00; at most microseconds) or a timestamp column with a time zone. A time without
a zone is refused: nobody could tell which instant it meant. ``subject_id`` and the time column are never
empty; the subject is an employee id of the company's directory; the time is at most
:data:`~portal.core.line_input.CLOCK_SKEW` ahead of now and within the category's retention.

Every problem is counted; the first :attr:`IntakeRejected.LISTED` are named with their line or row index
and column (:mod:`portal.collection.intake_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa

from portal.collection.intake_formats import ROW, Batch
from portal.collection.intake_problems import IntakeRejected, Problem
from portal.core import catalog, i18n
from portal.core.i18n import _
from portal.core.line_input import CLOCK_SKEW
from portal.core.times import as_utc

PARTITION_COLUMN = "bucket"
ISO_8601 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
_NAIVE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
_TOO_FINE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7,}(Z|[+-]\d{2}:\d{2})$"
_INTS = {pa.int16(): (pl.Int16, -(2**15), 2**15 - 1), pa.int32(): (pl.Int32, -(2**31), 2**31 - 1),
         pa.int64(): (pl.Int64, -(2**63), 2**63 - 1)}
_EXACT_FLOAT = 2**53  # whole numbers up to this are exact in a float64
UTC_US = pl.Datetime("us", "UTC")


class Findings:
    """The problems found so far: the first ``limit`` by file order, and how many in all."""

    def __init__(self, limit: int = IntakeRejected.LISTED) -> None:
        self.limit = limit
        self.whole_file: list[Problem] = []
        self.rows: list[tuple[int, int, str, str]] = []  # (row, column order, column, message)
        self.total = 0

    def file(self, column: str | None, message: str) -> None:
        self.whole_file.append(Problem(None, column, message))
        self.total += 1

    def add(self, order: int, column: str, rows: pl.Series, values: pl.Series, bad: pl.Series,
            message: Callable[[Any], str]) -> None:
        """Rows where ``bad`` holds: counted, and the first ``limit`` of them described by ``message(value)``."""
        bad = bad.fill_null(False)
        if not bad.any():
            return
        hit_rows, hit_values = rows.filter(bad), values.filter(bad)
        self.total += hit_rows.len()
        for row, value in zip(hit_rows.head(self.limit).to_list(), hit_values.head(self.limit).to_list(),
                              strict=True):
            self.rows.append((row, order, column, message(value)))

    def raise_if_any(self, batch: Batch) -> None:
        if not self.total:
            return
        room = max(0, self.limit - len(self.whole_file))
        first = sorted(self.rows)[:room]
        where = batch.locate(sorted({row for row, *_rest in first}))
        listed = self.whole_file + [Problem(where.get(row, _("row {row}").format(row=row)), column, message)
                                    for row, _order, column, message in first]
        raise IntakeRejected(str(batch.path), listed[: self.limit], self.total)


def shown(value: object) -> str:
    """A value as a problem quotes it: text in quotes (shortened), times in ISO 8601, numbers as they are."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def checked_table(batch: Batch, category: catalog.Category, known_subjects: pl.Series, now: datetime,
                  limit: int = IntakeRejected.LISTED) -> pa.Table:
    """The batch as the table's columns and types (without ``bucket``), or :class:`IntakeRejected`."""
    schema = catalog.TABLE_SCHEMAS[category.table_name]
    wanted = [f for f in schema if f.name != PARTITION_COLUMN]
    findings = Findings(limit)
    if batch.rows == 0:
        findings.file(None, _("holds no rows; there is nothing to take in"))
        findings.raise_if_any(batch)
    _check_columns(batch, wanted, category, findings)
    findings.raise_if_any(batch)
    rows = batch.frame[ROW]
    columns = {}
    for order, field in enumerate(wanted):
        converted = convert(batch.frame[field.name], field.type, order, field.name, rows, findings)
        if converted is not None:
            columns[field.name] = converted
    findings.raise_if_any(batch)  # type problems first: the checks below need the converted values
    _check_rows(columns, category, known_subjects, as_utc(now), rows, findings)
    findings.raise_if_any(batch)
    frame = pl.DataFrame(columns)
    return frame.to_arrow().cast(pa.schema(wanted))


def _check_columns(batch: Batch, wanted: list[pa.Field], category: catalog.Category, findings: Findings) -> None:
    names = [n for n in batch.frame.columns if n != ROW]
    missing = [f.name for f in wanted if f.name not in names]
    extra = [n for n in names if n not in {f.name for f in wanted} | {PARTITION_COLUMN}]
    expected = ", ".join(f.name for f in wanted)
    if missing:
        findings.file(None, _("missing column(s) {columns}; {category} ({table}) has the columns {expected}").format(
            columns=", ".join(missing), category=category.name, table=category.table_name, expected=expected))
    if extra:
        findings.file(None, _("unexpected column(s) {columns}; {category} ({table}) has only the columns {expected} "
                              "(bucket is computed on intake)").format(
            columns=", ".join(extra), category=category.name, table=category.table_name, expected=expected))


def _check_rows(columns: dict[str, pl.Series], category: catalog.Category, known: pl.Series, now: datetime,
                rows: pl.Series, findings: Findings) -> None:
    subject, time = columns[category.subject_column], columns[category.time_column]
    names = list(columns)
    s_order, t_order = names.index(category.subject_column), names.index(category.time_column)
    findings.add(s_order, category.subject_column, rows, subject, subject.is_null(), lambda _v: _("is missing"))
    findings.add(s_order, category.subject_column, rows, subject, subject == "", lambda _v: _("is empty"))
    unknown = subject.is_not_null() & (subject != "") & ~subject.is_in(known)
    findings.add(s_order, category.subject_column, rows, subject, unknown,
                 lambda v: _("{value} is not an employee id of the company's directory").format(value=shown(v)))
    findings.add(t_order, category.time_column, rows, time, time.is_null(), lambda _v: _("is missing"))
    latest = now + CLOCK_SKEW
    earliest = now - timedelta(days=category.retention_days)
    findings.add(t_order, category.time_column, rows, time, time > latest,
                 lambda v: _("{value} is in the future (now is {now}; clocks may run at most {minutes} minutes "
                             "ahead)").format(value=shown(v), now=shown(now.replace(microsecond=0)),
                                              minutes=CLOCK_SKEW.seconds // 60))
    findings.add(t_order, category.time_column, rows, time, time < earliest,
                 lambda v: _("{value} is older than the {days}-day retention of {category} (before {earliest} "
                             "UTC); it would be deleted at once").format(
                     value=shown(v), days=category.retention_days, category=category.name,
                     earliest=f"{earliest:%Y-%m-%d %H:%M}"))


# ---- conversion, one column at a time ---------------------------------------------------------------


def convert(values: pl.Series, target: pa.DataType, order: int, column: str, rows: pl.Series,
            findings: Findings) -> pl.Series | None:
    """``values`` as ``target`` exactly; rows that cannot be go to ``findings`` (None: the whole column is
    of a type that cannot hold ``target``)."""
    dtype = values.dtype
    if dtype == pl.Null:
        return pl.Series(column, [None] * values.len(), dtype=_polars_type(target))
    if isinstance(dtype, pl.Categorical | pl.Enum):
        values = values.cast(pl.String)
        dtype = values.dtype

    def report(bad: pl.Series, shown_values: pl.Series, message: Callable[[Any], str]) -> None:
        findings.add(order, column, rows, shown_values, bad, message)

    if pa.types.is_timestamp(target):
        out = _to_time(values, report)
    elif pa.types.is_integer(target):
        out = _to_int(values, target, report)
    elif pa.types.is_floating(target):
        out = _to_float(values, report)
    elif pa.types.is_boolean(target):
        out = _to_bool(values, report)
    else:
        out = values if dtype == pl.String else None
    if out is None:
        findings.file(column, _("must hold {kind}, not values of type {dtype}").format(kind=_words(target), dtype=dtype))
    return None if out is None else out.alias(column)


Report = Callable[[pl.Series, pl.Series, Callable[[Any], str]], None]


def _polars_type(target: pa.DataType) -> Any:
    if pa.types.is_timestamp(target):
        return UTC_US
    if pa.types.is_integer(target):
        return _INTS[target][0]
    return {pa.float64(): pl.Float64, pa.bool_(): pl.Boolean}.get(target, pl.String)


def _words(target: pa.DataType) -> str:
    if pa.types.is_timestamp(target):
        return _("times with a time zone (ISO 8601 text such as 2026-03-02T09:30:00Z, or a UTC timestamp column)")
    if pa.types.is_integer(target):
        return _("whole numbers ({type})").format(type=target)
    if pa.types.is_floating(target):
        return _("numbers")
    if pa.types.is_boolean(target):
        return _("true or false")
    return _("text")


def _to_int(values: pl.Series, target: pa.DataType, report: Report) -> pl.Series | None:
    kind, low, high = _INTS[target]
    dtype = values.dtype
    fits = _("does not fit {type} (from {low} to {high})").format(type=target, low=i18n.number(low),
                                                                   high=i18n.number(high))
    if dtype == pl.String:
        text = values.str.strip_chars()
        parsed = text.str.to_integer(strict=False)
        unparsed = text.is_not_null() & parsed.is_null()
        report(unparsed, text, lambda v: f"{shown(v)} {fits}" if _digits(v)
               else _("{value} is not a whole number").format(value=shown(v)))
        values = parsed
    elif dtype.is_float():
        whole = values.is_finite() & (values == values.floor())
        report(values.is_not_null() & ~whole, values, lambda v: _("{value} is not a whole number").format(value=v))
        report(whole & ((values < low) | (values > high)), values, lambda v: f"{v:.0f} {fits}")
        return values.cast(kind, strict=False)
    elif not dtype.is_integer():
        return None
    outside = values > high if values.dtype.is_unsigned_integer() else (values < low) | (values > high)
    report(values.is_not_null() & outside, values, lambda v: f"{v} {fits}")
    return values.cast(kind, strict=False)


def _digits(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def _to_float(values: pl.Series, report: Report) -> pl.Series | None:
    dtype = values.dtype
    if dtype == pl.String:
        text = values.str.strip_chars()
        parsed = text.cast(pl.Float64, strict=False)
        report(text.is_not_null() & parsed.is_null(), text, lambda v: _("{value} is not a number").format(value=shown(v)))
        values = parsed
    elif dtype.is_integer():
        report(values.abs() > _EXACT_FLOAT, values, lambda v: _("{value} cannot be stored exactly as float64").format(value=v))
        return values.cast(pl.Float64)
    elif not dtype.is_float():
        return None
    values = values.cast(pl.Float64)
    report(values.is_not_null() & ~values.is_finite(), values, lambda v: _("{value} is not a finite number").format(value=v))
    return values


def _to_bool(values: pl.Series, report: Report) -> pl.Series | None:
    if values.dtype == pl.Boolean:
        return values
    if values.dtype != pl.String:
        return None
    text = values.str.strip_chars().str.to_lowercase()
    report(text.is_not_null() & ~text.is_in(["true", "false"]), values, lambda v: _("{value} is not true or false").format(value=shown(v)))
    return text == "true"


def _to_time(values: pl.Series, report: Report) -> pl.Series | None:
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return None  # a naive timestamp column: which instant it means is unknown
        utc = values.dt.convert_time_zone("UTC")
        if dtype.time_unit == "ns":
            report(values.dt.nanosecond() % 1000 != 0, utc,
                   lambda v: _("{value} has nanoseconds; the lake keeps microseconds").format(value=shown(v)))
        return utc.cast(UTC_US)
    if dtype != pl.String:
        return None
    text = values.str.strip_chars()
    iso = text.str.contains(ISO_8601)
    report(text.is_not_null() & ~iso, text, _not_iso)
    parsed = (text.str.replace(r"Z$", "+00:00")
              .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", strict=False))
    report(iso & parsed.is_null(), text, lambda v: _("{value} is not a valid date and time").format(value=shown(v)))
    return parsed.dt.convert_time_zone("UTC")


def _not_iso(value: str) -> str:
    if re.match(_NAIVE, value):
        return _("{value} has no time zone; add one, e.g. Z for UTC (2026-03-02T09:30:00Z)").format(value=shown(value))
    if re.match(_TOO_FINE, value):
        return _("{value} is finer than microseconds, which the lake keeps; round it to 6 decimals").format(
            value=shown(value))
    return _("{value} is not an ISO 8601 timestamp such as 2026-03-02T09:30:00Z").format(value=shown(value))
