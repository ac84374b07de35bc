"""Benchmark for portal.council.aggregates.publish on a realistic, synthetic fact table.

Shape: 5000 persons, 8 departments (skewed sizes, one with 4 people and one
that is rarely active in one category), 6 categories, 53 weeks; one fact row
per (person, category, week) with the summed ``records`` of about 100M raw
activity rows.  Prints figures only; timings are never asserted.

Run: .venv/bin/python bench/bench_aggregates.py
"""

from __future__ import annotations

import datetime as dt
import itertools
import pathlib
import statistics
import sys
import time

import numpy as np
import polars as pl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from portal.council.aggregates import add_noise, publish  # noqa: E402

PERSONS, CATEGORIES, WEEKS = 5000, 6, 53
DEPARTMENT_SIZES = [1800, 1200, 800, 500, 400, 250, 46, 4]
RAW_ROWS = 100_000_000
DIMS = ["department", "category", "week"]
FAMILY = [("department", "category", "week"), ("department", "category"),
          ("department",), ("category",), ()]
LATTICE = [v for r in range(4) for v in itertools.combinations(DIMS, r)]


def facts(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dept = np.repeat(np.arange(len(DEPARTMENT_SIZES)), DEPARTMENT_SIZES)
    # probability that a person has any activity of a category in a week
    active = np.full((len(DEPARTMENT_SIZES), CATEGORIES), 0.995)
    active[6, 5] = 0.08
    person, cat, week = (a.ravel() for a in np.meshgrid(
        np.arange(PERSONS), np.arange(CATEGORIES), np.arange(WEEKS), indexing="ij"))
    keep = rng.random(person.size) < active[dept[person], cat]
    person, cat, week = person[keep], cat[keep], week[keep]
    records = rng.poisson(RAW_ROWS / keep.sum(), person.size).astype(np.int64)
    first_monday = dt.date(2024, 1, 1)
    return pl.DataFrame({
        "person": pl.Series([f"emp-{i:05d}" for i in range(PERSONS)])[person],
        "department": pl.Series([f"dept-{d}" for d in range(len(DEPARTMENT_SIZES))])[dept[person]],
        "category": pl.Series([f"cat-{c}" for c in range(CATEGORIES)])[cat],
        "week": pl.Series([first_monday + dt.timedelta(weeks=w) for w in range(WEEKS)])[week],
        "records": records,
    })


def timed(fn, repeat: int = 3):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def report(label: str, out: dict, times: list[float]) -> None:
    print(f"\n{label}: min {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {len(times)} runs")
    for view, frame in out.items():
        hidden = int(frame["suppressed"].sum())
        print(f"  {' x '.join(view) or 'total':<28} {frame.height:>6} cells, "
              f"{hidden:>5} suppressed")


def main() -> None:
    start = time.perf_counter()
    table = facts()
    print(f"fact rows: {table.height:,} (records sum {table['records'].sum():,}), "
          f"generated in {time.perf_counter() - start:.2f} s")
    print(f"persons {table['person'].n_unique()}, departments {DEPARTMENT_SIZES}, "
          f"categories {CATEGORIES}, weeks {WEEKS}")

    primary = (table.group_by(DIMS).agg(pl.col("person").n_unique().alias("n"))
               .filter(pl.col("n") < 5).height)
    print(f"finest cells under k=5 people (primary suppressions): {primary}")
    out, times = timed(lambda: publish(table, DIMS, FAMILY, ["records"], 5))
    report("department x category x week family, k=5", out, times)
    out10, times10 = timed(lambda: publish(table, DIMS, FAMILY, ["records"], 10))
    report("same family, k=10", out10, times10)
    lazy, times_lazy = timed(lambda: publish(table.lazy(), DIMS, FAMILY, ["records"], 5))
    print(f"\nsame family from a LazyFrame, k=5: min {min(times_lazy):.3f} s")
    full, times_full = timed(lambda: publish(table, DIMS, LATTICE, ["records"], 5))
    report("full lattice (8 views incl. week margins), k=5", full, times_full)

    finest = out[tuple(DIMS)]
    _, noise_seeded = timed(lambda: add_noise(finest, 1.0, ["people", "records"], seed=1))
    _, noise_opendp = timed(lambda: add_noise(finest, 1.0, ["people", "records"]), repeat=1)
    print(f"\nadd_noise on {finest.height} cells: seeded {min(noise_seeded) * 1000:.1f} ms, "
          f"OpenDP {noise_opendp[0] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
