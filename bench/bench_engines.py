"""Batch engines compared: local (polars in this process) against Ray (Daft on a local Ray cluster) with 1 and
2 workers, on a seeded demo company (with its request history, so erasures have rewritten some files).

Measured for each engine, each in a fresh Python process of its own (a Ray cluster's size is fixed when it
starts), ``--runs`` times:

* **first rollup**: records per person, category and week of every data file of every table, with no
  rollup in memory or stored (``volume_rollup.weekly_records`` on the engine's runner; the rollups are
  then stored, as in the portal);
* **council release**: the three works-council releases (collection, access, requests) computed and
  stored from the stored rollups, nothing in memory and no stored release (``figures.publish_all`` with the
  engine as its batch): the department join, the access events' facts from the metadata DB, and the
  suppression of each family (a Ray task per family on Ray);
* **verify lake**: every data file of every table an erasure covered, counted for every completed
  erasure's subject (``portal verify-erased``'s work).

The Ray cluster's start is timed apart (``start``) and not included in the jobs; the first run of each job on
Ray includes starting its worker processes and Daft's actors, which is why the best run is printed next to
the first. The same figures come out of every engine (the tests hold them to that); only time is compared.

    .venv/bin/python bench/bench_engines.py [--employees 2000 --days 365] [--data-dir DIR] [--runs 2]
        [--engines local,ray:1,ray:2]

Seeds ``--data-dir`` (default ``var/bench-<employees>x<days>``, shared with the other benchmarks) unless a
company is already there. Prints figures; never fails on timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal import bootstrap  # noqa: E402
from portal.core.settings import Settings  # noqa: E402
from portal.demo import seed as demo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JOBS = ("first rollup", "council release", "verify lake")


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=None, lake_url=None, _env_file=None)  # type: ignore[call-arg]


def _drop(settings: Settings, *names: str) -> None:
    """Nothing in memory, and none of the stored ``names`` (rollups, releases)."""
    from portal.council import figures
    from portal.lake import volume_rollup

    figures.forget_cached_copies()
    volume_rollup.forget()
    for name in names:
        store = settings.lake_location.derived(name)
        for entry in list(store.files()):
            if entry.relative.endswith(".parquet"):
                store.delete(entry.path)


def measure(data_dir: Path, engine_name: str, workers: int | None, runs: int) -> dict:
    """Time the jobs on one engine in this process; returns the figures as a dict (printed as JSON)."""
    from portal.council import figures
    from portal.engines import erased, ray_cluster
    from portal.engines.choice import open_engine
    from portal.lake import volume_rollup

    settings = _settings(data_dir)
    services = bootstrap.build(settings)
    batch = open_engine(settings, engine_name, workers)
    out: dict = {"engine": engine_name, "workers": workers, "start": 0.0}
    if engine_name == "ray":
        started = time.perf_counter()
        ray_cluster.ensure(workers)
        out["start"] = time.perf_counter() - started
    erasures = erased.completed_erasures(services.engine)

    def first_rollup() -> int:
        _drop(settings, "rollups", "releases")
        return int(volume_rollup.weekly_records(services.store, batch.rollups)["records"].sum())

    def council_release() -> int:
        _drop(settings, "releases")
        figures.publish_all(settings, services.engine, services.store, batch)
        release = figures.collection_release(settings, services.engine, services.store)
        return int(release.view(()).item(0, "records") or 0)

    def verify_lake() -> int:
        result = erased.verify_erasures(batch, settings.lake_location, erasures)
        out["files"] = result.rows.total_files
        return sum(f.rows for f in result.rows.found)

    for name, job in zip(JOBS, (first_rollup, council_release, verify_lake), strict=True):
        times, answer = [], None
        for _ in range(runs):
            started = time.perf_counter()
            answer = job()
            times.append(time.perf_counter() - started)
        out[name] = {"first": times[0], "best": min(times), "median": statistics.median(times), "answer": answer}
    services.engine.dispose()
    return out


def _in_subprocess(data_dir: Path, spec: str, runs: int) -> dict:
    name, _, workers = spec.partition(":")
    command = [sys.executable, __file__, "--data-dir", str(data_dir), "--runs", str(runs), "--measure", name]
    if workers:
        command += ["--workers", workers]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "RAY_ADDRESS"))})
    if done.returncode != 0:
        raise SystemExit(f"{spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _describe(data_dir: Path) -> str:
    settings = _settings(data_dir)
    location = settings.lake_location
    files = [e for e in location.files() if e.relative.endswith(".parquet") and "/_delta_log/" not in e.relative]
    rows = 0
    import pyarrow.parquet as pq

    for entry in files:
        rows += pq.read_metadata(entry.path).num_rows
    size = sum(e.size for e in files)
    return f"{len(files):,} data files, {rows:,} rows, {size / 1e9:.2f} GB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: var/bench-<employees>x<days>")
    parser.add_argument("--runs", type=int, default=2, help="runs per job (default 2)")
    parser.add_argument("--engines", default="local,ray:1,ray:2",
                        help="engines to compare, ray:N for N workers (default local,ray:1,ray:2)")
    parser.add_argument("--measure", choices=("local", "ray"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path("var") / f"bench-{args.employees}x{args.days}"
    if args.measure:  # one engine, in this process: print its figures as one JSON line
        print(json.dumps(measure(data_dir, args.measure, args.workers, args.runs)))
        return 0
    settings = _settings(data_dir)
    if demo.data_present(settings):
        print(f"reusing {data_dir}")
    else:
        report = demo.seed(settings, employees=args.employees, days=args.days, seed=args.seed,
                           progress=demo.print_progress)
        print(report.describe())
    print(f"lake: {_describe(data_dir)}; {os.cpu_count()} CPU(s); load average {os.getloadavg()[0]:.1f}")
    results = []
    for spec in args.engines.split(","):
        print(f"measuring {spec} ...", flush=True)
        results.append(_in_subprocess(data_dir, spec.strip(), args.runs))
    answers = {(r["engine"], r["workers"]): [r[j]["answer"] for j in JOBS] for r in results}
    if len({tuple(a) for a in answers.values()}) > 1:
        print(f"WARNING: the engines' answers differ: {answers}")
    base = results[0]
    print(f"\nseconds, first run / best of {args.runs} (ratio of best to {base['engine']}'s best); "
          f"verify lake read {base.get('files', 0):,} files")
    print(f"{'engine':<12}{'start':>8}" + "".join(f"{j:>30}" for j in JOBS) + f"{'total (best)':>18}")
    for r in results:
        label = r["engine"] + (f" x{r['workers']}" if r["workers"] else "")
        cells = []
        for j in JOBS:
            ratio = r[j]["best"] / base[j]["best"] if base[j]["best"] else float("nan")
            cells.append(f"{r[j]['first']:>9.2f} / {r[j]['best']:>6.2f} ({ratio:>5.2f}x)")
        total = sum(r[j]["best"] for j in JOBS)
        ratio = total / sum(base[j]["best"] for j in JOBS)
        print(f"{label:<12}{r['start']:>8.1f}" + "".join(f"{c:>30}" for c in cells)
              + f"{total:>10.2f} ({ratio:.2f}x)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine slows every engine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
