"""Where a person's data went: training datasets, their versions and members, and models.

A dataset version (``datasets``) is identified by its OpenLineage namespace, name and version; it is built for
one registered purpose by an owner and has a status. Its members (``dataset_members``) say, per person
(through their pseudonym) and category, how many records it holds. A model version (``models``) was trained
on dataset versions (``model_datasets``).

Lineage arrives as a real OpenLineage feed (:func:`events_format`; docs/openlineage.md): run events, parsed
into the ``openlineage-python`` client's own types (:mod:`portal.lineage.openlineage_events`), of which only
the training datasets and models are kept (:mod:`portal.lineage.training_data`); everything else is counted
and skipped. Membership manifests (CSV or Parquet, :mod:`portal.lineage.manifests`) say who is in a dataset.
Ingest follows the access log's rules: every problem is named with its file, line and field; one malformed
line means nothing is written; ingesting the same lineage again adds nothing, and the same dataset or model
version described differently is an error.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from openlineage.client.event_v2 import RunEvent, RunState
from sqlalchemy.engine import Connection, Engine

from portal.core import catalog, db, line_input
from portal.core.i18n import _
from portal.core.line_input import MAX_FILE_BYTES, MAX_PROBLEMS, Problems, parse_object, quoted, read_lines
from portal.core.times import as_utc, utc_naive
from portal.identity.directory import SubjectIndex
from portal.lineage import training_data as td
from portal.lineage.lineage_report import LineageReport
from portal.lineage.manifests import MANIFEST_FORMAT, Manifest, manifest_rows, write_members
from portal.lineage.my_lineage import STATUS_WORDS
from portal.lineage.openlineage_events import (
    PORTAL_FACET,
    RUN_EVENT,
    StaticEvent,
    TelemetryPortalDatasetFacet,
    event_kind,
    parse_run_event,
    parse_static_event,
)

__all__ = ["MANIFEST_FORMAT", "LineageReport", "Manifest", "TelemetryPortalDatasetFacet", "events_format",
           "ingest_lineage"]

MAX_LINE_BYTES = 1024 * 1024  # run events carry schemas and facets; far larger than access events
Key = tuple[str, str, str]  # namespace, name, version


def events_format() -> str:
    """The feed's format, for the command's help (read when asked: the catalog in force sets the horizon)."""
    return f"""\
