"""A person's copy of everything held about them (GDPR Art. 15 access, Art. 20 portability).

The copy is one ZIP file:

* ``telemetry/<table>.jsonl`` and ``.csv`` for every catalog category (and
  ``.parquet`` for large ones), built by iterating :data:`portal.core.catalog.CATEGORIES`
  so that no telemetry table can be left out;
* ``access_events``, ``privacy_requests``, ``request_history``, ``objections``,
  ``dataset_memberships`` and ``models`` (JSON Lines and CSV; :mod:`portal.privacy.copy_tables`),
  keyed by stable codes with labels beside them;
* ``you.json`` (the employee record), ``README.txt`` and ``manifest.json``
  (purposes, categories, recipients, retention, sources, legal bases, rights, and
  every other file with its SHA-256, size, rows and schema: column, type, meaning).

It is written category by category, in batches, into a temporary file next to
the destination and moved into place only when complete, so nothing half-written
is ever offered. CSV cells that a spreadsheet would run as a formula (starting
with ``= + - @``, tab or carriage return) get a leading apostrophe (OWASP "CSV
injection"); the JSON Lines files keep the exact values.

When the privacy office builds someone's copy (:func:`build_copy_for_subject`),
each category read is an access event that the person sees.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import secrets
import tempfile
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import polars as pl
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.audit import my_access
from portal.identity import directory
from portal.audit import access_events
from portal.core import catalog, db, i18n
from portal.core.i18n import N_, _, ngettext
from portal.privacy import copy_tables, optout, privacy_requests
from portal.lineage import my_lineage
from portal.identity import policy
from portal.identity.principal import Principal
from portal.core.plain_text import FORMULA_PREFIXES, neutralise_cell  # noqa: F401 - the copy's rule, shared
from portal.lake.telemetry import PARTITION_COLUMN, TelemetryStore

Progress = Callable[[float, str], None]

BATCH_ROWS = 5_000
PARQUET_MIN_ROWS = 10_000  # "large": a spreadsheet struggles, an analyst wants typed columns
CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.6fZ"
COPY_MAX_AGE = timedelta(hours=1)
COPY_FORMAT = "telemetry-portal-copy/2"
MANIFEST_FILES_NOTE = N_(
    "Every file in this ZIP except manifest.json itself. sha256 and bytes are of the file as extracted. "
    "For a table, rows counts its records (the .jsonl, .csv and .parquet files of one table hold the same "
    "records) and schema lists each column with its type and meaning; codes (category_key, purpose_code, "
    "status, actor_kind, flag_codes) stay the same from copy to copy, the labels beside them are for reading.")
CLI_SUBJECT = "svc:portal-cli"
PRIVACY_OFFICE_PURPOSE = "legal.compliance"

# The right and what it means are marked here and written in the language of the person the copy is for.
RIGHTS = (
    ("Art. 15", N_("Access"), N_("You may get confirmation of what is held about you and a copy of it. This file is "
                                 "that copy.")),
    ("Art. 16", N_("Rectification"), N_("You may have inaccurate data about you corrected.")),
    ("Art. 17", N_("Erasure"), N_("You may ask for your data to be erased where there is no longer a reason to keep "
                                  "it.")),
    ("Art. 18", N_("Restriction"), N_("You may ask that your data is kept but not used while a dispute is settled.")),
    ("Art. 20", N_("Portability"), N_("You may receive your data in a machine-readable format (the JSON Lines, CSV "
                                      "and Parquet files here) and have it passed to another controller.")),
    ("Art. 21", N_("Objection"), N_("You may object to processing based on legitimate interests, including use for "
                                    "training AI systems, for the categories marked as open to objection.")),
    ("Art. 77", N_("Complaint"), N_("You may complain to a data protection supervisory authority.")),
)


class ExportError(ValueError):
    """The copy cannot be made; the message says why. Nothing was written."""


@dataclass(frozen=True)
class CopyReport:
    path: Path
    bytes: int
    records: dict[str, int]  # category key -> records
    files: tuple[str, ...]
    seconds: float
    event_ids: tuple[str, ...] = ()  # access events recorded for a privacy-office export

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    def describe(self) -> str:
        return ngettext("Wrote {path} ({size}, {n} telemetry record in {files} files) in {seconds}s.",
                        "Wrote {path} ({size}, {n} telemetry records in {files} files) in {seconds}s.",
                        self.total_records).format(
            path=self.path, size=human_size(self.bytes), n=i18n.number(self.total_records),
            files=i18n.number(len(self.files)), seconds=i18n.decimal(self.seconds, 1))


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`neutralise_cell` applied to every string column."""
    pattern = "^[" + "".join({"-": r"\-", "\t": r"\t", "\r": r"\r"}.get(c, c) for c in FORMULA_PREFIXES) + "]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(pattern)).then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items() if dtype == pl.String
    )


