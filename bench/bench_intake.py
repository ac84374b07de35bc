"""Benchmark for portal.collection.intake.take_in: telemetry rows per second from Parquet, CSV and JSON Lines.

Shape: a company of 5,000 employees and an approved endpoint agent sending keystroke activity
(subject_id, ts, window_minutes int16, key_count int32, active_seconds int32, device string), one row per
person and 15-minute window, in time order as an agent's upload holds it, all within the last week.
Each format is taken in on a fresh data directory of its own (temporary, removed afterwards), then the
same file again (found by its hash: nothing written). A breakdown shows where the time goes. Prints
figures only; timings are never asserted. The target is 1M rows/s from Parquet.

Run: .venv/bin/python bench/bench_intake.py [--rows 2000000] [--formats parquet,csv,jsonl]
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import sqlalchemy as sa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from portal.collection import intake  # noqa: E402
from portal.collection.intake_checks import checked_table  # noqa: E402
from portal.collection.intake_formats import read_batch  # noqa: E402
from portal.core import catalog, db  # noqa: E402
from portal.core.settings import Settings  # noqa: E402
from portal.lake.telemetry import TelemetryStore  # noqa: E402

EMPLOYEES = 5000
KEYSTROKES = "user.behavior.keystrokes"
COLLECTOR = "endpoint-agent"


def company(settings: Settings) -> sa.Engine:
    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        catalog.sync(conn)
        conn.execute(sa.insert(db.employees), [
            {"employee_id": f"E{i:05d}", "email": f"user{i}@example.com", "display_name": f"Person {i}",
             "department": "Engineering", "team": "Platform", "job_title": "Engineer"} for i in range(EMPLOYEES)])
        conn.execute(sa.insert(db.collectors).values(
            name=COLLECTOR, category_key=KEYSTROKES, purposes="essential.service.security",
            legal_basis="GDPR Art. 6(1)(f) legitimate interests", retention_days=180, status="approved",
            registered_at=now, approved_at=now, status_changed_at=now))
    return engine


def rows(n: int) -> pl.DataFrame:
    """``n`` rows: every person once per 15-minute window, windows ending an hour ago."""
    rng = np.random.default_rng(7)
    windows = -(-n // EMPLOYEES)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1, minutes=15 * windows)
    who = np.tile(np.arange(EMPLOYEES), windows)[:n]
    window = np.repeat(np.arange(windows), EMPLOYEES)[:n]
    ids = pa.array([f"E{i:05d}" for i in range(EMPLOYEES)]).take(pa.array(who))
    devices = pa.array([f"LT-{i:05d}" for i in range(EMPLOYEES)]).take(pa.array(who))
    ts_us = int(start.timestamp() * 1_000_000) + window.astype(np.int64) * 15 * 60 * 1_000_000
    frame = pl.from_arrow(pa.table({
        "subject_id": ids, "ts": pa.array(ts_us, pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array(np.full(n, 15, np.int16)),
        "key_count": pa.array(rng.integers(0, 3000, n, dtype=np.int32)),
        "active_seconds": pa.array(rng.integers(0, 900, n, dtype=np.int32)),
        "device": devices}))
    assert isinstance(frame, pl.DataFrame)
    return frame


def write(frame: pl.DataFrame, fmt: str, path: pathlib.Path) -> None:
    if fmt == "parquet":
        frame.write_parquet(path, compression="zstd")
        return
    text = frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if fmt == "csv":
        text.write_csv(path)
    else:
        text.write_ndjson(path)


def bench(fmt: str, frame: pl.DataFrame, root: pathlib.Path) -> None:
    data_dir = root / fmt
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=None)  # type: ignore[call-arg]
    engine = company(settings)
    store = TelemetryStore(settings)
    store.create()
    path = root / f"batch.{fmt}"
    write(frame, fmt, path)
    n = frame.height
    size = path.stat().st_size
    started = time.perf_counter()
    report = intake.take_in(engine, store, COLLECTOR, path)
    seconds = time.perf_counter() - started
    assert report.stored == n, report
    again = time.perf_counter()
    repeat = intake.take_in(engine, store, COLLECTOR, path)
    again = time.perf_counter() - again
    assert repeat.repeated
    print(f"  {fmt:<8}{n:>11,} rows {size / 1e6:8.1f} MB {seconds:7.2f} s {n / seconds:12,.0f} rows/s   "
          f"same batch again: {again:5.2f} s (nothing written)")
    breakdown(fmt, path, store, engine)
    engine.dispose()
    shutil.rmtree(data_dir)


def breakdown(fmt: str, path: pathlib.Path, store: TelemetryStore, engine: sa.Engine) -> None:
    category = catalog.category(KEYSTROKES)
    with engine.connect() as conn:
        known = pl.Series(conn.execute(sa.select(db.employees.c.employee_id)).scalars().all(), dtype=pl.String)
    marks = [time.perf_counter()]
    batch = read_batch(path, None, catalog.TABLE_SCHEMAS[category.table_name])
    marks.append(time.perf_counter())
    table = checked_table(batch, category, known, datetime.now(UTC))
    marks.append(time.perf_counter())
    prepared = store.prepare(category.table_name, table)
    marks.append(time.perf_counter())
    intake.batch_hash(category.key, prepared)
    marks.append(time.perf_counter())
    steps = ["read", "check and convert", "bucket and sort", "hash"]
    print("          " + ", ".join(f"{s} {b - a:.2f} s" for s, a, b in zip(steps, marks[:-1], marks[1:], strict=True))
          + " (the rest: Delta commit and DB record)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--formats", default="parquet,csv,jsonl")
    args = parser.parse_args()
    frame = rows(args.rows)
    print(f"Telemetry intake, {args.rows:,} keystroke rows of {EMPLOYEES:,} people per batch:")
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as root:
        for fmt in args.formats.split(","):
            bench(fmt.strip(), frame, pathlib.Path(root))


if __name__ == "__main__":
    main()
