"""Where a person's data went: training datasets, their versions and members, and models.

A dataset version (``datasets``) is built for one registered purpose by an owner
and has a status; its members (``dataset_members``) say, per person (through
their pseudonym) and category, how many records it holds. A model version
(``models``) was trained on dataset versions (``model_datasets``).

Lineage arrives as OpenLineage run events (:data:`EVENTS_FORMAT`), parsed into
the ``openlineage-python`` client's own types, plus membership manifests (CSV or
Parquet, :data:`MANIFEST_FORMAT`). Ingest follows the access log's rules: every
problem is named with its file, line and field; one bad line means nothing is
written; ingesting the same lineage again adds nothing, and the same dataset or
model version described differently is an error.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import attr
import polars as pl
import sqlalchemy as sa
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import DatasetFacet, dataset_type_dataset, dataset_version_dataset, ownership_dataset
from sqlalchemy.engine import Connection, Engine

from portal.core import catalog, db
from portal.core.line_input import (
    CLOCK_SKEW,
    MAX_FILE_BYTES,
    MAX_PROBLEMS,
    RETENTION_HORIZON,
    Fields,
    Problems,
    json_type,
    parse_object,
    quoted,
    read_lines,
)
from portal.core.times import as_utc, utc_naive
from portal.identity.directory import SubjectIndex
from portal.lineage.my_lineage import STATUS_WORDS
from portal.core.input_files import InputFileError, open_input, regular_size

PORTAL_FACET = "telemetryPortal"
MODEL_TYPE = "MODEL"
MAX_LINE_BYTES = 1024 * 1024  # run events carry schemas and facets; far larger than access events


EVENTS_FORMAT = f"""\
OpenLineage run events, one JSON object per line (https://openlineage.io/spec/2-0-2/OpenLineage.json).
Only COMPLETE events register anything; START, RUNNING and other events are checked and skipped.
  eventTime    ISO 8601 with a time zone; at most {CLOCK_SKEW.seconds // 60} minutes in the future (clock skew) and
               no older than {RETENTION_HORIZON.days:,} days (the retention horizon: the catalog's longest retention)
  outputs      a training dataset: needs the "version" facet (datasetVersion) and the
               "{PORTAL_FACET}" facet {{"purpose": <registered purpose code>, "status": <optional>}};
               its owner comes from the "ownership" facet (else the job's namespace).
               A model: "datasetType" facet with datasetType "MODEL", and a "version" facet.
  inputs       of a dataset run: the telemetry tables read (named after catalog tables, e.g.
               lake/transcript_segments), which tell a manifest without a category column its category;
               of a model run: the dataset versions it was trained on ("version" facet), each one
               registered earlier or in the same file. Inputs typed MODEL (base models) are ignored.
Statuses: {", ".join(STATUS_WORDS)}.
"""

MANIFEST_FORMAT = """\
Membership manifest (CSV with a header line, or Parquet), one row per person and category:
  subject       employee id, e-mail or OIDC subject (column may also be called subject_id)
  category      optional catalog category key; without it the dataset must draw on exactly one
                category, known from the inputs of the run that built it (in the same ingest)
  record_count  optional number of records; without it each row counts as one record
"""


@attr.define
class TelemetryPortalDatasetFacet(DatasetFacet):
    """The portal's own dataset facet: the purpose a training dataset is built for, and its status."""

    purpose: str
    status: str | None = attr.field(default=None)
    _additional_skip_redact: ClassVar[list[str]] = ["purpose", "status"]

    @staticmethod
    def _get_schema() -> str:
        return "urn:telemetry-transparency-portal:facets:1-0-0:TelemetryPortalDatasetFacet"


# ---- reports -----------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """A membership file for one dataset version."""

    dataset: str
    version: str
    path: Path

    @classmethod
    def parse(cls, spec: str) -> Manifest:
        """``NAME@VERSION=PATH``, the command line's spelling."""
        target, sep, path = spec.partition("=")
        name, at, version = target.rpartition("@")
        if not sep or not at or not name or not version or not path:
            raise ValueError(f"{spec!r} is not of the form NAME@VERSION=PATH")
        return cls(name, version, Path(path))


@dataclass(frozen=True)
class LineageReport:
    events: int
    skipped: int
    datasets_added: int
    models_added: int
    links_added: int
    members_added: int
    already_present: int
    seconds: float

    def describe(self) -> str:
        return (f"{self.events:,} run event(s) read ({self.skipped:,} not COMPLETE, skipped): "
                f"{self.datasets_added:,} dataset version(s), {self.models_added:,} model version(s), "
                f"{self.links_added:,} training link(s) and {self.members_added:,} membership row(s) added; "
                f"{self.already_present:,} already present ({self.seconds:.2f}s).")


@dataclass
class _Dataset:
    name: str
    version: str
    created_at: datetime
    purpose_code: str
    owner: str
    status: str
    line: int
    categories: set[str] = field(default_factory=set)


@dataclass
class _Model:
    name: str
    version: str
    trained_at: datetime
    owner: str
    datasets: set[tuple[str, str]]
    line: int


def _ident(prefix: str, name: str, version: str) -> str:
    """Readable id when it fits the column, else a stable hash of name and version."""
    readable = f"{name}@{version}"
    if len(readable) <= 100:
        return readable
    digest = hashlib.sha256(f"{name}\0{version}".encode()).hexdigest()[:24]
    return f"{prefix}-{name[:60]}-{digest}"


# ---- parsing run events into the OpenLineage client's types -------------------


def _facets(raw: Any, where: str, f: Fields) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        f.problem(f"{where}.facets", f"must be an object, not {json_type(raw)}")
        return {}
    facets: dict[str, Any] = {}
    builders = {
        "version": lambda d: dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=d["datasetVersion"]),
        "datasetType": lambda d: dataset_type_dataset.DatasetTypeDatasetFacet(datasetType=d["datasetType"]),
        "ownership": lambda d: ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=o["name"], type=o.get("type")) for o in d.get("owners") or []]),
        PORTAL_FACET: lambda d: TelemetryPortalDatasetFacet(purpose=d["purpose"], status=d.get("status")),
    }
    for key, build in builders.items():
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            f.problem(f"{where}.facets.{key}", f"must be an object, not {json_type(value)}")
            continue
        try:
            facet = build(value)
        except KeyError as exc:
            f.problem(f"{where}.facets.{key}.{exc.args[0]}", "is missing")
            continue
        except (TypeError, ValueError, AttributeError) as exc:
            f.problem(f"{where}.facets.{key}", f"is malformed ({exc})")
            continue
        bad = [k for k, v in attr.asdict(facet, recurse=False).items()
               if not k.startswith("_") and v is not None and not isinstance(v, str | list)]
        if bad:
            f.problem(f"{where}.facets.{key}.{bad[0]}", "must be a string")
            continue
        facets[key] = facet
    return facets


