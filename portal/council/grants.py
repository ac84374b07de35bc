"""Who *can* read each telemetry category: grants imported from the access-management system.

A grant says that a principal (one person, a group of people, or a service)
may read one catalog category from a moment on, perhaps until an expiry. The
exposure view (:mod:`portal.council.exposure`) compares grants with the catalog's
policy and with who actually read.

:func:`ingest_grants` reads JSON Lines or CSV (:data:`GRANT_FORMAT`) and is
validated like the other ingests: every problem is named by line and field,
any problem means nothing is written, and importing the same grants again adds
nothing. A grant is identified by its ``grant_id`` or, without one, by a hash
of its content (everything but ``expires_at``).

Grants are a record of who could read what and when, so a stored grant is never
rewritten: the same id with other content is a problem. The one change allowed
is to its expiry, and only from now on (ending a grant today or extending it),
so that the past cannot be edited away.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import catalog, db, i18n
from portal.core.i18n import N_, _
from portal.core.input_files import InputFileError, read_bytes
from portal.core.line_input import CLOCK_SKEW, MAX_PROBLEMS, Fields, Problems, parse_object, read_lines
from portal.core.times import as_utc, utc_naive

KINDS = ("person", "group", "service")
FIELDS = ("grant_id", "principal", "kind", "group", "member_count", "category", "granted_by", "granted_at",
          "expires_at")
REQUIRED = ("principal", "kind", "category", "granted_by", "granted_at")
MAX_FILE_BYTES = 64 * 1024 * 1024
_MAX_MEMBERS = 10_000_000
# A grant may be far older than any telemetry (a service account from years ago still reads today), so
# grants are not held to the retention horizon; nothing granted access to this data before 1970.
EARLIEST_GRANT = datetime(1970, 1, 1, tzinfo=UTC)

GRANT_FORMAT = """\
One grant per JSON line, or per CSV row under a header naming the columns:
  grant_id      optional stable id (at most 100 characters); without it the content is the id
  principal     who holds the grant: a person's or service's actor id, or the group's id
  kind          person, group or service
  group         the group's name (only, and always, for kind group)
  member_count  how many people the group has (groups; 1 for a person or service, may be left out)
  category      a catalog category key, e.g. user.content.private.meeting_transcript
  granted_by    who or what granted it, e.g. a change ticket
  granted_at    ISO 8601 with a time zone, e.g. 2026-10-18T08:12:00Z; not in the future, not before 1970
  expires_at    optional, ISO 8601 with a time zone, after granted_at (leave it out for no end)
