"""Who read whose data: append-only access events and their ingest. What the person sees of them, with the
flags below said in words, is :mod:`portal.audit.my_access`.

An access event says that an actor (a person or a service) read records of one
category about one person, when, how many, for which registered purpose and
with what justification. People appear in ``access_events`` only through their
pseudonym (``db.pseudonyms``); erasing a person deletes that link, after which
the events still exist but point at nobody.

Three ways events arrive:

* :func:`ingest_access` takes JSON Lines from warehouses, search and pipelines
  (format in :data:`LINE_FORMAT`). It is all or nothing: any bad line means
  nothing is written, and every problem (up to a limit) is reported with its
  line number and field. Re-ingesting the same events adds nothing.
* :func:`record_read` is how the portal logs its own reads of a person's data by
  anyone but that person (the privacy office's export, for example). Reading
  your own data is not an access by someone else and is not logged.
* Nothing updates or deletes events; the database refuses it (migration
  ``0002_append_only``).

Flags, each said in words to the person (:func:`portal.audit.my_access.events_about`):

* no registered purpose: the event carries no purpose code;
* role not allowed: the actor's role is not in the category's ``allowed_roles``;
* over-exposure: the read is a person's read in a category-week (Monday 00:00
  UTC to Monday) in which more distinct people read *other* people's data of that
  category than the category's limit (``max_principals``, or the company's own
  from ``PORTAL_MAX_PRINCIPALS``). People in a scoped role (line managers, who
  read only their direct reports) are not counted; their read is flagged instead
  when that reader read more people that week than the role's span allows, or
  when more readers in the role read this person that week than the role allows
  (:mod:`portal.council.exposure` explains the model). Counting who actually read,
  rather than who holds a broad grant, is the rule because events do not record
  which grant a read used; broad grants are the exposure page's concern.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import catalog, db
from portal.core.i18n import _
from portal.identity import policy
from portal.identity.principal import Principal
from portal.core.line_input import (
    CLOCK_SKEW,
    MAX_FILE_BYTES,
    MAX_INT32,
    MAX_LINE_BYTES,
    MAX_PROBLEMS,
    retention_horizon,
    Fields,
    Problems,
    Source,
    json_type,
    parse_object,
    quoted,
    read_lines,
    source_name,
)
from portal.core.times import as_utc, utc_naive
from portal.identity.directory import SubjectIndex, UnknownSubject
from portal.identity.pseudonyms import pseudonym_of

VIEW, QUERY, EXPORT, TRAIN, DELETE = "view", "query", "export", "train", "delete"
ACTIONS = (VIEW, QUERY, EXPORT, TRAIN, DELETE)
PERSON, SERVICE = "person", "service"
ACTOR_KINDS = (PERSON, SERVICE)

SUMMARY_DAYS = 90
PORTAL_SOURCE = "Telemetry transparency portal"
_CHUNK = 5000

LINE_FORMAT = """\
One JSON object per line:
  event_id       unique id of the event (re-sending it adds nothing), at most 64 characters
  time           ISO 8601 with a time zone, e.g. 2025-03-01T09:30:00Z; neither in the future nor
                 older than the retention horizon (see the limits below)
  actor          {"id", "kind": "person"|"service", "name", "team", "role"}; optional "employee"
                 (employee id, e-mail or OIDC subject of a person-actor, so their own reads are told apart)
  subject        whose data was read: employee id, e-mail or OIDC subject
  category       a catalog category key, e.g. user.content.private.chat
  action         view, query, export, train or delete
  purpose        a registered purpose code, or null when none was given (the event is then flagged)
  justification  optional free text or ticket reference
  source_system  the system that served the read
  record_count   how many records were read (0 or more)
  query_id       optional query or run id
