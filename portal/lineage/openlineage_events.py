"""OpenLineage events read from a feed, checked and parsed into the ``openlineage-python`` client's own types.

A feed mixes three kinds of event (spec 2.x): run events (``RunEvent``: a run of a job, with ``run``,
``job``, ``eventType``, inputs and outputs), and the static metadata events ``DatasetEvent`` (one
``dataset``, no run) and ``JobEvent`` (a ``job`` with its inputs and outputs, no run). The kind comes from
``schemaURL`` (``.../OpenLineage.json#/$defs/DatasetEvent``, or a URL ending in ``DatasetEvent.json``), else
from the fields present. Every problem is recorded with its line and field; nothing here raises.

Of a dataset's facets only those the portal reads are parsed (``version``, ``datasetType``, ``ownership``
and the portal's own); any other facet (``schema``, ``dataSource``, ``columnLineage``, ``symlinks``, ...)
is left unread, so a producer's extensions never get in the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import attr
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import DatasetFacet, dataset_type_dataset, dataset_version_dataset, ownership_dataset

from portal.core.i18n import _
from portal.core.line_input import Fields, Problems, json_type, quoted

PORTAL_FACET = "telemetryPortal"
RUN_EVENT, DATASET_EVENT, JOB_EVENT = "RunEvent", "DatasetEvent", "JobEvent"
# Generous: real feeds name files by long paths. What is stored is held to the columns' limits later, and only
# for what is stored (portal.lineage.training_data).
MAX_NAME = 2000
_KIND_IN_SCHEMA = re.compile(r"(RunEvent|DatasetEvent|JobEvent)(?:\.json)?$")


@attr.define
class TelemetryPortalDatasetFacet(DatasetFacet):
    """The portal's own dataset facet: the purpose a training dataset is built for, its status, and optionally
    the version the company calls it by (which then takes precedence over the ``version`` facet)."""

    purpose: str
    status: str | None = attr.field(default=None)
    version: str | None = attr.field(default=None)
    _additional_skip_redact: ClassVar[list[str]] = ["purpose", "status", "version"]

    @staticmethod
    def _get_schema() -> str:
        return "urn:telemetry-transparency-portal:facets:1-0-0:TelemetryPortalDatasetFacet"


@dataclass(frozen=True)
class StaticEvent:
    """A DatasetEvent or JobEvent, checked; ``portal_facet``: its dataset carries the portal's facet."""

    kind: str
    event: DatasetEvent | JobEvent
    portal_facet: bool = False


def event_kind(obj: dict) -> str:
    """RunEvent, DatasetEvent or JobEvent: what ``schemaURL`` says, else what the fields suggest. An object
    that is neither clearly gets checked as a run event, so its problems are named as a run event's."""
    url = obj.get("schemaURL")
    if isinstance(url, str) and (found := _KIND_IN_SCHEMA.search(url.strip())):
        return found.group(1)
    if "run" not in obj and "eventType" not in obj:
        if "dataset" in obj:
            return DATASET_EVENT
        if "job" in obj:
            return JOB_EVENT
    return RUN_EVENT


# ---- facets and datasets ------------------------------------------------------------------------


_BUILDERS = {
    "version": lambda d: dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=d["datasetVersion"]),
    "datasetType": lambda d: dataset_type_dataset.DatasetTypeDatasetFacet(datasetType=d["datasetType"]),
    "ownership": lambda d: ownership_dataset.OwnershipDatasetFacet(
        owners=[ownership_dataset.Owner(name=o["name"], type=o.get("type")) for o in d.get("owners") or []]),
    PORTAL_FACET: lambda d: TelemetryPortalDatasetFacet(purpose=d["purpose"], status=d.get("status"),
                                                        version=d.get("version")),
}


def _facets(raw: Any, where: str, f: Fields) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        f.problem(f"{where}.facets", _("must be an object, not {type}").format(type=json_type(raw)))
        return {}
    facets: dict[str, Any] = {}
    for key, build in _BUILDERS.items():
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            f.problem(f"{where}.facets.{key}", _("must be an object, not {type}").format(type=json_type(value)))
            continue
        try:
            facet = build(value)
        except KeyError as exc:
            f.problem(f"{where}.facets.{key}.{exc.args[0]}", _("is missing"))
            continue
        except (TypeError, ValueError, AttributeError) as exc:
            f.problem(f"{where}.facets.{key}", _("is malformed ({problem})").format(problem=exc))
            continue
        bad = [k for k, v in attr.asdict(facet, recurse=False).items()
               if not k.startswith("_") and v is not None and not isinstance(v, str | list)]
        if bad:
            f.problem(f"{where}.facets.{key}.{bad[0]}", _("must be a string"))
            continue
        if any("\x00" in v for v in attr.asdict(facet, recurse=False).values() if isinstance(v, str)):
            f.problem(f"{where}.facets.{key}", _("contains a NUL character, which cannot be stored"))
            continue
        facets[key] = facet
    return facets