"""


@dataclass(frozen=True)
class GrantsReport:
    source: str
    records: int
    added: int
    already_present: int
    expiry_changed: int
    seconds: float

    def describe(self) -> str:
        return _("{source}: {records} grant(s) read, {added} added, {present} already present, {changed} with a new "
                 "expiry ({seconds}s).").format(
            source=self.source, records=i18n.number(self.records), added=i18n.number(self.added),
            present=i18n.number(self.already_present), changed=i18n.number(self.expiry_changed),
            seconds=i18n.decimal(self.seconds, 2))


@dataclass(frozen=True)
class Grant:
    grant_id: str
    principal: str
    kind: str
    group_name: str | None
    member_count: int
    category_key: str
    granted_by: str
    granted_at: datetime  # UTC, naive (as stored)
    expires_at: datetime | None

    def content(self) -> tuple:
        return (self.principal, self.kind, self.group_name, self.member_count, self.category_key,
                self.granted_by, self.granted_at)


def _quoted(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def content_id(principal: str, kind: str, group: str | None, members: int, category: str, granted_by: str,
               granted_at: datetime) -> str:
    text = json.dumps([principal, kind, group, members, category, granted_by, utc_naive(granted_at).isoformat()])
    return "grant-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _format(source: Any, fmt: str | None) -> str:
    if fmt in ("jsonl", "csv"):
        return fmt
    if fmt not in (None, "auto"):
        raise ValueError(_("unknown grants format {format}; use jsonl or csv").format(format=repr(fmt)))
    if isinstance(source, str | os.PathLike) and Path(source).suffix.lower() == ".csv":
        return "csv"
    return "jsonl"


def ingest_grants(engine: Engine, source: str | os.PathLike | Iterable[str | bytes], *, fmt: str | None = None,
                  now: datetime | None = None, max_problems: int = MAX_PROBLEMS,
                  max_file_bytes: int = MAX_FILE_BYTES) -> GrantsReport:
    """Validate and store grants from JSON Lines or CSV (``fmt``: jsonl, csv, or by file suffix).

    All or nothing: :class:`portal.core.line_input.IngestRejected` lists every problem
    (line and field) and nothing is written.
    """
    started = time.perf_counter()
    now = as_utc(now or datetime.now(UTC))
    name = str(source) if isinstance(source, str | os.PathLike) else "input"
    problems = Problems(max_problems)
    kind = _format(source, fmt)
    records = _csv_records(source, problems, max_file_bytes) if kind == "csv" else _json_records(
        source, problems, max_file_bytes)
    seen: dict[str, tuple[int, Grant]] = {}
    count = 0
    for number, obj in records:
        count += 1
        grant = _validate(number, obj, problems, now)
        if grant is None:
            continue
        earlier = seen.get(grant.grant_id)
        if earlier is not None and (earlier[1].content(), earlier[1].expires_at) != (grant.content(), grant.expires_at):
            problems.add(number, "grant_id", _("{grant} was already given on line {line} with different content").format(
                grant=_quoted(grant.grant_id), line=earlier[0]))
        elif earlier is None:
            seen[grant.grant_id] = (number, grant)
    added = present = changed = 0
    with engine.connect() as conn, conn.begin() as tx:
        if not problems:
            stored = _stored(conn, list(seen))
            fresh, expiries = [], []
            for number, grant in seen.values():
                old = stored.get(grant.grant_id)
                if old is None:
                    fresh.append(grant)
                elif old.content() != grant.content():
                    problems.add(number, "grant_id", _("{grant} is already stored with different content; grants are "
                                                       "a record and are never rewritten, send a new grant_id").format(
                        grant=_quoted(grant.grant_id)))
                elif old.expires_at != grant.expires_at:
                    _expiry_change(number, old, grant, now, problems)
                    expiries.append(grant)
                else:
                    present += 1
            if not problems:
                try:
                    _write(conn, fresh, expiries)
                except sa.exc.IntegrityError as exc:
                    first = str(exc.orig).strip().splitlines()[0][:200]
                    problems.add(0, None, _("the metadata DB refused the grants ({why}); run `portal migrate` so "
                                            "that the catalog's categories are in it").format(why=first))
                added, changed = len(fresh), len(expiries)
        if problems:
            tx.rollback()
            problems.raise_if_any(name)
    return GrantsReport(name, count, added, present, changed, time.perf_counter() - started)


def _expiry_change(number: int, old: Grant, new: Grant, now: datetime, problems: Problems) -> None:
    floor = utc_naive(now - CLOCK_SKEW)
    if old.expires_at is not None and old.expires_at < floor:
        problems.add(number, "expires_at", _("grant {grant} already expired on {day} UTC; an expired grant cannot "
                                             "change").format(grant=_quoted(old.grant_id),
                                                              day=f"{old.expires_at:%Y-%m-%d %H:%M}"))
    elif new.expires_at is not None and new.expires_at < floor:
        problems.add(number, "expires_at", _("a stored grant's expiry can only be moved to now or later, so the "
                                             "record of the past stays as it was"))


def _write(conn: sa.Connection, fresh: list[Grant], expiries: list[Grant]) -> None:
    if fresh:
        conn.execute(sa.insert(db.grants), [_row(g) for g in fresh])
    for g in expiries:
        conn.execute(sa.update(db.grants).where(db.grants.c.grant_id == g.grant_id).values(expires_at=g.expires_at))


def _row(g: Grant) -> dict:
    return {"grant_id": g.grant_id, "principal": g.principal, "kind": g.kind, "group_name": g.group_name,
            "member_count": g.member_count, "category_key": g.category_key, "granted_by": g.granted_by,
            "granted_at": g.granted_at, "expires_at": g.expires_at}


def _stored(conn: sa.Connection, ids: list[str]) -> dict[str, Grant]:
    out = {}
    for start in range(0, len(ids), 500):
        query = sa.select(db.grants).where(db.grants.c.grant_id.in_(ids[start:start + 500]))
        for r in conn.execute(query):
            out[r.grant_id] = _grant(r)
    return out


def _grant(r: Any) -> Grant:
    return Grant(r.grant_id, r.principal, r.kind, r.group_name, int(r.member_count), r.category_key, r.granted_by,
                 utc_naive(r.granted_at), utc_naive(r.expires_at) if r.expires_at is not None else None)


def stored_grants(engine: Engine) -> list[Grant]:
    """Every stored grant, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.grants).order_by(db.grants.c.granted_at, db.grants.c.grant_id)).all()
    return [_grant(r) for r in rows]


# ---- reading ------------------------------------------------------------------------


def _json_records(source: Any, problems: Problems, max_bytes: int) -> Iterator[tuple[int, dict]]:
    for number, text in read_lines(source, problems, max_file_bytes=max_bytes):
        obj = parse_object(number, text, problems)
        if obj is not None:
            yield number, obj


def _csv_records(source: Any, problems: Problems, max_bytes: int) -> Iterator[tuple[int, dict]]:
    text = _csv_text(source, problems, max_bytes)
    if text is None:
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(1, None, _("is not a CSV header ({why})").format(why=exc))
        return
    if header is None:
        return
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in FIELDS]
    missing = [f for f in REQUIRED if f not in header]
    duplicate = sorted({h for h in header if header.count(h) > 1})
    for label, names in ((N_("header has unknown column(s) {names}; columns are {columns}"), unknown),
                         (N_("header has missing column(s) {names}; columns are {columns}"), missing),
                         (N_("header has repeated column(s) {names}; columns are {columns}"), duplicate)):
        if names:
            problems.add(1, None, _(label).format(names=", ".join(repr(n) for n in names), columns=", ".join(FIELDS)))
    if unknown or missing or duplicate:
        return
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            problems.add(start, None, _("is not valid CSV ({why})").format(why=exc))
            return
        end = reader.line_num
        if cells is None:
            return
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.add(start, None, _("has {n} cells, the header has {expected}").format(
                n=len(cells), expected=len(header)))
            continue
        yield start, {h: _csv_value(h, c) for h, c in zip(header, cells, strict=True) if c.strip() != ""}
        if problems.full:
            problems.truncated = True
            return