"""


# ---- the ingest's report ---------------------------------------------------


@dataclass(frozen=True)
class IngestReport:
    source: str
    lines: int
    added: int
    already_present: int
    actors_added: int
    seconds: float

    def describe(self) -> str:
        rate = f", {self.lines / self.seconds:,.0f} lines/s" if self.seconds > 0 and self.lines else ""
        return (f"{self.source}: {self.lines:,} line(s) read, {self.added:,} access event(s) added, "
                f"{self.already_present:,} already present, {self.actors_added:,} new actor(s) "
                f"({self.seconds:.2f}s{rate}).")


# ---- ingest ----------------------------------------------------------------

_TOP_FIELDS = ("event_id", "time", "actor", "subject", "category", "action", "purpose", "justification",
               "source_system", "record_count", "query_id")
_TOP_SET = frozenset(_TOP_FIELDS)
_ACTOR_FIELDS = ("id", "kind", "name", "team", "role", "employee")
# Stored columns in insert order; positions 1..10 are the content compared when an event id arrives again.
_COLUMNS = ("event_id", "occurred_at", "actor_id", "subject_pseudonym", "category_key", "action", "purpose_code",
            "justification", "source_system", "record_count", "query_id", "ingested_at")
_CONTENT = slice(1, 11)
_ACTION_SET = frozenset(ACTIONS)


def ingest_access(engine: Engine, lines_or_path: Source, *, now: datetime | None = None,
                  max_problems: int = MAX_PROBLEMS, max_line_bytes: int = MAX_LINE_BYTES,
                  max_file_bytes: int = MAX_FILE_BYTES) -> IngestReport:
    """Validate and add access events from JSON Lines (a path, or an iterable of lines).

    All or nothing: the whole input is one transaction, rolled back when any line
    has a problem, and :class:`IngestRejected` lists every problem found (up to
    ``max_problems``). Events already stored with the same id and content are
    skipped; the same id with different content is a problem of that line.
    """
    started = time.perf_counter()
    now = as_utc(now or datetime.now(UTC))
    source = source_name(lines_or_path)
    problems = Problems(max_problems)
    with engine.connect() as conn, conn.begin() as tx:
        if conn.dialect.name == "sqlite":
            # 64 MB of page cache keeps the event-id and pseudonym indexes in memory while they grow.
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
        elif conn.dialect.name == "postgresql":
            # The table grows inside this transaction while its statistics may still say "empty";
            # the planner would then scan it for every batch of event ids instead of using the index.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        state = _IngestState(conn, problems, now)
        lines = 0
        for number, text in read_lines(lines_or_path, problems, max_line_bytes=max_line_bytes,
                                       max_file_bytes=max_file_bytes):
            lines = number
            obj = parse_object(number, text, problems)
            if obj is not None:
                # JSON spells NUL as \u0000 (a raw one is invalid JSON), so without that escape
                # no value can hold one and the quick path may skip the per-field check.
                row = (state.quick(obj) if "\\u0000" not in text else None) or state.validate(number, obj)
                if row is not None:
                    state.take(number, row)
        state.flush()
        if problems:
            tx.rollback()
            problems.raise_if_any(source)
    return IngestReport(source, lines, state.added, state.already_present, state.actors_added,
                        time.perf_counter() - started)


def _short(value: object, limit: int) -> bool:
    """A required string field that is non-blank and within ``limit`` characters."""
    return type(value) is str and 0 < len(value) <= limit and not value.isspace()


class _IngestState:
    def __init__(self, conn: Connection, problems: Problems, now: datetime) -> None:
        self.conn, self.problems, self.now = conn, problems, now
        self.subjects = SubjectIndex(conn)
        self.actors: dict[str, Any] = {row.actor_id: row for row in conn.execute(sa.select(db.actors))}
        self.actor_seen: dict[str, dict] = {}  # actor id -> the actor object of a line that passed validation
        self.ingested_at = utc_naive(now)
        self.latest, self.earliest = now + CLOCK_SKEW, now - retention_horizon()
        self.seen: dict[str, tuple[int, tuple]] = {}  # event id -> (line, content) within this input
        self.rows: list[tuple] = []
        self.lines: list[int] = []
        self.added = self.already_present = self.actors_added = 0

    def take(self, number: int, row: tuple) -> None:
        event_id, content = row[0], row[_CONTENT]
        earlier = self.seen.get(event_id)
        if earlier is not None:
            if earlier[1] != content:
                self.problems.add(number, "event_id", _("{event_id} was already given on line {line} with different "
                                                        "content").format(event_id=quoted(event_id), line=earlier[0]))
            else:
                self.already_present += 1
            return
        self.seen[event_id] = (number, content)
        self.rows.append(row)
        self.lines.append(number)
        if len(self.rows) >= _CHUNK:
            self.flush()

    def quick(self, obj: dict) -> tuple | None:
        """The row for a line that is plainly valid, else None (then :meth:`validate` says why).

        Accepts only what :meth:`validate` accepts, checked with fewer calls: this
        path is what makes the ingest reach its throughput target.
        """
        if not obj.keys() <= _TOP_SET:
            return None
        try:
            return self._quick(obj)
        except (TypeError, OverflowError):  # an unhashable code, a date at the end of time: validate() names it
            return None

    def _quick(self, obj: dict) -> tuple | None:
        get = obj.get
        event_id, actor, subject, category, action = (get("event_id"), get("actor"), get("subject"),
                                                      get("category"), get("action"))
        purpose, justification, source_system, count, query_id, when = (
            get("purpose"), get("justification"), get("source_system"), get("record_count"), get("query_id"),
            get("time"))
        if not (_short(event_id, 64) and _short(source_system, 200) and type(count) is int
                and 0 <= count <= MAX_INT32 and category in catalog.CATEGORY_BY_KEY and action in _ACTION_SET
                and (purpose is None or purpose in catalog.PURPOSE_BY_CODE)
                and (justification is None or (type(justification) is str and len(justification) <= 4000))
                and (query_id is None or (type(query_id) is str and len(query_id) <= 100))
                and type(subject) is str and len(subject) <= 255 and type(when) is str and len(when) <= 64
                and type(actor) is dict):
            return None
        actor_id = actor.get("id")
        if type(actor_id) is not str or self.actor_seen.get(actor_id) != actor:
            return None
        employee = self.subjects.employee_id(subject)
        if employee is None:
            return None
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            return None
        if moment.tzinfo is None or moment > self.latest or moment < self.earliest:
            return None
        return (event_id, utc_naive(moment), actor_id, self.subjects.pseudonym(employee), category, action,
                purpose, justification, source_system, count, query_id, self.ingested_at)

    def validate(self, number: int, obj: dict) -> tuple | None:
        """The row for a line, or None after recording every problem of the line."""
        f = Fields(obj, number, self.problems)
        f.unknown(_TOP_FIELDS)
        event_id = f.text("event_id", 64)
        occurred = f.timestamp("time", self.now)
        actor_id = self._actor(number, obj, f)
        subject = f.text("subject", 255)
        pseudonym = None
        if subject is not None:
            employee = self.subjects.employee_id(subject)
            if employee is None:
                f.problem("subject", _("{subject} is not an employee id, e-mail or OIDC subject of anyone the "
                                       "company employs").format(subject=quoted(subject)))
            else:
                pseudonym = self.subjects.pseudonym(employee)
        category = f.text("category", 100)
        if category is not None and category not in catalog.CATEGORY_BY_KEY:
            f.problem("category", _("{category} is not a catalog category").format(category=quoted(category)))
        action = f.choice("action", ACTIONS)
        purpose = f.text("purpose", 100, required=False)
        if purpose is not None and purpose not in catalog.PURPOSE_BY_CODE:
            f.problem("purpose", _("{purpose} is not a registered purpose code; use null when there is none").format(
                purpose=quoted(purpose)))
        justification = f.text("justification", 4000, required=False)
        source_system = f.text("source_system", 200)
        record_count = f.count("record_count")
        query_id = f.text("query_id", 100, required=False)
        if not f.ok:
            return None
        assert occurred is not None  # f.ok: it was read
        return (event_id, utc_naive(occurred), actor_id, pseudonym, category, action, purpose, justification,
                source_system, record_count, query_id, self.ingested_at)

    def _actor(self, number: int, obj: dict, f: Fields) -> str | None:
        actor = obj.get("actor")
        if not isinstance(actor, dict):
            f.problem("actor", _("is missing") if actor is None
                      else _("must be an object, not {type}").format(type=json_type(actor)))
            return None
        a = Fields(actor, number, self.problems, prefix="actor.")
        a.unknown(_ACTOR_FIELDS)
        actor_id = a.text("id", 100)
        kind = a.choice("kind", ACTOR_KINDS)
        name, team, role = a.text("name", 255), a.text("team", 100), a.text("role", 100)
        employee_text = a.text("employee", 255, required=False)
        pseudonym = None
        if employee_text is not None:
            employee = self.subjects.employee_id(employee_text)
            if employee is None:
                a.problem("employee", _("{subject} is not anyone the company employs").format(
                    subject=quoted(employee_text)))
            elif kind == SERVICE:
                a.problem("employee", _("only a person-actor can be an employee"))
            else:
                pseudonym = self.subjects.pseudonym(employee)
        known = self.actors.get(actor_id) if a.ok and actor_id is not None else None
        if known is not None and known.kind != kind:
            a.problem("kind", _("actor {actor} is already known as a {known}, not a {kind}").format(
                actor=quoted(actor_id), known=known.kind, kind=kind))
        if not a.ok:
            f.ok = False
            return None
        assert actor_id is not None  # a.ok: it was read
        self.actor_seen[actor_id] = actor
        if known is None:
            row: dict[str, Any] = {"actor_id": actor_id, "kind": kind, "display_name": name, "team": team, "role": role,
                   "pseudonym": pseudonym}
            self.conn.execute(sa.insert(db.actors).values(**row))
            self.actors[actor_id] = _ActorRow(**row)
            self.actors_added += 1
        return actor_id

    def flush(self) -> None:
        rows, lines = self.rows, self.lines
        self.rows, self.lines = [], []
        if not rows:
            return
        stored = self._stored([r[0] for r in rows])
        fresh = []
        for number, row in zip(lines, rows, strict=True):
            old = stored.get(row[0])
            if old is None:
                fresh.append(row)
            elif old != row[_CONTENT]:
                self.problems.add(number, "event_id", _("{event_id} is already stored with different content; "
                                                        "events are never changed").format(event_id=quoted(row[0])))
            else:
                self.already_present += 1
        if fresh and not self.problems:
            _insert_events(self.conn, fresh)
            self.added += len(fresh)

    def _stored(self, ids: list[str]) -> dict[str, tuple]:
        columns = [db.access_events.c[c] for c in _COLUMNS[:11]]
        stored = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            for row in self.conn.execute(sa.select(*columns).where(db.access_events.c.event_id.in_(chunk))):
                stored[row[0]] = (utc_naive(row[1]), *row[2:])
        return stored


_SQLITE_INSERT = (f"INSERT INTO access_events ({', '.join(_COLUMNS)}) "
                  f"VALUES ({', '.join('?' for _column in _COLUMNS)})")


def _insert_events(conn: Connection, rows: list[tuple]) -> None:
    """Insert rows in ``_COLUMNS`` order.

    On SQLite the rows go straight to the driver with timestamps pre-formatted the
    way SQLAlchemy stores them: the Core insert's per-row parameter processing
    costs more than the rest of the ingest together. PostgreSQL gets COPY. Rows
    hold naive UTC (what SQLite returns, for comparing); every other database is
    given aware UTC, so a session time zone cannot shift the stored instant.
    """
    if conn.dialect.name == "sqlite":
        ingested = rows[0][11].isoformat(" ", "microseconds")  # one ingest, one ingested_at
        conn.exec_driver_sql(_SQLITE_INSERT, [(r[0], r[1].isoformat(" ", "microseconds"), *r[2:11], ingested)
                                              for r in rows])
    elif conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        # COPY inside the same transaction: executemany costs a round trip per row.
        ingested = as_utc(rows[0][11])
        cursor = cast(Any, conn.connection.driver_connection).cursor()  # psycopg's connection
        with cursor.copy(f"COPY access_events ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r[0], as_utc(r[1]), *r[2:11], ingested))
    else:
        conn.execute(sa.insert(db.access_events),
                     [dict(zip(_COLUMNS, (*r[:1], as_utc(r[1]), *r[2:11], as_utc(r[11])), strict=True))
                      for r in rows])


@dataclass(frozen=True)
class _ActorRow:
    actor_id: str
    kind: str
    display_name: str
    team: str
    role: str
    pseudonym: str | None


# ---- the portal's own reads ----------------------------------------------


@dataclass(frozen=True)
class Read:
    """One category read of one person's data, for :func:`record_reads`."""

    category_key: str
    record_count: int


