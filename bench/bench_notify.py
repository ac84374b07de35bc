"""How long `portal notify run` takes on a seeded company: the first run (every flagged read of the last week,
the privacy office's lookups, request changes, and everyone's weekly digest) and a second run (nothing new).

    python bench/bench_notify.py --employees 1000 --days 30

Prints the seconds of each run, the notices created by kind, and the e-mails sent to a local SMTP sink.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal import bootstrap, notify  # noqa: E402
from portal.core import db  # noqa: E402
from portal.core.settings import Settings  # noqa: E402
from portal.demo import devserver  # noqa: E402
from portal.demo import seed as demo  # noqa: E402
from portal.notify.run import holders_in  # noqa: E402


class Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), database_url=None)  # type: ignore[call-arg]
        started = time.perf_counter()
        demo.seed(settings, employees=args.employees, days=args.days, seed=42, end_date=None)
        print(f"seeded {args.employees:,} people x {args.days} days in {time.perf_counter() - started:.1f} s")
        sink, port = Counter(), devserver.free_ports(1)[0]
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
            services = bootstrap.build(settings)
            with services.engine.connect() as conn:
                events = conn.execute(sa.select(sa.func.count()).select_from(db.access_events)).scalar()
            print(f"access events: {events:,}")
            for label in ("first run", "second run"):
                started = time.perf_counter()
                report = notify.run(services.engine, settings, holders=holders_in(services.store))
                seconds = time.perf_counter() - started
                kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(report.created.items())) or "none"
                print(f"{label}: {seconds:.1f} s; notices created: {kinds}; e-mails sent {report.sent:,}, "
                      f"failed {len(report.failed):,}; the sink received {sink.count:,} in all")
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
