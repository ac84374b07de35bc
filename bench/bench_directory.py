"""Benchmark for ``portal ingest employees``: directory records per second into SQLite (and PostgreSQL).

Shape: a company of N people (default 100,000) in 40 departments, every eighth person a line manager
of the seven after them, as an identity provider exports it: a SCIM 2.0 ListResponse with the
enterprise extension. Measures a first ingest, the same file again (nothing changes), the same file
with a tenth of the people moved to another department (dated changes), and the same people as CSV.
Prints figures only; timings are never asserted. The target is 100,000 records in under 10 s.

Run: .venv/bin/python bench/bench_directory.py [--people 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import pathlib
import secrets
import sys
import tempfile
import time
from datetime import date

import sqlalchemy as sa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from portal.core import db  # noqa: E402
from portal.identity.directory_ingest import Person, ingest_employees, scim_list  # noqa: E402


def people(n: int, moved: bool = False) -> list[Person]:
    found = []
    for i in range(n):
        department = f"Department {(i // 2500 + (1 if moved and i % 10 == 0 else 0)) % 40:02d}"
        manager = f"scim-{i - i % 8:06d}" if i % 8 else None
        found.append(Person(record=i + 1, employee_id=f"E{i:06d}", email=f"person.{i}@example.com",
                            display_name=f"Person {i}", department=department, subject=f"00u{i:09d}",
                            team=f"Team {i // 8:05d}", job_title="Engineer" if i % 8 else "Engineering Manager",
                            manager=manager, directory_id=f"scim-{i:06d}"))
    return found


def csv_text(found: list[Person]) -> str:
    lines = ["employee_id,subject,email,email_verified,display_name,department,team,job_title,manager_id,active"]
    for p in found:
        manager = p.manager.removeprefix("scim-") if p.manager else ""
        lines.append(f"{p.employee_id},{p.subject},{p.email},true,{p.display_name},{p.department},{p.team},"
                     f"{p.job_title},{'E' + manager if manager else ''},true")
    return "\n".join(lines) + "\n"


def timed(label: str, fn) -> None:
    started = time.perf_counter()
    report = fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:6.2f} s  {report.records / seconds:>9,.0f} records/s   "
          f"({report.added:,} added, {report.updated:,} updated, {report.moved:,} moved, {report.unchanged:,} unchanged)")


def run(url: str | None, n: int, work: pathlib.Path) -> None:
    engine = db.make_engine(url or f"sqlite:///{work / 'portal.db'}")
    db.migrate(engine)
    scim = work / "users.scim.json"
    scim.write_text(scim_list(people(n)))
    moved = work / "moved.scim.json"
    moved.write_text(scim_list(people(n, moved=True)))
    print(f"{engine.dialect.name}, {n:,} people, SCIM file {scim.stat().st_size / 1e6:,.1f} MB")
    timed("first ingest (SCIM ListResponse)", lambda: ingest_employees(engine, scim))
    timed("the same file again", lambda: ingest_employees(engine, scim))
    timed("a tenth moved department (dated)", lambda: ingest_employees(engine, moved, effective=date(2026, 12, 1)))
    engine.dispose()
    fresh = db.make_engine(f"sqlite:///{work / 'csv.db'}") if url is None else None
    if fresh is not None:
        db.migrate(fresh)
        path = work / "people.csv"
        path.write_text(csv_text(people(n)))
        timed("first ingest (CSV), fresh DB", lambda: ingest_employees(fresh, path))
        fresh.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--postgres", help="also run against this PostgreSQL database (in a schema of its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(None, args.people, pathlib.Path(tmp))
    if args.postgres:  # in a schema of its own, dropped afterwards: the database may hold other data
        schema = f"bench_{secrets.token_hex(6)}"
        admin = sa.create_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        try:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}options=-csearch_path%3D{schema}"
                run(url, args.people, pathlib.Path(tmp))
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