def _datasets(obj: dict, key: str, kind: type, f: Fields) -> list:
    raw = obj.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        f.problem(key, f"must be a list, not {json_type(raw)}")
        return []
    out = []
    for i, item in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            f.problem(where, f"must be an object, not {json_type(item)}")
            continue
        d = Fields(item, f.number, f.problems, prefix=f"{where}.")
        namespace, name = d.text("namespace", 200), d.text("name", 200)
        facets = _facets(item.get("facets"), where, f)
        if d.ok:
            out.append(kind(namespace=namespace, name=name, facets=facets))
        else:
            f.ok = False
    return out


def parse_run_event(obj: dict, number: int, problems: Problems, now: datetime | None = None) -> RunEvent | None:
    """A :class:`RunEvent` of the OpenLineage client, or None after recording each problem.

    Its time is held to the same bounds as an access event's: not in the future beyond the clock
    skew, not older than the retention horizon."""
    f = Fields(obj, number, problems)
    f.timestamp("eventTime", as_utc(now or datetime.now(UTC)))
    when = obj.get("eventTime")
    state = obj.get("eventType")
    if state is not None and state not in RunState._value2member_map_:
        f.problem("eventType", f"{quoted(state)} is not one of {', '.join(RunState._value2member_map_)}")
    run, job = obj.get("run"), obj.get("job")
    run_obj = job_obj = None
    if not isinstance(run, dict):
        f.problem("run", "is missing" if run is None else f"must be an object, not {json_type(run)}")
    else:
        r = Fields(run, number, problems, prefix="run.")
        run_id = r.text("runId", 64)
        if run_id is not None:
            try:
                run_obj = Run(runId=run_id)
            except ValueError:
                r.problem("runId", f"{quoted(run_id)} is not a UUID")
        f.ok = f.ok and r.ok
    if not isinstance(job, dict):
        f.problem("job", "is missing" if job is None else f"must be an object, not {json_type(job)}")
    else:
        j = Fields(job, number, problems, prefix="job.")
        namespace, name = j.text("namespace", 200), j.text("name", 200)
        if j.ok:
            assert namespace is not None and name is not None  # j.ok: both were read
            job_obj = Job(namespace=namespace, name=name)
        f.ok = f.ok and j.ok
    inputs = _datasets(obj, "inputs", InputDataset, f)
    outputs = _datasets(obj, "outputs", OutputDataset, f)
    if not f.ok or run_obj is None or job_obj is None:
        return None
    assert isinstance(when, str)  # f.ok: a valid timestamp
    try:
        return RunEvent(eventTime=when, producer=str(obj.get("producer") or ""), run=run_obj, job=job_obj,
                        eventType=RunState(state) if state else None, inputs=inputs, outputs=outputs)
    except (TypeError, ValueError) as exc:
        f.problem("eventTime", f"is not accepted by the OpenLineage client ({exc})")
        return None