# ---- where copies live -------------------------------------------------------


def copies_dir(data_dir: Path) -> Path:
    """Finished copies waiting to be downloaded; inside the data directory so erasure can find them."""
    return Path(data_dir) / "copies"


def purge_copies(directory: Path, *, employee_id: str | None = None, max_age: timedelta = COPY_MAX_AGE) -> int:
    """Delete every copy of ``employee_id`` (erasure), and people's own copies older than ``max_age``.

    Own copies (``copy-<employee>-self-...``) only wait to be downloaded; copies made
    for a privacy request are kept until the request's process removes them.
    Returns how many files were deleted.
    """
    if not directory.is_dir():
        return 0
    cutoff = time.time() - max_age.total_seconds()
    removed = 0
    for path in directory.glob("copy-*.zip*"):
        theirs = employee_id is not None and path.name.startswith(f"copy-{employee_id}-")
        try:
            if theirs or ("-self-" in path.name and path.stat().st_mtime < cutoff):
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


# ---- the copy ------------------------------------------------------------------


class _Writer:
    """Adds entries to the ZIP one at a time and remembers what it wrote."""

    def __init__(self, archive: zipfile.ZipFile, scratch: Path) -> None:
        self.archive, self.scratch = archive, scratch
        self.files: list[str] = []
        self.entries: dict[str, dict[str, Any]] = {}  # name -> what the manifest says of it
        self.stamp = datetime.now().timetuple()[:6]

    def _entry(self, name: str) -> zipfile.ZipInfo:
        # A ZipInfo of our own: entries opened for streaming would otherwise be dated 1980.
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def _record(self, name: str, digest: _Digest, rows: int | None = None,
                schema: list[dict[str, str]] | None = None) -> None:
        self.files.append(name)
        self.entries[name] = {"path": name, "bytes": digest.size, "sha256": digest.hash.hexdigest(),
                              "format": name.rsplit(".", 1)[-1], "rows": rows, "schema": schema}

    def text(self, name: str, content: str) -> None:
        data = content.encode("utf-8")
        self.archive.writestr(self._entry(name), data)
        self._record(name, _Digest().add(data))

    def frames(self, stem: str, batches: Callable[[], Any], parquet: bool = False) -> None:
        """``stem``.jsonl and ``stem``.csv (and .parquet) from a fresh batch iterator each time."""
        rows, schema = 0, None
        with self.archive.open(self._entry(f"{stem}.jsonl"), "w", force_zip64=True) as handle:
            jsonl = _Digest(handle)
            for batch in batches():
                batch.write_ndjson(jsonl)
                rows += batch.height
                schema = schema or [{"column": name, "type": copy_tables.type_name(dtype),
                                     "meaning": copy_tables.meaning(stem, name)}
                                    for name, dtype in batch.schema.items()]
        with self.archive.open(self._entry(f"{stem}.csv"), "w", force_zip64=True) as handle:
            csv_digest = _Digest(handle)
            _write_csv(cast(IO[bytes], csv_digest), batches())  # written to like a file
        self._record(f"{stem}.jsonl", jsonl, rows, schema)
        self._record(f"{stem}.csv", csv_digest, rows, schema)
        if parquet:
            path = self.scratch / "table.parquet"
            writer = None
            try:
                for batch in batches():
                    table = batch.to_arrow()
                    if writer is None:
                        writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()
            if writer is not None:
                self.archive.write(path, f"{stem}.parquet")
                digest = _Digest()
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.add(chunk)
                self._record(f"{stem}.parquet", digest, rows, schema)
                path.unlink()


class _Digest:
    """Passes bytes on to ``handle`` (if any), counting them and hashing them with SHA-256."""

    def __init__(self, handle: IO[bytes] | None = None) -> None:
        self.handle, self.hash, self.size = handle, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.add(data)
        if self.handle is not None:
            self.handle.write(data)
        return len(data)

    def add(self, data: bytes) -> _Digest:
        """Count and hash ``data`` without passing it on."""
        self.hash.update(data)
        self.size += len(data)
        return self

    def flush(self) -> None:
        if self.handle is not None:
            self.handle.flush()


def _write_csv(handle: IO[bytes], batches: Any) -> None:
    header = True
    for batch in batches:
        neutralised(batch).write_csv(handle, include_header=header, datetime_format=CSV_DATETIME)
        header = False


