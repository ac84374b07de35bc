"""How fast are the works council's collection figures at company scale (~100M activity rows)?

Seeds a demo company of ``--employees`` x ``--days`` into ``--data-dir`` unless one
is already there (``bench/bench_my_data.py`` seeds the same default directory),
then times the department x category x week release that the Council overview
page and ``portal aggregates`` share:

* lake scan, first read: records per person, category and week from every Delta
  data file, with no rollup in memory or stored (``volume_rollup.weekly_records``
  right after the files were written by another engine);
* lake scan, stored rollups: the same in a fresh process, from ``data_dir/rollups``;
* publish: suppression of the whole family (``figures.publish_collection``);
* computed in a fresh process: the release computed from the stored rollups (the
  department join, publishing and storing the release), with nothing in memory and
  no stored release, as after a restart or a change of departments or k;
* computed from the data files: the same with no stored rollup either;
* after an ingest: one bucket's files of one table are new (what a Delta append
  adds), everything else is known;
* cached: a request while nothing changed (version check, department digest,
  release from memory), and from the stored release in a fresh process;
* the command: ``portal aggregates --by department,category --period week`` as a
  subprocess, imports included.

Runs on the demo company with its request history (erasures and objections included) and
prints how many cells were hidden next to the time it took. Prints figures; never fails on
timing. Target: under 1 s for the release computed in a fresh process, under 3 s for the
command. ``bench/bench_council_page.py`` times the page in Chromium.

    .venv/bin/python bench/bench_council.py [--data-dir DIR] [--employees 5000 --days 365] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal import bootstrap  # noqa: E402
from portal.demo import seed as demo
from portal.council import releases, figures
from portal.lake import volume_rollup
from portal.core.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, runs: int) -> tuple[object, list[float]]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, times


def _line(label: str, times: list[float], hidden: str = "") -> None:
    print(f"  {label:<48} median {statistics.median(times):7.3f} s   min {min(times):7.3f} s   "
          f"max {max(times):7.3f} s   ({len(times)} runs){hidden}")


def _hidden(views: dict) -> str:
    """Hidden cells of the whole family and of the weekly department x category table."""
    cells = sum(frame.height for frame in views.values())
    hidden = sum(int(frame["suppressed"].sum()) for frame in views.values())
    weekly = views[("department", "category", "week")]
    return (f"   hidden: {hidden:,} of {cells:,} cells; weekly {int(weekly['suppressed'].sum()):,} "
            f"of {weekly.height:,}")


def _request_history(engine) -> str:
    import sqlalchemy as sa

    from portal.core import db

    r = db.privacy_requests.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(r.kind, r.status, sa.func.count()).group_by(r.kind, r.status)).all()
    kinds: dict[str, int] = {}
    for kind, _, n in rows:
        kinds[kind] = kinds.get(kind, 0) + n
    erased = sum(n for kind, status, n in rows if kind == "erasure" and status == "completed")
    return (f"request history: {sum(kinds.values())} requests ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
            f"{erased} erasures carried out")


def _forget_everything(settings: Settings) -> None:
    """Nothing in memory, no stored release and no stored rollup: as if the files were just written."""
    figures.forget_cached_copies(settings)
    shutil.rmtree(Path(volume_rollup.rollups_location(settings.lake_location).root), ignore_errors=True)


def _drop_one_bucket(settings: Settings) -> None:
    """Forget the rollups of one bucket of one table, in memory and on disk, as if an ingest had
    just added those files."""
    table_dir = Path(os.path.realpath(settings.lake_dir)) / "keystrokes"
    prefix = str(table_dir / "bucket=0") + os.sep
    # The benchmark pokes at the caches on purpose.
    with volume_rollup._lock:  # noqa: SLF001
        kept = {p: f for p, f in volume_rollup._files.items() if p.startswith(str(table_dir))}  # noqa: SLF001
        for path in [p for p in kept if p.startswith(prefix)]:
            del volume_rollup._files[path]  # noqa: SLF001
    volume_rollup._write_stored(settings.lake_location, "keystrokes",  # noqa: SLF001
                                {p: f for p, f in kept.items() if not p.startswith(prefix)})


_NEW_PROCESS = """
import time
from portal import bootstrap
from portal.council import figures
from portal.core.settings import load_settings
settings = load_settings()
started = time.perf_counter()
services = bootstrap.build(settings)
figures.collection_release(settings, services.engine, services.store)
print(time.perf_counter() - started)
"""


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
    print(_request_history(engine))

    def first_read():
        _forget_everything(settings)
        return volume_rollup.weekly_records(store)

    volume, times = _timed(first_read, args.runs)
    print(f"lake: {volume['records'].sum():,} records; rollup {volume.height:,} person x category x week rows")
    _line("lake scan, first read of every data file", times)

    def stored_scan():
        volume_rollup.forget()
        return volume_rollup.weekly_records(store)

    _, times = _timed(stored_scan, args.runs)
    _line("lake scan, stored rollups (fresh process)", times)

    facts = figures.collection_facts(store, figures._departments(engine))  # noqa: SLF001
    out, times = _timed(lambda: figures.publish_collection(facts, settings.k_anonymity), args.runs)
    _line("publish the family", times, _hidden(out))

    def fresh_process():
        figures.forget_cached_copies(settings)  # memory, stored release; stored rollups stay
        return figures.collection_release(settings, engine, store)

    release, times = _timed(fresh_process, args.runs)
    _line("computed in a fresh process (stored rollups)", times, _hidden(release.views))

    def from_files():
        _forget_everything(settings)
        return figures.collection_release(settings, engine, store)

    _, times = _timed(from_files, args.runs)
    _line("computed from the data files (nothing stored)", times)

    def after_ingest():
        _drop_one_bucket(settings)
        # The lake changed, so no release is current (a real append changes the version in the key).
        releases.forget(Path(settings.data_dir), [figures.COLLECTION])
        return figures.collection_release(settings, engine, store)

    _, times = _timed(after_ingest, args.runs)
    _line("after an ingest (one bucket of one table new)", times)

    _, times = _timed(lambda: figures.collection_release(settings, engine, store), args.runs * 3)
    _line("cached request (nothing changed)", times)

    def from_disk():
        figures.forget_cached_copies()  # memory only; the stored release stays
        return figures.collection_release(settings, engine, store)

    _, times = _timed(from_disk, args.runs)
    _line("fresh process, stored release", times)

    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir)}
    env.pop("PORTAL_DATABASE_URL", None)

    def new_process() -> float:
        """The release in a new Python process from stored rollups, no stored release; imports excluded."""
        figures.forget_cached_copies(settings)
        done = subprocess.run([sys.executable, "-c", _NEW_PROCESS], env=env, cwd=ROOT, check=True,
                              capture_output=True, text=True)
        return float(done.stdout.strip())

    times = [new_process() for _ in range(args.runs)]
    _line("computed in a new process (imports excluded)", times)
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
