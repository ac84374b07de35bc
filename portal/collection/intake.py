"""Telemetry intake: a collector's batch, checked and stored in the lake once, all or nothing.

1. The collector must be on the register and approved by the works council, for the category it sends
   (:func:`portal.collection.register.require_active`); anything else is refused before the file is read.
2. The file is read (:mod:`portal.collection.intake_formats`) and checked against the category's table
   (:mod:`portal.collection.intake_checks`); one problem refuses the whole batch.
3. The rows are bucketed and sorted as the lake stores them, and the batch is named by a SHA-256 of those
   rows and its category (:func:`batch_hash`): the same rows sent twice have the same name.
4. Objections are honoured (:func:`objecting_subjects`): a person's rows are not stored when their
   objections cover every purpose the collector collects for and each of those purposes is open to
   objection (GDPR Art. 21). They are counted (``skipped_objected``).
5. In one metadata-DB transaction that holds the collector's row (on PostgreSQL a suspension waits for it):
   the batch is looked up by its name, appended to the lake in one Delta commit that also carries the
   name (:meth:`~portal.lake.telemetry.TelemetryStore.append_once`), and recorded in ``intake_batches``.

Crash safety: the lake commit comes first, the DB record second. A process that dies between the two
leaves the rows in the lake and no record; the same batch sent again is found by its name in the Delta
table (an app transaction, kept 30 days) and only recorded, not written again. A process that dies before
the lake commit leaves nothing. docs/telemetry-intake.md explains it for operators.

New rows reach every reader without a signal: the lake's readers (a person's My data) and the weekly
rollups behind the works council's figures key what they cache by the tables' Delta versions, and an
append makes a new version.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.collection.intake_checks import checked_table
from portal.collection.intake_formats import read_batch
from portal.collection.intake_problems import IntakeRejected
from portal.collection.register import Collector, CollectorRefused, require_active
from portal.core import catalog, db, i18n
from portal.core.i18n import _, ngettext
from portal.core.times import as_utc
from portal.lake.telemetry import PARTITION_COLUMN, TelemetryStore
from portal.privacy import optout

HASH_FORMAT = b"portal-intake-batch/1"


class IntakeRefused(ValueError):
    """The batch is refused as a whole (the collector, its category); the message says why."""


@dataclass(frozen=True)
class IntakeReport:
    collector: str
    category_key: str
    source: str
    fmt: str
    rows: int  # rows in the batch
    stored: int  # rows written to the lake by this run
    skipped_objected: int  # rows not stored: the person objected to every purpose of the collector
    lake_version: int | None
    batch_hash: str
    received_at: datetime
    repeated: bool = False  # the batch had been taken in before: nothing was written

    def describe(self) -> str:
        name = catalog.category(self.category_key).name
        head = _("{source} ({format}, {rows} rows of {category} from collector {collector}; batch {batch})").format(
            source=self.source, format=self.fmt, rows=i18n.number(self.rows), category=name,
            collector=repr(self.collector), batch=self.batch_hash[:16])
        if self.repeated:
            return _("{head}: taken in before; nothing was written again.").format(head=head)
        skipped = (ngettext("; {n} row(s) not stored: those people objected to every purpose of this collector",
                            "; {n} row(s) not stored: those people objected to every purpose of this collector",
                            self.skipped_objected).format(n=i18n.number(self.skipped_objected))
                   if self.skipped_objected else "")
        stored = (_("{head}: stored {n} row(s) as lake version {version}{skipped}.") if self.lake_version is not None
                  else _("{head}: stored {n} row(s){skipped}."))
        return stored.format(head=head, n=i18n.number(self.stored), version=self.lake_version, skipped=skipped)


def take_in(engine: Engine, store: TelemetryStore, collector_name: str, path: str | os.PathLike, *,
            category_key: str | None = None, fmt: str | None = None, now: datetime | None = None,
            max_problems: int = IntakeRejected.LISTED) -> IntakeReport:
    """Check and store one batch; :class:`IntakeRefused` or :class:`IntakeRejected` (nothing written)."""
    now = as_utc(now or datetime.now(UTC))
    with engine.connect() as conn:
        collector = _active(conn, collector_name, category_key)
        known = pl.Series("subject_id", conn.execute(sa.select(db.employees.c.employee_id)).scalars().all(),
                          dtype=pl.String)
    category = _category(collector)
    table_name = category.table_name
    batch = read_batch(path, fmt, catalog.TABLE_SCHEMAS[table_name])
    table = checked_table(batch, category, known, now, max_problems)
    prepared = store.prepare(table_name, table)
    report = IntakeReport(collector.name, category.key, str(path), batch.fmt, prepared.num_rows, 0, 0, None,
                          batch_hash(category.key, prepared), now)
    try:
        with engine.begin() as conn:
            return _store(conn, store, category, prepared, report)
    except sa.exc.IntegrityError:  # the same batch, recorded by another process at the same moment
        return _repeated(report)


def _store(conn: Connection, store: TelemetryStore, category: catalog.Category, prepared: pa.Table,
           report: IntakeReport) -> IntakeReport:
    """Look the batch up, append what objections leave, record it: in the caller's transaction, which holds
    the collector's row (a suspension on PostgreSQL waits for it)."""
    collector = _active(conn, report.collector, category.key)  # again: it may have been suspended meanwhile
    digest = report.batch_hash
    if _recorded(conn, digest):
        return _repeated(report)
    kept = _without(prepared, objecting_subjects(conn, collector, category, report.received_at))
    appended = store.append_once(category.table_name, kept, digest)
    report = replace(report, stored=appended.rows, skipped_objected=prepared.num_rows - kept.num_rows,
                     lake_version=appended.version)
    values = {"collector_name": collector.name, "category_key": category.key, "rows": report.rows,
              "skipped_objected": report.skipped_objected, "lake_version": report.lake_version,
              "received_at": report.received_at}
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(db.intake_batches).values(batch_hash=digest, **values))
    except sa.exc.IntegrityError:
        # The same batch at the same moment: the other intake found this one's rows in the lake and recorded
        # the batch first. The rows are this intake's, so its record wins; the other reports a repeat.
        if appended.before:
            return _repeated(report)
        conn.execute(sa.update(db.intake_batches).where(db.intake_batches.c.batch_hash == digest).values(**values))
    # Found in the lake but not in the DB: an earlier run died between its commit and its record.
    return _repeated(report) if appended.before else report


