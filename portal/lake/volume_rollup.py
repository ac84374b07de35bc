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
* on disk, one Parquet file per table, ``data_dir/rollups/<table>.parquet``:
  the rollups of the files of one table version, each row naming its data file
  (relative to the table) and the file's size. A new process (the command line,
  a restarted portal) reads these instead of every data file, and a new table
  version only costs the files it added.

**The rollups are a copy of personal data** (how much was recorded about whom,
per week). They live next to the lake in the data directory (owner-only file
permissions) and follow the lake: rows of a data file are kept only while that
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
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from deltalake import DeltaTable

from portal.core import caches, catalog
from portal.lake.telemetry import TelemetryError, TelemetryStore

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


_lock = threading.Lock()
_snapshots: dict[str, _Snapshot] = {}
_files: dict[str, pl.DataFrame] = {}


def rollup_dir(data_dir: str | os.PathLike) -> Path:
    """Where the stored rollups of a data directory live."""
    return Path(data_dir) / "rollups"


def forget(data_dir: str | os.PathLike | None = None, lake_dir: str | os.PathLike | None = None) -> int:
    """Drop every in-memory rollup; with ``data_dir``, also prune the stored rollups there to the
    data files that still exist (what erasure needs: the erased person's old files are gone).
    Returns how many stored rows were dropped."""
    with _lock:
        _snapshots.clear()
        _files.clear()
    return prune_stored(data_dir, lake_dir) if data_dir is not None else 0


caches.register(
    "rollups", "weekly rollups per data file (in memory, and the stored ones of data files that are gone)",
    lambda settings: forget() if settings is None else forget(settings.data_dir, settings.lake_dir))


# ---- table versions and file lists ------------------------------------------


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
    key = str(table_dir)
    version = _log_version(table_dir)
    with _lock:
        cached = _snapshots.get(key)
    if cached is not None and cached.version == version:
        return cached
    for attempt in range(3):  # an erasure may clean the log while we list it: list it again
        try:
            table = DeltaTable(str(table_dir))
            features = set(table.protocol().reader_features or ())
            files = tuple(os.path.normpath(u.removeprefix("file://")) for u in table.file_uris())
            snapshot = _Snapshot(table.version(), files, not (features & _DIRECT_UNSAFE))
            break
        except Exception as exc:  # noqa: BLE001 - delta-rs raises several unrelated types
            if attempt == 2:
                raise TelemetryError(f"The telemetry table at {table_dir} is unreadable "
                                     f"({str(exc).splitlines()[0][:200]}); restore its _delta_log from backup or "
                                     "run `portal seed --force`.") from None
    with _lock:
        _snapshots[key] = snapshot
    return snapshot


# ---- one data file ------------------------------------------------------------


def week_of(ts_us: np.ndarray) -> np.ndarray:
    """Week index of UTC microsecond timestamps, counted from the Monday before the epoch."""
    return (ts_us + MONDAY_SHIFT_US) // WEEK_US


