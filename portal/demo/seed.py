"""A synthetic, realistic demo company: employees, telemetry, and who read it.

:func:`seed` fills the metadata DB and the telemetry lake. Same seed and sizes
give identical rows: every random draw comes from numpy generators seeded with
``seed`` (per subject bucket for telemetry, so the result does not depend on how
the work is chunked), text comes from seeded corpora (:mod:`portal.demo.demo_text`),
and time is anchored at a fixed ``end_date``, never the wall clock.

Scale. Telemetry is generated and written a group of subject buckets at a time,
vectorised with numpy and Arrow, with one Delta append per table per group. That
bounds memory by the group size and leaves each bucket partition with one large
sorted file per table rather than thousands of small ones. About 55 activity
rows (keystrokes + mouse + application windows) per employee and calendar day
are produced, i.e. ~100M rows for 5000 employees over a year.

The story the data tells: most access is by services and by people whose role
the catalog allows. For two weeks (days -40..-27 before the end) a grant gave
the whole "all-engineering" group read access to meeting transcripts, and about
forty engineers opened hundreds of colleagues' transcripts, Alice's among them.
Alice's data also feeds several AI training datasets and the models built on them.

The parts, each in its module: the days (:mod:`portal.demo.working_calendar`), the
employees, teams and text corpora (:mod:`portal.demo.company`), the lake's tables
(:mod:`portal.demo.synthetic_telemetry`), the actors, grants and access events
(:mod:`portal.demo.synthetic_access`), the training datasets and models
(:mod:`portal.demo.synthetic_lineage`). This module writes the metadata DB and holds
the entry points.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from portal.core import catalog, db, file_modes, i18n
from portal.core.i18n import N_, _
from portal.identity.directory_ingest import Person, ingest_employees, scim_list
from portal.lake import volume_rollup
from portal.demo import demo_text as text
from portal.audit.signed_log import AuditLog
from portal.demo.personas import PERSONAS
from portal.core.settings import Settings
from portal.lake.telemetry import TelemetryStore
from portal.demo.company import Company, World, make_world
from portal.demo.synthetic_access import (
    EventLog, exposure_events, make_actors, make_grants, people_events, service_events,
)
from portal.demo.synthetic_lineage import make_lineage
from portal.demo.synthetic_telemetry import ACTIVITY_TABLES, CATEGORY_OF_TABLE, TABLES, Progress, write_telemetry

DEFAULT_END_DATE = date(2026, 11, 27)
INSERT_BATCH = 10_000
#: The steps of seeding as the report names them.
STEP_LABELS = {"schema": N_("schema"), "company": N_("company"), "telemetry": N_("telemetry"),
               "metadata": N_("metadata"), "requests": N_("requests"), "access log": N_("access log"),
               "council figures": N_("council figures")}


class DemoError(ValueError):
    """Seeding cannot go ahead; the message says why and what to do."""


@dataclass
class SeedReport:
    employees: int
    days: int
    seed: int
    start_date: date
    end_date: date
    buckets: int
    lake_dir: str  # a local directory or s3://bucket/prefix
    database: str
    lake_rows: dict[str, int] = field(default_factory=dict)
    db_rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    lake_bytes: int = 0

    @property
    def activity_rows(self) -> int:
        return sum(self.lake_rows.get(t, 0) for t in ACTIVITY_TABLES)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())

    def describe(self) -> str:
        total = sum(self.lake_rows.values())
        rate = total / self.timings["telemetry"] if self.timings.get("telemetry") else 0.0
        lines = [
            _("Seeded a demo company of {employees} employees over {days} days ({start} to {end}, seed {seed}) in "
              "{seconds} s.").format(employees=i18n.number(self.employees), days=i18n.number(self.days),
                                     start=self.start_date, end=self.end_date, seed=self.seed,
                                     seconds=i18n.decimal(self.seconds, 1)),
            _("Telemetry lake {lake} ({buckets} buckets, {megabytes} MB):").format(
                lake=self.lake_dir, buckets=i18n.number(self.buckets), megabytes=i18n.decimal(self.lake_bytes / 1e6, 1)),
        ]
        lines += [self._rows_line(name, rows) for name, rows in self.lake_rows.items()]
        activity = _("activity rows")
        lines.append(f"  {activity:<22}{i18n.number(self.activity_rows):>14} " + _(
            "({rows} per employee-day)").format(
            rows=i18n.decimal(self.activity_rows / max(1, self.employees * self.days), 1)))
        lines.append("  " + _("written at {rate} rows/s").format(rate=i18n.decimal(rate, 0)))
        lines.append(_("Metadata DB {database}:").format(database=self.database))
        lines += [self._rows_line(name, rows) for name, rows in self.db_rows.items()]
        lines.append(_("Timings: {steps}").format(steps=", ".join(
            _("{step} {seconds} s").format(step=_(STEP_LABELS.get(k, k)), seconds=i18n.decimal(v, 1))
            for k, v in self.timings.items())))
        lines.append(_("Personas: {personas}").format(
            personas=", ".join(f"{p.sub} ({p.department})" for p in PERSONAS)))
        return "\n".join(lines)

    @staticmethod
    def _rows_line(table: str, rows: int) -> str:
        return f"  {table:<22}{i18n.number(rows):>14} " + _("rows")


def print_progress(done: int, total: int, label: str) -> None:
    """One self-overwriting progress line on stderr; a newline when done."""
    width = len(str(total))
    line = f"[{done:>{width}}/{total}] {label}"
    print("\r" + line[:110].ljust(110), end="\n" if done >= total else "", file=sys.stderr, flush=True)


# ---- writing the metadata DB ------------------------------------------------


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict] | Iterator[list[dict]]) -> int:
    """Executemany in batches; ``rows`` is a list or an iterator of batches."""
    batches = (rows[i:i + INSERT_BATCH] for i in range(0, len(rows), INSERT_BATCH)) if isinstance(rows, list) else rows
    written = 0
    for batch in batches:
        if batch:
            conn.execute(table.insert(), batch)
            written += len(batch)
    return written


def directory_file(settings: Settings, company: Company) -> Path:
    """The company's directory as its identity provider would export it: a SCIM 2.0 ListResponse of Users
    with the enterprise extension, written owner-only to ``directory/company.scim.json``."""
    people = [Person(record=i + 1, employee_id=company.ids[i], email=company.emails[i], display_name=company.names[i],
                     department=text.DEPARTMENT_NAMES[company.dept[i]], subject=company.subs[i],
                     team=company.teams[company.team[i]], job_title=company.titles[i],
                     manager=f"scim-{company.ids[company.manager[i]]}" if company.manager[i] >= 0 else None,
                     directory_id=f"scim-{company.ids[i]}") for i in range(company.n)]
    path = file_modes.private_dir(Path(settings.data_dir) / "directory") / "company.scim.json"
    file_modes.private_file(path)
    path.write_text(scim_list(people), encoding="utf-8")
    return path


def _pseudonym_rows(company: Company) -> list[dict]:
    return [{"pseudonym": company.pseudonyms[i], "employee_id": company.ids[i]} for i in range(company.n)]


def _write_metadata(conn: sa.Connection, world: World, counts: np.ndarray) -> dict[str, int]:
    rng = np.random.default_rng([world.seed, 4])
    cumulative = counts.cumsum(axis=2, dtype=np.int32)
    actors = make_actors(world)
    log = EventLog()
    service_events(log, world, counts, rng)
    people_events(log, world, actors, cumulative, rng)
    exposure_events(log, world, actors, counts, rng)
    lineage = make_lineage(world, cumulative, log, rng)
    written = {
        "actors": _insert(conn, db.actors, actors.rows),
        "grants": _insert(conn, db.grants, make_grants(world, actors)),
        "datasets": _insert(conn, db.datasets, lineage.datasets),
        "dataset_members": _insert(conn, db.dataset_members, lineage.members),
        "models": _insert(conn, db.models, lineage.models),
        "model_datasets": _insert(conn, db.model_datasets, lineage.model_datasets),
    }
    if conn.dialect.name == "sqlite":
        # The event indexes grow in random key order; a bigger page cache saves re-reading them.
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
    written["access_events"] = _insert(conn, db.access_events, _event_batches(log, world, rng))
    return written


def _event_batches(log: EventLog, world: World, rng: np.random.Generator) -> Iterator[list[dict]]:
    """Access event rows in log order (time, then id), subjects as pseudonyms only.

    Rows are built a batch at a time: a million dicts with datetimes would cost
    more memory than the whole telemetry generation.
    """
    at = log.column("at").astype(np.int64)
    n = len(at)
    purpose = log.column("purpose")
    # Some reads name no registered purpose (the exposure view must show them as such): about
    # 7.5% overall, counting the over-exposure's own, whatever the company's size.
    open_ = ~log.column("keep_purpose").astype(bool)
    missing = int(np.sum(purpose[~open_] == None))  # noqa: E711 - elementwise on an object array
    share = max(0.0, (0.075 * n - missing) / max(1, int(open_.sum())))
    purpose[(rng.random(n) < share) & open_] = None
    raw = rng.bytes(12 * n)
    event_ids = np.array(["ev-" + raw[12 * i:12 * i + 12].hex() for i in range(n)], dtype=object)
    if len(set(event_ids)) != n:  # pragma: no cover - 96 random bits
        raise DemoError(_("duplicate access event ids; choose another seed"))
    order = np.lexsort((event_ids, at))
    ingested = at + rng.integers(5, 900, n) * 1_000_000
    category = {t: CATEGORY_OF_TABLE[t] for t in TABLES}
    source = {t: catalog.CATEGORY_BY_TABLE[t].source_system for t in TABLES}
    pseudonyms = np.array(world.company.pseudonyms, dtype=object)
    columns = {
        "event_id": event_ids, "occurred_at": at, "actor_id": log.column("actor"),
        "subject_pseudonym": log.column("subject").astype(np.int64), "category_key": log.column("table"),
        "action": log.column("action"), "purpose_code": purpose, "justification": log.column("justification"),
        "source_system": log.column("table"), "record_count": log.column("records").astype(np.int64),
        "query_id": log.column("query"), "ingested_at": ingested,
    }
    keys = list(columns)
    for i in range(0, n, INSERT_BATCH):
        part = order[i:i + INSERT_BATCH]
        batch: dict[str, Any] = {k: v[part] for k, v in columns.items()}
        batch["occurred_at"] = _datetimes(batch["occurred_at"])
        batch["ingested_at"] = _datetimes(batch["ingested_at"])
        batch["subject_pseudonym"] = pseudonyms[batch["subject_pseudonym"]]
        batch["category_key"] = [category[t] for t in batch["category_key"]]
        batch["source_system"] = [source[t] for t in batch["source_system"]]
        batch["record_count"] = batch["record_count"].tolist()
        yield [dict(zip(keys, values, strict=True)) for values in zip(*batch.values(), strict=True)]


def _datetimes(us: np.ndarray) -> list[datetime]:
    return [d.replace(tzinfo=UTC) for d in us.astype("datetime64[us]").tolist()]


# ---- entry points -----------------------------------------------------------


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return None if path in ("", ":memory:") else Path(path)
    return None


def data_present(settings: Settings) -> bool:
    """True when the data directory holds a lake or the metadata DB holds employees."""
    if settings.lake_location.has_files():
        return True
    url = settings.resolved_database_url
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        return False  # do not create an empty DB file just by looking
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("employees"):
                return False
            return conn.execute(sa.select(sa.func.count()).select_from(db.employees)).scalar_one() > 0
    except sa.exc.OperationalError as exc:
        raise db.DatabaseError(_("Cannot reach the metadata DB: {problem}. Check PORTAL_DATABASE_URL.").format(
            problem=exc.orig)) from None
    finally:
        engine.dispose()


def _clear(settings: Settings) -> None:
    """Remove the lake and take the metadata DB back to an empty schema; the database itself stays.

    The access log refuses DELETE and TRUNCATE (migration 0002), as it must, so
    replacing demo data goes down through the migrations to the empty base
    (dropping the tables and their triggers) and seeding migrates up again: an
    explicit schema reset, never a quiet rewrite of rows.
    """
    from alembic import command
    from alembic.config import Config

    data_dir = Path(settings.data_dir)
    # The old company's lake, log, and every copy made of its people's data: prepared copies,
    # published council releases and stored rollups.
    location = settings.lake_location
    if location.is_local:
        shutil.rmtree(location.local_dir, ignore_errors=True)
    else:  # the tables, and the rollups and releases stored beside them
        for entry in list(location.files()):
            location.delete(entry.path)
    for directory in (data_dir / "audit", data_dir / "copies", data_dir / "releases",
                      data_dir / "rollups", data_dir / "directory"):
        if directory.exists():
            shutil.rmtree(directory)
    engine = db.make_engine(settings.resolved_database_url)
    try:
        with db.migration_connection(engine) as conn:
            if sa.inspect(conn).has_table("alembic_version"):
                config = Config()
                config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
                config.attributes["connection"] = conn
                command.downgrade(config, "base")
    finally:
        engine.dispose()


def _demo_categories_declared() -> None:
    """The demo company records the default catalog's six categories: a catalog file must declare each, with
    the default's table and columns (it may declare more, which the demo leaves empty)."""
    from portal.core import catalog_file

    default = {c.key: c for c in catalog_file.load(catalog.DEFAULT_FILE).categories}
    wrong = [key for key in CATEGORY_OF_TABLE.values()
             if key not in catalog.CATEGORY_BY_KEY or catalog.category(key).schema != default[key].schema]
    if wrong:
        raise DemoError(_("the demo company records the default catalog's categories, but the catalog in force "
                          "({source}) lacks or changes {categories}; seed the demo with the default catalog (unset "
                          "PORTAL_CATALOG) or a catalog that extends it").format(
            source=catalog.active().source, categories=", ".join(wrong)))


