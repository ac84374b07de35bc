"""Objections (opt-outs) and erasures as a registry that collectors and dataset builds must respect.

* An **objection** (``db.objections``, recorded when an objection request is
  carried out) names a purpose (e.g. ``train_ai_system``) or a category. While it
  exists it excludes the person from every future dataset built for that purpose,
  or drawing on that category. :func:`optout_frame` is the list collectors and
  pipelines fetch (``portal optouts export``).
* An **erasure** leaves a tombstone: an HMAC-SHA-256 of the person's subject id
  under a secret salt kept in ``<data dir>/tombstone.salt`` (created 0600 on
  first use). The id itself is not kept, yet a manifest that still lists the
  person is recognised.
* :func:`check_dataset` is the gate for training pipelines: it reads a manifest
  (CSV or Parquet with a ``subject_id`` column, optionally ``category``) and
  names every subject who objected to the purpose or a category in scope, or
  whose data in scope was erased.

Scope of a manifest row: its ``category`` when the manifest has that column,
else the categories given with ``--category``; with neither, every category is
in scope, because a gate that cannot tell must not let a person through.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core.times import as_utc
from portal.core import catalog, db
from portal.core.i18n import _, ngettext
from portal.identity.principal import Principal
from portal.identity.policy import ensure

SALT_FILE = "tombstone.salt"
SALT_BYTES = 32
EXPORT_FORMATS = ("csv", "json")
EXPORT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "subject_id": pl.String, "purpose": pl.String, "category": pl.String, "since": pl.Datetime("us", "UTC"),
    "request_id": pl.String}
MAX_LISTED = 20  # problems named in one message before "and N more"


class OptOutError(ValueError):
    """The registry cannot be used as asked; the message says why."""


class ManifestError(OptOutError):
    """A manifest the gate cannot read; the message names the problem."""


# ---- tombstones -----------------------------------------------------------------------


def salt(data_dir: str | os.PathLike) -> bytes:
    """The secret tombstone salt of this data directory, created (mode 0600) on first use."""
    path = Path(data_dir) / SALT_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(SALT_BYTES))
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise OptOutError(_("{path}: mode {mode} lets other users read the tombstone salt; expected 0600").format(
                path=path, mode=f"{mode:04o}"))
        value = path.read_bytes()
    except OSError as exc:
        raise OptOutError(_("{path}: cannot read the tombstone salt: {problem}").format(
            path=path, problem=exc.strerror or exc)) from None
    if len(value) != SALT_BYTES:
        raise OptOutError(_("{path}: the tombstone salt is {n} bytes, expected {expected}; restore it from backup "
                            "(without it, erased people can no longer be recognised)").format(
            path=path, n=len(value), expected=SALT_BYTES))
    return value


def subject_hash(salt_value: bytes, subject_id: str) -> str:
    return hmac.new(salt_value, subject_id.encode("utf-8"), hashlib.sha256).hexdigest()


def record_tombstone(conn: Connection, salt_value: bytes, subject_id: str, request_id: str,
                     categories: tuple[str, ...] | None, now: datetime) -> str:
    """Add or widen the person's tombstone (``categories`` None: every category); returns the hash."""
    digest = subject_hash(salt_value, subject_id)
    t = db.erasure_tombstones.c
    row = conn.execute(sa.select(t.categories).where(t.subject_hash == digest)).first()
    cats = None if categories is None else sorted(set(categories))
    if row is None:
        conn.execute(sa.insert(db.erasure_tombstones).values(
            subject_hash=digest, request_id=request_id, categories=None if cats is None else json.dumps(cats),
            erased_at=now))
    elif row.categories is not None:
        widened = None if cats is None else json.dumps(sorted(set(json.loads(row.categories)) | set(cats)))
        conn.execute(sa.update(db.erasure_tombstones).where(t.subject_hash == digest)
                     .values(categories=widened, request_id=request_id, erased_at=now))
    return digest


def tombstone(conn: Connection, salt_value: bytes, subject_id: str) -> tuple[str, ...] | None | bool:
    """False when the subject was never erased; else the erased categories (None: all)."""
    t = db.erasure_tombstones.c
    row = conn.execute(sa.select(t.categories).where(t.subject_hash == subject_hash(salt_value, subject_id))).first()
    if row is None:
        return False
    return None if row.categories is None else tuple(json.loads(row.categories))


# ---- objections -----------------------------------------------------------------------


@dataclass(frozen=True)
class Objection:
    objection_id: str
    employee_id: str
    purpose_code: str | None
    category_key: str | None
    request_id: str | None
    effective_at: datetime

    @property
    def words(self) -> str:
        if self.purpose_code:
            return _("objected to {purpose}").format(purpose=catalog.PURPOSE_BY_CODE[self.purpose_code].name)
        assert self.category_key is not None  # an objection names a purpose or a category
        return _("objected to any use of {category}").format(category=catalog.category(self.category_key).name)


