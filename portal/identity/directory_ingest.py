"""The company's directory: who works here, from the HR system or the identity provider (``portal ingest
employees``).

Two formats:

* **SCIM 2.0** (RFC 7643/7644) as identity providers and HR systems export it: a ``ListResponse``, a
  ``BulkRequest`` (``POST``/``PUT`` of Users; ``DELETE /Users/<id>`` marks a leaver), one ``User``, or JSON
  Lines of ``User`` resources, with the enterprise extension. Each User is parsed and validated with
  ``scim2-models``. ``employeeNumber`` (enterprise) is the employee id; ``externalId`` carries the identity
  provider's subject (``--subject-from`` picks ``userName`` or ``id`` instead); ``displayName`` (else
  ``name.formatted``, else given and family name) the name; the ``primary`` e-mail (else the first); the
  enterprise ``department``; ``title``; ``active``; the enterprise ``manager.value`` (the manager's SCIM
  ``id`` or employee number). SCIM has no team: the portal's own extension (:data:`TEAM_SCHEMA`, ``team``)
  carries one where the HR system can send it; otherwise the team is the department.
* **CSV** with the header in :data:`CSV_COLUMNS` (``employee_id``, ``email``, ``display_name`` and
  ``department`` required; the rest optional).

All or nothing, like every ingest: each problem is named with its record (or line) and field, and
nothing is written while any remains. Idempotent: the same file again changes nothing. A person absent
from the file is left as they are (an export may be partial); no one is ever deleted, because a leaver
(``active: false``) keeps every right to see, copy and erase their data; the identity provider decides
whether they can still sign in.

Department and team are dated (``employee_departments``): a change takes effect on ``effective`` (today,
UTC, by default), so the council's weekly figures keep a person in the department they were in that
week.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import db, i18n, json_input
from portal.core.i18n import _
from portal.core.input_files import InputFileError, open_input
from portal.core.line_input import MAX_PROBLEMS, UNIT_WORDS, IngestRejected, Problem, Problems, json_type, quoted

if TYPE_CHECKING:  # scim2-models takes over a second to import: only a SCIM ingest loads it
    from scim2_models import User

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# SCIM has no team; an HR system can send one in this extension (the demo does). Without it, the team is
# the department.
TEAM_SCHEMA = "urn:telemetry-portal:scim:schemas:extension:1.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CSV_COLUMNS = ("employee_id", "subject", "email", "email_verified", "display_name", "department", "team",
               "job_title", "manager_id", "active")
CSV_REQUIRED = ("employee_id", "email", "display_name", "department")
SUBJECT_FROM = ("externalId", "userName", "id")
FORMATS = ("scim", "csv")
MAX_FILE_BYTES = 512 * 1024 * 1024
LIMITS = {"employee_id": 32, "subject": 255, "email": 255, "display_name": 255, "department": 100, "team": 100,
          "job_title": 100, "manager": 255, "directory_id": 255}
# A deliberately simple rule: one @, something on each side, no spaces or controls. The directory is the
# authority on its addresses; this only catches what cannot be an address at all.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
_EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
_TRUE, _FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
PARALLEL_FROM = 20_000  # Users in one document; smaller ones (the demo's) are validated in this process
MAX_WORKERS = 4
_SHARED: tuple[list, str, int] | None = None

FORMAT_HELP = f"""\
SCIM 2.0 JSON: a ListResponse, a BulkRequest, one User, or JSON Lines of Users, with the enterprise
extension ({ENTERPRISE_SCHEMA}):
  employeeNumber (enterprise)  the employee id (required)
  externalId                   the identity provider's subject (see --subject-from)
  displayName                  the name (else name.formatted, else givenName familyName)
  emails                       the primary one (else the first) is the person's e-mail (required)
  department (enterprise)      required; changes are dated (--effective)
  title, active                job title; false marks a leaver (their rights stay)
  team ({TEAM_SCHEMA})
                               optional; without it the team is the department
  manager.value (enterprise)   the manager's SCIM id or employee number