def actor_role(principal: Principal) -> str:
    """The role a principal reads in: the strongest portal role they hold."""
    for role in (policy.PRIVACY_OFFICE, policy.WORKS_COUNCIL, policy.EMPLOYEE):
        if role in principal.roles:
            return role
    return "none"


def _actor_for(conn: Connection, principal: Principal) -> str:
    """The actor id of ``principal``, created on first use: a person through their pseudonym,
    anything without an employee record (the command line) as a service."""
    role = actor_role(principal)
    row: dict[str, Any]
    if principal.employee is not None:
        pseudonym = pseudonym_of(conn, principal.employee.employee_id, create=True)
        row = {"actor_id": f"person:{pseudonym}", "kind": PERSON, "display_name": principal.employee.display_name,
               "team": principal.employee.team, "role": role, "pseudonym": pseudonym}
    else:
        row = {"actor_id": principal.subject[:100], "kind": SERVICE,
               "display_name": (principal.name or principal.subject)[:255],
               "team": policy.ROLE_LABELS.get(role, role), "role": role, "pseudonym": None}
    exists = conn.execute(sa.select(db.actors.c.actor_id).where(db.actors.c.actor_id == row["actor_id"])).first()
    if exists is None:
        conn.execute(sa.insert(db.actors).values(**row))
    return row["actor_id"]