def record_objections(conn: Connection, employee_id: str, request_id: str, purpose: str | None,
                      categories: tuple[str, ...], now: datetime) -> list[str]:
    """Record the objections of one request; idempotent (the ids derive from the request)."""
    wanted: list[tuple[str, str | None, str | None]] = ([(f"{request_id}-P", purpose, None)] if purpose else [])
    wanted += [(f"{request_id}-C{i}", None, key) for i, key in enumerate(sorted(categories), 1)]
    o = db.objections.c
    have = set(conn.execute(sa.select(o.objection_id).where(o.request_id == request_id)).scalars())
    for objection_id, purpose_code, category_key in wanted:
        if objection_id not in have:
            conn.execute(sa.insert(db.objections).values(
                objection_id=objection_id, employee_id=employee_id, purpose_code=purpose_code,
                category_key=category_key, request_id=request_id, effective_at=now))
    return [w[0] for w in wanted]



def objections(conn: Connection, employee_id: str | None = None) -> list[Objection]:
    query = sa.select(db.objections).order_by(db.objections.c.effective_at, db.objections.c.objection_id)
    if employee_id is not None:
        query = query.where(db.objections.c.employee_id == employee_id)
    return [Objection(r.objection_id, r.employee_id, r.purpose_code, r.category_key, r.request_id,
                      as_utc(r.effective_at)) for r in conn.execute(query)]


def optout_frame(engine: Engine, principal: Principal) -> pl.DataFrame:
    """Every active objection: ``subject_id, purpose, category, since, request_id`` (privacy office)."""
    ensure(principal, "requests:read_all")
    with engine.connect() as conn:
        rows = [{"subject_id": o.employee_id, "purpose": o.purpose_code, "category": o.category_key,
                 "since": o.effective_at, "request_id": o.request_id} for o in objections(conn)]
    return pl.DataFrame(rows, schema=EXPORT_SCHEMA)