CSV: a header of {", ".join(CSV_COLUMNS)}
  ({", ".join(CSV_REQUIRED)} required; email_verified and active are true/false, default true)
"""


@dataclass(frozen=True)
class Person:
    """One person as the directory states them."""

    record: int
    employee_id: str
    email: str
    display_name: str
    department: str
    subject: str | None = None
    email_verified: bool = True
    team: str = ""
    job_title: str = ""
    manager: str | None = None  # as given: a SCIM id or an employee id; resolved before writing
    active: bool = True
    directory_id: str | None = None  # the SCIM id


@dataclass(frozen=True)
class DirectoryReport:
    source: str
    records: int
    added: int
    updated: int
    unchanged: int
    leavers: int
    moved: int
    seconds: float

    def describe(self) -> str:
        return _("{source}: {records} record(s): {added} added, {updated} updated ({moved} moved department or "
                 "team, {leavers} marked as leavers), {unchanged} unchanged ({seconds}s).").format(
            source=self.source, records=i18n.number(self.records), added=i18n.number(self.added),
            updated=i18n.number(self.updated), moved=i18n.number(self.moved), leavers=i18n.number(self.leavers),
            unchanged=i18n.number(self.unchanged), seconds=i18n.decimal(self.seconds, 2))


# ---- reading ------------------------------------------------------------------


class _Reader:
    def __init__(self, problems: Problems, subject_from: str, unit: str) -> None:
        self.problems, self.subject_from, self.unit = problems, subject_from, unit
        self.people: list[Person] = []
        self.leavers: list[tuple[int, str]] = []  # (record, SCIM id) from a bulk DELETE

    def problem(self, record: int, field: str | None, message: str) -> None:
        self.problems.add(record, field, message, unit=self.unit)

    # -- SCIM --

    def scim_user(self, record: int, obj: object) -> None:
        if not isinstance(obj, dict):
            self.problem(record, None, _("must be a SCIM User object, not {kind}").format(kind=json_type(obj)))
            return
        schemas = obj.get("schemas")
        if not isinstance(schemas, list) or USER_SCHEMA not in schemas:
            self.problem(record, "schemas", _("must list {schema}").format(schema=USER_SCHEMA))
            return
        from scim2_models import EnterpriseUser, User

        # E-mail syntax is checked below: scim2-models' EmailStr costs 70 µs an address (7 s per 100,000).
        emails = obj.get("emails")
        core = {k: v for k, v in obj.items() if k not in ("emails", ENTERPRISE_SCHEMA, TEAM_SCHEMA)}
        core["schemas"] = [s for s in schemas if s not in (ENTERPRISE_SCHEMA, TEAM_SCHEMA)]
        team = self._team(record, obj.get(TEAM_SCHEMA))
        if team is False:
            return
        team_name = team if isinstance(team, str) else None
        extension = obj.get(ENTERPRISE_SCHEMA)
        try:
            user: User = User.model_validate(core)
        except (pydantic.ValidationError, ValueError, TypeError) as exc:
            self._invalid(record, "", exc)
            return
        try:
            enterprise = EnterpriseUser.model_validate(extension) if extension is not None else None
        except (pydantic.ValidationError, ValueError, TypeError) as exc:
            self._invalid(record, f"{ENTERPRISE_SCHEMA}:", exc)
            return
        if enterprise is None or not enterprise.employee_number:
            self.problem(record, f"{ENTERPRISE_SCHEMA}:employeeNumber", _("is missing: it is the employee id"))
            return
        email = self._primary_email(record, emails)
        if email is None:
            return
        name = user.display_name or (user.name.formatted if user.name else None) or (
            " ".join(p for p in ((user.name.given_name, user.name.family_name) if user.name else ()) if p) or None)
        if not name:
            self.problem(record, "displayName", _("is missing, and so is name: the person needs a name"))
            return
        if not enterprise.department:
            self.problem(record, f"{ENTERPRISE_SCHEMA}:department", _("is missing"))
            return
        subject = {"externalId": user.external_id, "userName": user.user_name, "id": user.id}[self.subject_from]
        manager = enterprise.manager.value if enterprise.manager is not None else None
        self.add(Person(record=record, employee_id=enterprise.employee_number, email=email.strip().lower(),
                        display_name=name,
                        department=enterprise.department, team=team_name or enterprise.department,
                        subject=subject or None, job_title=user.title or "",
                        manager=manager or None, active=user.active is not False, directory_id=user.id))

    def _team(self, record: int, extension: object) -> str | None | bool:
        """The team from the portal's extension; None when absent, False after a problem."""
        if extension is None:
            return None
        team = extension.get("team") if isinstance(extension, dict) else extension
        if team is not None and not isinstance(team, str):
            self.problem(record, f"{TEAM_SCHEMA}:team", _("must be a string, not {kind}").format(kind=json_type(team)))
            return False
        return team or None

    def _invalid(self, record: int, prefix: str, exc: Exception) -> None:
        """What scim2-models found wrong, each with the attribute's path (at most five per record)."""
        if not isinstance(exc, pydantic.ValidationError):  # raised by some of its validators
            self.problem(record, prefix.rstrip(":") or None, str(exc).splitlines()[0])
            return
        for error in exc.errors()[:5]:
            where = ".".join(str(part) for part in error["loc"])
            self.problem(record, (prefix + where) or None, error["msg"])

    def _primary_email(self, record: int, emails: object) -> str | None:
        if emails is None or emails == []:
            self.problem(record, "emails", _("is missing: the person needs an e-mail address"))
            return None
        if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
            self.problem(record, "emails", _("must be a list of objects, not {kind}").format(kind=json_type(emails)))
            return None
        chosen = next((e for e in emails if e.get("primary") is True), emails[0])
        value = chosen.get("value")
        if not isinstance(value, str):
            self.problem(record, "emails.value", _("must be a string, not {kind}").format(kind=json_type(value)))
            return None
        return value

    def scim_document(self, obj: object) -> None:
        if not isinstance(obj, dict):
            self.problem(1, None, _("must be a SCIM ListResponse, BulkRequest or User, not {kind}").format(
                kind=json_type(obj)))
            return
        raw_schemas = obj.get("schemas")
        schemas: list = raw_schemas if isinstance(raw_schemas, list) else []
        if LIST_RESPONSE in schemas:
            resources = obj.get("Resources", [])
            if not isinstance(resources, list):
                self.problem(1, "Resources", _("must be a list, not {kind}").format(kind=json_type(resources)))
                return
            self.scim_users(resources)
        elif BULK_REQUEST in schemas:
            operations = obj.get("Operations")
            if not isinstance(operations, list):
                self.problem(1, "Operations", _("must be a list, not {kind}").format(kind=json_type(operations)))
                return
            for number, op in enumerate(operations, 1):
                if self.problems.full:
                    return
                self.bulk_operation(number, op)
        elif USER_SCHEMA in schemas:
            self.scim_user(1, obj)
        else:
            self.problem(1, "schemas", _("must name a ListResponse ({list}), a BulkRequest ({bulk}) or a User "
                                         "({user})").format(list=LIST_RESPONSE, bulk=BULK_REQUEST, user=USER_SCHEMA))

    def scim_users(self, resources: list) -> None:
        """Each of ``resources`` as a User; a large export is validated in parallel, in forked processes that
        share the parsed document (scim2-models takes about 65 µs a User: 6.5 s for 100,000 on one core)."""
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
        if len(resources) < PARALLEL_FROM or workers < 2 or "fork" not in mp.get_all_start_methods():
            for number, resource in enumerate(resources, 1):
                if self.problems.full:
                    return
                self.scim_user(number, resource)
            return
        global _SHARED  # noqa: PLW0603 - read by the forked workers, which inherit it without copying
        _SHARED = (resources, self.subject_from, self.problems.limit)
        step = -(-len(resources) // (workers * 4))
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                parts = pool.map(_validate_part, [(start, min(start + step, len(resources)))
                                                  for start in range(0, len(resources), step)])
        finally:
            _SHARED = None
        for people, problems in parts:
            self.people.extend(people)
            for problem in problems:
                self.problems.add(problem.line, problem.field, problem.message, unit=problem.unit)

    def bulk_operation(self, number: int, op: object) -> None:
        if not isinstance(op, dict):
            self.problem(number, None, _("a bulk operation must be an object, not {kind}").format(kind=json_type(op)))
            return
        method = str(op.get("method", "")).upper()
        path = op.get("path")
        if method in ("POST", "PUT"):
            self.scim_user(number, op.get("data"))
        elif method == "DELETE" and isinstance(path, str) and path.startswith("/Users/") and len(path) > 7:
            self.leavers.append((number, path.removeprefix("/Users/")))
        elif method == "PATCH":
            self.problem(number, "method", _("PATCH is not read: export whole User resources (POST or PUT)"))
        else:
            self.problem(number, "method", _("{method} with path {path} is not a User POST, PUT or DELETE "
                                             "/Users/<id>").format(method=quoted(op.get("method")), path=quoted(path)))

    # -- CSV --

    def csv_rows(self, text: str) -> None:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader)
        except StopIteration:
            self.problem(0, None, _("the file is empty; the first line must be the header"))
            return
        except csv.Error as exc:
            self.problem(1, None, _("is not CSV: {why}").format(why=exc))
            return
        header = [h.strip().lstrip("\ufeff") for h in header]
        unknown = [h for h in header if h not in CSV_COLUMNS]
        missing = [c for c in CSV_REQUIRED if c not in header]
        if unknown or missing or len(set(header)) != len(header):
            what = []
            if unknown:
                what.append(_("unknown column(s) {names}").format(names=", ".join(quoted(u) for u in unknown)))
            if missing:
                what.append(_("missing {names}").format(names=", ".join(missing)))
            if len(set(header)) != len(header):
                what.append(_("a column named twice"))
            self.problem(1, None, _("the header has {what}; the columns are {columns}").format(
                what="; ".join(what), columns=", ".join(CSV_COLUMNS)))
            return
        try:
            for row in reader:
                line = reader.line_num
                if self.problems.full:
                    return
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    self.problem(line, None, _("has {n} fields; the header has {expected}").format(
                        n=len(row), expected=len(header)))
                    continue
                self.csv_person(line, dict(zip(header, row, strict=True)))
        except csv.Error as exc:
            self.problem(reader.line_num, None, _("is not CSV: {why}").format(why=exc))

    def csv_person(self, line: int, row: dict[str, str]) -> None:
        values = {k: v.strip() for k, v in row.items()}
        flags = {}
        for name in ("email_verified", "active"):
            raw = values.get(name, "").lower()
            if raw and raw not in _TRUE | _FALSE:
                self.problem(line, name, _("{value} is not true or false").format(value=quoted(values[name])))
                return
            flags[name] = raw not in _FALSE
        for name in CSV_REQUIRED:
            if not values.get(name):
                self.problem(line, name, _("is empty"))
                return
        self.add(Person(record=line, employee_id=values["employee_id"], email=values["email"].lower(),
                        display_name=values["display_name"], department=values["department"],
                        subject=values.get("subject") or None, email_verified=flags["email_verified"],
                        team=values.get("team") or values["department"], job_title=values.get("job_title", ""),
                        manager=values.get("manager_id") or None, active=flags["active"]))

    # -- common --

    def add(self, person: Person) -> None:
        fields = {"employee_id": person.employee_id, "subject": person.subject, "email": person.email,
                  "display_name": person.display_name, "department": person.department, "team": person.team,
                  "job_title": person.job_title, "manager": person.manager, "directory_id": person.directory_id}
        for name, value in fields.items():
            if value is None:
                continue
            if len(value) > LIMITS[name]:
                self.problem(person.record, name, _("is {n} characters long, more than {limit}").format(
                    n=i18n.number(len(value)), limit=LIMITS[name]))
                return
            if "\x00" in value:
                self.problem(person.record, name, _("contains a NUL character, which cannot be stored"))
                return
        if not _EMPLOYEE_ID.match(person.employee_id):
            self.problem(person.record, "employee_id", _("{value} must start with a letter or digit and hold only "
                                                         "letters, digits and . _ : @ -").format(
                value=quoted(person.employee_id)))
            return
        if not _EMAIL.match(person.email):
            self.problem(person.record, "email", _("{value} is not an e-mail address").format(value=quoted(person.email)))
            return
        if not person.display_name.strip():
            self.problem(person.record, "display_name", _("is empty"))
            return
        self.people.append(person)