def record_read(engine: Engine, principal: Principal, subject_employee_id: str, category_key: str,
                purpose_code: str, justification: str, record_count: int, action: str = VIEW, *,
                source_system: str = PORTAL_SOURCE, query_id: str | None = None,
                now: datetime | None = None) -> str | None:
    """Log that ``principal`` read ``record_count`` records of one category about someone.

    Returns the new event id, or None when the principal read their own data
    (that is not an access by someone else, so nothing is logged).
    """
    with engine.begin() as conn:
        ids = record_reads(conn, principal, subject_employee_id, [Read(category_key, record_count)],
                           purpose_code, justification, action, source_system=source_system,
                           query_id=query_id, now=now)
    return ids[0] if ids else None


def record_reads(conn: Connection, principal: Principal, subject_employee_id: str, reads: Iterable[Read],
                 purpose_code: str, justification: str, action: str = VIEW, *,
                 source_system: str = PORTAL_SOURCE, query_id: str | None = None,
                 now: datetime | None = None) -> list[str]:
    """:func:`record_read` for several categories inside the caller's transaction."""
    reads = list(reads)
    if principal.employee_id is not None and principal.employee_id == subject_employee_id:
        return []
    for r in reads:
        catalog.category(r.category_key)
        if isinstance(r.record_count, bool) or not isinstance(r.record_count, int) or r.record_count < 0:
            raise ValueError(_("record_count must be a whole number of 0 or more (got {value})").format(
                value=repr(r.record_count)))
    if purpose_code not in catalog.PURPOSE_BY_CODE:
        raise ValueError(_("{purpose} is not a registered purpose code; known: {known}").format(
            purpose=repr(purpose_code), known=", ".join(sorted(catalog.PURPOSE_BY_CODE))))
    if action not in ACTIONS:
        raise ValueError(_("action {action} is not one of {known}").format(action=repr(action),
                                                                           known=", ".join(ACTIONS)))
    if not isinstance(justification, str) or not justification.strip():
        raise ValueError(_("a justification is required: the person will read it next to this access"))
    if len(justification) > 4000 or "\x00" in justification:
        raise ValueError(_("the justification must be at most 4,000 characters without NUL characters"))
    if conn.execute(sa.select(db.employees.c.employee_id)
                    .where(db.employees.c.employee_id == subject_employee_id)).first() is None:
        raise UnknownSubject(subject_employee_id)
    moment = as_utc(now or datetime.now(UTC))
    actor_id = _actor_for(conn, principal)
    pseudonym = pseudonym_of(conn, subject_employee_id, create=True)
    rows: list[dict[str, Any]] = [{"event_id": f"portal-{uuid.uuid4()}", "occurred_at": moment, "actor_id": actor_id,
             "subject_pseudonym": pseudonym, "category_key": r.category_key, "action": action,
             "purpose_code": purpose_code, "justification": justification.strip(),
             "source_system": source_system, "record_count": r.record_count, "query_id": query_id,
             "ingested_at": moment} for r in reads]
    if rows:
        conn.execute(sa.insert(db.access_events), rows)
    return [r["event_id"] for r in rows]


# ---- what a person sees ----------------------------------------------------