def _is_model(ds: Any) -> bool:
    facet = (ds.facets or {}).get("datasetType")
    return facet is not None and str(facet.datasetType).upper() == MODEL_TYPE


def _version(ds: Any) -> str | None:
    facet = (ds.facets or {}).get("version")
    return facet.datasetVersion if facet is not None else None


def _category_of(ds: Any) -> str | None:
    """The catalog category whose table an input dataset names (``.../transcript_segments``)."""
    last = ds.name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    cat = catalog.CATEGORY_BY_TABLE.get(last)
    return cat.key if cat else None


def _owner(event: RunEvent, ds: Any) -> str:
    facet = (ds.facets or {}).get("ownership")
    names = [o.name for o in (facet.owners or [])] if facet is not None else []
    return (", ".join(names) or event.job.namespace)[:200]


# ---- ingest -------------------------------------------------------------------


class _LineageIngest:
    def __init__(self, conn: Connection, problems: Problems) -> None:
        self.conn, self.problems = conn, problems
        self.datasets: dict[tuple[str, str], _Dataset] = {}  # in this ingest
        self.models: dict[tuple[str, str], _Model] = {}
        self.events = self.skipped = 0

    def take(self, number: int, event: RunEvent) -> None:
        self.events += 1
        if event.eventType != RunState.COMPLETE:
            self.skipped += 1
            return
        when = as_utc(datetime.fromisoformat(event.eventTime))
        categories = {c for ds in event.inputs or [] if (c := _category_of(ds))}
        trained_on: list[tuple[int, tuple[str, str]]] = []
        for i, ds in enumerate(event.inputs or []):
            if _is_model(ds) or _category_of(ds):
                continue
            version = _version(ds)
            if version is not None:
                trained_on.append((i, (ds.name, version)))
        for i, output in enumerate(event.outputs or []):
            where = f"outputs[{i}]"
            version = _version(output)
            if version is None:
                self.problems.add(number, f"{where}.facets.version", "is missing; every dataset and model "
                                                                     "output needs a datasetVersion")
                continue
            if _is_model(output):
                self._model(number, where, event, output, version, when, trained_on)
            else:
                self._dataset(number, where, event, output, version, when, categories)

    def _dataset(self, number: int, where: str, event: RunEvent, ds: Any, version: str, when: datetime,
                 categories: set[str]) -> None:
        facet = (ds.facets or {}).get(PORTAL_FACET)
        if facet is None:
            self.problems.add(number, f"{where}.facets.{PORTAL_FACET}", "is missing; a training dataset needs "
                                                                       "the purpose it is built for")
            return
        if facet.purpose not in catalog.PURPOSE_BY_CODE:
            self.problems.add(number, f"{where}.facets.{PORTAL_FACET}.purpose",
                              f"{quoted(facet.purpose)} is not a registered purpose code")
            return
        status = facet.status or "active"
        if status not in STATUS_WORDS:
            self.problems.add(number, f"{where}.facets.{PORTAL_FACET}.status",
                              f"{quoted(status)} is not one of {', '.join(STATUS_WORDS)}")
            return
        new = _Dataset(ds.name, version, when, facet.purpose, _owner(event, ds), status, number, set(categories))
        key = (ds.name, version)
        earlier = self.datasets.get(key)
        if earlier is not None:
            if (earlier.created_at, earlier.purpose_code, earlier.owner) != (new.created_at, new.purpose_code,
                                                                            new.owner):
                self.problems.add(number, where, f"dataset {ds.name} version {version} was already described "
                                                 f"differently on line {earlier.line}")
            return
        self.datasets[key] = new

    def _model(self, number: int, where: str, event: RunEvent, ds: Any, version: str, when: datetime,
               trained_on: list[tuple[int, tuple[str, str]]]) -> None:
        if not trained_on:
            self.problems.add(number, "inputs", f"model {ds.name} version {version} lists no versioned training "
                                                "dataset among its inputs")
            return
        new = _Model(ds.name, version, when, _owner(event, ds), {ref for _, ref in trained_on}, number)
        key = (ds.name, version)
        earlier = self.models.get(key)
        if earlier is not None:
            if (earlier.trained_at, earlier.owner, earlier.datasets) != (new.trained_at, new.owner, new.datasets):
                self.problems.add(number, where, f"model {ds.name} version {version} was already described "
                                                 f"differently on line {earlier.line}")
            return
        self.models[key] = new
        for i, ref in trained_on:
            if ref not in self.datasets and self.stored_dataset(*ref) is None:
                self.problems.add(number, f"inputs[{i}]", f"dataset {ref[0]} version {ref[1]} is not registered; "
                                                          "ingest the run that built it first (or in the same file)")

    def stored_dataset(self, name: str, version: str) -> Any:
        d = db.datasets.c
        return self.conn.execute(sa.select(db.datasets).where(d.name == name, d.version == version)).first()

    def write(self) -> tuple[int, int, int, int]:
        """Insert what is new; compare what is already stored. (datasets, models, links, present)."""
        added_d = added_m = links = present = 0
        for (name, version), ds in self.datasets.items():
            old = self.stored_dataset(name, version)
            if old is None:
                self.conn.execute(sa.insert(db.datasets).values(
                    dataset_id=_ident("ds", name, version), name=name, version=version,
                    created_at=as_utc(ds.created_at), purpose_code=ds.purpose_code, owner=ds.owner,
                    status=ds.status))
                added_d += 1
            elif (utc_naive(old.created_at), old.purpose_code, old.owner) != (utc_naive(ds.created_at),
                                                                               ds.purpose_code, ds.owner):
                self.problems.add(ds.line, None, f"dataset {name} version {version} is already registered with "
                                                 "a different creation time, purpose or owner; versions never change")
            else:
                present += 1
        m = db.models.c
        for (name, version), model in self.models.items():
            ids = {self.stored_dataset(*ref).dataset_id for ref in model.datasets}
            old = self.conn.execute(sa.select(db.models).where(m.name == name, m.version == version)).first()
            if old is None:
                model_id = _ident("model", name, version)
                self.conn.execute(sa.insert(db.models).values(
                    model_id=model_id, name=name, version=version, trained_at=as_utc(model.trained_at),
                    owner=model.owner))
                self.conn.execute(sa.insert(db.model_datasets), [{"model_id": model_id, "dataset_id": i}
                                                                 for i in sorted(ids)])
                added_m += 1
                links += len(ids)
                continue
            stored_ids = set(self.conn.execute(sa.select(db.model_datasets.c.dataset_id)
                                               .where(db.model_datasets.c.model_id == old.model_id)).scalars())
            if (utc_naive(old.trained_at), old.owner, stored_ids) != (utc_naive(model.trained_at), model.owner, ids):
                self.problems.add(model.line, None, f"model {name} version {version} is already registered with "
                                                    "a different training time, owner or training data")
            else:
                present += 1
        return added_d, added_m, links, present