def _repeated(report: IntakeReport) -> IntakeReport:
    return replace(report, stored=0, skipped_objected=0, lake_version=None, repeated=True)


def _active(conn: Connection, name: str, category_key: str | None) -> Collector:
    try:
        return require_active(conn, name, category_key)
    except CollectorRefused as exc:
        raise IntakeRefused(_("{why}; nothing was taken in").format(why=exc)) from None


def _category(collector: Collector) -> catalog.Category:
    try:
        return catalog.category(collector.category_key)
    except catalog.UnknownCategory as exc:
        raise IntakeRefused(_("collector {name} is registered for {category}, which the catalog does not declare "
                              "({why}); nothing was taken in").format(name=repr(collector.name),
                                                                      category=collector.category_key,
                                                                      why=exc)) from None


def _recorded(conn: Connection, digest: str) -> bool:
    b = db.intake_batches.c
    return conn.execute(sa.select(b.batch_hash).where(b.batch_hash == digest)).first() is not None


# ---- objections ---------------------------------------------------------------------------------------


def open_to_objection(category: catalog.Category) -> frozenset[str]:
    """The category's purposes a person may object to: the catalog says so per purpose (legitimate
    interests or a public task, GDPR Art. 21) or, in an older catalog, for the category as a whole."""
    found = getattr(category, "objectionable_purposes", None)
    if found is not None:
        return frozenset(found)
    return frozenset(category.purposes) if category.objection_possible else frozenset()


def objecting_subjects(conn: Connection, collector: Collector, category: catalog.Category,
                       now: datetime) -> set[str]:
    """People whose rows from ``collector`` are not stored: each purpose the collector collects for is open
    to objection, and the person objected to each of them (directly, or to the whole category)."""
    purposes = set(collector.purposes)
    if not purposes or not purposes <= open_to_objection(category):
        return set()  # a purpose nobody may object to needs the rows: they are stored
    covered: dict[str, set[str]] = defaultdict(set)
    for o in optout.objections(conn):
        if o.effective_at > now:
            continue
        if o.category_key == category.key:
            covered[o.employee_id] |= purposes
        elif o.purpose_code in purposes:
            covered[o.employee_id].add(o.purpose_code)
    return {person for person, objected in covered.items() if objected >= purposes}


def _without(table: pa.Table, subjects: set[str]) -> pa.Table:
    if not subjects or table.num_rows == 0:
        return table
    keep = pc.invert(pc.is_in(table["subject_id"], value_set=pa.array(sorted(subjects), pa.string())))
    return table.filter(keep)  # keeps the lake's order


# ---- the batch's name ------------------------------------------------------------------------------------


def batch_hash(category_key: str, prepared: pa.Table) -> str:
    """SHA-256 of the category and the rows in the lake's order (bucket, subject, time; ties as sent).

    Computed from the values, not from how Arrow happens to lay them out, so a batch read from CSV and the
    same rows read from Parquet have one name. The bucket is left out: it follows from the subject.
    """
    digest = hashlib.sha256(HASH_FORMAT)
    digest.update(b"\0" + category_key.encode() + b"\0" + str(prepared.num_rows).encode())
    for field in prepared.schema:
        if field.name == PARTITION_COLUMN:
            continue
        digest.update(b"\0" + field.name.encode() + b"\0" + str(field.type).encode() + b"\0")
        for part in _canonical(prepared[field.name].combine_chunks()):
            digest.update(part)
    return digest.hexdigest()


def _canonical(array: pa.Array) -> list[bytes | memoryview]:
    """Where the nulls are, then the values (nulls as zero or empty), in a layout-independent form."""
    nulls = np.empty(0, np.uint8)
    if array.null_count:
        nulls = np.packbits(array.is_null().to_numpy(zero_copy_only=False))
        blank: object = "" if pa.types.is_string(array.type) else False if pa.types.is_boolean(array.type) else 0
        array = array.fill_null(pa.scalar(blank).cast(array.type))
    if pa.types.is_string(array.type):
        offsets = np.frombuffer(array.buffers()[1], np.int32)[array.offset: array.offset + len(array) + 1]
        data = array.buffers()[2]
        body = memoryview(data)[offsets[0]: offsets[-1]] if data is not None else memoryview(b"")
        return [nulls.tobytes(), (offsets - offsets[0]).tobytes(), body]
    if pa.types.is_boolean(array.type):
        return [nulls.tobytes(), np.packbits(array.to_numpy(zero_copy_only=False)).tobytes()]
    if pa.types.is_timestamp(array.type):
        array = array.cast(pa.int64())
    return [nulls.tobytes(), array.to_numpy(zero_copy_only=False).tobytes()]