def _validate_part(bounds: tuple[int, int]) -> tuple[list[Person], list[Problem]]:
    """In a forked worker: the Users ``bounds`` of the shared document."""
    assert _SHARED is not None
    resources, subject_from, limit = _SHARED
    reader = _Reader(Problems(limit), subject_from, "record")
    for number in range(*bounds):
        if reader.problems.full:
            break
        reader.scim_user(number + 1, resources[number])
    return reader.people, reader.problems.items


def _read(source: str | Path, fmt: str | None, subject_from: str, problems: Problems) -> _Reader:
    path = Path(source)
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "scim")
    jsonl = fmt == "scim" and path.suffix.lower() in (".jsonl", ".ndjson")
    reader = _Reader(problems, subject_from, "line" if fmt == "csv" or jsonl else "record")
    try:
        with open_input(path) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except InputFileError as exc:
        problems.add(0, None, str(exc))
        return reader
    if len(data) > MAX_FILE_BYTES:
        problems.add(0, None, _("the file is larger than the limit of {limit} bytes; split it").format(
            limit=i18n.number(MAX_FILE_BYTES)))
        return reader
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        problems.add(0, None, _("is not valid UTF-8 (byte {byte})").format(byte=exc.start + 1))
        return reader
    if fmt == "csv":
        reader.csv_rows(text)
    elif jsonl:
        for number, line in enumerate(text.splitlines(), 1):
            if problems.full:
                break
            if line.strip():
                obj = _json(line, number, problems, "line")
                if obj is not None:
                    reader.scim_user(number, obj)
    else:
        obj = _document(text, problems)
        if obj is not None:
            reader.scim_document(obj)
    return reader


