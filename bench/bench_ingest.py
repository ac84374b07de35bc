"""Benchmark for portal.audit.access_events.ingest_access: access events per second into SQLite.

Shape: a company of 5000 employees, 60 actors (services and people), events
spread over every catalog category and action, subjects given as employee ids,
e-mails and OIDC subjects alike, a quarter with no purpose. Measures a first
ingest, the same file again (all already present), and the same file with one
bad last line (rejected, rolled back). Prints figures only; timings are never
asserted. The target is 50,000 events/s into SQLite.

Run: .venv/bin/python bench/bench_ingest.py [--events 200000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from portal.audit import access_events  # noqa: E402

from portal.core import line_input
from portal.core import catalog, db

EMPLOYEES = 5000
ACTIONS = access_events.ACTIONS
CATEGORIES = [c.key for c in catalog.CATEGORIES]
PURPOSES = [p.code for p in catalog.PURPOSES]


def company(engine: sa.Engine) -> None:
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
        conn.execute(sa.insert(db.employees), [
            {"employee_id": f"E{i:05d}", "oidc_sub": f"user{i}", "email": f"user{i}@example.com",
             "display_name": f"Person {i}", "department": "Engineering", "team": "Platform",
             "job_title": "Engineer", "hired_on": date(2020, 1, 1)} for i in range(EMPLOYEES)])


def actor(i: int) -> dict:
    if i % 3:
        return {"id": f"svc:{i}", "kind": "service", "name": f"Service {i}", "team": "Platform",
                "role": "security-operations"}
    return {"id": f"usr-{i}", "kind": "person", "name": f"Reader {i}", "team": "People Analytics",
            "role": "people-analytics", "employee": f"E{i:05d}"}


def write_events(path: pathlib.Path, n: int) -> None:
    actors = [actor(i) for i in range(60)]
    start = datetime.now(UTC) - timedelta(days=90)
    with path.open("w") as out:
        for i in range(n):
            who = i % EMPLOYEES
            subject = (f"E{who:05d}", f"user{who}@example.com", f"user{who}")[i % 3]
            out.write(json.dumps({
                "event_id": f"bench-{i}", "time": (start + timedelta(seconds=i * 7)).isoformat(),
                "actor": actors[i % 60], "subject": subject, "category": CATEGORIES[i % len(CATEGORIES)],
                "action": ACTIONS[i % len(ACTIONS)], "purpose": None if i % 4 == 0 else PURPOSES[i % len(PURPOSES)],
                "justification": f"TICKET-{i % 997}" if i % 2 else None, "source_system": "Warehouse",
                "record_count": i % 500, "query_id": f"q-{i // 10}"}) + "\n")


def timed(label: str, n: int, fn) -> float:
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<44}{seconds:8.2f} s {n / seconds:12,.0f} events/s  {result}")
    return n / seconds


def run(url: str, events: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "events.jsonl"
        bad = pathlib.Path(tmp) / "bad.jsonl"
        write_events(path, events)
        bad.write_text(path.read_text() + '{"event_id": "broken", "time": "not a time"}\n')
        size = path.stat().st_size
        print(f"{events:,} events, {size / 1e6:,.1f} MB of JSON Lines ({size / events:,.0f} bytes/event), "
              f"{EMPLOYEES:,} employees")
        first = []
        for r in range(repeat):
            engine, schema = make_engine(url, pathlib.Path(tmp) / f"portal-{r}.db")
            try:
                company(engine)
                first.append(timed(f"first ingest (run {r + 1})", events,
                                   lambda e=engine: f"{access_events.ingest_access(e, path).added:,} added"))
                if r == repeat - 1:
                    timed("same file again (idempotent)", events,
                          lambda e=engine: f"{access_events.ingest_access(e, path).already_present:,} already present")
                    timed("same file plus one bad last line (rolled back)", events + 1,
                          lambda e=engine: _rejected(e, bad))
            finally:
                engine.dispose()
                if schema:
                    with sa.create_engine(url).begin() as conn:
                        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        print(f"  median first ingest: {statistics.median(first):,.0f} events/s (target 50,000 into SQLite)")


def _rejected(engine: sa.Engine, path: pathlib.Path) -> str:
    try:
        access_events.ingest_access(engine, path)
    except line_input.IngestRejected as exc:
        return f"rejected: {exc.problems[0]}"
    return "unexpectedly accepted"


def make_engine(url: str | None, sqlite_path: pathlib.Path) -> tuple[sa.Engine, str | None]:
    """A SQLite file, or a fresh schema on the PostgreSQL at ``url`` (dropped again by the caller)."""
    if url is None:
        return db.make_engine(f"sqlite:///{sqlite_path}"), None
    schema = f"bench_{secrets.token_hex(4)}"
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"}), schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also measure against this PostgreSQL")
    args = parser.parse_args()
    print("SQLite")
    run(None, args.events, args.repeat)
    if args.postgres:
        print("PostgreSQL")
        run(args.postgres, args.events, 1)


if __name__ == "__main__":
    main()