# Owner-only whatever the caller's umask: seeding writes a whole company's personal data.
@file_modes.owner_only()
def seed(settings: Settings, employees: int = 300, days: int = 90, seed: int = 42,
         progress: Progress | None = None, replace: bool = False,
         end_date: date | None = DEFAULT_END_DATE) -> SeedReport:
    """Create the metadata DB and the telemetry lake and fill them with a synthetic company.

    The personas are always employees E00001-E00004. ``replace`` removes an existing
    lake and empties the metadata tables first; without it, existing data is an error.
    """
    end_date = end_date or datetime.now(UTC).date()  # None: a history that ends today
    if employees < len(PERSONAS):
        raise DemoError(_("the demo company needs at least {least} employees (the personas), got {employees}").format(
            least=len(PERSONAS), employees=employees))
    if days < 1:
        raise DemoError(_("days must be at least 1, got {days}").format(days=days))
    _demo_categories_declared()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    file_modes.private_dir(settings.data_dir)
    if data_present(settings):
        if not replace:
            raise DemoError(_("{data_dir} already holds portal data; seed with replace=True (`portal seed --force`) "
                              "to replace it.").format(data_dir=settings.data_dir))
        _clear(settings)
    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.migrate(engine)
        with engine.begin() as conn:
            catalog.sync(conn)
        timings["schema"] = time.perf_counter() - started
        mark = time.perf_counter()
        world = make_world(seed, employees, days, end_date)
        # The company comes in the way a real one does: through the directory ingest, from a SCIM export.
        directory = ingest_employees(engine, directory_file(settings, world.company), effective=end_date)
        with engine.begin() as conn:
            db_rows = {"employees": directory.added,
                       "pseudonyms": _insert(conn, db.pseudonyms, _pseudonym_rows(world.company))}
        timings["company"] = time.perf_counter() - mark
        store = TelemetryStore(settings)
        store.create()
        mark = time.perf_counter()
        lake_rows, counts = write_telemetry(store, world, progress)
        store.checkpoint()
        timings["telemetry"] = time.perf_counter() - mark
        mark = time.perf_counter()
        with engine.begin() as conn:
            db_rows |= _write_metadata(conn, world, counts)
        from portal.demo import demo_collectors

        # The systems that recorded it all, on the register the works council decided on before the first day.
        db_rows["collectors"] = demo_collectors.register_collectors(engine, world.cal.dates[0])
        timings["metadata"] = time.perf_counter() - mark
        if progress:
            progress(1, 1, _("metadata: {rows} rows").format(rows=i18n.number(sum(db_rows.values()))))
        mark = time.perf_counter()
        from portal.demo import demo_requests

        # Filed and worked before the checkpoint below, so the signed log covers every request transition.
        history = demo_requests.seed_requests(engine, store, seed=seed, end_date=end_date, days=days)
        db_rows |= {table: db_rows.get(table, 0) + rows for table, rows in history.rows_added.items()}
        lake_rows = {table: rows - history.rows_erased.get(table, 0) for table, rows in lake_rows.items()}
        timings["requests"] = time.perf_counter() - mark
        if progress:
            progress(1, 1, _("requests: {n} filed and worked").format(
                n=i18n.number(history.rows_added["privacy_requests"])))
        mark = time.perf_counter()
        # The demo log starts with a signed checkpoint, as a real deployment's would after an ingest.
        AuditLog(settings, engine).checkpoint()
        timings["access log"] = time.perf_counter() - mark
        mark = time.perf_counter()
        # Read every data file once now, and publish the council's releases, so that the Council
        # overview's first load reads stored figures instead of counting 100M rows and 1M reads.
        from portal.council import figures

        volume_rollup.weekly_records(store)
        figures.publish_all(settings, engine, store)
        timings["council figures"] = time.perf_counter() - mark
        database = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    location = settings.lake_location
    return SeedReport(
        employees=employees, days=days, seed=seed, start_date=world.cal.dates[0], end_date=end_date,
        buckets=store.buckets, lake_dir=location.root, database=database, lake_rows=lake_rows, db_rows=db_rows,
        timings=timings, lake_bytes=sum(e.size for e in location.files() if not e.relative.startswith("_portal/")),
    )