def _document(text: str, problems: Problems) -> Any:
    """A whole SCIM document. Python's decoder alone: the depth check of :mod:`portal.core.json_input` costs
    as much as the decoding on a 70 MB export, and a document nested too deeply ends in RecursionError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(0, None, _("is not JSON ({why} at line {line}, column {column})").format(
            why=exc.msg, line=exc.lineno, column=exc.colno), unit="record")
    except RecursionError:
        problems.add(0, None, _("is not JSON the portal reads: it nests too deeply"), unit="record")
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        problems.add(0, None, _("is not JSON the portal reads ({why})").format(why=str(exc).splitlines()[0][:120]),
                     unit="record")
    return None


def _json(text: str, number: int, problems: Problems, unit: str) -> Any:
    try:
        return json_input.loads(text)
    except json_input.JsonInputError as exc:
        problems.add(number, None, _("is not JSON: {why}").format(why=exc) if number == 0 else str(exc), unit=unit)
        return None


# ---- checking against each other and the stored directory ----------------------


def _check(conn: Connection, people: list[Person], leavers: list[tuple[int, str]], problems: Problems,
           unit: str) -> tuple[dict[str, str | None], dict[str, Any]]:
    stored = {row.employee_id: row for row in conn.execute(sa.select(db.employees))}
    by_sub = {row.oidc_sub: row.employee_id for row in stored.values() if row.oidc_sub}
    by_email = {row.email.lower(): row.employee_id for row in stored.values()}
    by_scim = {row.directory_id: row.employee_id for row in stored.values() if row.directory_id}
    seen: dict[str, dict[str, int]] = {"employee_id": {}, "subject": {}, "email": {}, "directory_id": {}}
    for p in people:
        for name, value in (("employee_id", p.employee_id), ("subject", p.subject), ("email", p.email),
                            ("directory_id", p.directory_id)):
            if value is None:
                continue
            first = seen[name].get(value)
            if first is not None:
                problems.add(p.record, name, _("{value} is already {place}'s").format(
                    value=quoted(value), place=_(UNIT_WORDS.get(unit, unit + " {n}")).format(n=first)), unit=unit)
            else:
                seen[name][value] = p.record
        for name, value, index in (("subject", p.subject, by_sub), ("email", p.email, by_email),
                                   ("directory_id", p.directory_id, by_scim)):
            holder = index.get(value) if value is not None else None
            if holder is not None and holder != p.employee_id and holder not in seen["employee_id"]:
                problems.add(p.record, name, _("{value} belongs to employee {holder} in the directory").format(
                    value=quoted(value), holder=holder),
                             unit=unit)
    in_file_scim = {p.directory_id: p.employee_id for p in people if p.directory_id}
    managers: dict[str, str | None] = {}
    for p in people:
        manager = p.manager
        if manager is not None:
            target = (in_file_scim.get(manager) or by_scim.get(manager)
                      or (manager if manager in seen["employee_id"] or manager in stored else None))
            if target is None:
                problems.add(p.record, "manager", _("{value} is no one in this file or the directory").format(
                    value=quoted(manager)),
                             unit=unit)
            elif target == p.employee_id:
                problems.add(p.record, "manager", _("a person cannot be their own manager"), unit=unit)
            manager = target
        managers[p.employee_id] = manager
    for number, scim_id in leavers:
        if scim_id not in by_scim and scim_id not in in_file_scim:
            problems.add(number, "path", _("/Users/{id} is no one in the directory").format(id=scim_id), unit=unit)
    return managers, stored


# ---- writing ------------------------------------------------------------------


def ingest_employees(engine: Engine, source: str | Path, *, fmt: str | None = None,
                     subject_from: str = "externalId", effective: date | None = None,
                     max_problems: int = MAX_PROBLEMS) -> DirectoryReport:
    """Add and update the people in ``source``; all or nothing (:class:`IngestRejected` lists the problems)."""
    started = time.perf_counter()
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(_("the format must be one of {formats} (got {format})").format(
            formats=", ".join(FORMATS), format=repr(fmt)))
    if subject_from not in SUBJECT_FROM:
        raise ValueError(_("the subject comes from one of {choices} (got {value})").format(
            choices=", ".join(SUBJECT_FROM), value=repr(subject_from)))
    effective = effective or datetime.now(UTC).date()
    name = str(source)
    problems = Problems(max_problems)
    reader = _read(source, fmt, subject_from, problems)
    problems.raise_if_any(name)
    if not reader.people and not reader.leavers:
        raise IngestRejected(name, [Problem(0, None, _("holds no person"), unit=reader.unit)])
    with engine.begin() as conn:
        managers, stored = _check(conn, reader.people, reader.leavers, problems, reader.unit)
        problems.raise_if_any(name)
        counts = _write(conn, reader.people, managers, reader.leavers, stored, effective)
    return DirectoryReport(name, len(reader.people) + len(reader.leavers), seconds=time.perf_counter() - started, **counts)


_COLUMNS = ("oidc_sub", "email", "email_verified", "display_name", "department", "team", "job_title", "manager_id",
            "active", "directory_id")


def _values(p: Person, manager: str | None) -> dict[str, Any]:
    return {"oidc_sub": p.subject, "email": p.email, "email_verified": p.email_verified,
            "display_name": p.display_name, "department": p.department, "team": p.team, "job_title": p.job_title,
            "manager_id": manager, "active": p.active, "directory_id": p.directory_id}


def _write(conn: Connection, people: list[Person], managers: dict[str, str | None], leavers: list[tuple[int, str]],
           stored: dict[str, Any], effective: date) -> dict[str, int]:
    e, h = db.employees.c, db.employee_departments.c
    added, updates, moved_ids, left = [], [], [], 0
    for p in people:
        values = _values(p, managers.get(p.employee_id))
        row = stored.get(p.employee_id)
        if row is None:
            added.append({"employee_id": p.employee_id, **values})
            continue
        if p.directory_id is None:
            values["directory_id"] = row.directory_id  # a CSV does not unset the SCIM id
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            if row.active and not p.active:
                left += 1
            updates.append({"b_id": p.employee_id, **values})
            if "department" in changed or "team" in changed:
                moved_ids.append(p)
    scim_ids = {row.directory_id: row.employee_id for row in stored.values() if row.directory_id}
    scim_ids.update({p.directory_id: p.employee_id for p in people if p.directory_id})
    for _number, scim_id in leavers:
        employee_id = scim_ids[scim_id]
        row = stored.get(employee_id)
        if row is not None and row.active:
            left += 1
            conn.execute(sa.update(db.employees).where(e.employee_id == employee_id).values(active=False))
    if added:
        dated = [{"employee_id": a["employee_id"], "department": a["department"], "team": a["team"],
                  "valid_from": None, "valid_to": None} for a in added]
        _insert_many(conn, db.employees, added)
        _insert_many(conn, db.employee_departments, dated)
    if updates:
        statement = (sa.update(db.employees).where(e.employee_id == sa.bindparam("b_id"))
                     .values({c: sa.bindparam(c) for c in _COLUMNS}))
        for start in range(0, len(updates), 5000):
            conn.execute(statement, updates[start:start + 5000])
    moved = [p.employee_id for p in moved_ids]
    for start in range(0, len(moved), 500):
        chunk = moved[start:start + 500]
        current = sa.and_(h.employee_id.in_(chunk), h.valid_to.is_(None))
        # Changed again on the same day (or dated later): the newer change replaces it.
        conn.execute(sa.delete(db.employee_departments).where(current, h.valid_from >= effective))
        conn.execute(sa.update(db.employee_departments).where(current).values(valid_to=effective))
    if moved_ids:
        _insert_many(conn, db.employee_departments, [
            {"employee_id": p.employee_id, "department": p.department, "team": p.team, "valid_from": effective,
             "valid_to": None} for p in moved_ids])
    unchanged = len(people) - len(added) - len(updates)
    return {"added": len(added), "updated": len(updates), "unchanged": unchanged, "leavers": left,
            "moved": len(moved_ids)}


def _insert_many(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``; on SQLite straight through the driver's executemany (three times faster at 100,000)."""
    if conn.dialect.name != "sqlite":
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(table), rows[start:start + 5000])
        return
    columns = list(rows[0])
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.exec_driver_sql(sql, [tuple(row[c] for c in columns) for row in rows])