An OpenLineage feed, one JSON object per line (spec https://openlineage.io/spec/2-0-2/OpenLineage.json),
as Spark, Airflow, dbt or the Python client write it. Run events register; DatasetEvents and JobEvents are
checked and noted; START, RUNNING, FAIL and ABORT run events are checked and skipped.
  eventTime    ISO 8601 with a time zone; at most {line_input.CLOCK_SKEW.seconds // 60} minutes in the future and
               no older than {line_input.RETENTION_HORIZON.days:,} days (the catalog's longest retention)
  outputs      of a COMPLETE run: a training dataset carries the "{PORTAL_FACET}" facet
               {{"purpose": <registered purpose code>, "status": <optional>, "version": <optional>}} and lies in a
               namespace of PORTAL_LINEAGE_TRAINING_NAMESPACES (unset: any); its owner comes from the
               "ownership" facet (else the job's namespace). A model: "datasetType" facet "MODEL", trained on
               a registered training dataset. Every other output is counted and skipped.
               Version: "{PORTAL_FACET}".version, else "version".datasetVersion, else the run's runId.
               Identity: namespace, name and version (s3://a and bigquery hold different datasets).
  inputs       of a dataset run: the telemetry tables read (named after catalog tables, e.g.
               lake/transcript_segments), which tell a manifest without a category column its category;
               of a model run: the training dataset versions it was trained on (same namespace and name, and
               a version as above), each registered by an earlier ingest or earlier in the same file. Inputs
               typed MODEL (base models) and other data are ignored.
Statuses: {", ".join(STATUS_WORDS)}. How a feed maps onto the portal: docs/openlineage.md.
"""


@dataclass
class _Dataset:
    namespace: str
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
    datasets: set[Key]
    line: int


def _hashed(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}-{parts[-2][:60]}-{digest}"


def _said(key: Key) -> str:
    return _("dataset {name} version {version} in {namespace}").format(name=key[1], version=key[2],
                                                                        namespace=key[0])


# ---- reading the feed -----------------------------------------------------------------------------


class _LineageIngest:
    def __init__(self, conn: Connection, problems: Problems, namespaces: td.TrainingNamespaces) -> None:
        self.conn, self.problems, self.namespaces = conn, problems, namespaces
        self.datasets: dict[Key, _Dataset] = {}  # in this ingest
        self.models: dict[tuple[str, str], _Model] = {}
        self.report = LineageReport()
        self._stored_names: dict[tuple[str, str], bool] = {}

    def note(self, static: StaticEvent) -> None:
        self.report.events += 1
        if static.kind == "DatasetEvent":
            self.report.dataset_events += 1
        else:
            self.report.job_events += 1
        self.report.static_with_portal_facet += static.portal_facet

    def take(self, number: int, event: RunEvent) -> None:
        self.report.events += 1
        if event.eventType != RunState.COMPLETE:
            self.report.not_complete += 1
            return
        when = as_utc(datetime.fromisoformat(event.eventTime))
        for i, output in enumerate(event.outputs or []):
            where = f"outputs[{i}]"
            if td.is_model(output):
                self._model(number, where, event, output, when)
            else:
                self._dataset(number, where, event, output, when)

    def _dataset(self, number: int, where: str, event: RunEvent, ds: Any, when: datetime) -> None:
        facet = td.portal_facet(ds)
        if facet is None:
            self.report.skipped_no_facet += 1
            return
        if not self.namespaces.accepts(ds.namespace):
            self.report.skipped_namespace += 1
            return
        if facet.purpose not in catalog.PURPOSE_BY_CODE:
            self.problems.add(number, f"{where}.facets.{PORTAL_FACET}.purpose",
                              _("{purpose} is not a registered purpose code").format(purpose=quoted(facet.purpose)))
            return
        status = facet.status or "active"
        if status not in STATUS_WORDS:
            self.problems.add(number, f"{where}.facets.{PORTAL_FACET}.status",
                              _("{status} is not one of {known}").format(status=quoted(status),
                                                                         known=", ".join(STATUS_WORDS)))
            return
        version = td.output_version(ds, where, event)
        if not td.fits(db.datasets, number, where, ds, version, self.problems):
            return
        categories = {c for i in event.inputs or [] if (c := td.category_of(i))}
        new = _Dataset(ds.namespace, ds.name, version.value, when, facet.purpose, td.owner(event, ds), status,
                       number, categories)
        key = (ds.namespace, ds.name, version.value)
        earlier = self.datasets.get(key)
        if earlier is None:
            self.datasets[key] = new
        elif (earlier.created_at, earlier.purpose_code, earlier.owner) != (new.created_at, new.purpose_code,
                                                                          new.owner):
            self.problems.add(number, where, _("{dataset} was already described differently on line {line}").format(
                dataset=_said(key), line=earlier.line))

    def _model(self, number: int, where: str, event: RunEvent, ds: Any, when: datetime) -> None:
        trained_on = self._training_inputs(number, event)
        if trained_on is None:
            return
        if not trained_on:
            self.report.skipped_models += 1
            return
        version = td.output_version(ds, where, event)
        if not td.fits(db.models, number, where, ds, version, self.problems):
            return
        new = _Model(ds.name, version.value, when, td.owner(event, ds), trained_on, number)
        key = (ds.name, version.value)
        earlier = self.models.get(key)
        if earlier is None:
            self.models[key] = new
        elif (earlier.trained_at, earlier.owner, earlier.datasets) != (new.trained_at, new.owner, new.datasets):
            self.problems.add(number, where, _("model {name} version {version} was already described differently on "
                                               "line {line}").format(name=ds.name, version=version.value,
                                                                     line=earlier.line))

    def _training_inputs(self, number: int, event: RunEvent) -> set[Key] | None:
        """The registered training dataset versions among a model run's inputs; None after a problem.

        An input is training data when it carries the portal facet (in a training namespace) or names a
        registered training dataset; such an input must say which registered version it is."""
        found: set[Key] = set()
        ok = True
        for i, ds in enumerate(event.inputs or []):
            if td.is_model(ds) or td.category_of(ds):
                continue
            declared = td.portal_facet(ds) is not None and self.namespaces.accepts(ds.namespace)
            if not declared and not self._registered_name(ds.namespace, ds.name):
                continue
            version = td.declared_version(ds, f"inputs[{i}]")
            if version is None:
                self.problems.add(number, f"inputs[{i}].facets.version",
                                  _("is missing; {name} in {namespace} is a training dataset, so the model's input "
                                    "must say which version it was trained on (datasetVersion)").format(
                                      name=ds.name, namespace=ds.namespace))
                ok = False
                continue
            key = (ds.namespace, ds.name, version.value)
            if key not in self.datasets and self.stored_dataset(*key) is None:
                self.problems.add(number, f"inputs[{i}]", _("{dataset} is not registered; ingest the run that built "
                                                            "it first (or earlier in the same file)").format(
                    dataset=_said(key)))
                ok = False
                continue
            found.add(key)
        return found if ok else None

    def _registered_name(self, namespace: str, name: str) -> bool:
        if any(k[:2] == (namespace, name) for k in self.datasets):
            return True
        if (namespace, name) not in self._stored_names:
            d = db.datasets.c
            self._stored_names[(namespace, name)] = self.conn.execute(
                sa.select(d.dataset_id).where(d.namespace.in_([namespace, ""]), d.name == name).limit(1)
            ).first() is not None
        return self._stored_names[(namespace, name)]

    def stored_dataset(self, namespace: str, name: str, version: str) -> Any:
        """The stored row of this namespace, name and version; else one stored before namespaces were kept."""
        d = db.datasets.c
        rows = {r.namespace: r for r in self.conn.execute(sa.select(db.datasets).where(
            d.namespace.in_([namespace, ""]), d.name == name, d.version == version))}
        return rows.get(namespace, rows.get(""))

    # ---- writing what the feed registered ---------------------------------------------------------

    def write(self) -> None:
        """Insert what is new; compare what is already stored (datasets first: models refer to them)."""
        self._write_datasets()
        self._write_models()

    def _write_datasets(self) -> None:
        for key, ds in self.datasets.items():
            old = self.stored_dataset(*key)
            if old is None:
                self.conn.execute(sa.insert(db.datasets).values(
                    dataset_id=self._new_id(key), namespace=ds.namespace, name=ds.name, version=ds.version,
                    created_at=as_utc(ds.created_at), purpose_code=ds.purpose_code, owner=ds.owner,
                    status=ds.status))
                self.report.datasets_added += 1
            elif (utc_naive(old.created_at), old.purpose_code, old.owner) != (utc_naive(ds.created_at),
                                                                               ds.purpose_code, ds.owner):
                self.problems.add(ds.line, None, _("{dataset} is already registered with a different creation time, "
                                                   "purpose or owner; versions never change").format(
                    dataset=_said(key)))
            else:
                if old.namespace == "":  # registered before namespaces were kept: now it has one
                    self.conn.execute(sa.update(db.datasets).where(db.datasets.c.dataset_id == old.dataset_id)
                                      .values(namespace=ds.namespace))
                self.report.already_present += 1

    def _write_models(self) -> None:
        m = db.models.c
        for (name, version), model in self.models.items():
            ids = {self.stored_dataset(*ref).dataset_id for ref in model.datasets}
            old = self.conn.execute(sa.select(db.models).where(m.name == name, m.version == version)).first()
            if old is None:
                model_id = self._free_id(db.models.c.model_id, [f"{name}@{version}"], _hashed("model", name, version))
                self.conn.execute(sa.insert(db.models).values(
                    model_id=model_id, name=name, version=version, trained_at=as_utc(model.trained_at),
                    owner=model.owner))
                self.conn.execute(sa.insert(db.model_datasets), [{"model_id": model_id, "dataset_id": i}
                                                                 for i in sorted(ids)])
                self.report.models_added += 1
                self.report.links_added += len(ids)
                continue
            stored_ids = set(self.conn.execute(sa.select(db.model_datasets.c.dataset_id)
                                               .where(db.model_datasets.c.model_id == old.model_id)).scalars())
            if (utc_naive(old.trained_at), old.owner, stored_ids) != (utc_naive(model.trained_at), model.owner, ids):
                self.problems.add(model.line, None, _("model {name} version {version} is already registered with a "
                                                      "different training time, owner or training data").format(
                    name=name, version=version))
            else:
                self.report.already_present += 1

    def _new_id(self, key: Key) -> str:
        namespace, name, version = key
        return self._free_id(db.datasets.c.dataset_id, [f"{name}@{version}", f"{namespace}/{name}@{version}"],
                             _hashed("ds", namespace, name, version))

    def _free_id(self, column: Any, readable: list[str], hashed: str) -> str:
        """The first readable id that fits the column and is not taken, else a stable hash."""
        for candidate in readable:
            if len(candidate) <= column.type.length and self.conn.execute(
                    sa.select(column).where(column == candidate)).first() is None:
                return candidate
        return hashed

    # ---- manifests ----------------------------------------------------------------------------------

    def members(self, manifest: Manifest, subjects: SubjectIndex, max_bytes: int) -> None:
        found = self._manifest_dataset(manifest)
        if found is None:
            return
        stored, pending = found
        rows = manifest_rows(manifest, self.problems, subjects, pending.categories if pending else None, max_bytes)
        if rows is None or stored is None:  # stored is None: the events had problems, so only check the rows
            return
        added, present = write_members(self.conn, manifest, stored.dataset_id, rows, self.problems)
        self.report.members_added += added
        self.report.already_present += present

    def _manifest_dataset(self, manifest: Manifest) -> tuple[Any, _Dataset | None] | None:
        """(stored row or None, dataset of this ingest or None) of the one dataset a manifest names."""
        target = (manifest.dataset, manifest.version)
        pending = {k[0]: ds for k, ds in self.datasets.items()
                   if k[1:] == target and manifest.namespace in (None, k[0])}
        d = db.datasets.c
        query = sa.select(db.datasets).where(d.name == manifest.dataset, d.version == manifest.version)
        if manifest.namespace is not None:
            query = query.where(d.namespace.in_([manifest.namespace, ""]))
        stored = {r.namespace: r for r in self.conn.execute(query)}
        if pending or manifest.namespace in stored:
            stored.pop("", None)  # a row from before namespaces were kept, which this ingest gives its namespace
        namespaces = sorted(set(pending) | set(stored))
        if not namespaces:
            self.problems.add(0, None, _("{dataset} is not registered; ingest the run event that built it first (or "
                                         "with this manifest)").format(dataset=manifest.describe()),
                              file=str(manifest.path))
            return None
        if len(namespaces) > 1:
            self.problems.add(0, None, _("{dataset} is registered in {n} namespaces ({namespaces}); name the "
                                         "namespace (--namespace)").format(
                dataset=manifest.describe(), n=len(namespaces),
                namespaces=", ".join(n or _("(none recorded)") for n in namespaces)), file=str(manifest.path))
            return None
        stored_row = stored.get(namespaces[0]) or (stored.get("") if pending else None)
        return stored_row, pending.get(namespaces[0])


def ingest_lineage(engine: Engine, events: str | Path | Iterable[str | bytes] | None = None,
                   manifests: Iterable[Manifest] = (), *, training_namespaces: Iterable[str] = (),
                   max_problems: int = MAX_PROBLEMS, max_file_bytes: int = MAX_FILE_BYTES,
                   now: datetime | None = None) -> LineageReport:
    """Register training datasets, models and memberships from an OpenLineage feed and manifests, in one
    transaction. ``training_namespaces``: PORTAL_LINEAGE_TRAINING_NAMESPACES (empty: any namespace).

    Raises :class:`portal.core.line_input.IngestRejected` listing every problem; then nothing is written.
    """
    started = time.perf_counter()
    now = as_utc(now or datetime.now(UTC))
    manifests = list(manifests)
    problems = Problems(max_problems)
    source = str(events) if isinstance(events, str | Path) else "input"
    with engine.connect() as conn, conn.begin() as tx:
        state = _LineageIngest(conn, problems, td.TrainingNamespaces.of(training_namespaces))
        if events is not None:
            for number, text in read_lines(events, problems, max_line_bytes=MAX_LINE_BYTES,
                                           max_file_bytes=max_file_bytes):
                obj = parse_object(number, text, problems)
                if obj is None:
                    continue
                kind = event_kind(obj)
                if kind == RUN_EVENT:
                    if (event := parse_run_event(obj, number, problems, now)) is not None:
                        state.take(number, event)
                elif (static := parse_static_event(obj, kind, number, problems, now)) is not None:
                    state.note(static)
        if not problems:
            state.write()
        subjects = SubjectIndex(conn)
        for manifest in manifests:
            if problems.full:
                break
            state.members(manifest, subjects, max_file_bytes)
        if problems:
            tx.rollback()
            problems.raise_if_any(source if events is not None else ", ".join(str(m.path) for m in manifests))
    report = state.report
    report.training_datasets, report.models = len(state.datasets), len(state.models)
    report.seconds = time.perf_counter() - started
    return report