def _week_expr(column: str) -> pl.Expr:
    return ((pl.col(column).dt.epoch("us") + MONDAY_SHIFT_US) // WEEK_US).cast(pl.Int32)


def rollup_file(path: str, subject: str = "subject_id", time: str = "ts") -> pl.DataFrame:
    """``subject_id, week, records`` of one Parquet data file, one row per subject and week."""
    s, w = pl.col("subject_id"), pl.col("week")
    start = ((s != s.shift(1)) | (w != w.shift(1))).fill_null(True)
    # One lazy pass keeps only the first row of every run (and the last row, for the last run's end).
    marks = (pl.scan_parquet(path, hive_partitioning=False)
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


@contextmanager
def _store_lock(root: Path) -> Iterator[None]:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stored_path(root: Path, table_name: str) -> Path:
    return root / f"{table_name}.parquet"


def _read_stored(path: Path) -> tuple[dict[str, list[int]], pl.DataFrame] | None:
    """``({relative file: [size, first row, rows]}, rows)``, or None when absent or unusable."""
    try:
        meta = json.loads(pl.read_parquet_metadata(path)[_META])
        if meta.get("format") != STORED_FORMAT:
            return None
        files = {str(k): [int(x) for x in v] for k, v in meta["files"].items()}
        frame = pl.read_parquet(path).cast(ROLLUP)
        if sum(n for _, _, n in files.values()) != frame.height:
            return None
        return files, frame
    except (OSError, KeyError, ValueError, TypeError, pl.exceptions.PolarsError):
        return None  # missing, half-written by a crash, or from another version: computed again


def _write_stored(root: Path, table_dir: Path, table_name: str, rollups: dict[str, pl.DataFrame]) -> None:
    """Store ``rollups`` (absolute data file -> rollup) of data files that exist right now."""
    with _store_lock(root):
        _write_unlocked(_stored_path(root, table_name), table_dir, rollups)


def _write_unlocked(target: Path, table_dir: Path, rollups: dict[str, pl.DataFrame]) -> None:
    files, parts, first = {}, [], 0
    for path, frame in rollups.items():
        size = _size(path)
        if size is None:
            continue  # vacuumed meanwhile (an erasure): never write its rows back
        files[os.path.relpath(path, table_dir)] = [size, first, frame.height]
        parts.append(frame)
        first += frame.height
    _atomic_write(target, pl.concat(parts) if parts else pl.DataFrame(schema=ROLLUP),
                  {"format": STORED_FORMAT, "files": files})


def _atomic_write(target: Path, frame: pl.DataFrame, meta: dict) -> None:
    table = frame.to_arrow().replace_schema_metadata({_META: json.dumps(meta)})
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _stored_for(root: Path, table_dir: Path, table_name: str, wanted: set[str]) -> dict[str, pl.DataFrame]:
    """Stored rollups of the ``wanted`` files whose size still matches."""
    stored = _read_stored(_stored_path(root, table_name))
    if stored is None:
        return {}
    files, frame = stored
    found = {}
    for rel, (size, first, rows) in files.items():
        path = os.path.join(table_dir, rel)
        if path in wanted and _size(path) == size:
            found[path] = frame.slice(first, rows)
    return found


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def prune_stored(data_dir: str | os.PathLike, lake_dir: str | os.PathLike | None = None) -> int:
    """Rewrite every stored rollup without the rows of data files that no longer exist; remove
    leftovers of interrupted writes. Returns how many rows were dropped."""
    root = rollup_dir(data_dir)
    if not root.is_dir():
        return 0
    lake = Path(os.path.realpath(lake_dir if lake_dir is not None else Path(data_dir) / "lake"))
    dropped = 0
    with _store_lock(root):
        for leftover in root.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        for path in sorted(root.glob("*.parquet")):
            stored = _read_stored(path)
            if stored is None:
                path.unlink(missing_ok=True)
                continue
            files, frame = stored
            table_dir = lake / path.stem
            live = {rel: f for rel, f in files.items() if _size(os.path.join(table_dir, rel)) == f[0]}
            if len(live) == len(files):
                continue
            kept = {os.path.join(table_dir, rel): frame.slice(first, rows) for rel, (_, first, rows) in live.items()}
            dropped += frame.height - sum(f.height for f in kept.values())
            _write_unlocked(path, table_dir, kept)
    return dropped


def subject_rows(data_dir: str | os.PathLike, subject_id: str, tables: list[str]) -> int:
    """Rows naming ``subject_id`` in the stored rollups of ``tables`` (erasure verifies this is 0);
    a leftover of an interrupted write counts as naming everyone."""
    root = rollup_dir(data_dir)
    if not root.is_dir():
        return 0
    rows = 0
    with _store_lock(root):  # no write is half-done while we look
        paths = [root / f"{t}.parquet" for t in tables] + [p for t in tables for p in root.glob(f".{t}.parquet.*.tmp")]
        for path in [p for p in paths if p.exists()]:
            try:
                rows += pl.scan_parquet(path).filter(pl.col("subject_id") == subject_id).select(pl.len()).collect().item()
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


def _scan_delta(table_dir: Path, cat: catalog.Category) -> pl.DataFrame:
    frame = (pl.scan_delta(str(table_dir)).select(pl.col(cat.subject_column).alias("subject_id"), cat.time_column)
             .group_by("subject_id", pl.col(cat.time_column).dt.truncate("1w").cast(pl.Date).alias("week"))
             .agg(pl.len().cast(pl.Int64).alias("records")).collect())
    return frame.select("subject_id", pl.lit(cat.key).alias("category"), "week", "records")


def _prune_memory() -> None:
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
    root = rollup_dir(store.settings.data_dir)
    cats = {c.key: c for c in catalog.CATEGORIES}
    lake = Path(os.path.realpath(store.lake_dir))
    dirs = {key: lake / c.table_name for key, c in cats.items()}
    snapshots = {key: _snapshot(path) for key, path in dirs.items()}
    todo: dict[str, str] = {}  # data file -> category key, for files that need reading
    for key, snap in snapshots.items():
        if snap.direct:
            _load_known(root, dirs[key], cats[key].table_name, snap, todo, key)
    if todo:  # every new file of every table in one pool, so no table waits for another's stragglers
        files = list(todo)
        with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
            fresh = dict(zip(files, pool.map(lambda f: rollup_file(
                f, cats[todo[f]].subject_column, cats[todo[f]].time_column), files), strict=True))
        with _lock:
            _files.update(fresh)
        for key in sorted(set(todo.values())):
            with _lock:
                current = {f: _files[f] for f in snapshots[key].files if f in _files}
            _write_stored(root, dirs[key], cats[key].table_name, current)
    frames = [_table_frame(key, s) if s.direct else _scan_delta(dirs[key], cats[key]) for key, s in snapshots.items()]
    _prune_memory()
    return pl.concat(frames, how="vertical_relaxed").cast(SCHEMA)


def _load_known(root: Path, table_dir: Path, table_name: str, snap: _Snapshot, todo: dict[str, str],
                key: str) -> None:
    """Fill the memory cache from the stored rollup; note in ``todo`` the files still unknown."""
    with _lock:
        missing = {f for f in snap.files if f not in _files}
    if not missing:
        return
    found = _stored_for(root, table_dir, table_name, missing)
    with _lock:
        _files.update(found)
    todo.update({f: key for f in missing - found.keys()})