def _read_manifest(manifest: Manifest, problems: Problems, max_bytes: int) -> tuple[pl.DataFrame, str] | None:
    path, name = manifest.path, str(manifest.path)
    try:
        with open_input(path, "the manifest") as handle:
            size = regular_size(handle)
            # A pipe or device has no size to check first: read it, but only up to just past the limit.
            data = None if size is not None else handle.read(max_bytes + 1)
    except InputFileError as exc:
        problems.add(0, None, str(exc), file=name)
        return None
    except OSError as exc:
        problems.add(0, None, f"cannot read the manifest: {exc.strerror or exc}", file=name)
        return None
    said = f"is {size:,} bytes," if size is not None and size > max_bytes else (
        "holds" if data is not None and len(data) > max_bytes else None)
    if said is not None:
        problems.add(0, None, f"the manifest {said} more than the limit of {max_bytes:,} bytes", file=name)
        return None
    source = path if data is None else io.BytesIO(data)
    try:
        if path.suffix.lower() == ".parquet":
            frame, unit = pl.read_parquet(source), "row"
        elif path.suffix.lower() == ".csv":
            frame, unit = pl.read_csv(source, infer_schema=False, encoding="utf8"), "line"
        else:
            problems.add(0, None, "a manifest must be a .csv or .parquet file", file=name)
            return None
    except Exception as exc:  # noqa: BLE001 - polars raises several types for unreadable files
        problems.add(0, None, f"is not a readable {path.suffix.lstrip('.').upper()} file "
                              f"({str(exc).splitlines()[0][:200]})", file=name)
        return None
    return frame, unit