def _csv_value(column: str, cell: str) -> Any:
    cell = cell.strip()
    if column == "member_count" and cell.lstrip("-").isdigit():
        return int(cell)
    return cell


def _csv_text(source: Any, problems: Problems, max_bytes: int) -> str | None:
    if isinstance(source, str | os.PathLike):
        try:  # read within the limit: a pipe or /dev/zero reports no size
            raw = read_bytes(source, max_bytes)
        except InputFileError as exc:
            problems.add(0, None, str(exc))
            return None
    else:
        raw = b"".join(x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in source)
        if len(raw) > max_bytes:
            problems.add(0, None, _("the input is more than the limit of {limit} bytes").format(
                limit=i18n.number(max_bytes)))
            return None
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        problems.add(raw.count(b"\n", 0, exc.start) + 1, None, _("is not valid UTF-8 (byte {byte})").format(
            byte=exc.start + 1))
        return None


# ---- validation ---------------------------------------------------------------------


def _validate(number: int, obj: dict, problems: Problems, now: datetime) -> Grant | None:
    f = Fields(obj, number, problems)
    f.unknown(FIELDS)
    grant_id = f.text("grant_id", 100, required=False)
    principal = f.text("principal", 200)
    kind = f.choice("kind", KINDS)
    group = f.text("group", 200, required=False)
    members = _members(f, obj, kind)
    category = f.text("category", 100)
    if category is not None and category not in catalog.CATEGORY_BY_KEY:
        f.problem("category", _("{value} is not a catalog category; known: {known}").format(
            value=_quoted(category), known=", ".join(sorted(catalog.CATEGORY_BY_KEY))))
    granted_by = f.text("granted_by", 200)
    granted_at = f.timestamp("granted_at", now, earliest=EARLIEST_GRANT, too_old=_("no grant is dated earlier"))
    expires_at = _expiry(f, granted_at)
    if kind == "group" and not (group or "").strip() and not (group is None and obj.get("group") is not None):
        f.problem("group", _("is missing; a group grant names its group") if group is None
                  else _("must not be empty; a group grant names its group"))
    if kind in ("person", "service") and group is not None:
        f.problem("group", _("only a group grant names a group, this one is a {kind} grant").format(kind=kind))
    if grant_id is not None and not grant_id.strip():
        f.problem("grant_id", _("must not be blank; leave it out to identify the grant by its content"))
    if not f.ok:
        return None
    # every getter that returned None recorded a problem
    assert principal is not None and kind is not None and members is not None and category is not None
    assert granted_by is not None and granted_at is not None
    granted = utc_naive(granted_at)
    gid = grant_id or content_id(principal, kind, group, members, category, granted_by, granted)
    return Grant(gid, principal, kind, group, members, category, granted_by, granted,
                 utc_naive(expires_at) if expires_at else None)


def _members(f: Fields, obj: dict, kind: str | None) -> int | None:
    if "member_count" not in obj or obj["member_count"] is None:
        if kind == "group":
            f.problem("member_count", _("is missing; a group grant says how many people the group has"))
            return None
        return 1
    value = f.count("member_count")
    if value is None:
        return None
    if value < 1:
        f.problem("member_count", _("must be at least 1 (got {value})").format(value=value))
        return None
    if value > _MAX_MEMBERS:
        f.problem("member_count", _("{value} is more than the limit of {limit}").format(
            value=i18n.number(value), limit=i18n.number(_MAX_MEMBERS)))
        return None
    if kind in ("person", "service") and value != 1:
        f.problem("member_count", _("a {kind} grant is for exactly one principal (got {value})").format(
            kind=kind, value=value))
        return None
    return value


def _expiry(f: Fields, granted_at: datetime | None) -> datetime | None:
    value = f.text("expires_at", 64, required=False)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        f.problem("expires_at", _("{value} is not an ISO 8601 timestamp such as 2026-12-31T23:59:59Z").format(
            value=_quoted(value)))
        return None
    if moment.tzinfo is None:
        f.problem("expires_at", _("{value} has no time zone; add one, e.g. Z for UTC").format(value=_quoted(value)))
        return None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 has no UTC instant Python can hold
        f.problem("expires_at", _("{value} is beyond the dates the portal can store; leave expires_at out for a "
                                  "grant without an end").format(value=_quoted(value)))
        return None
    if granted_at is not None and moment <= granted_at:
        f.problem("expires_at", _("{value} is not after granted_at").format(value=value))
        return None
    return moment
