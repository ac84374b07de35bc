"""What one data file of a telemetry table holds, as the lake's contract sees it: whether each subject sits
in the bucket partition the portal reads for them, whether rows run in (subject_id, time) order, how big the
row groups are and whether they carry the statistics the portal prunes by, and which subjects appear.

Columnar throughout: a file's subject column is read dictionary-encoded, so the per-subject work (the
bucket function, the order of names) is done once per distinct subject, never once per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from portal.core.i18n import _
from portal.lake.telemetry import ROW_GROUP_ROWS, bucket_for

# Row groups up to this many rows keep one person's read small; bigger ones are reported.
LARGEST_GOOD_GROUP = 4 * ROW_GROUP_ROWS


class FileUnreadable(ValueError):
    """A data file that cannot be read; the message names it."""


@dataclass(frozen=True)
class FileFacts:
    path: str  # relative to the table
    rows: int
    subjects: frozenset[str]
    misplaced_rows: int  # rows whose subject belongs in another bucket
    misplaced_example: tuple[str, int] | None  # (subject, the bucket it belongs in)
    null_subjects: int
    null_times: int
    out_of_order_at: int | None  # first row (from 0) that comes before the row above it
    row_groups: int
    largest_group: int
    groups_without_stats: int
    groups_out_of_order: int  # row groups whose subject range starts before the previous one ends


def examine(path: Any, shown: str, bucket: int | None, buckets: int, subject: str, time: str,
            bucket_of: dict[str, int]) -> FileFacts:
    """The facts of one Parquet data file; ``bucket`` is its partition value (None: not partitioned)."""
    try:
        with pq.ParquetFile(path, read_dictionary=[subject]) as parquet:
            metadata = parquet.metadata
            table = parquet.read(columns=[subject, time], use_threads=True)
    except (OSError, pa.ArrowException) as exc:
        raise FileUnreadable(_("the data file {path} is unreadable ({why})").format(
            path=shown, why=str(exc).splitlines()[0][:200])) from None
    column = table[subject]
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    names = column.unify_dictionaries().combine_chunks() if column.num_chunks else pa.array([], column.type)
    present = [s for s in names.dictionary.to_pylist() if s is not None]
    for s in present:
        if s not in bucket_of:
            bucket_of[s] = bucket_for(s, buckets)
    wrong = [s for s in present if bucket is not None and bucket_of[s] != bucket]
    misplaced = 0
    if wrong:
        misplaced = int(pc.sum(pc.is_in(names.dictionary.take(names.indices), value_set=pa.array(wrong))).as_py() or 0)
    groups = _row_groups(metadata, subject)
    return FileFacts(
        path=shown, rows=table.num_rows, subjects=frozenset(present), misplaced_rows=misplaced,
        misplaced_example=(wrong[0], bucket_of[wrong[0]]) if wrong else None, null_subjects=names.null_count,
        null_times=table[time].null_count, out_of_order_at=_first_out_of_order(names, table[time]), **groups)


def _row_groups(metadata: pq.FileMetaData, subject: str) -> dict[str, int]:
    column = metadata.schema.names.index(subject) if subject in metadata.schema.names else None
    largest = without = disordered = 0
    previous_high = None
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        largest = max(largest, group.num_rows)
        stats = group.column(column).statistics if column is not None else None
        if stats is None or not stats.has_min_max:
            without += 1
            previous_high = None
            continue
        if previous_high is not None and stats.min < previous_high:
            disordered += 1
        previous_high = stats.max
    return {"row_groups": metadata.num_row_groups, "largest_group": largest, "groups_without_stats": without,
            "groups_out_of_order": disordered}


def _first_out_of_order(names: pa.DictionaryArray, times: pa.ChunkedArray) -> int | None:
    """The first row that sorts before its predecessor by (subject, time); None when the file is in order."""
    if len(names) < 2:
        return None
    order = pc.sort_indices(names.dictionary)
    rank = np.empty(len(names.dictionary), np.int64)
    rank[order.to_numpy()] = np.arange(len(names.dictionary))
    indices = names.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    ranks = rank[indices] if len(rank) else np.zeros(len(names), np.int64)
    ts = times.combine_chunks().cast(pa.int64()).fill_null(np.iinfo(np.int64).min).to_numpy()
    step = np.diff(ranks)
    bad = (step < 0) | ((step == 0) & (np.diff(ts) < 0))
    found = np.flatnonzero(bad)
    return int(found[0]) + 1 if len(found) else None
