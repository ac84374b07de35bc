"""Records per person, category and ISO week, rolled up from the Delta telemetry tables.

The works council's collection figures need, for every person, category and
week, how many records were collected. At company scale (100M activity rows)
that is one pass over the subject and time columns of every data file. Inside a
file the rows are sorted by subject and time, so the pass finds *runs* of one
subject and one week and counts their lengths instead of hashing every row; a
file that is not sorted is still counted exactly (its runs are summed).

Delta data files are immutable (a new table version writes new files), so the
rollup of each file is computed once and kept:

* in process memory, per file path;
* stored, one Parquet file per table, ``<rollups>/<table>.parquet``, where ``<rollups>`` is
  ``data_dir/rollups`` beside a local lake and ``<lake>/_portal/rollups`` beside a lake on object
  storage (so every replica shares them and an erasure from one prunes them for all):
  the rollups of the files of one table version, each row naming its data file
  (relative to the table) and the file's size. A new process (the command line,
  a restarted portal) reads these instead of every data file, and a new table
  version only costs the files it added.

**The rollups are a copy of personal data** (how much was recorded about whom,
per week). They live next to the lake (owner-only file permissions on a local
disk) and follow the lake: rows of a data file are kept only while that
file is part of its table's current version. Erasure rewrites the files that
held the person and vacuums the old ones; :func:`forget` then drops the memory
copy and rewrites every stored rollup without the rows of files that left the
table, and :func:`subject_rows` lets erasure verify that no stored rollup still
names the person. Writing and pruning the stored rollups share a lock, and a
rollup is written only for data files that still exist at that moment, so a
reader that started before an erasure cannot write the erased files back.

Reading the Parquet files directly is only correct without reader features
such as deletion vectors; a table that uses one is read through
``pl.scan_delta`` instead, without caching.

Computing the rollups of new data files is the heavy part (100M rows: one pass over two columns).
:func:`weekly_records` hands it to a :class:`FileRollups` runner: :data:`LOCAL_ROLLUPS` (a thread
pool in this process) by default, or the Ray engine (:mod:`portal.engines`).
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from portal.core import caches, catalog
from portal.core.i18n import _
from portal.core.lake_location import LakeLocation
from portal.lake import write_lock
from portal.lake.telemetry import TelemetryError, TelemetryStore, latest_version

DAY_US = 86_400 * 1_000_000
WEEK_US = 7 * DAY_US
# 1970-01-01 was a Thursday: shifting by three days makes week boundaries fall on Mondays.
MONDAY_SHIFT_US = 3 * DAY_US
_DIRECT_UNSAFE = {"deletionVectors", "columnMapping"}
# column -> type; keys typed Any so that DataFrame.cast accepts them
SCHEMA: Mapping[Any, pl.DataType | type[pl.DataType]] = {
    "subject_id": pl.String, "category": pl.String, "week": pl.Date, "records": pl.Int64}
ROLLUP: Mapping[Any, pl.DataType | type[pl.DataType]] = {
    "subject_id": pl.String, "week": pl.Int32, "records": pl.Int64}  # week: index since the epoch's Monday
STORED_FORMAT = "1"
_META = "portal.rollup"


@dataclass(frozen=True)
class _Snapshot:
    version: int
    files: tuple[str, ...]
    direct: bool


@dataclass(frozen=True)
class RollupJob:
    """One data file whose rollup is needed: its file-system path and the columns to count by."""

    path: str
    subject_column: str
    time_column: str


class FileRollups(Protocol):
    """Computes the rollups (:data:`ROLLUP` frames) of data files, one frame per job, in order."""

    def rollup_files(self, location: LakeLocation, jobs: Sequence[RollupJob]) -> list[pl.DataFrame]: ...


class LocalRollups:
    """Rollups computed in this process, a few files at a time."""

    name = "local"

    def rollup_files(self, location: LakeLocation, jobs: Sequence[RollupJob]) -> list[pl.DataFrame]:
        if not jobs:
            return []
        with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
            return list(pool.map(lambda j: rollup_file(location, j.path, j.subject_column, j.time_column), jobs))


LOCAL_ROLLUPS: FileRollups = LocalRollups()

_lock = threading.Lock()
_snapshots: dict[str, _Snapshot] = {}
_files: dict[str, pl.DataFrame] = {}


def rollups_location(location: LakeLocation) -> LakeLocation:
    """Where the stored rollups of a lake live (:meth:`LakeLocation.derived`)."""
    return location.derived("rollups")


def forget(location: LakeLocation | None = None) -> int:
    """Drop every in-memory rollup; with the lake's ``location``, also prune the stored rollups to the
    data files that still exist (what erasure needs: the erased person's old files are gone).
    Returns how many stored rows were dropped."""
    with _lock:
        _snapshots.clear()
        _files.clear()
    return prune_stored(location) if location is not None else 0


caches.register(
    "rollups", "weekly rollups per data file (in memory, and the stored ones of data files that are gone)",
    lambda settings: forget() if settings is None else forget(settings.lake_location))


# ---- table versions and file lists ------------------------------------------


def _log_version(location: LakeLocation, table_name: str) -> int:
    """Newest commit number in ``_delta_log`` from a listing (-1 when none)."""
    try:
        return latest_version(location, table_name)
    except FileNotFoundError:
        raise TelemetryError(_("The telemetry table {table} at {lake} is missing; run `portal seed` or set "
                               "PORTAL_DATA_DIR (or PORTAL_LAKE_URL) to where it is.").format(
            table=repr(table_name), lake=location)) from None


def versions(store: TelemetryStore) -> dict[str, int]:
    """Current Delta version of every catalog table (cheap: no log parsing)."""
    return {c.table_name: _log_version(store.location, c.table_name) for c in catalog.CATEGORIES}


def _fs_path(location: LakeLocation, uri: str) -> str:
    if location.is_local:
        return os.path.normpath(uri.removeprefix("file://"))
    return uri.split("://", 1)[1] if "://" in uri else uri


def _snapshot(store: TelemetryStore, table_name: str) -> _Snapshot:
    location = store.location
    key = location.uri(table_name)
    version = _log_version(location, table_name)
    with _lock:
        cached = _snapshots.get(key)
    if cached is not None and cached.version == version:
        return cached
    for attempt in range(3):  # an erasure may clean the log while we list it: list it again
        try:
            table = store.delta_table(table_name)
            features = set(table.protocol().reader_features or ())
            files = tuple(_fs_path(location, u) for u in table.file_uris())
            snapshot = _Snapshot(table.version(), files, not (features & _DIRECT_UNSAFE))
            break
        except Exception as exc:  # noqa: BLE001 - delta-rs raises several unrelated types
            if attempt == 2:
                raise TelemetryError(_("The telemetry table at {path} is unreadable ({why}); restore its _delta_log "
                                       "from backup or run `portal seed --force`.").format(
                    path=key, why=str(exc).splitlines()[0][:200])) from None
    with _lock:
        _snapshots[key] = snapshot
    return snapshot


# ---- one data file ------------------------------------------------------------


def week_of(ts_us: np.ndarray) -> np.ndarray:
    """Week index of UTC microsecond timestamps, counted from the Monday before the epoch."""
    return (ts_us + MONDAY_SHIFT_US) // WEEK_US


def _week_expr(column: str) -> pl.Expr:
    return ((pl.col(column).dt.epoch("us") + MONDAY_SHIFT_US) // WEEK_US).cast(pl.Int32)


def rollup_file(location: LakeLocation, path: str, subject: str = "subject_id", time: str = "ts") -> pl.DataFrame:
    """``subject_id, week, records`` of one Parquet data file (a path of ``location``'s file system),
    one row per subject and week."""
    s, w = pl.col("subject_id"), pl.col("week")
    start = ((s != s.shift(1)) | (w != w.shift(1))).fill_null(True)
    # One lazy pass keeps only the first row of every run (and the last row, for the last run's end).
    marks = (pl.scan_parquet(location.uri_of(path), hive_partitioning=False, storage_options=location.storage_options)
             .select(pl.col(subject).alias("subject_id"), _week_expr(time).alias("week"))
             .drop_nulls().with_row_index("at").with_columns(start.alias("start"))
             .filter(pl.col("start") | (pl.col("at") == pl.len() - 1))
             .collect())
    if marks.is_empty():
        return pl.DataFrame(schema=ROLLUP)
    rows = int(marks["at"][-1]) + 1
    starts = marks.filter("start")
    at = starts["at"].to_numpy().astype(np.int64)
    runs = starts.select("subject_id", "week", pl.Series("records", np.diff(np.append(at, rows)), dtype=pl.Int64))
    if runs.select(pl.struct("subject_id", "week").is_unique().all()).item():
        return runs
    return runs.group_by("subject_id", "week").agg(pl.col("records").sum())  # an unsorted file


# ---- stored rollups --------------------------------------------------------------


def _stored_name(table_name: str) -> str:
    return f"{table_name}.parquet"


def _read_stored(root: LakeLocation, name: str) -> tuple[dict[str, list[int]], pl.DataFrame] | None:
    """``({relative file: [size, first row, rows]}, rows)``, or None when absent or unusable."""
    try:
        data = root.read_bytes(name)
    except (FileNotFoundError, OSError):
        return None
    try:
        meta = json.loads(pq.read_metadata(io.BytesIO(data)).metadata[_META.encode()])
        if meta.get("format") != STORED_FORMAT:
            return None
        files = {str(k): [int(x) for x in v] for k, v in meta["files"].items()}
        frame = pl.read_parquet(io.BytesIO(data)).cast(ROLLUP)
        if sum(n for _, _, n in files.values()) != frame.height:
            return None
        return files, frame
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException, pl.exceptions.PolarsError):
        return None  # half-written by a crash, or from another version: computed again


def _write_stored(location: LakeLocation, table_name: str, rollups: dict[str, pl.DataFrame]) -> None:
    """Store ``rollups`` (data file path -> rollup) of data files that exist right now."""
    root = rollups_location(location)
    with write_lock.table_lock(root, "rollups"):
        _write_unlocked(location, root, table_name, rollups)


def _write_unlocked(location: LakeLocation, root: LakeLocation, table_name: str,
                    rollups: dict[str, pl.DataFrame]) -> None:
    files, parts, first = {}, [], 0
    prefix = location.path(table_name) + "/"
    for path, frame in rollups.items():
        size = location.size_of(path)
        if size is None:
            continue  # vacuumed meanwhile (an erasure): never write its rows back
        files[path.removeprefix(prefix)] = [size, first, frame.height]
        parts.append(frame)
        first += frame.height
    table = (pl.concat(parts) if parts else pl.DataFrame(schema=ROLLUP)).to_arrow()
    table = table.replace_schema_metadata({_META: json.dumps({"format": STORED_FORMAT, "files": files})})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    root.write_bytes(sink.getvalue(), _stored_name(table_name))


def _stored_for(location: LakeLocation, table_name: str, wanted: set[str]) -> dict[str, pl.DataFrame]:
    """Stored rollups of the ``wanted`` files whose size still matches."""
    stored = _read_stored(rollups_location(location), _stored_name(table_name))
    if stored is None:
        return {}
    files, frame = stored
    found = {}
    for rel, (size, first, rows) in files.items():
        path = location.path(table_name, rel)
        if path in wanted and location.size_of(path) == size:
            found[path] = frame.slice(first, rows)
    return found


def prune_stored(location: LakeLocation) -> int:
    """Rewrite every stored rollup of the lake at ``location`` without the rows of data files that no
    longer exist; remove leftovers of interrupted writes. Returns how many rows were dropped."""
    root = rollups_location(location)
    if not root.has_files():
        return 0
    dropped = 0
    with write_lock.table_lock(root, "rollups"):
        for entry in list(root.files(recursive=False)):
            name = entry.relative
            if name.endswith(".tmp"):
                root.delete(entry.path)
                continue
            if not name.endswith(".parquet"):
                continue
            stored = _read_stored(root, name)
            if stored is None:
                root.delete(entry.path)
                continue
            files, frame = stored
            table_name = name.removesuffix(".parquet")
            live = {rel: f for rel, f in files.items() if location.size_of(location.path(table_name, rel)) == f[0]}
            if len(live) == len(files):
                continue
            kept = {location.path(table_name, rel): frame.slice(first, rows)
                    for rel, (_, first, rows) in live.items()}
            dropped += frame.height - sum(f.height for f in kept.values())
            _write_unlocked(location, root, table_name, kept)
    return dropped


def subject_rows(location: LakeLocation, subject_id: str, tables: list[str]) -> int:
    """Rows naming ``subject_id`` in the stored rollups of ``tables`` (erasure verifies this is 0);
    a leftover of an interrupted write counts as naming everyone."""
    root = rollups_location(location)
    if not root.has_files():
        return 0
    rows = 0
    with write_lock.table_lock(root, "rollups"):  # no write is half-done while we look
        for entry in root.files(recursive=False):
            name = entry.relative
            ours = any(name == _stored_name(t) or (name.startswith(f".{_stored_name(t)}.") and name.endswith(".tmp"))
                       for t in tables)
            if not ours:
                continue
            try:
                frame = pl.read_parquet(io.BytesIO(root.read_bytes(name)), columns=["subject_id"])
                rows += frame.filter(pl.col("subject_id") == subject_id).height
            except (OSError, pl.exceptions.PolarsError):
                rows += 1  # unreadable, so it cannot be shown not to name the person
    return rows


# ---- all tables ----------------------------------------------------------------


def _table_frame(category_key: str, snapshot: _Snapshot) -> pl.DataFrame:
    with _lock:
        parts = [_files.get(f) for f in snapshot.files]
    if any(p is None for p in parts):  # dropped meanwhile (an erasure): list the tables again
        raise FileNotFoundError("a data file's rollup was dropped while reading")
    if not parts:
        return pl.DataFrame(schema=SCHEMA)
    frame = pl.concat(cast(list[pl.DataFrame], parts))  # none is None (checked above)
    # A subject lives in one bucket partition, so only files sharing a partition can overlap.
    if len({os.path.dirname(f) for f in snapshot.files}) < len(snapshot.files):
        frame = frame.group_by("subject_id", "week").agg(pl.col("records").sum())
    return frame.select("subject_id", pl.lit(category_key).alias("category"), _monday("week"), "records")


def _monday(column: str) -> pl.Expr:
    return (pl.col(column) * 7 - 3).cast(pl.Int32).cast(pl.Date).alias("week")


def _scan_delta(store: TelemetryStore, cat: catalog.Category) -> pl.DataFrame:
    frame = (pl.scan_delta(store.delta_table(cat.table_name)).select(pl.col(cat.subject_column).alias("subject_id"), cat.time_column)
             .group_by("subject_id", pl.col(cat.time_column).dt.truncate("1w").cast(pl.Date).alias("week"))
             .agg(pl.len().cast(pl.Int64).alias("records")).collect())
    return frame.select("subject_id", pl.lit(cat.key).alias("category"), "week", "records")


def _prune_memory() -> None:
    """Drop rollups of files that no current snapshot lists (erased or compacted away)."""
    with _lock:
        live = {f for s in _snapshots.values() for f in s.files}
        for stale in [f for f in _files if f not in live]:
            del _files[stale]


def weekly_records(store: TelemetryStore, runner: FileRollups | None = None) -> pl.DataFrame:
    """``subject_id, category, week, records`` for every catalog table, one row per person,
    category and week with any record (weeks start on Monday, UTC). Data files no stored rollup
    covers are rolled up by ``runner`` (:data:`LOCAL_ROLLUPS` when None)."""
    try:
        return _weekly_records(store, runner or LOCAL_ROLLUPS)
    except FileNotFoundError:
        # A vacuum removed files of a version we had listed; list the newest versions again.
        with _lock:
            _snapshots.clear()
        return _weekly_records(store, runner or LOCAL_ROLLUPS)


def _weekly_records(store: TelemetryStore, runner: FileRollups) -> pl.DataFrame:
    location = store.location
    cats = {c.key: c for c in catalog.CATEGORIES}
    snapshots = {key: _snapshot(store, c.table_name) for key, c in cats.items()}
    todo: dict[str, str] = {}  # data file -> category key, for files that need reading
    for key, snap in snapshots.items():
        if snap.direct:
            _load_known(location, cats[key].table_name, snap, todo, key)
    if todo:  # every new file of every table in one batch, so no table waits for another's stragglers
        files = list(todo)
        jobs = [RollupJob(f, cats[todo[f]].subject_column, cats[todo[f]].time_column) for f in files]
        fresh = dict(zip(files, [f.cast(ROLLUP) for f in runner.rollup_files(location, jobs)], strict=True))
        with _lock:
            _files.update(fresh)
        for key in sorted(set(todo.values())):
            with _lock:
                current = {f: _files[f] for f in snapshots[key].files if f in _files}
            _write_stored(location, cats[key].table_name, current)
    frames = [_table_frame(key, s) if s.direct else _scan_delta(store, cats[key]) for key, s in snapshots.items()]
    _prune_memory()
    return pl.concat(frames, how="vertical_relaxed").cast(SCHEMA)


def _load_known(location: LakeLocation, table_name: str, snap: _Snapshot, todo: dict[str, str],
                key: str) -> None:
    """Fill the memory cache from the stored rollup; note in ``todo`` the files still unknown."""
    with _lock:
        missing = {f for f in snap.files if f not in _files}
    if not missing:
        return
    found = _stored_for(location, table_name, missing)
    with _lock:
        _files.update(found)
    todo.update({f: key for f in missing - found.keys()})