def export_text(frame: pl.DataFrame, fmt: str) -> str:
    """The opt-out list as CSV (header line) or as a JSON array of objects."""
    if fmt not in EXPORT_FORMATS:
        raise OptOutError(_("unknown format {format}; choose {known}").format(
            format=repr(fmt), known=_(" or ").join(EXPORT_FORMATS)))
    frame = frame.with_columns(pl.col("since").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if fmt == "csv":
        return frame.write_csv()
    return json.dumps(frame.to_dicts(), indent=2) + "\n"


def excluded_subjects(engine: Engine, purpose: str, categories: tuple[str, ...] | None = None) -> set[str]:
    """Subject ids a new dataset for ``purpose`` drawing on ``categories`` (None: any) must leave out.

    Objections only; erased people are known by hash and caught by :func:`check_dataset`.
    """
    _known_purpose(purpose)
    with engine.connect() as conn:
        return {o.employee_id for o in objections(conn) if _objection_applies(o, purpose, categories)}


def _objection_applies(o: Objection, purpose: str, categories: tuple[str, ...] | None) -> bool:
    """An objection to a purpose covers every use for it (a dataset cannot be partly for a purpose); one to a
    category covers every use of that category but those the catalog declares on a basis not open to objection
    (an objection to performance records covers training AI systems on them, not performance management; a
    use the catalog does not declare at all is covered)."""
    if o.purpose_code is not None:
        return o.purpose_code == purpose
    if categories is not None and o.category_key not in categories:
        return False
    found = catalog.CATEGORY_BY_KEY.get(o.category_key or "")
    return found is None or purpose not in found.purposes or purpose in found.objectionable_purposes


def _known_purpose(purpose: str) -> None:
    if purpose not in catalog.PURPOSE_BY_CODE:
        raise OptOutError(_("unknown purpose {purpose}; known purposes: {known}").format(
            purpose=repr(purpose), known=", ".join(sorted(catalog.PURPOSE_BY_CODE))))


# ---- the dataset gate -------------------------------------------------------------------


def read_manifest(path: str | os.PathLike) -> pl.DataFrame:
    """``subject_id`` (and ``category`` when present) of a CSV or Parquet manifest, as strings."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise ManifestError(_("cannot read the manifest {path}: {problem}").format(
            path=path, problem=exc.strerror or exc)) from None
    if not head:
        raise ManifestError(_("the manifest {path} is empty").format(path=path))
    try:
        if head[:4] == b"PAR1":
            frame = pl.read_parquet(path)
        elif b"\x00" in head:
            raise ManifestError(_("the manifest {path} is neither CSV nor Parquet (it holds binary data)").format(
                path=path))
        else:
            frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise ManifestError(_("the manifest {path} is neither readable CSV nor Parquet: {problem}").format(
            path=path, problem=str(exc).strip().splitlines()[0][:200])) from None
    if "subject_id" not in frame.columns:
        raise ManifestError(_("the manifest {path} has no subject_id column (columns: {columns})").format(
            path=path, columns=", ".join(frame.columns) or _("none")))
    columns = ["subject_id"] + (["category"] if "category" in frame.columns else [])
    frame = frame.select(pl.col(c).cast(pl.String).str.strip_chars() for c in columns)
    if frame.height == 0:
        raise ManifestError(_("the manifest {path} holds no rows").format(path=path))
    blank = frame.with_row_index("row", 1).filter(pl.col("subject_id").is_null() | (pl.col("subject_id") == ""))
    if blank.height:
        rows = ", ".join(str(r) for r in blank["row"].head(MAX_LISTED))
        raise ManifestError(_("the manifest {path} has rows without a subject_id (data row(s) {rows})").format(
            path=path, rows=rows))
    if "category" in frame.columns:
        unknown = sorted(set(frame["category"].drop_nulls()) - set(catalog.CATEGORY_BY_KEY))
        if unknown:
            raise ManifestError(ngettext("the manifest {path} names unknown category {keys}",
                                         "the manifest {path} names unknown categories {keys}", len(unknown)).format(
                path=path, keys=", ".join(unknown[:MAX_LISTED])))
    return frame


@dataclass(frozen=True)
class Offender:
    subject: str  # as written in the manifest
    reasons: tuple[str, ...]

    def line(self) -> str:
        return f"{self.subject}: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class GateResult:
    purpose: str
    rows: int
    subjects: int
    offenders: tuple[Offender, ...]

    @property
    def clean(self) -> bool:
        return not self.offenders


def check_dataset(engine: Engine, data_dir: str | os.PathLike, manifest: str | os.PathLike, purpose: str,
                  categories: tuple[str, ...] | None = None) -> GateResult:
    """Every subject of ``manifest`` who must not be in a dataset for ``purpose``; see the module docstring."""
    _known_purpose(purpose)
    for category_key in categories or ():
        catalog.category(category_key)
    frame = read_manifest(manifest)
    scope: dict[str, set[str] | None] = defaultdict(set)
    for row in frame.iter_rows(named=True):
        category = row.get("category") or None
        current = scope[row["subject_id"]]
        if current is None:
            continue
        if category is not None:
            current.add(category)
        elif categories:
            current.update(categories)
        else:
            scope[row["subject_id"]] = None  # unknown categories: all are in scope
    key = salt(data_dir)
    with engine.connect() as conn:
        ids = _employee_ids(conn)
        by_person: dict[str, list[Objection]] = defaultdict(list)
        for o in objections(conn):
            by_person[o.employee_id].append(o)
        stones = {r.subject_hash: r for r in conn.execute(sa.select(db.erasure_tombstones))}
    offenders = []
    for subject, cats in scope.items():
        employee_id = ids.get(subject) or ids.get(subject.lower()) or subject
        in_scope = None if cats is None else tuple(sorted(cats))
        reasons = [_("{objection} since {day}").format(objection=o.words, day=f"{o.effective_at:%Y-%m-%d}")
                   + (f" ({o.request_id})" if o.request_id else "")
                   for o in by_person.get(employee_id, []) if _objection_applies(o, purpose, in_scope)]
        stone = stones.get(subject_hash(key, employee_id))
        if stone is not None:
            erased = None if stone.categories is None else set(json.loads(stone.categories))
            if erased is None or in_scope is None or erased & set(in_scope):
                what = _("all telemetry") if erased is None else ", ".join(
                    catalog.category(c).name for c in sorted(erased))
                reasons.append(_("erased ({what}) on {day}").format(what=what,
                                                                    day=f"{as_utc(stone.erased_at):%Y-%m-%d}"))
        if reasons:
            offenders.append(Offender(subject, tuple(reasons)))
    offenders.sort(key=lambda o: o.subject)
    return GateResult(purpose, frame.height, len(scope), tuple(offenders))


def _employee_ids(conn: Connection) -> dict[str, str]:
    """Employee id, OIDC subject and lower-cased e-mail, each to the employee id."""
    found: dict[str, str] = {}
    e = db.employees.c
    for employee_id, sub, email in conn.execute(sa.select(e.employee_id, e.oidc_sub, e.email)):
        found[email.lower()] = employee_id
        if sub:
            found[sub] = employee_id
        found[employee_id] = employee_id
    return found