def _slices(frame: pl.DataFrame) -> Callable[[], Any]:
    return lambda: frame.iter_slices(BATCH_ROWS) if frame.height else iter([frame])


@dataclass(frozen=True)
class _Subject:
    employee_id: str
    display_name: str
    email: str
    department: str
    team: str
    job_title: str
    hired_on: Any


def _subject(conn: Connection, employee_id: str) -> _Subject:
    row = conn.execute(sa.select(db.employees).where(db.employees.c.employee_id == employee_id)).first()
    if row is None:
        raise directory.UnknownSubject(employee_id)
    return _Subject(row.employee_id, row.display_name, row.email, row.department, row.team, row.job_title,
                    row.hired_on)


def _build(engine: Engine, store: TelemetryStore, employee_id: str, destination: Path, *, naming: str,
           requested_by: str, progress: Progress | None) -> tuple[CopyReport, Path]:
    """Write the copy to a temporary file beside ``destination``; the caller moves it into place."""
    started = time.perf_counter()
    report = progress or (lambda _f, _m: None)
    with engine.connect() as conn:
        subject = _subject(conn, employee_id)
        events = my_access.events_for_subject(conn, employee_id, naming=naming,
                                               max_principals=store.settings.max_principals)
        held = my_lineage.lineage_for_subject(conn, employee_id)
        requests = privacy_requests.requests_with_history(conn, employee_id)
        objections = optout.objections(conn, employee_id)
    summary = {row["category"]: row for row in store.summary(employee_id).iter_rows(named=True)}
    total = max(1, sum(int(r["records"]) for r in summary.values()))
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=destination.name + ".", suffix=".part", dir=destination.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    records: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory(dir=destination.parent) as scratch, \
                zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            out = _Writer(archive, Path(scratch))
            done = 0
            for cat in catalog.CATEGORIES:  # every catalog table, whether or not the summary lists it
                report(done / total * 0.95, _("Copying {category} ...").format(
                    category=cat.name.lower() if i18n.language() == "en" else cat.name))
                frame = store.scan(cat.table_name, employee_id).collect()
                frame = frame.drop([c for c in (PARTITION_COLUMN,) if c in frame.columns])
                records[cat.key] = frame.height
                out.frames(f"telemetry/{cat.table_name}", _slices(frame), parquet=frame.height >= PARQUET_MIN_ROWS)
                done += frame.height
                del frame
            report(0.96, _("Adding who read your data and where it went ..."))
            out.frames("access_events", _slices(copy_tables.access_events(events)))
            out.frames("privacy_requests", _slices(copy_tables.privacy_requests_frame(requests)))
            out.frames("request_history", _slices(copy_tables.request_history(requests)))
            out.frames("objections", _slices(copy_tables.objections(objections)))
            out.frames("dataset_memberships", _slices(copy_tables.dataset_memberships(held)))
            out.frames("models", _slices(copy_tables.models(held)))
            out.text("you.json", json.dumps(_you(subject), indent=2, default=_json_value) + "\n")
            out.text("README.txt", _readme(subject, records, requested_by))
            # Written last: it lists every other file with its SHA-256, size, rows and schema.
            manifest = _manifest(subject, records, summary, events, held, requested_by, out.entries,
                                 requests=len(requests), objections=len(objections))
            out.text("manifest.json", json.dumps(manifest, indent=2, default=_json_value) + "\n")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    report(1.0, _("Finished writing the file."))
    return CopyReport(destination, tmp.stat().st_size, records, tuple(out.files),
                      time.perf_counter() - started), tmp


