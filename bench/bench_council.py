"""How fast are the works council's collection figures at company scale (~100M activity rows)?

Seeds a demo company of ``--employees`` x ``--days`` into ``--data-dir`` unless one
is already there (``bench/bench_my_data.py`` seeds the same default directory),
then times the department x category x week release that the Council overview
page and ``portal aggregates`` share:

* lake scan: records per person, category and week from every Delta data file
  (``volume_rollup.weekly_records`` with its per-file cache dropped first);
* publish: suppression of the whole family (``works_council.publish_collection``);
* full recompute: both, plus the join to departments and storing the release,
  as after a change to the lake when nothing is cached;
* after an ingest: the per-file cache holds everything but one bucket's files of
  one table (what a new Delta version adds), then publish;
* cached: a request while nothing changed (version check, department digest,
  release from memory), and from the stored release in a fresh process;
* the command: ``portal aggregates --by department,category --period week`` as a
  subprocess, imports included.

Prints figures; never fails on timing. Targets: under 2 s for the computation.

    .venv/bin/python bench/bench_council.py [--data-dir DIR] [--employees 5000 --days 365] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal import bootstrap, demo, volume_rollup, works_council  # noqa: E402
from portal.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, runs: int) -> tuple[object, list[float]]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, times


def _line(label: str, times: list[float]) -> None:
    print(f"  {label:<44} median {statistics.median(times):7.3f} s   min {min(times):7.3f} s   "
          f"max {max(times):7.3f} s   ({len(times)} runs)")


def _drop_one_bucket(settings: Settings) -> None:
    """Forget the rollups of one bucket of one table, as if an ingest had just added those files."""
    prefix = str((Path(settings.lake_dir) / "keystrokes" / "bucket=0").resolve())
    with volume_rollup._lock:  # noqa: SLF001 - the benchmark pokes at the cache on purpose
        for path in [p for p in volume_rollup._files if str(Path(p).resolve()).startswith(prefix)]:  # noqa: SLF001
            del volume_rollup._files[path]  # noqa: SLF001


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: var/bench-<employees>x<days>")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (default 3)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path("var") / f"bench-{args.employees}x{args.days}"
    settings = Settings(data_dir=data_dir, database_url=None, _env_file=None)  # type: ignore[call-arg]
    if demo.data_present(settings):
        print(f"reusing {data_dir}")
    else:
        report = demo.seed(settings, employees=args.employees, days=args.days, seed=args.seed,
                           progress=demo.print_progress)
        print(report.describe())
    services = bootstrap.build(settings)
    store, engine = services.store, services.engine
    print(f"{os.cpu_count()} CPU(s); k = {settings.k_anonymity}")

    def scan():
        volume_rollup.forget()
        return volume_rollup.weekly_records(store)

    volume, times = _timed(scan, args.runs)
    print(f"lake: {volume['records'].sum():,} records; rollup {volume.height:,} person x category x week rows")
    _line("lake scan (no per-file cache)", times)

    facts = works_council.collection_facts(store, works_council._departments(engine))  # noqa: SLF001
    out, times = _timed(lambda: works_council.publish_collection(facts, settings.k_anonymity), args.runs)
    _line("publish the family", times)

    def full():
        works_council.forget_cached_copies(settings)
        return works_council.collection_release(settings, engine, store)

    release, times = _timed(full, args.runs)
    _line("full recompute (scan + join + publish + store)", times)

    def after_ingest():
        _drop_one_bucket(settings)
        facts = works_council.collection_facts(store, works_council._departments(engine))  # noqa: SLF001
        return works_council.publish_collection(facts, settings.k_anonymity)

    _, times = _timed(after_ingest, args.runs)
    _line("after an ingest (one bucket of one table new)", times)

    _, times = _timed(lambda: works_council.collection_release(settings, engine, store), args.runs * 3)
    _line("cached request (nothing changed)", times)

    def from_disk():
        works_council.forget_cached_copies()  # memory only; the stored release stays
        return works_council.collection_release(settings, engine, store)

    _, times = _timed(from_disk, args.runs)
    _line("fresh process, stored release", times)

    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir)}
    env.pop("PORTAL_DATABASE_URL", None)
    command = [sys.executable, "-c", "import sys; from portal.cli import main; sys.exit(main(sys.argv[1:]))",
               "aggregates", "--by", "department,category", "--period", "week"]
    _, times = _timed(lambda: subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True), args.runs)
    _line("portal aggregates (subprocess, imports included)", times)

    print("views:")
    for view, frame in release.views.items():
        hidden = int(frame["suppressed"].sum())
        print(f"  {' x '.join(view) or 'total':<32} {frame.height:>6} cells, {hidden:>5} hidden")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
