"""Rows of given people in every data file of the lake: what verifying a whole lake after erasure counts.

A :class:`Probe` asks for one subject's rows in one table, optionally only those whose time is at or
before ``until`` (an erasure removes what was held when it ran; telemetry recorded about the person
afterwards is new collection, not a leftover). A row without a time counts: it cannot be shown to be
newer. Every Parquet file under the table directory is read, whether the Delta log references it or
not (a file an older version or a crashed writer left behind counts too); the ``_delta_log`` directory
is not data and is not read, as :meth:`portal.lake.telemetry.TelemetryStore.rows_on_disk` does.

:func:`count_local` is the local engine's pass: per file, only the row groups whose subject statistics
may hold a probed subject are read (pyarrow, through the lake's file system, so object storage too),
several files at a time. The Ray engine reads the same files with Daft
(:mod:`portal.engines.ray_engine`); both return a :class:`LakeRows` that compares equal for the same lake.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from portal.core import catalog
from portal.core.lake_location import Entry, LakeLocation

LOG_DIR = "_delta_log"
# "no time limit": later than any microsecond timestamp a table can hold
FOREVER_US = 2**63 - 1
PROBES_SCHEMA = {"subject_id": pl.String, "until_us": pl.Int64}


class LakeReadError(RuntimeError):
    """A data file could not be read; the message names it."""


@dataclass(frozen=True, order=True)
class Probe:
    """One subject's rows to look for in one table: all of them, or those up to ``until``."""

    table_name: str
    subject_id: str
    until: datetime | None = None

    @property
    def until_us(self) -> int:
        if self.until is None:
            return FOREVER_US
        moment = self.until if self.until.tzinfo is not None else self.until.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True, order=True)
class FileRows:
    """``rows`` of ``subject_id`` found in one data file (``file`` relative to the table directory)."""

    table_name: str
    file: str
    subject_id: str
    rows: int


@dataclass(frozen=True)
class LakeRows:
    """What a count found: files scanned per table, and every file holding a probed subject's rows (sorted)."""

    probes: tuple[Probe, ...]
    files_scanned: Mapping[str, int]
    found: tuple[FileRows, ...]

    @property
    def clean(self) -> bool:
        return not self.found

    def rows(self, table_name: str, subject_id: str) -> int:
        return sum(f.rows for f in self.found if f.table_name == table_name and f.subject_id == subject_id)

    def totals(self) -> dict[tuple[str, str], int]:
        """Rows per (table, subject) for every probe, zero included."""
        out = {(p.table_name, p.subject_id): 0 for p in self.probes}
        for f in self.found:
            out[(f.table_name, f.subject_id)] += f.rows
        return out

    @property
    def total_files(self) -> int:
        return sum(self.files_scanned.values())


def merge_probes(probes: Iterable[Probe]) -> tuple[Probe, ...]:
    """One probe per table and subject: the latest ``until`` of those given (None, no limit, is the latest)."""
    best: dict[tuple[str, str], Probe] = {}
    for probe in probes:
        key = (probe.table_name, probe.subject_id)
        seen = best.get(key)
        if seen is None or probe.until_us > seen.until_us:
            best[key] = probe
    return tuple(sorted(best.values(), key=lambda p: (p.table_name, p.subject_id)))


def by_table(probes: Sequence[Probe]) -> dict[str, list[Probe]]:
    tables: dict[str, list[Probe]] = {}
    for probe in merge_probes(probes):
        tables.setdefault(probe.table_name, []).append(probe)
    return tables


def probe_frame(probes: Sequence[Probe]) -> pl.DataFrame:
    return pl.DataFrame({"subject_id": [p.subject_id for p in probes], "until_us": [p.until_us for p in probes]},
                        schema=PROBES_SCHEMA)


def data_files(location: LakeLocation, table_name: str) -> list[Entry]:
    """Every Parquet file under the table directory but its Delta log, referenced or not, in name order."""
    return [e for e in location.files(table_name)
            if e.relative.endswith(".parquet") and e.relative.split("/", 1)[0] != LOG_DIR]


def columns(table_name: str) -> tuple[str, str]:
    """The subject and time columns of a table."""
    category = catalog.CATEGORY_BY_TABLE[table_name]
    return category.subject_column, category.time_column


def result(probes: Sequence[Probe], scanned: Mapping[str, int], found: Iterable[FileRows]) -> LakeRows:
    return LakeRows(merge_probes(probes), dict(sorted(scanned.items())),
                    tuple(sorted(f for f in found if f.rows)))


# ---- the local pass -------------------------------------------------------------


def count_local(location: LakeLocation, probes: Sequence[Probe], threads: int | None = None) -> LakeRows:
    """:class:`LakeRows` of ``probes`` over the lake at ``location``, read in this process."""
    scanned: dict[str, int] = {}
    work: list[FileCount] = []
    for table_name, table_probes in by_table(probes).items():
        files = data_files(location, table_name)
        scanned[table_name] = len(files)
        wanted = probe_frame(table_probes)
        work += [FileCount(table_name, *columns(table_name), entry, wanted) for entry in files]
    return result(probes, scanned, count_files(location, work, threads))


@dataclass(frozen=True)
class FileCount:
    """One data file to count in: its table, the table's subject and time columns, and the probes
    (``subject_id, until_us``); everything :func:`count_file` needs, so any process can run it."""

    table_name: str
    subject: str
    time: str
    entry: Entry
    wanted: pl.DataFrame


def count_files(location: LakeLocation, work: Sequence[FileCount], threads: int | None = None) -> list[FileRows]:
    """:func:`count_file` of each file, several at a time."""
    pool_size = threads or max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(pool_size) as pool:
        return [f for part in pool.map(lambda w: count_file(location, w), work) for f in part]


def count_file(location: LakeLocation, work: FileCount) -> list[FileRows]:
    """Rows of the probed subjects in one data file, each up to its time."""
    table_name, subject, time, entry, wanted = work.table_name, work.subject, work.time, work.entry, work.wanted
    subjects = wanted["subject_id"].to_list()
    low, high = min(subjects), max(subjects)
    try:
        with location.fs.open_input_file(entry.path) as handle, pq.ParquetFile(handle) as parquet:
            names = parquet.metadata.schema.names
            if subject not in names:
                return []
            index = names.index(subject)
            groups = []
            for i in range(parquet.metadata.num_row_groups):
                stats = parquet.metadata.row_group(i).column(index).statistics
                if stats is None or not stats.has_min_max or (stats.min <= high and stats.max >= low and any(
                        stats.min <= s <= stats.max for s in subjects)):
                    groups.append(i)
            if not groups:
                return []
            table = parquet.read_row_groups(groups, columns=[c for c in (subject, time) if c in names],
                                            use_threads=False)
    except (OSError, pa.ArrowException) as exc:
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]
        raise LakeReadError(f"cannot verify {table_name!r}: the file {entry.path} is unreadable ({text})") from None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table gives a frame
    when = pl.col(time).dt.epoch("us") if time in frame.columns else pl.lit(None, pl.Int64)
    counted = (frame.select(pl.col(subject).cast(pl.String).alias("subject_id"), when.alias("t"))
               .join(wanted, on="subject_id", how="inner")
               .filter(pl.col("t").is_null() | (pl.col("t") <= pl.col("until_us")))
               .group_by("subject_id").agg(pl.len().alias("rows")))
    return [FileRows(table_name, entry.relative, row["subject_id"], int(row["rows"]))
            for row in counted.iter_rows(named=True)]