def _json_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def human_size(size: int) -> str:
    """Bytes as a person reads them: 820 KB, 12.4 MB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{i18n.decimal(size / scale, 1)} {unit}"
    return ngettext("{n} byte", "{n} bytes", size).format(n=i18n.number(size))


def _you(subject: _Subject) -> dict:
    return {"employee_id": subject.employee_id, "name": subject.display_name, "email": subject.email,
            "department": subject.department, "team": subject.team, "job_title": subject.job_title,
            "hired_on": subject.hired_on}


def _manifest(subject: _Subject, records: dict[str, int], summary: dict, events: list, held: my_lineage.Lineage,
              requested_by: str, entries: dict[str, dict[str, Any]], *, requests: int, objections: int) -> dict:
    recipients: dict[str, dict] = {}
    for e in events:
        r = recipients.setdefault(e.actor_id, {"name": e.actor, "kind": e.actor_kind, "team": e.actor_team,
                                               "role": e.actor_role, "categories": {}, "reads": 0})
        r["categories"][e.category_key] = e.category
        r["reads"] += 1
    return {
        "format": COPY_FORMAT,
        "copy_of": subject.display_name,
        "employee_id": subject.employee_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "requested_by": requested_by,
        "categories": [{
            "key": c.key, "name": c.name, "description": c.description, "kind": c.kind,
            "records": records.get(c.key, 0),
            "first_record": summary.get(c.key, {}).get("first_ts"), "last_record": summary.get(c.key, {}).get("last_ts"),
            "purposes": [{"code": p, "name": catalog.PURPOSE_BY_CODE[p].name,
                          "description": catalog.PURPOSE_BY_CODE[p].description,
                          "legal_basis": c.legal_basis_for(p), "you_can_object": p in c.objectionable_purposes}
                         for p in c.purposes],
            "legal_basis": c.legal_basis, "retention": f"kept for {c.retention_days} days from recording",
            "retention_days": c.retention_days, "source": c.source_system,
            "you_can_object": c.objection_possible, "erasable_on_request": c.erasable,
            "roles_that_may_read_it": list(c.allowed_roles),
            "files": [f for f in entries if f.startswith(f"telemetry/{c.table_name}.")],
        } for c in catalog.CATEGORIES],
        "recipients": sorted(({**r, "categories": [{"key": k, "name": n} for k, n in sorted(r["categories"].items())]}
                              for r in recipients.values()), key=lambda r: (-r["reads"], r["name"])),
        "access_events": len(events),
        "privacy_requests": requests,
        "objections": objections,
        "training_datasets": [{"name": u.name, "version": u.version, "namespace": u.namespace, "status": u.status,
                               "status_words": u.status_words, "purpose_code": u.purpose_code,
                               "purpose": u.purpose} for u in held.datasets],
        "models": [{"name": m.name, "version": m.version} for m in held.models],
        "your_rights": [{"article": f"GDPR {a}", "right": _(r), "what": _(w)} for a, r, w in RIGHTS],
        "files_note": _(MANIFEST_FILES_NOTE),
        "files": list(entries.values()),
    }


# The README's table of files: a file (or pattern) and what it holds, marked here, written in the reader's language.
README_FILES = (
    ("README.txt", N_("this explanation")),
    ("manifest.json", N_("for each category: what it is, why it is collected (purposes), the legal basis, how long "
                         "it is kept, where it comes from, who may read it, and whether you can object; who did read "
                         "your data (recipients); your rights; and every other file of this ZIP with its SHA-256, "
                         "size, number of rows and schema (each column with its type and meaning)")),
    ("you.json", N_("your employee record as the portal holds it")),
    ("telemetry/<table>.jsonl", N_("every telemetry record about you in that category, one JSON object per line")),
    ("telemetry/<table>.csv", N_("the same records as a spreadsheet (see CSV NOTE)")),
    ("telemetry/<table>.parquet", N_("the same again, typed, for categories with many records")),
    ("access_events.*", N_("every time someone other than you read your data: when, who, what, how many records, "
                           "the stated purpose and justification, and why a read was flagged")),
    ("privacy_requests.*", N_("your requests (erasure, objection, copy): scope, status, deadline, reasons")),
    ("request_history.*", N_("every step of each request: when, what happened, by whom (a role), why")),
    ("objections.*", N_("your objections in force: the purpose or category, since when")),
    ("dataset_memberships.*", N_("the AI training datasets that include your data, with your records per category "
                                 "and the dataset's status")),
    ("models.*", N_("the models trained on those datasets")),
)
README_WIDTH = 110


def _paragraph(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, README_WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False, break_long_words=False)


def _readme(subject: _Subject, records: dict[str, int], requested_by: str) -> str:
    """The copy's README in the language in use when the copy is made: the language of the person who asked."""
    now = datetime.now(UTC)
    lines = [
        _("A copy of everything the company holds about {name} ({employee_id})").format(
            name=subject.display_name, employee_id=subject.employee_id),
        _("Made on {day} at {time} UTC, {requested_by}.").format(day=i18n.long_day(now), time=f"{now:%H:%M}",
                                                                 requested_by=requested_by),
        "",
        *_paragraph(_("This is your copy under GDPR Art. 15 (right of access) and Art. 20 (data portability)."), ""),
        "",
        _("FILES"),
    ]
    for name, what in README_FILES:
        described = textwrap.wrap(_(what), README_WIDTH - 29, break_on_hyphens=False, break_long_words=False)
        lines.append(f"  {name:<27}{described[0]}")
        lines += [" " * 29 + more for more in described[1:]]
    lines += [
        "",
        _("CODES AND LABELS"),
        *_paragraph(_("Tables name things by stable codes (category_key, purpose_code, action, actor_kind, status, "
                      "flag_codes), with the words you read beside them (category, purpose, status_words, flags). "
                      "A program should use the codes; manifest.json says what each column means.")),
        "",
        _("CHECKING THE FILES"),
        *_paragraph(_("sha256sum (or shasum -a 256) of an extracted file gives the sha256 that manifest.json lists "
                      "for it.")),
        "",
        _("CATEGORIES"),
    ]
    for c in catalog.CATEGORIES:
        count = records.get(c.key, 0)
        lines.append(f"  {c.table_name:<22} " + ngettext("{name}: {n} record. {description}",
                                                         "{name}: {n} records. {description}", count).format(
            name=c.name, n=i18n.number(count), description=c.description))
    lines += [
        "",
        _("CSV NOTE"),
        *_paragraph(_("Cells that begin with = + - @, a tab or a carriage return start with an extra apostrophe (') "
                      "so that a spreadsheet shows them as text instead of running them as a formula. The JSON Lines "
                      "and Parquet files hold the exact values. Times are UTC.")),
        "",
        _("YOUR RIGHTS"),
    ]
    for article, right, what in RIGHTS:
        lines += _paragraph(_("GDPR {article} {right}: {what}").format(article=article, right=_(right), what=_(what)))
    lines += ["", _("To use them, file a request in the portal or write to the privacy office."), ""]
    return "\n".join(lines)