def _manifest_rows(manifest: Manifest, problems: Problems, subjects: SubjectIndex,
                   categories: set[str] | None, max_bytes: int) -> dict[tuple[str, str], tuple[int, int]] | None:
    """{(pseudonym, category): (records, first row number)}, or None when the file is unusable."""
    read = _read_manifest(manifest, problems, max_bytes)
    if read is None:
        return None
    frame, unit = read
    name = str(manifest.path)
    columns = set(frame.columns)
    subject_col = "subject" if "subject" in columns else "subject_id" if "subject_id" in columns else None
    unknown = columns - {"subject", "subject_id", "category", "record_count"}
    if subject_col is None or unknown:
        what = (["no subject column"] if subject_col is None else []) + (
            [f"unknown column(s) {', '.join(sorted(unknown))}"] if unknown else [])
        problems.add(0, None, f"has {' and '.join(what)}; expected subject, optional category and record_count",
                     file=name)
        return None
    default_category = None
    if "category" not in columns:
        if not categories or len(categories) != 1:
            seen = ", ".join(sorted(categories)) if categories else "none known"
            problems.add(0, None, f"has no category column, and {manifest.dataset} version {manifest.version} "
                                  f"does not draw on exactly one category ({seen}); add a category column",
                         file=name)
            return None
        default_category = next(iter(categories))
    first = 2 if unit == "line" else 1  # CSV line 1 is the header
    strings = frame.select(pl.all().cast(pl.String))
    rows: dict[tuple[str, str], tuple[int, int]] = {}
    for i, row in enumerate(strings.iter_rows(named=True)):
        if problems.full:
            problems.truncated = True
            break
        number = first + i
        add = lambda fld, msg: problems.add(number, fld, msg, file=name, unit=unit)  # noqa: E731
        subject = (row[subject_col] or "").strip()
        employee = subjects.employee_id(subject) if subject else None
        if employee is None:
            add(subject_col, f"{quoted(subject)} is not anyone the company employs" if subject else "is empty")
        category = row.get("category", default_category) or ""
        if category not in catalog.CATEGORY_BY_KEY:
            add("category", f"{quoted(category)} is not a catalog category")
        count = 1
        if "record_count" in columns:
            text = (row["record_count"] or "").strip()
            if text.endswith(".0"):
                text = text[:-2]
            if not text.isdigit() or int(text) > 2**31 - 1:
                add("record_count", f"{quoted(text)} is not a whole number of 0 or more")
                continue
            count = int(text)
        if employee is None or category not in catalog.CATEGORY_BY_KEY:
            continue
        key = (subjects.pseudonym(employee), category)
        if key in rows:
            if "record_count" in columns:
                add(subject_col, f"{subject} appears again for {category} (first on {unit} {rows[key][1]})")
                continue
            count += rows[key][0]
            number = rows[key][1]
        rows[key] = (count, number)
    return rows


