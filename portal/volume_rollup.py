"""Records per person, category and ISO week, rolled up from the Delta telemetry tables.

The works council's collection figures need, for every person, category and
week, how many records were collected. At company scale (100M activity rows)
that is one pass over the ``subject_id`` and ``ts`` columns of every data file:
``subject_id`` is read dictionary-encoded and the week is computed on integer
microseconds, so the pass costs about as much as decoding the two columns.

Delta data files are immutable (a new table version writes new files), so the
rollup of each file is cached under its path and a new version only costs the
files it added. **The cache is a copy of personal data** (how much was recorded
about whom, per week): it lives only in process memory, never on disk; entries
of files that are no longer part of a table's current version (an erasure
rewrites the files that held the person, then vacuum deletes the old ones) are
dropped on the next read; and erasure must call :func:`forget` (through
:func:`portal.works_council.forget_cached_copies`) so nothing survives until then.

Reading the Parquet files directly is only correct without reader features
such as deletion vectors; a table that uses one is read through
``pl.scan_delta`` instead, without caching.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from portal import catalog
from portal.telemetry import TelemetryError, TelemetryStore

DAY_US = 86_400 * 1_000_000
WEEK_US = 7 * DAY_US
# 1970-01-01 was a Thursday: shifting by three days makes week boundaries fall on Mondays.
MONDAY_SHIFT_US = 3 * DAY_US
_DIRECT_UNSAFE = {"deletionVectors", "columnMapping"}
SCHEMA = {"subject_id": pl.String, "category": pl.String, "week": pl.Date, "records": pl.Int64}


@dataclass(frozen=True)
class _FileRollup:
    subjects: pa.Array  # strings
    weeks: np.ndarray  # week index since the Monday before the epoch
    records: np.ndarray


@dataclass(frozen=True)
class _Snapshot:
    version: int
    files: tuple[str, ...]
    direct: bool


_lock = threading.Lock()
_snapshots: dict[str, _Snapshot] = {}
_files: dict[str, _FileRollup] = {}


def forget() -> None:
    """Drop every cached rollup (a copy of personal data) from memory."""
    with _lock:
        _snapshots.clear()
        _files.clear()


def _log_version(table_dir: Path) -> int:
    """Newest commit number in ``_delta_log`` from a directory listing (-1 when none)."""
    best = -1
    try:
        entries = os.listdir(table_dir / "_delta_log")
    except FileNotFoundError:
        raise TelemetryError(f"The telemetry table at {table_dir} is missing; run `portal seed` or set "
                             "PORTAL_DATA_DIR to the directory that holds it.") from None
    for name in entries:
        head = name[:20]
        if head.isdigit() and len(name) > 20 and name[20] == "." and (name.endswith(".json") or ".checkpoint" in name):
            best = max(best, int(head))
    return best


def versions(store: TelemetryStore) -> dict[str, int]:
    """Current Delta version of every catalog table (cheap: no log parsing)."""
    return {c.table_name: _log_version(Path(store.lake_dir) / c.table_name) for c in catalog.CATEGORIES}


def _snapshot(table_dir: Path) -> _Snapshot:
    key = str(table_dir.resolve())
    version = _log_version(table_dir)
    with _lock:
        cached = _snapshots.get(key)
    if cached is not None and cached.version == version:
        return cached
    try:
        table = DeltaTable(str(table_dir))
        features = set(table.protocol().reader_features or ())
        files = tuple(_local(u) for u in table.file_uris())
        snapshot = _Snapshot(table.version(), files, not (features & _DIRECT_UNSAFE))
    except Exception as exc:  # noqa: BLE001 - delta-rs raises several unrelated types
        raise TelemetryError(f"The telemetry table at {table_dir} is unreadable ({str(exc).splitlines()[0][:200]}); "
                             "restore its _delta_log from backup or run `portal seed --force`.") from None
    with _lock:
        _snapshots[key] = snapshot
    return snapshot


def _local(uri: str) -> str:
    return uri.removeprefix("file://")


def _rollup_file(path: str) -> _FileRollup:
    parquet = pq.ParquetFile(path, read_dictionary=["subject_id"])
    subjects, weeks, records = [], [], []
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group, columns=["subject_id", "ts"], use_threads=False)
        if table.num_rows == 0:
            continue
        column = table["subject_id"]
        if column.num_chunks > 1 and pa.types.is_dictionary(column.type):
            column = column.unify_dictionaries()
        names = column.combine_chunks()
        if not pa.types.is_dictionary(names.type):
            names = pc.dictionary_encode(names)
        index = names.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        week = week_of(table["ts"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False))
        first = int(week.min())
        span = int(week.max()) - first + 1
        counts = np.bincount(index * span + (week - first), minlength=len(names.dictionary) * span)
        cells = np.flatnonzero(counts)
        subjects.append(names.dictionary.take(pa.array(cells // span)).cast(pa.string()))
        weeks.append(cells % span + first)
        records.append(counts[cells])
    if not subjects:
        return _FileRollup(pa.array([], pa.string()), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if len(subjects) == 1:
        return _FileRollup(subjects[0], weeks[0], records[0])
    # A person's rows can straddle row groups: merge to one row per person and week (a small frame).
    merged = (pl.DataFrame({"s": pl.from_arrow(pa.concat_arrays(subjects)), "w": np.concatenate(weeks),
                            "r": np.concatenate(records)})
              .group_by("s", "w").agg(pl.col("r").sum()))
    return _FileRollup(merged["s"].to_arrow(), merged["w"].to_numpy(), merged["r"].to_numpy())


def week_of(ts_us: np.ndarray) -> np.ndarray:
    """Week index of UTC microsecond timestamps, counted from the Monday before the epoch."""
    return (ts_us + MONDAY_SHIFT_US) // WEEK_US


def _table_frame(category_key: str, snapshot: _Snapshot) -> pl.DataFrame:
    with _lock:
        parts = [_files[f] for f in snapshot.files]
    if not parts:
        return pl.DataFrame(schema=SCHEMA)
    frame = pl.DataFrame({
        # Files written by different writers may store the id as string or large_string.
        "subject_id": pl.from_arrow(pa.concat_arrays([p.subjects.cast(pa.large_string()) for p in parts])),
        "week": np.concatenate([p.weeks for p in parts]),
        "records": np.concatenate([p.records for p in parts]),
    })
    # A subject lives in one bucket partition, so only files sharing a partition can overlap.
    if len({os.path.dirname(f) for f in snapshot.files}) < len(snapshot.files):
        frame = frame.group_by("subject_id", "week").agg(pl.col("records").sum())
    return frame.select("subject_id", pl.lit(category_key).alias("category"), _monday("week"),
                        pl.col("records").cast(pl.Int64))


def _monday(column: str) -> pl.Expr:
    return (pl.col(column) * 7 - 3).cast(pl.Int32).cast(pl.Date).alias("week")


def _scan_delta(table_dir: Path, category_key: str) -> pl.DataFrame:
    frame = (pl.scan_delta(str(table_dir)).select("subject_id", "ts")
             .group_by("subject_id", pl.col("ts").dt.truncate("1w").cast(pl.Date).alias("week"))
             .agg(pl.len().cast(pl.Int64).alias("records")).collect())
    return frame.select("subject_id", pl.lit(category_key).alias("category"), "week", "records")


def _prune() -> None:
    """Drop rollups of files that no current snapshot lists (erased or compacted away)."""
    with _lock:
        live = {f for s in _snapshots.values() for f in s.files}
        for stale in [f for f in _files if f not in live]:
            del _files[stale]


def weekly_records(store: TelemetryStore) -> pl.DataFrame:
    """``subject_id, category, week, records`` for every catalog table, one row per person,
    category and week with any record (weeks start on Monday, UTC)."""
    try:
        return _weekly_records(store)
    except FileNotFoundError:
        # A vacuum removed files of a version we had listed; list the newest versions again.
        with _lock:
            _snapshots.clear()
        return _weekly_records(store)


def _weekly_records(store: TelemetryStore) -> pl.DataFrame:
    dirs = {c.key: Path(store.lake_dir) / c.table_name for c in catalog.CATEGORIES}
    snapshots = {key: _snapshot(path) for key, path in dirs.items()}
    with _lock:
        missing = [f for s in snapshots.values() if s.direct for f in s.files if f not in _files]
    if missing:  # every new file of every table in one pool, so no table waits for another's stragglers
        with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as pool:
            fresh = dict(zip(missing, pool.map(_rollup_file, missing), strict=True))
        with _lock:
            _files.update(fresh)
    frames = [_table_frame(key, s) if s.direct else _scan_delta(dirs[key], key) for key, s in snapshots.items()]
    _prune()
    return pl.concat(frames, how="vertical_relaxed").cast(SCHEMA)