# ---- entry points --------------------------------------------------------------


def copy_file_name(display_name: str, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return f"my-data-copy-{when:%Y-%m-%d}.zip"


def build_my_copy(engine: Engine, store: TelemetryStore, principal: Principal, directory: Path, *,
                  naming: str = "names", progress: Progress | None = None) -> CopyReport:
    """The signed-in person's own copy, written into ``directory`` (see :func:`copies_dir`).

    Reading your own data is not logged as an access by someone else.
    """
    employee_id = my_access.own_subject(principal, "export:own")
    purge_copies(directory)
    destination = directory / f"copy-{employee_id}-self-{secrets.token_hex(8)}.zip"
    report, tmp = _build(engine, store, employee_id, destination, naming=naming,
                         requested_by=_("at your own request in the portal"), progress=progress)
    tmp.replace(destination)
    return report


def cli_principal() -> Principal:
    """The command line as a service actor of the privacy office."""
    return Principal(subject=CLI_SUBJECT, email=None, name="Portal command line (privacy office)", employee=None,
                     roles=frozenset({policy.PRIVACY_OFFICE}))


def build_copy_for_subject(engine: Engine, store: TelemetryStore, principal: Principal, subject: str,
                           destination: Path, reason: str, *, purpose: str = PRIVACY_OFFICE_PURPOSE,
                           naming: str = "names", overwrite: bool = False,
                           progress: Progress | None = None, now: datetime | None = None) -> CopyReport:
    """The privacy office's copy of ``subject`` (employee id, e-mail or OIDC subject).

    Each category read becomes an access event the person sees, with ``reason``
    as its justification, recorded at ``now`` (default: the clock). The events are
    committed before the file is moved into place: a copy never exists without its record.
    """
    policy.ensure(principal, "subjects:lookup")
    if not isinstance(reason, str) or not reason.strip():
        raise ExportError(_("a reason is required: the person will read it next to this access"))
    if purpose not in catalog.PURPOSE_BY_CODE:
        raise ExportError(_("{purpose} is not a registered purpose code; known: {known}").format(
            purpose=repr(purpose), known=", ".join(sorted(catalog.PURPOSE_BY_CODE))))
    if destination.exists() and not overwrite:
        raise ExportError(_("{path} already exists; choose another file or overwrite it explicitly").format(
            path=destination))
    with engine.connect() as conn:
        try:
            employee_id = directory.resolve_subject(conn, subject)
        except directory.UnknownSubject as exc:
            raise ExportError(str(exc)) from None
    report, tmp = _build(engine, store, employee_id, destination, naming=naming,
                         requested_by=_("by the privacy office on your behalf"), progress=progress)
    try:
        run_id = f"export-{uuid.uuid4().hex[:12]}-by-{_operator()}"[:100]
        reads = [access_events.Read(key, count) for key, count in report.records.items()]
        with engine.begin() as conn:
            ids = access_events.record_reads(conn, principal, employee_id, reads, purpose, reason, access_events.EXPORT,
                                          query_id=run_id, now=now)
        tmp.replace(destination)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return CopyReport(destination, report.bytes, report.records, report.files, report.seconds, tuple(ids))


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"