def _write_members(conn: Connection, manifest: Manifest, dataset_id: str, rows: dict, problems: Problems,
                   unit: str) -> tuple[int, int]:
    m = db.dataset_members.c
    stored = {(r.subject_pseudonym, r.category_key): r.record_count
              for r in conn.execute(sa.select(m.subject_pseudonym, m.category_key, m.record_count)
                                    .where(m.dataset_id == dataset_id))}
    fresh, present = [], 0
    for (pseudonym, category), (count, number) in rows.items():
        old = stored.get((pseudonym, category))
        if old is None:
            fresh.append({"dataset_id": dataset_id, "subject_pseudonym": pseudonym, "category_key": category,
                          "record_count": count})
        elif old != count:
            problems.add(number, "record_count", f"this person's {category} membership is already recorded with "
                                                 f"{old} records, not {count}", file=str(manifest.path), unit=unit)
        else:
            present += 1
    if fresh and not problems:
        conn.execute(sa.insert(db.dataset_members), fresh)
    return len(fresh), present


def ingest_lineage(engine: Engine, events: str | Path | Iterable[str | bytes] | None = None,
                   manifests: Iterable[Manifest] = (), *, max_problems: int = MAX_PROBLEMS,
                   max_file_bytes: int = MAX_FILE_BYTES, now: datetime | None = None) -> LineageReport:
    """Register datasets, models and memberships from run events and manifests, in one transaction.

    Raises :class:`portal.core.line_input.IngestRejected` listing every problem; then nothing is written.
    """
    started = time.perf_counter()
    now = as_utc(now or datetime.now(UTC))
    manifests = list(manifests)
    problems = Problems(max_problems)
    source = str(events) if isinstance(events, str | Path) else "input"
    with engine.connect() as conn, conn.begin() as tx:
        state = _LineageIngest(conn, problems)
        if events is not None:
            for number, text in read_lines(events, problems, max_line_bytes=MAX_LINE_BYTES,
                                           max_file_bytes=max_file_bytes):
                obj = parse_object(number, text, problems)
                event = parse_run_event(obj, number, problems, now) if obj is not None else None
                if event is not None:
                    state.take(number, event)
        added_d, added_m, links, present = state.write() if not problems else (0, 0, 0, 0)
        members = 0
        subjects = SubjectIndex(conn)
        for manifest in manifests:
            if problems.full:
                break
            members_added, members_present = _ingest_manifest(conn, state, manifest, subjects, problems,
                                                              max_file_bytes)
            members += members_added
            present += members_present
        if problems:
            tx.rollback()
            problems.raise_if_any(source if events is not None else ", ".join(str(m.path) for m in manifests))
    return LineageReport(state.events, state.skipped, added_d, added_m, links, members, present,
                         time.perf_counter() - started)


def _ingest_manifest(conn: Connection, state: _LineageIngest, manifest: Manifest, subjects: SubjectIndex,
                     problems: Problems, max_bytes: int) -> tuple[int, int]:
    stored = state.stored_dataset(manifest.dataset, manifest.version)
    pending = state.datasets.get((manifest.dataset, manifest.version))
    if stored is None and pending is None:
        problems.add(0, None, f"dataset {manifest.dataset} version {manifest.version} is not registered; "
                              "ingest the run event that built it first (or with this manifest)",
                     file=str(manifest.path))
        return 0, 0
    rows = _manifest_rows(manifest, problems, subjects, pending.categories if pending else None, max_bytes)
    if rows is None or stored is None:  # stored is None: the events had problems, so only check the rows
        return 0, 0
    unit = "row" if manifest.path.suffix.lower() == ".parquet" else "line"
    return _write_members(conn, manifest, stored.dataset_id, rows, problems, unit)
