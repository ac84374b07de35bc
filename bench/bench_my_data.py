"""How fast is the "My data" page at company scale?

Seeds a demo company (unless ``--reuse`` finds one) and times the per-subject
work the page does: the category summary and the daily volume of one person.

    .venv/bin/python bench/bench_my_data.py --employees 5000 --days 365 [--data-dir DIR] [--reuse]

Cold: a fresh store object and the first call for that subject (Delta logs and
Parquet footers are read, the OS page cache is whatever it is). New person: a
store that has served someone else (as the app's shared store has), first call
for this subject. Warm: the same store, the same subject again. Prints medians;
never fails on timing.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.demo import seed as demo  # noqa: E402
from portal.core.settings import Settings  # noqa: E402
from portal.lake.telemetry import TelemetryStore  # noqa: E402


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def _lake_bytes(lake: Path) -> int:
    return sum(p.stat().st_size for p in lake.rglob("*") if p.is_file())


def _seed(settings: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    report = demo.seed(settings, employees=args.employees, days=args.days, seed=args.seed,
                       progress=demo.print_progress, replace=True)
    elapsed = time.perf_counter() - started
    rows = sum(report.lake_rows.values())
    print(report.describe())
    print(f"seed: {elapsed:.1f} s wall, {rows:,} lake rows ({rows / report.timings['telemetry']:,.0f} rows/s "
          f"while writing telemetry), {report.activity_rows:,} activity rows, peak RSS {_peak_rss_mb():,.0f} MB")


def _subjects(args: argparse.Namespace) -> list[str]:
    step = max(1, args.employees // args.subjects)
    picked = ["E00001", "E00002"] + [f"E{i:05d}" for i in range(5, args.employees + 1, step)]
    return list(dict.fromkeys(picked))[: args.subjects]


def _time(fn, *a) -> float:
    started = time.perf_counter()
    fn(*a)
    return time.perf_counter() - started


def _measure(settings: Settings, subjects: list[str], runs: int) -> dict[str, list[float]]:
    names = ("cold summary", "cold summary+daily", "new person summary+daily", "warm summary",
             "warm daily volume", "warm summary+daily", "warm records page")
    results: dict[str, list[float]] = {k: [] for k in names}
    shared = TelemetryStore(settings)  # as the app holds it: logs and footers already read
    shared.summary("E00003")
    for subject in subjects:
        results["new person summary+daily"].append(_time(shared.summary, subject) + _time(shared.daily_volume, subject))
        store = TelemetryStore(settings)
        cold_summary = _time(store.summary, subject)
        results["cold summary"].append(cold_summary)
        results["cold summary+daily"].append(cold_summary + _time(store.daily_volume, subject))
        for _ in range(runs):
            s = _time(store.summary, subject)
            d = _time(store.daily_volume, subject)
            results["warm summary"].append(s)
            results["warm daily volume"].append(d)
            results["warm summary+daily"].append(s + d)
            results["warm records page"].append(_time(store.records, subject, "user.behavior.keystrokes", 0, 50))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: var/bench-<employees>x<days>")
    parser.add_argument("--reuse", action="store_true", help="time existing data instead of seeding again")
    parser.add_argument("--subjects", type=int, default=8, help="different people to time (default 8)")
    parser.add_argument("--runs", type=int, default=7, help="warm runs per person (default 7)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path("var") / f"bench-{args.employees}x{args.days}"
    settings = Settings(data_dir=data_dir, database_url=None, _env_file=None)  # type: ignore[call-arg]
    if args.reuse and demo.data_present(settings):
        print(f"reusing {data_dir}")
    else:
        _seed(settings, args)
    lake = Path(settings.lake_dir)
    store = TelemetryStore(settings)
    store.check()
    print(f"lake: {lake} {_lake_bytes(lake) / 1e6:,.1f} MB on disk, {store.buckets} buckets")
    subjects = _subjects(args)
    print(f"timing {len(subjects)} people: {', '.join(subjects)}; {args.runs} warm runs each")
    results = _measure(settings, subjects, args.runs)
    for name, values in results.items():
        print(f"  {name:<26} median {_ms(statistics.median(values))}   min {_ms(min(values))}   max {_ms(max(values))}")
    print(f"peak RSS {_peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
