"""The lake on object storage against the lake on the local disk: seeding, one person's summary, erasure.

Seeds the same company twice, once into a local lake and once into a local SeaweedFS server
(S3-compatible, on loopback), both with the SQLite metadata DB, then times on each:

* the seed itself (telemetry written through delta-rs);
* one person's summary ("My data": six tables, only the person's row groups): cold (a fresh store)
  and warm (the same store, another call), medians over several people;
* erasing one person from every erasable table (delete, full vacuum, log cleanup) and verifying it
  (every data file's row groups that may hold the person, every log file).

    .venv/bin/python bench/bench_object_store.py --employees 1000 --days 30 [--people 8]

Loopback S3 measures the protocol's cost (a request per listing, footer and row-group range), not a
network's; against a remote store add its round trip per request. Prints figures; never fails on timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.core import catalog  # noqa: E402
from portal.core.settings import Settings  # noqa: E402
from portal.demo import object_store  # noqa: E402
from portal.demo import seed as demo  # noqa: E402
from portal.lake import volume_rollup  # noqa: E402
from portal.lake.telemetry import TelemetryStore  # noqa: E402
from portal.privacy import privacy_requests  # noqa: E402


def _people(employees: int, count: int) -> list[str]:
    step = max(1, employees // count)
    return [f"E{i:05d}" for i in range(3, employees + 1, step)][:count]


def measure(settings: Settings, args: argparse.Namespace) -> dict[str, float]:
    figures: dict[str, float] = {}
    started = time.perf_counter()
    report = demo.seed(settings, employees=args.employees, days=args.days, seed=1, replace=True)
    figures["seed s"] = time.perf_counter() - started
    figures["rows"] = float(sum(report.lake_rows.values()))
    people = _people(args.employees, args.people)
    cold, warm = [], []
    for person in people:
        store = TelemetryStore(settings)
        mark = time.perf_counter()
        store.summary(person)
        cold.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        store.summary(person)
        warm.append(time.perf_counter() - mark)
    figures["summary cold ms"] = statistics.median(cold) * 1000
    figures["summary warm ms"] = statistics.median(warm) * 1000
    store = TelemetryStore(settings)
    tables = [catalog.category(k).table_name for k in privacy_requests.ERASABLE]
    erase, verify = [], []
    for person in people[: args.erasures]:
        mark = time.perf_counter()
        for table in tables:
            store.erase_subject(table, person)
        volume_rollup.forget(settings.lake_location)
        erase.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        left = sum(store.rows_on_disk(t, person).rows + len(store.log_mentions(t, person).files_naming) for t in tables)
        left += volume_rollup.subject_rows(settings.lake_location, person, tables)
        verify.append(time.perf_counter() - mark)
        assert left == 0, f"{person} still found {left} time(s)"
    figures["erase s"] = statistics.median(erase)
    figures["verify s"] = statistics.median(verify)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--people", type=int, default=8, help="people whose summary is timed (medians)")
    parser.add_argument("--erasures", type=int, default=3, help="people erased (medians)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-object-store-"))
    os.umask(0o077)
    results = {}
    print(f"{args.employees:,} people x {args.days} days; scratch in {base}", flush=True)
    results["local disk"] = measure(Settings(_env_file=None, data_dir=base / "local"), args)  # type: ignore[call-arg]
    print("local disk done", flush=True)
    with object_store.running(base / "seaweedfs") as server:
        os.environ.update(server.environment())
        settings = Settings(_env_file=None, data_dir=base / "s3", lake_url=server.url("lake"))  # type: ignore[call-arg]
        results["object storage"] = measure(settings, args)
    local, s3 = results["local disk"], results["object storage"]
    print(f"\nlake rows: {int(local['rows']):,}")
    print(f"{'':22} {'local disk':>12} {'object store':>13} {'ratio':>7}")
    for key in ("seed s", "summary cold ms", "summary warm ms", "erase s", "verify s"):
        print(f"{key:22} {local[key]:12.2f} {s3[key]:13.2f} {s3[key] / local[key]:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