def read_directory(source: str | Path, *, fmt: str | None = None,
                   subject_from: str = "externalId") -> Iterator[Person]:
    """The people in ``source`` as read (no check against the stored directory); for tools and tests."""
    problems = Problems()
    reader = _read(source, fmt, subject_from, problems)
    problems.raise_if_any(str(source))
    yield from reader.people


def scim_user(person: Person) -> dict[str, Any]:
    """``person`` as a SCIM User with the enterprise extension (what ``portal seed`` writes)."""
    enterprise: dict[str, Any] = {"employeeNumber": person.employee_id, "department": person.department}
    schemas = [USER_SCHEMA, ENTERPRISE_SCHEMA] + ([TEAM_SCHEMA] if person.team != person.department else [])
    if person.manager:
        enterprise["manager"] = {"value": person.manager, "$ref": f"../Users/{person.manager}"}
    user: dict[str, Any] = {
        "schemas": schemas, "id": person.directory_id or person.employee_id,
        "userName": person.email, "displayName": person.display_name,
        "emails": [{"value": person.email, "type": "work", "primary": True}], "title": person.job_title,
        "active": person.active, ENTERPRISE_SCHEMA: enterprise}
    if TEAM_SCHEMA in schemas:
        user[TEAM_SCHEMA] = {"team": person.team}
    if person.subject:
        user["externalId"] = person.subject
    return user


def scim_list(people: list[Person]) -> str:
    """A SCIM ListResponse of ``people``, as JSON."""
    return json.dumps({"schemas": [LIST_RESPONSE], "totalResults": len(people), "startIndex": 1,
                       "itemsPerPage": len(people), "Resources": [scim_user(p) for p in people]}, ensure_ascii=False)
