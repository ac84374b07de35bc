"""``portal lake check``: the telemetry tables against the lake's contract, whoever wrote them (the portal's
intake, or Spark, Flink or another delta-rs writer writing the Delta tables directly), and then their rollups.

The contract (docs/telemetry-intake.md) in what is checked, per catalog table:

* **problems** (the portal would read wrong rows, miss rows, or hide data from the person it is about; exit
  2): the table is missing or unreadable; a reader feature the portal does not know; a column missing, of
  another type, or one the catalog does not declare (nobody could see it in their copy or their records);
  not partitioned by exactly ``bucket``; a row in a bucket partition other than CRC-32 of its UTF-8 subject
  id modulo the lake's bucket count (``lake.json``: reads and erasure of that person skip it); an empty
  subject or time; a subject the company's directory does not know.
* **notes** (correct, but slower or due for work; exit 0, or 2 with ``--strict`` for a new writer's first
  runs): files not sorted by (subject_id, time), row groups far above :data:`ROW_GROUP_ROWS`, row groups or
  files without ``subject_id`` statistics, reader features the portal reads through delta-rs instead of
  directly (deletion vectors, column mapping), rows past the category's retention.

A file the portal's own deletes rewrote (erasure, retention) can hold the rows of several files of one
partition one after the other, each part sorted: delta-rs merges them. Reads stay correct, which is why
order is a note and not a problem.

When no table has a problem, the weekly rollups of every table are brought up to date
(:func:`portal.lake.volume_rollup.weekly_records`), so the council's figures include what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from portal.collection.lake_check_files import LARGEST_GOOD_GROUP, FileFacts, FileUnreadable, examine
from portal.core import catalog, i18n
from portal.core.i18n import _
from portal.lake import volume_rollup
from portal.lake.telemetry import PARTITION_COLUMN, ROW_GROUP_ROWS, TelemetryStore, bucket_for

MAX_NAMED = 20  # subjects or files named in one problem before "and N more"
# Reader features the portal reads through delta-rs (pl.scan_delta) instead of the Parquet files directly.
FALLBACK_FEATURES = frozenset({"deletionVectors", "columnMapping"})
# Reader features that change nothing the portal reads.
HARMLESS_FEATURES = frozenset({"timestampNtz", "vacuumProtocolCheck"})
DELTA_TYPES = {pa.string(): "string", pa.int16(): "short", pa.int32(): "integer", pa.int64(): "long",
               pa.float64(): "double", pa.bool_(): "boolean", pa.timestamp("us", tz="UTC"): "timestamp"}

Progress = Callable[[str], None]


@dataclass
class TableCheck:
    table_name: str
    category_name: str
    files: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        head = _("{table} ({category}): {files} file(s), {rows} row(s)").format(
            table=self.table_name, category=self.category_name, files=i18n.number(self.files),
            rows=i18n.number(self.rows))
        if not self.problems and not self.notes:
            return _("{head}: conforms").format(head=head)
        lines = [_("{head}: {problems} problem(s), {notes} note(s)").format(
            head=head, problems=len(self.problems), notes=len(self.notes))]
        lines += [_("  problem: {text}").format(text=p) for p in self.problems]
        lines += [_("  note: {text}").format(text=n) for n in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class LakeCheck:
    tables: tuple[TableCheck, ...]
    strict: bool
    rollup_rows: int | None  # rows of the weekly rollups after they were brought up to date; None: not built

    @property
    def failed(self) -> bool:
        return any(t.problems or (self.strict and t.notes) for t in self.tables)

    def describe(self) -> str:
        lines = [t.describe() for t in self.tables]
        if self.rollup_rows is not None:
            lines.append(_("Rollups up to date: {n} row(s) of records per person, category and week.").format(
                n=i18n.number(self.rollup_rows)))
        elif self.failed:
            lines.append(_("Rollups not built: fix the problems above and run `portal lake check` again."))
        return "\n".join(lines)


def check_lake(store: TelemetryStore, known_subjects: set[str], *, strict: bool = False, rollups: bool = True,
               now: datetime | None = None, progress: Progress | None = None) -> LakeCheck:
    """Every catalog table against the contract; then, when none has a problem, the rollups."""
    now = now or datetime.now(UTC)
    tell = progress or (lambda _line: None)
    results = []
    for cat in catalog.CATEGORIES:
        tell(_("checking {table} ...").format(table=cat.table_name))
        results.append(check_table(store, cat, known_subjects, now))
    report = LakeCheck(tuple(results), strict, None)
    if rollups and not any(t.problems for t in results):
        tell(_("bringing the weekly rollups up to date ..."))
        report = LakeCheck(report.tables, strict, volume_rollup.weekly_records(store).height)
    return report


def check_table(store: TelemetryStore, cat: catalog.Category, known: set[str], now: datetime) -> TableCheck:
    result = TableCheck(cat.table_name, cat.name)
    path = store.location.uri(cat.table_name)
    if not store.has_table(cat.table_name):
        result.problems.append(_("there is no Delta table at {path}").format(path=path))
        return result
    try:
        table = store.delta_table(cat.table_name)
        features = set(table.protocol().reader_features or ())
        reader_version = table.protocol().min_reader_version
        actions = pa.table(table.get_add_actions(flatten=True))
    except Exception as exc:  # noqa: BLE001 - delta-rs raises several unrelated types
        result.problems.append(_("the table at {path} is unreadable ({why})").format(
            path=path, why=str(exc).splitlines()[0][:200]))
        return result
    result.files, result.rows = actions.num_rows, int(pc.sum(actions["num_records"]).as_py() or 0)
    direct = _protocol(features, reader_version, result)
    if not (_schema(table, cat, result) & _partitioning(table, result)):
        return result  # the per-row checks need the contract's columns and partitions
    _statistics(actions, cat, now, result)
    subjects = _files(store, actions, cat, result) if direct else _through_delta(table, cat, store.buckets, result)
    unknown = sorted(subjects - known)
    if unknown:
        result.problems.append(_("{n} subject(s) the company's directory does not know: {names}; nobody could see "
                                 "or erase their rows").format(n=i18n.number(len(unknown)), names=_named(unknown)))
    return result


def _named(items: list[str]) -> str:
    shown = ", ".join(repr(i) for i in items[:MAX_NAMED])
    if len(items) <= MAX_NAMED:
        return shown
    return _("{names} and {n} more").format(names=shown, n=i18n.number(len(items) - MAX_NAMED))


def _protocol(features: set[str], reader_version: int, result: TableCheck) -> bool:
    """Whether the portal reads the Parquet files directly (else through delta-rs); unknown features: problem."""
    unknown = sorted(features - FALLBACK_FEATURES - HARMLESS_FEATURES)
    if reader_version > 3 or unknown:
        what = ", ".join(unknown) or _("reader version {version}").format(version=reader_version)
        result.problems.append(_("uses reader feature(s) {what}, which the portal cannot read; write without them")
                               .format(what=what))
    fallback = sorted(features & FALLBACK_FEATURES)
    if fallback:
        result.notes.append(_("uses {features}: the portal reads it through delta-rs, more slowly, and file order and "
                              "row groups are not checked").format(features=", ".join(fallback)))
    return not fallback


def _schema(table: DeltaTable, cat: catalog.Category, result: TableCheck) -> bool:
    expected = catalog.TABLE_SCHEMAS[cat.table_name]
    found = {f.name: str(getattr(f.type, "type", f.type)) for f in table.schema().fields}
    before = len(result.problems)
    for want in expected:
        kind = DELTA_TYPES[want.type]
        if want.name not in found:
            result.problems.append(_("column {name} ({kind}) is missing").format(name=repr(want.name), kind=kind))
        elif found[want.name] != kind:
            hint = (_(" (no time zone: write UTC instants, Delta type timestamp)")
                    if found[want.name] == "timestamp_ntz" else "")
            result.problems.append(_("column {name} is {found}, the contract says {kind}{hint}").format(
                name=repr(want.name), found=found[want.name], kind=kind, hint=hint))
    extra = [n for n in found if n not in expected.names]
    if extra:
        result.problems.append(_("column(s) {names} are not in the catalog: nobody would see them in their records "
                                 "or their copy; declare them in the catalog or leave them out").format(
            names=", ".join(map(repr, extra))))
    return len(result.problems) == before


def _partitioning(table: DeltaTable, result: TableCheck) -> bool:
    partitions = list(table.metadata().partition_columns)
    if partitions != [PARTITION_COLUMN]:
        result.problems.append(_("partitioned by {found} instead of {expected}").format(
            found=partitions or _("nothing"), expected=f"[{PARTITION_COLUMN!r}]"))
        return False
    return True


def _statistics(actions: pa.Table, cat: catalog.Category, now: datetime, result: TableCheck) -> None:
    names = actions.column_names
    for column in (cat.subject_column, cat.time_column):
        nulls = f"null_count.{column}"
        if nulls in names and (pc.sum(actions[nulls]).as_py() or 0):
            result.problems.append(_("{n} row(s) have no {column}").format(
                n=i18n.number(pc.sum(actions[nulls]).as_py()), column=column))
    low = f"min.{cat.subject_column}"
    without = actions.num_rows if low not in names else actions[low].null_count
    if without:
        result.notes.append(_("{n} file(s) carry no {column} statistics in the Delta log: every read of a person in "
                              "their bucket opens them").format(n=i18n.number(without), column=cat.subject_column))
    oldest = f"min.{cat.time_column}"
    if oldest in names and actions.num_rows and actions[oldest].null_count < actions.num_rows:
        first = pc.min(actions[oldest]).as_py()
        if first is not None and first < now - timedelta(days=cat.retention_days):
            result.notes.append(_("holds rows from {day}, older than the {days}-day retention; `portal retention "
                                  "run` deletes them").format(day=f"{first:%Y-%m-%d}", days=cat.retention_days))


def _files(store: TelemetryStore, actions: pa.Table, cat: catalog.Category, result: TableCheck) -> set[str]:
    buckets = store.buckets
    subjects: set[str] = set()
    bucket_of: dict[str, int] = {}
    facts: list[FileFacts] = []
    partition = f"partition.{PARTITION_COLUMN}"
    for rel, bucket in zip(actions["path"].to_pylist(), actions[partition].to_pylist(), strict=True):
        try:
            source = store.open_file(store.file_path(cat.table_name, rel))
            found = examine(source, unquote(rel), bucket, buckets, cat.subject_column, cat.time_column, bucket_of)
        except FileUnreadable as exc:
            result.problems.append(str(exc))
            continue
        except OSError as exc:  # gone from object storage before it could be opened
            result.problems.append(_("the file {path} is unreadable ({why})").format(path=unquote(rel), why=exc))
            continue
        facts.append(found)
        subjects |= found.subjects
    _file_findings(facts, buckets, result)
    return subjects


def _file_findings(facts: list[FileFacts], buckets: int, result: TableCheck) -> None:
    misplaced = [f for f in facts if f.misplaced_rows]
    if misplaced:
        first = misplaced[0]
        assert first.misplaced_example is not None
        subject, belongs = first.misplaced_example
        result.problems.append(_(
            "{rows} row(s) in {files} file(s) sit in the wrong bucket partition, e.g. {subject} in {path} belongs in "
            "bucket={bucket}: the bucket is CRC-32 of the UTF-8 subject id modulo {buckets} (lake.json); the "
            "portal's reads and erasure skip them").format(
                rows=i18n.number(sum(f.misplaced_rows for f in misplaced)), files=i18n.number(len(misplaced)),
                subject=repr(subject), path=first.path, bucket=belongs, buckets=buckets))
    unsorted = [f.path for f in facts if f.out_of_order_at is not None or f.groups_out_of_order]
    if unsorted:
        result.notes.append(_("{n} file(s) not sorted by (subject_id, time): {names}; a person's read opens more "
                              "of their row groups").format(n=i18n.number(len(unsorted)), names=_named(unsorted)))
    large = [f for f in facts if f.largest_group > LARGEST_GOOD_GROUP]
    if large:
        biggest = max(f.largest_group for f in large)
        result.notes.append(_("{n} file(s) have row groups of up to {biggest} rows (the portal writes {written}): a "
                              "person's read decodes far more than their rows").format(
            n=i18n.number(len(large)), biggest=i18n.number(biggest), written=i18n.number(ROW_GROUP_ROWS)))
    bare = [f.path for f in facts if f.groups_without_stats]
    if bare:
        result.notes.append(_("{n} file(s) have row groups without subject_id statistics: {names}").format(
            n=i18n.number(len(bare)), names=_named(bare)))


def _through_delta(table: DeltaTable, cat: catalog.Category, buckets: int, result: TableCheck) -> set[str]:
    """Buckets and subjects of a table the portal reads through delta-rs (its files do not say it all)."""
    pairs = (pl.scan_delta(table).group_by(PARTITION_COLUMN, cat.subject_column).agg(pl.len().alias("rows"))
             .collect())
    misplaced = 0
    example = None
    for bucket, subject, rows in pairs.iter_rows():
        if subject is not None and bucket != (belongs := bucket_for(subject, buckets)):
            misplaced += rows
            example = example or (subject, belongs)
    if example is not None:
        result.problems.append(_("{n} row(s) sit in the wrong bucket partition, e.g. {subject} belongs in "
                                 "bucket={bucket} (CRC-32 of the UTF-8 subject id modulo {buckets})").format(
            n=i18n.number(misplaced), subject=repr(example[0]), bucket=example[1], buckets=buckets))
    return {s for s in pairs[cat.subject_column].to_list() if s is not None}