def _dataset(item: Any, where: str, kind: type, f: Fields) -> Any:
    if not isinstance(item, dict):
        f.problem(where, _("must be an object, not {type}").format(type=json_type(item)))
        return None
    d = Fields(item, f.number, f.problems, prefix=f"{where}.")
    namespace, name = d.text("namespace", MAX_NAME), d.text("name", MAX_NAME)
    g = Fields(item, f.number, f.problems)  # facets name their problems by the whole path
    facets = _facets(item.get("facets"), where, g)
    if not (d.ok and g.ok):
        f.ok = False
        return None
    return kind(namespace=namespace, name=name, facets=facets)


def _datasets(obj: dict, key: str, kind: type, f: Fields) -> list:
    raw = obj.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        f.problem(key, _("must be a list, not {type}").format(type=json_type(raw)))
        return []
    found = [_dataset(item, f"{key}[{i}]", kind, f) for i, item in enumerate(raw)]
    return [ds for ds in found if ds is not None]


def _job(obj: dict, f: Fields) -> Job | None:
    job = obj.get("job")
    if not isinstance(job, dict):
        f.problem("job", _("is missing") if job is None else _("must be an object, not {type}").format(type=json_type(job)))
        return None
    j = Fields(job, f.number, f.problems, prefix="job.")
    namespace, name = j.text("namespace", MAX_NAME), j.text("name", MAX_NAME)
    if not j.ok:
        f.ok = False
        return None
    assert namespace is not None and name is not None  # j.ok: both were read
    return Job(namespace=namespace, name=name)


# ---- events ---------------------------------------------------------------------------------------


def parse_run_event(obj: dict, number: int, problems: Problems, now: datetime) -> RunEvent | None:
    """A :class:`RunEvent` of the OpenLineage client, or None after recording each problem.

    Its time is held to the same bounds as an access event's: not in the future beyond the clock
    skew, not older than the retention horizon."""
    f = Fields(obj, number, problems)
    f.timestamp("eventTime", now)
    state = obj.get("eventType")
    if state is not None and state not in RunState._value2member_map_:
        f.problem("eventType", _("{state} is not one of {known}").format(
            state=quoted(state), known=", ".join(RunState._value2member_map_)))
    run = obj.get("run")
    run_obj = None
    if not isinstance(run, dict):
        f.problem("run", _("is missing") if run is None else _("must be an object, not {type}").format(type=json_type(run)))
    else:
        r = Fields(run, number, problems, prefix="run.")
        run_id = r.text("runId", 64)
        if run_id is not None:
            try:
                run_obj = Run(runId=run_id)
            except ValueError:
                r.problem("runId", _("{run_id} is not a UUID").format(run_id=quoted(run_id)))
        f.ok = f.ok and r.ok
    job = _job(obj, f)
    inputs = _datasets(obj, "inputs", InputDataset, f)
    outputs = _datasets(obj, "outputs", OutputDataset, f)
    if not f.ok or run_obj is None or job is None:
        return None
    return _built(f, lambda: RunEvent(
        eventTime=obj["eventTime"], producer=_producer(obj), run=run_obj, job=job,
        eventType=RunState(state) if state else None, inputs=inputs, outputs=outputs))


def parse_static_event(obj: dict, kind: str, number: int, problems: Problems, now: datetime) -> StaticEvent | None:
    """A checked DatasetEvent or JobEvent, or None after recording each problem. The portal registers nothing
    from them (a training dataset is registered by the run that built it), but a bad one is still an error."""
    f = Fields(obj, number, problems)
    f.timestamp("eventTime", now)
    if kind == DATASET_EVENT:
        raw = obj.get("dataset")
        dataset = None
        if raw is None:
            f.problem("dataset", _("is missing; a DatasetEvent describes one dataset"))
        else:
            dataset = _dataset(raw, "dataset", StaticDataset, f)
        if not f.ok or dataset is None:
            return None
        found = _built(f, lambda: DatasetEvent(eventTime=obj["eventTime"], producer=_producer(obj), dataset=dataset))
        return StaticEvent(kind, found, PORTAL_FACET in (dataset.facets or {})) if found else None
    job = _job(obj, f)
    inputs = _datasets(obj, "inputs", InputDataset, f)
    outputs = _datasets(obj, "outputs", OutputDataset, f)
    if not f.ok or job is None:
        return None
    found = _built(f, lambda: JobEvent(eventTime=obj["eventTime"], producer=_producer(obj), job=job, inputs=inputs,
                                       outputs=outputs))
    return StaticEvent(kind, found, any(PORTAL_FACET in (ds.facets or {}) for ds in outputs)) if found else None


def _producer(obj: dict) -> str:
    producer = obj.get("producer")
    return producer if isinstance(producer, str) else ""


def _built(f: Fields, build: Any) -> Any:
    try:
        return build()
    except (TypeError, ValueError) as exc:
        f.problem("eventTime", _("is not accepted by the OpenLineage client ({problem})").format(problem=exc))
        return None
